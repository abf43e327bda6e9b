"""Commemorative dates (``content/calendar.yaml``): /ngayle, ready contests, themed lessons."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from .yamlfile import Checker, ContentError, load_yaml

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}\Z")
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})\Z")
TITLE_MAX = 120
SIGNIFICANCE_MAX = 400
SOURCE_MAX = 200
CONTEST_TITLE_MAX = 160
CONTEST_INTRO_MAX = 300
FIELDS = {"id", "date", "title", "significance", "source", "contest"}
CONTEST_FIELDS = {"title", "intro"}


@dataclass(frozen=True)
class Commemoration:
    """One commemorative date: the original event's day and what the bot does around it."""

    id: str
    day: int
    month: int
    year: int
    title: str
    significance: str
    source: str
    contest_title: str
    contest_intro: str
    line: int = 0

    @property
    def key(self) -> str:
        """The day as lessons and questions tag it: '19/5'."""
        return f"{self.day}/{self.month}"

    def next_on_or_after(self, today: date) -> date:
        """The next anniversary from ``today`` (29/2 falls on 28/2 in other years)."""
        for year in (today.year, today.year + 1, today.year + 2):
            try:
                day = date(year, self.month, self.day)
            except ValueError:
                day = date(year, self.month, 28)
            if day >= today:
                return day
        raise AssertionError("unreachable: an anniversary falls within two years")

    def years_on(self, day: date) -> int:
        """How many years the event is from ``day`` (136 for 19/5/2026)."""
        return day.year - self.year

    def contest_title_on(self, day: date) -> str:
        """The ready contest's title with the anniversary filled in."""
        return self.contest_title.replace("{years}", str(self.years_on(day)))


def upcoming(
    dates: list[Commemoration], today: date, days: int
) -> list[tuple[date, Commemoration]]:
    """Anniversaries from today to ``days`` ahead, soonest first (stable for the same day)."""
    end = today + timedelta(days=days)
    found = [(c.next_on_or_after(today), c) for c in dates]
    return sorted(((d, c) for d, c in found if d <= end), key=lambda pair: pair[0])


def load_calendar(file: Path) -> list[Commemoration]:
    """Every date of the file, in file order; ContentError lists every problem found.

    The file is optional: without it there is no /ngayle list and no ready contests.
    """
    if not file.exists():
        return []
    data = load_yaml(file)
    check = Checker(file)
    result: list[Commemoration] = []
    seen: set[str] = set()
    for item in check.items(data, "dates"):
        entry = _entry(check, item)
        if entry is None:
            continue
        if entry.id in seen:
            check.add(item.line_of("id"), f"duplicate date id '{entry.id}'")
            continue
        seen.add(entry.id)
        result.append(entry)
    if check.findings:
        raise ContentError(check.findings)
    return result


def _entry(check: Checker, item) -> Commemoration | None:
    raw_id = item.get("id")
    label = f"date '{raw_id}'" if raw_id else f"date at line {item.line}"
    before = len(check.findings)
    check.unknown_keys(item, FIELDS, label)
    if not _ID.match(str(raw_id or "")):
        check.add(item.line_of("id"), f"{label}: 'id' must be 2–64 of a-z, 0-9 and '-'")
    when = _parse_date(str(item.get("date", "")))
    if when is None:
        check.add(
            item.line_of("date"),
            f"{label}: 'date' must be a day that exists, written d/m/yyyy (e.g. 19/5/1890)",
        )
    title = check.text(item, "title", label, limit=TITLE_MAX)
    significance = check.text(item, "significance", label, limit=SIGNIFICANCE_MAX)
    source = check.text(item, "source", label, limit=SOURCE_MAX)
    contest = item.get("contest")
    contest_title = contest_intro = ""
    if not isinstance(contest, dict):
        check.add(item.line_of("contest"), f"{label}: missing 'contest:' with title and intro")
    else:
        check.unknown_keys(contest, CONTEST_FIELDS, f"{label} contest")
        contest_title = check.text(contest, "title", f"{label} contest", limit=CONTEST_TITLE_MAX)
        contest_intro = check.text(contest, "intro", f"{label} contest", limit=CONTEST_INTRO_MAX)
    if len(check.findings) > before or when is None:
        return None
    return Commemoration(
        str(raw_id),
        when.day,
        when.month,
        when.year,
        title,
        significance,
        source,
        contest_title,
        contest_intro,
        item.line,
    )


def _parse_date(text: str) -> date | None:
    match = _DATE.match(text.strip())
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None
