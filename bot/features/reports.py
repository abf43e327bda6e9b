"""Participation reports for organizers (/baocao): summary in chat, chart, workbook, weekly.

An organizer picks one of their units and a period; the summary counts entries (lượt) and
people (người) the way the province does, against the roster. The chart (PNG) and the workbook
(XLSX) are one press away, and a 7-day report can come every week at a chosen day and time.
Every request is written to the audit log (who, which unit, which period) — never the figures.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, timedelta

from ..core.messages import Choice, Document
from ..core.router import Router
from ..core.services import Services
from ..core.text import fold
from ..core.turn import Turn
from ..reports.model import Report
from ..reports.render import Words, report_png, report_xlsx, summary_text
from ..reports.service import make_report
from ..store.outbox import NewMessage
from .units import may_organize, organized_units

WEEKLY = "weekly_report"
MAX_UNIT_CHOICES = 12
_DATE = r"(\d{1,2})/(\d{1,2})(?:/(\d{4}))?"
_PERIOD = re.compile(rf"^\s*{_DATE}\s*(?:-|–|đến|den|to)\s*{_DATE}\s*$")
_WEEKDAYS = (
    ("thu 2", "thu hai", "t2", "monday", "mon"),
    ("thu 3", "thu ba", "t3", "tuesday", "tue"),
    ("thu 4", "thu tu", "t4", "wednesday", "wed"),
    ("thu 5", "thu nam", "t5", "thursday", "thu"),
    ("thu 6", "thu sau", "t6", "friday", "fri"),
    ("thu 7", "thu bay", "t7", "saturday", "sat"),
    ("chu nhat", "cn", "sunday", "sun"),
)
_TIME = re.compile(r"(\d{1,2})\s*(?:[:h]\s*(\d{2})?|gio)(?!\d)")


def parse_period(text: str, today: date) -> tuple[date, date] | None:
    """'1/11/2026 - 30/11/2026' or '1/11 - 30/11' (this year); None if unclear or reversed."""
    match = _PERIOD.match(fold(text))
    if not match:
        return None
    d1, m1, y1, d2, m2, y2 = match.groups()
    try:
        start = date(int(y1 or y2 or today.year), int(m1), int(d1))
        end = date(int(y2 or y1 or today.year), int(m2), int(d2))
    except ValueError:
        return None
    return (start, end) if start <= end else None


def parse_weekly(text: str) -> tuple[int, int] | None:
    """'thứ hai 8:00', 'T6 16h', 'chủ nhật 20 giờ', 'monday 8:00' → (weekday, minute)."""
    folded = fold(text)
    weekday = next(
        (
            day
            for day, names in enumerate(_WEEKDAYS)
            if any(re.search(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])", folded) for n in names)
        ),
        None,
    )
    clock = _TIME.search(re.sub(r"(?<![a-z0-9])(thu|t)\s*[2-7](?![0-9:h])", " ", folded))
    if weekday is None or clock is None:
        return None
    hour, minute = int(clock.group(1)), int(clock.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return weekday, hour * 60 + minute


# A summary's figures are kept a while for the chart and workbook buttons under it: these then
# show exactly what the summary said, without reading the period again (1.2 s for a province).
KEEP_REPORT_S = 600
KEPT_REPORTS = 32


class _Recent:
    """The last few reports made in chat, by (unit, start, end); only for KEEP_REPORT_S."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, date, date], tuple[int, Report]] = OrderedDict()

    def get(self, key: tuple[str, date, date], now: int) -> Report | None:
        item = self._items.get(key)
        return item[1] if item is not None and now - item[0] <= KEEP_REPORT_S else None

    def put(self, key: tuple[str, date, date], now: int, report: Report) -> None:
        self._items[key] = (now, report)
        self._items.move_to_end(key)
        while len(self._items) > KEPT_REPORTS:
            self._items.popitem(last=False)


def register(router: Router, services: Services) -> None:
    """Add /baocao, its formats, weekly subscriptions, their minute job and push."""
    store = services.store.participation
    recent = _Recent()

    def words(turn: Turn) -> Words:
        return Words(services.texts, turn.locale)

    def formats(turn: Turn) -> list[Choice]:
        """The buttons under a report: chart, workbook, weekly delivery."""
        return [
            Choice("rpf:png", turn.t("report.chart_button")),
            Choice("rpf:xlsx", turn.t("report.xlsx_button")),
            Choice("rpf:weekly", turn.t("report.weekly_button")),
        ]

    async def drawn(render: Callable[[Report, Words], bytes], made: Report, turn: Turn) -> bytes:
        """A report file, made in a worker thread: a chart takes 0.2–0.5 s of CPU that would
        otherwise hold up every member's turn."""
        return await asyncio.to_thread(render, made, words(turn))

    @router.command("baocao", "report", needs_member=False, for_organizers=True)
    async def report(turn: Turn, args: str) -> None:
        codes = await organized_units(turn, MAX_UNIT_CHOICES)
        if not codes:
            turn.say(turn.t("errors.not_allowed"))
            return
        if len(codes) == 1:
            ask_period(turn, codes[0])
            return
        turn.ask(
            turn.t("report.ask_unit"),
            [Choice(f"rpu:{code}", services.org.full_name(code)) for code in codes],
        )

    @router.choice("rpu")
    async def on_unit(turn: Turn, code: str) -> None:
        if not await may_organize(turn, code):
            turn.say(turn.t("errors.not_allowed"))
            return
        ask_period(turn, code, edit=True)

    def ask_period(turn: Turn, code: str, *, edit: bool = False) -> None:
        turn.ask(
            turn.t("report.ask_period"),
            [
                Choice("rpp:7", turn.t("report.period_7")),
                Choice("rpp:30", turn.t("report.period_30")),
                Choice("rpp:month", turn.t("report.period_month")),
                Choice("rpp:year", turn.t("report.period_year")),
            ],
            state="report.period",
            data={"unit": code},
            edit=edit,
        )

    @router.choice("rpp")
    async def on_period(turn: Turn, value: str) -> None:
        data = turn.flow_data("unit")
        if data is None:
            return
        today = turn.today
        start = {
            "7": today - timedelta(days=6),
            "30": today - timedelta(days=29),
            "month": today.replace(day=1),
            "year": today.replace(month=1, day=1),
        }.get(value)
        if start is None:
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        await show(turn, data["unit"], start, today)

    @router.state("report.period")
    async def on_period_typed(turn: Turn, text: str) -> None:
        period = parse_period(text, turn.today)
        if period is None:
            turn.repeat_offer(turn.t("report.bad_period", text=text[:40]))
            return
        await show(turn, turn.dialog.data["unit"], *period)

    async def show(turn: Turn, code: str, start: date, end: date) -> None:
        if not await may_organize(turn, code):
            turn.say(turn.t("errors.not_allowed"))
            return
        await log(turn, code, start, end, "text")
        made = await make_report(services, code, start, end)
        recent.put((code, start, end), turn.timestamp, made)
        data = {"unit": code, "start": start.isoformat(), "end": end.isoformat()}
        turn.ask(
            summary_text(made, words(turn)),
            formats(turn),
            state="",
            data=data,
        )

    @router.choice("rpf")
    async def on_format(turn: Turn, value: str) -> None:
        data = turn.flow_data("unit", "start", "end")
        if data is None:
            return
        code = data["unit"]
        if not await may_organize(turn, code):
            turn.say(turn.t("errors.not_allowed"))
            return
        if value == "weekly":
            ask_weekly(turn, code)
            return
        start, end = date.fromisoformat(data["start"]), date.fromisoformat(data["end"])
        await log(turn, code, start, end, value)
        made = recent.get((code, start, end), turn.timestamp) or await make_report(
            services, code, start, end
        )
        stamp = f"{code}-{start:%Y%m%d}-{end:%Y%m%d}"
        turn.close_offer()
        if value == "png":
            turn.attach(
                turn.t("report.chart_caption"),
                Document(f"bao-cao-{stamp}.png", await drawn(report_png, made, turn), photo=True),
            )
        else:
            turn.attach(
                turn.t("report.xlsx_caption"),
                Document(f"bao-cao-{stamp}.xlsx", await drawn(report_xlsx, made, turn)),
            )
        # The offer stays usable: the other format is one press away.
        turn.ask(
            turn.t("report.more"),
            formats(turn),
            data=data,
        )

    async def log(turn: Turn, code: str, start: date, end: date, form: str) -> None:
        await services.store.log_action(
            actor=turn.actor,
            action="report",
            scope=f"{code} {start.isoformat()}..{end.isoformat()} {form}",
            now=turn.timestamp,
        )

    # -- weekly ----------------------------------------------------------------------------

    def ask_weekly(turn: Turn, code: str) -> None:
        if turn.member is None:
            turn.say(turn.t("errors.not_registered"))
            return
        turn.ask(
            turn.t("report.ask_weekly", unit=services.org.full_name(code)),
            [
                Choice("rpw:0:480", turn.t("report.weekly_monday")),
                Choice("rpw:4:960", turn.t("report.weekly_friday")),
                Choice("rpw:off", turn.t("report.weekly_off")),
            ],
            state="report.weekly",
            data={"unit": code},
        )

    @router.choice("rpw", needs_member=True)
    async def on_weekly(turn: Turn, value: str) -> None:
        data = turn.flow_data("unit")
        if data is None:
            return
        if value == "off":
            await store.unsubscribe(turn.member.id, data["unit"])
            turn.finish()
            unit = services.org.full_name(data["unit"])
            turn.say(turn.t("report.weekly_stopped", unit=unit), edit=True)
            return
        weekday, _, minute = value.partition(":")
        await subscribe(turn, data["unit"], int(weekday), int(minute))

    @router.state("report.weekly")
    async def on_weekly_typed(turn: Turn, text: str) -> None:
        when = parse_weekly(text)
        if when is None:
            turn.repeat_offer(turn.t("report.bad_weekly", text=text[:40]))
            return
        await subscribe(turn, turn.dialog.data["unit"], *when)

    async def subscribe(turn: Turn, code: str, weekday: int, minute: int) -> None:
        if not await may_organize(turn, code):
            turn.say(turn.t("errors.not_allowed"))
            return
        await store.subscribe(turn.member.id, code, weekday, minute)
        turn.finish()
        turn.say(
            turn.t(
                "report.weekly_set",
                weekday=turn.t("report.weekdays").split("|")[weekday],
                time=f"{minute // 60:02d}:{minute % 60:02d}",
                unit=services.org.full_name(code),
            )
        )

    @router.every_minute
    async def queue_weekly_reports() -> None:
        now = services.clock.now().astimezone(services.zone)
        minute = now.hour * 60 + now.minute
        due = await store.due_subscriptions(now.weekday(), minute)
        if not due:
            return
        stamp = int(now.timestamp())
        await services.store.outbox.enqueue(
            [
                NewMessage(
                    key=f"{WEEKLY}:{now.date().isoformat()}:{member}:{unit}:{channel}",
                    channel=channel,
                    external_id=account,
                    member_id=member,
                    kind=WEEKLY,
                    payload={"unit": unit, "end": now.date().isoformat()},
                    not_before=stamp,
                    ref=f"report:{unit}",
                )
                for member, unit, _, channel, account in due
            ],
            stamp,
        )
        services.wake_delivery()

    @router.push(WEEKLY)
    async def weekly(turn: Turn, payload: dict) -> None:
        code = payload.get("unit", "")
        if not await may_organize(turn, code):
            return  # no longer an organizer of it: nothing is sent
        end = date.fromisoformat(payload["end"])
        start = end - timedelta(days=6)
        await log(turn, code, start, end, "weekly")
        made = await make_report(services, code, start, end)
        turn.say(summary_text(made, words(turn)))
        turn.attach(
            turn.t("report.chart_caption"),
            Document(
                f"bao-cao-tuan-{code}-{end:%Y%m%d}.png",
                await drawn(report_png, made, turn),
                photo=True,
            ),
        )
