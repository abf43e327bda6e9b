"""Building a report from the store: the one entry point for chat, pushes and the command line."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from ..core.services import Services
from .model import Report, build_report

DEFAULT_DAYS = 30


def default_period(today: date, days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """The last ``days`` days, today included."""
    return today - timedelta(days=days - 1), today


async def make_report(
    services: Services,
    scope: str,
    start: date,
    end: date,
    *,
    kinds: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> Report:
    """The report of a unit subtree over local days ``start``..``end`` (inclusive)."""
    org = services.org
    figures = await services.store.reports.figures(
        org.path(scope), start, end, kinds=kinds, categories=categories
    )
    zone = services.zone
    first = int(datetime.combine(start, time(0), zone).timestamp())
    last = int(datetime.combine(end + timedelta(days=1), time(0), zone).timestamp()) - 1
    feedback = await services.store.participation.feedback_counts(org.path(scope), first, last)
    months = sorted(
        {(start + timedelta(days=n)).strftime("%Y-%m") for n in range((end - start).days + 1)}
    )
    deferred = 0
    for month in months:
        deferred += int(await services.store.outbox.get_state(f"quota.zalo.deferred.{month}") or 0)
    made = build_report(
        org,
        figures,
        scope,
        start,
        end,
        categories=categories,
        all_categories=services.settings.organisation.categories,
        kinds=kinds,
        feedback=feedback,
    )
    return replace(made, quota_deferred=deferred)
