"""Lessons: short readings in three strands, loaded from ``content/lessons/*.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..config import parse_day_month
from ..core.text import fold_compact
from .yamlfile import Checker, ContentError, Finding, load_folder

STRANDS = ("tu_tuong", "dao_duc", "phong_cach")
_STRAND_ALIASES = {fold_compact(s): s for s in STRANDS} | {
    "tutuong": "tu_tuong",
    "daoduc": "dao_duc",
    "phongcach": "phong_cach",
}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}\Z")
_TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}\Z")

TITLE_MAX = 80
BODY_MAX = 900
ACTION_MAX = 300
SOURCE_MAX = 200
FIELDS = {"id", "strand", "title", "body", "action", "source", "tags", "dates"}


@dataclass(frozen=True)
class Lesson:
    """One bite-sized lesson with a 'làm theo' action for the day."""

    id: str
    strand: str
    title: str
    body: str
    action: str
    source: str
    tags: tuple[str, ...]
    dates: tuple[str, ...]
    file: str
    line: int


def load_lessons(folder: Path) -> list[Lesson]:
    """All lessons of a folder, in file then item order; ContentError lists every problem."""
    if not any(folder.glob("*.y*ml")):
        raise ContentError([Finding(folder, 0, "no lesson files (*.yaml) found")])
    return load_folder(folder, "lessons", _lesson, "lesson")


def _lesson(check: Checker, item, file: Path) -> Lesson | None:
    raw_id = item.get("id")
    label = f"lesson '{raw_id}'" if raw_id else f"lesson at line {item.line}"
    before = len(check.findings)
    check.unknown_keys(item, FIELDS, label)
    lesson_id = str(raw_id or "")
    if not _ID.match(lesson_id):
        check.add(item.line_of("id"), f"{label}: 'id' must be 2–64 of a-z, 0-9 and '-'")
    strand = read_strand(check, item, label)
    title = check.text(item, "title", label, limit=TITLE_MAX)
    body = check.text(item, "body", label, limit=BODY_MAX)
    action = check.text(item, "action", label, limit=ACTION_MAX)
    source = check.text(item, "source", label, limit=SOURCE_MAX)
    tags = read_tags(check, item, "tags", label)
    dates = read_dates(check, item, label)
    if len(check.findings) > before:
        return None
    return Lesson(
        lesson_id, strand, title, body, action, source, tags, dates, file.name, item.line
    )


def read_strand(check: Checker, item, label: str) -> str:
    """The item's strand (Vietnamese names accepted), or "" after a finding."""
    strand = _STRAND_ALIASES.get(fold_compact(str(item.get("strand", ""))))
    if strand is None:
        check.add(
            item.line_of("strand"),
            f"{label}: 'strand' must be one of {', '.join(STRANDS)} (or tư tưởng, đạo đức, "
            "phong cách)",
        )
        return ""
    return strand


def read_tags(check: Checker, item, field: str, label: str) -> tuple[str, ...]:
    """A list of kebab-case tags."""
    values = item.get(field) or []
    if not isinstance(values, list):
        check.add(item.line_of(field), f"{label}: '{field}' must be a list")
        return ()
    for value in values:
        if not isinstance(value, str) or not _TAG.match(value):
            check.add(item.line_of(field), f"{label}: tag {value!r} must be a-z, 0-9 and '-'")
    return tuple(str(v) for v in values)


def read_dates(check: Checker, item, label: str) -> tuple[str, ...]:
    """Days of the year as "19/5" strings (leading zeros dropped)."""
    values = item.get("dates") or []
    if not isinstance(values, list):
        check.add(item.line_of("dates"), f"{label}: 'dates' must be a list like [\"19/5\"]")
        return ()
    result = []
    for value in values:
        parsed = parse_day_month(str(value))
        if parsed is None:
            check.add(item.line_of("dates"), f"{label}: {value!r} is not a day of the year (d/m)")
        else:
            result.append(f"{parsed[0]}/{parsed[1]}")
    return tuple(result)
