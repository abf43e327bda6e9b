"""The activity log row (one participation) and the local-day number it is counted by."""

from __future__ import annotations

from datetime import date

from ..core.models import Activity, Member
from .committer import Statement

# The activity kinds the bot records, in the order reports list them.
KINDS = (
    "lesson_read",
    "practice_answer",
    "contest_entry",
    "contest_all_correct",
    "commitment_written",
    "commitment_checkin",
    "self_report",
    "session_attendance",
    "feedback_sent",
)

_INSERT = (
    "INSERT INTO activity (member_id, unit_code, category, kind, ref, at, day)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def day_number(day: date) -> int:
    """19 May 2026 -> 20260519, the form reports group by."""
    return day.year * 10000 + day.month * 100 + day.day


def day_from_number(value: int) -> date:
    """20260519 -> 19 May 2026."""
    return date(value // 10000, value // 100 % 100, value % 100)


def activity_statement(member: Member, activity: Activity) -> Statement:
    """The insert of one participation, counted under the member's current unit and category."""
    return (
        _INSERT,
        (
            member.id,
            member.unit_code,
            member.category,
            activity.kind,
            activity.ref,
            activity.at,
            day_number(activity.day),
        ),
    )
