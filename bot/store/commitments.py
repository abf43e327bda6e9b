"""SQL of commitments: the yearly items, check-ins, and completion per unit subtree."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date

from ..core.models import Activity, Member
from .activity import activity_statement
from .committer import GroupCommitter, Statement

Reader = Callable[[str, Iterable], Awaitable[list]]


@dataclass(frozen=True)
class CheckInRow:
    """One answer about one item in one period."""

    period: str
    item: int
    status: str
    note: str


def _activity(member: Member, kind: str, ref: str, now: int, day: date) -> Statement:
    return activity_statement(member, Activity(kind, ref, now, day))


class CommitmentStore:
    """Queries on commitments, sharing the store's connections."""

    def __init__(self, read: Reader, committer: Callable[[], GroupCommitter]) -> None:
        self._read = read
        self._committer = committer

    async def items(self, member_id: int, year: int) -> list[str] | None:
        """This year's items of a member, or None when not written yet."""
        rows = await self._read(
            "SELECT items FROM commitments WHERE member_id = ? AND year = ?", (member_id, year)
        )
        return json.loads(rows[0][0]) if rows else None

    async def save(
        self, member: Member, year: int, items: list[str], *, now: int, day: date
    ) -> bool:
        """Write or rewrite the commitment; True when it is the first of the year.

        Writing it the first time is one participation ('commitment_written'); edits are not.
        """
        first = await self.items(member.id, year) is None
        statements: list[Statement] = [
            (
                "INSERT INTO commitments (member_id, year, items, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id, year) DO UPDATE SET"
                " items = excluded.items, updated_at = excluded.updated_at",
                (member.id, year, json.dumps(items, ensure_ascii=False), now, now),
            )
        ]
        if first:
            statements.append(_activity(member, "commitment_written", str(year), now, day))
        else:  # items may have moved: answers about the old list no longer fit
            statements.append(
                (
                    "DELETE FROM commitment_checkins WHERE member_id = ? AND year = ?",
                    (member.id, year),
                )
            )
        await self._committer().write(statements)
        return first

    async def check_in(
        self,
        member: Member,
        year: int,
        period: str,
        answers: list[tuple[str, str]],
        *,
        now: int,
        day: date,
    ) -> None:
        """Record (status, note) for every item in ``period``; one participation per period."""
        statements: list[Statement] = [
            (
                "INSERT INTO commitment_checkins (member_id, year, period, item, status, note,"
                " at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (member_id, year, period, item)"
                " DO UPDATE SET status = excluded.status, note = excluded.note, at = excluded.at",
                (member.id, year, period, index, status, note, now),
            )
            for index, (status, note) in enumerate(answers)
        ]
        statements.append(_activity(member, "commitment_checkin", period, now, day))
        await self._committer().write(statements)

    async def check_ins(self, member_id: int, year: int) -> list[CheckInRow]:
        """Every answer of the year, oldest period first."""
        rows = await self._read(
            "SELECT period, item, status, note FROM commitment_checkins"
            " WHERE member_id = ? AND year = ? ORDER BY period, item",
            (member_id, year),
        )
        return [CheckInRow(*row) for row in rows]

    async def record_report(self, member: Member, year: int, *, now: int, day: date) -> None:
        """The member compiled their year-end self-report (one participation each time)."""
        await self._committer().write([_activity(member, "self_report", str(year), now, day)])

    async def completion(self, path: str, year: int) -> tuple[int, int]:
        """(members with a commitment this year, registered members) in the subtree."""
        rows = await self._read(
            "SELECT count(c.member_id), count(*) FROM members m"
            " JOIN units u ON u.code = m.unit_code"
            " LEFT JOIN commitments c ON c.member_id = m.id AND c.year = ?"
            " WHERE substr(u.path, 1, length(?)) = ?",
            (year, path, path),
        )
        return rows[0][0], rows[0][1]

    async def members_to_check_in(self, year: int, unit_codes: list[str]) -> int:
        """How many members of these units have a commitment this year."""
        rows = await self._read(
            "SELECT count(*) FROM commitments c JOIN members m ON m.id = c.member_id"
            " WHERE c.year = ? AND m.unit_code IN (SELECT value FROM json_each(?))",
            (year, json.dumps(unit_codes)),
        )
        return rows[0][0]

    async def enqueue_check_in_reminders(
        self, year: int, period: str, unit_codes: list[str], *, now: int
    ) -> None:
        """Queue a check-in reminder for every member of these units with a commitment."""
        await self._committer().write(
            [
                (
                    "INSERT OR IGNORE INTO outbox (key, channel, external_id, member_id, kind,"
                    " ref, payload, priority, not_before, created_at, updated_at)"
                    " SELECT 'checkin:' || ? || ':' || m.id || ':' || a.channel, a.channel,"
                    " a.external_id, m.id, 'checkin', ?, json_object('period', ?), 0, ?, ?, ?"
                    " FROM commitments c JOIN members m ON m.id = c.member_id"
                    " JOIN accounts a ON a.member_id = m.id AND a.reachable = 1"
                    " WHERE c.year = ? AND m.unit_code IN (SELECT value FROM json_each(?))"
                    " AND NOT EXISTS (SELECT 1 FROM reminder_optouts o"
                    " WHERE o.member_id = m.id AND o.kind = 'checkin')",
                    (period, period, period, now, now, now, year, json.dumps(unit_codes)),
                )
            ]
        )
