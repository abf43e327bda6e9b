"""SQL of rosters, study sessions, feedback and weekly report subscriptions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from .activity import day_number
from .committer import GroupCommitter, Statement

Reader = Callable[[str, Iterable], Awaitable[list]]
_IN_PATH = "substr(u.path, 1, length(?)) = ?"
_CHUNK = 500


@dataclass(frozen=True)
class RosterEntry:
    """One expected participant; the phone is known only as a keyed hash."""

    id: int
    unit_code: str
    category: str
    full_name: str
    member_id: int | None


@dataclass(frozen=True)
class StudySession:
    """A study session (hội nghị học tập) members check in to."""

    id: int
    code: str
    title: str
    unit_code: str
    starts_at: int
    place: str


@dataclass(frozen=True)
class Feedback:
    """A question or concern sent to the organizers."""

    id: int
    member_id: int | None
    unit_code: str
    anonymous: bool
    text: str
    status: str
    answer: str
    created_at: int


OPEN, ANSWERED, CLOSED = "open", "answered", "closed"


class ParticipationStore:
    """Queries on rosters, sessions, feedback and subscriptions."""

    def __init__(self, read: Reader, committer: Callable[[], GroupCommitter]) -> None:
        self._read = read
        self._committer = committer

    # -- rosters -------------------------------------------------------------------------

    async def roster_units(self, hashes: Sequence[str]) -> dict[str, str]:
        """Phone hash → unit of the entries already on a roster."""
        found: dict[str, str] = {}
        for start in range(0, len(hashes), _CHUNK):
            chunk = list(hashes[start : start + _CHUNK])
            for phone_hash, unit in await self._read(
                "SELECT phone_hash, unit_code FROM roster"
                f" WHERE phone_hash IN ({', '.join('?' * len(chunk))})",
                chunk,
            ):
                found[phone_hash] = unit
        return found

    async def import_roster(
        self, rows: Sequence[tuple[str, str, str, str]], *, actor: str, scope: str, now: int
    ) -> None:
        """Add or update (unit, category, name, phone hash) rows, and log who did it."""
        await self._committer().write_bulk(
            [
                (
                    "INSERT INTO roster (unit_code, category, full_name, phone_hash,"
                    " imported_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (phone_hash) DO UPDATE SET unit_code = excluded.unit_code,"
                    " category = excluded.category, full_name = excluded.full_name,"
                    " updated_at = excluded.updated_at",
                    [(*row, now, now) for row in rows],
                ),
                (
                    "INSERT INTO audit_log (at, actor, action, scope) VALUES (?, ?, ?, ?)",
                    [(now, actor, "roster_import", f"{scope} rows:{len(rows)}")],
                ),
            ]
        )

    async def roster_counts(self, path: str) -> tuple[int, int]:
        """(entries, entries linked to a member) in a unit subtree."""
        rows = await self._read(
            "SELECT count(*), count(r.member_id) FROM roster r JOIN units u"
            f" ON u.code = r.unit_code WHERE {_IN_PATH}",
            (path, path),
        )
        return rows[0][0], rows[0][1]

    async def by_phone(self, phone_hash: str) -> RosterEntry | None:
        """The roster entry of a phone number (hashed)."""
        rows = await self._read(
            "SELECT id, unit_code, category, full_name, member_id FROM roster"
            " WHERE phone_hash = ?",
            (phone_hash,),
        )
        return RosterEntry(*rows[0]) if rows else None

    async def roster_entry(self, roster_id: int) -> RosterEntry | None:
        """One roster entry."""
        rows = await self._read(
            "SELECT id, unit_code, category, full_name, member_id FROM roster WHERE id = ?",
            (roster_id,),
        )
        return RosterEntry(*rows[0]) if rows else None

    async def roster_of_member(self, member_id: int) -> RosterEntry | None:
        """The entry a member is linked to."""
        rows = await self._read(
            "SELECT id, unit_code, category, full_name, member_id FROM roster WHERE member_id = ?",
            (member_id,),
        )
        return RosterEntry(*rows[0]) if rows else None

    def link_statements(self, roster_id: int, member_id: int) -> list[Statement]:
        """Link an entry to a member; what was counted for the entry becomes the member's."""
        return [
            ("UPDATE roster SET member_id = ? WHERE id = ?", (member_id, roster_id)),
            ("UPDATE activity SET member_id = ? WHERE member_id = ?", (member_id, -roster_id)),
            (
                "UPDATE OR IGNORE session_attendance SET person = ? WHERE person = ?",
                (member_id, -roster_id),
            ),
        ]

    async def unmatched_members(self, path: str, limit: int) -> list[tuple[int, str, str]]:
        """(id, name, unit) of members in a subtree not linked to any roster entry."""
        rows = await self._read(
            "SELECT m.id, m.full_name, m.unit_code FROM members m JOIN units u"
            f" ON u.code = m.unit_code WHERE {_IN_PATH}"
            " AND NOT EXISTS (SELECT 1 FROM roster r WHERE r.member_id = m.id)"
            " ORDER BY m.unit_code, m.full_name LIMIT ?",
            (path, path, limit),
        )
        return [tuple(r) for r in rows]

    async def unlinked_entries(self, unit_code: str) -> list[RosterEntry]:
        """Entries of one unit that no member is linked to."""
        rows = await self._read(
            "SELECT id, unit_code, category, full_name, member_id FROM roster"
            " WHERE unit_code = ? AND member_id IS NULL ORDER BY full_name",
            (unit_code,),
        )
        return [RosterEntry(*r) for r in rows]

    async def entries_in(self, path: str) -> list[RosterEntry]:
        """Every roster entry in a subtree (for marking attendance by name)."""
        rows = await self._read(
            "SELECT r.id, r.unit_code, r.category, r.full_name, r.member_id FROM roster r"
            f" JOIN units u ON u.code = r.unit_code WHERE {_IN_PATH} ORDER BY r.full_name",
            (path, path),
        )
        return [RosterEntry(*r) for r in rows]

    # -- study sessions ------------------------------------------------------------------

    async def create_session(
        self,
        *,
        code: str,
        title: str,
        unit_code: str,
        starts_at: int,
        place: str,
        created_by: int | None,
        now: int,
    ) -> int:
        """Store a session; its id."""
        rows = await self._committer().write_returning(
            "INSERT INTO study_sessions (code, title, unit_code, starts_at, place, created_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (code, title, unit_code, starts_at, place, created_by, now),
        )
        return rows[0][0]

    async def session_by_code(self, code: str) -> StudySession | None:
        """The session with this check-in code."""
        rows = await self._read(
            "SELECT id, code, title, unit_code, starts_at, place FROM study_sessions"
            " WHERE code = ?",
            (code,),
        )
        return StudySession(*rows[0]) if rows else None

    async def session(self, session_id: int) -> StudySession | None:
        """One session."""
        rows = await self._read(
            "SELECT id, code, title, unit_code, starts_at, place FROM study_sessions WHERE id = ?",
            (session_id,),
        )
        return StudySession(*rows[0]) if rows else None

    async def sessions_in(self, path: str, since: int, limit: int = 10) -> list[StudySession]:
        """Sessions of a subtree starting after ``since``, soonest first."""
        rows = await self._read(
            "SELECT s.id, s.code, s.title, s.unit_code, s.starts_at, s.place"
            " FROM study_sessions s JOIN units u ON u.code = s.unit_code"
            f" WHERE {_IN_PATH} AND s.starts_at >= ? ORDER BY s.starts_at LIMIT ?",
            (path, path, since, limit),
        )
        return [StudySession(*r) for r in rows]

    @staticmethod
    def attendance_statement(
        session_id: int,
        person: int,
        unit_code: str,
        category: str,
        *,
        marked_by: int | None,
        at: int,
        day: date,
    ) -> Statement:
        """The attendance row (a trigger counts it as one participation when it is new)."""
        return (
            "INSERT OR IGNORE INTO session_attendance (session_id, person, unit_code, category,"
            " marked_by, at, day) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, person, unit_code, category, marked_by, at, day_number(day)),
        )

    async def attended(self, session_id: int, person: int) -> bool:
        """Whether this person is already counted at the session."""
        rows = await self._read(
            "SELECT 1 FROM session_attendance WHERE session_id = ? AND person = ?",
            (session_id, person),
        )
        return bool(rows)

    async def attendance_count(self, session_id: int) -> tuple[int, int]:
        """(people counted, of whom marked by an organizer)."""
        rows = await self._read(
            "SELECT count(*), count(marked_by) FROM session_attendance WHERE session_id = ?",
            (session_id,),
        )
        return rows[0][0], rows[0][1]

    # -- feedback ------------------------------------------------------------------------

    async def create_feedback(
        self, member_id: int, unit_code: str, anonymous: bool, text: str, now: int
    ) -> int:
        """Store a question; its id."""
        rows = await self._committer().write_returning(
            "INSERT INTO feedback (member_id, unit_code, anonymous, text, status, created_at)"
            " VALUES (?, ?, ?, ?, 'open', ?) RETURNING id",
            (member_id, unit_code, int(anonymous), text, now),
        )
        return rows[0][0]

    async def feedback(self, feedback_id: int) -> Feedback | None:
        """One question."""
        rows = await self._read(
            "SELECT id, member_id, unit_code, anonymous, text, status, answer, created_at"
            " FROM feedback WHERE id = ?",
            (feedback_id,),
        )
        return _feedback(rows[0]) if rows else None

    async def feedback_in(self, path: str, statuses: Sequence[str], limit: int) -> list[Feedback]:
        """Questions of a subtree with the given statuses, oldest first."""
        marks = ", ".join("?" * len(statuses))
        rows = await self._read(
            "SELECT f.id, f.member_id, f.unit_code, f.anonymous, f.text, f.status, f.answer,"
            " f.created_at FROM feedback f JOIN units u ON u.code = f.unit_code"
            f" WHERE {_IN_PATH} AND f.status IN ({marks}) ORDER BY f.created_at LIMIT ?",
            (path, path, *statuses, limit),
        )
        return [_feedback(r) for r in rows]

    async def feedback_of(self, member_id: int, limit: int) -> list[Feedback]:
        """A member's own questions, newest first."""
        rows = await self._read(
            "SELECT id, member_id, unit_code, anonymous, text, status, answer, created_at"
            " FROM feedback WHERE member_id = ? ORDER BY created_at DESC LIMIT ?",
            (member_id, limit),
        )
        return [_feedback(r) for r in rows]

    async def answer_feedback(
        self, feedback_id: int, answer: str, organizer: int | None, now: int
    ) -> bool:
        """Record the answer of an open question; False when it was answered meanwhile."""
        rows = await self._committer().write_returning(
            "UPDATE feedback SET status = 'answered', answer = ?, answered_by = ?,"
            " answered_at = ? WHERE id = ? AND status = 'open' RETURNING id",
            (answer, organizer, now, feedback_id),
        )
        return bool(rows)

    async def close_feedback(self, feedback_id: int) -> None:
        """Mark a question closed."""
        await self._committer().write(
            [("UPDATE feedback SET status = 'closed' WHERE id = ?", (feedback_id,))]
        )

    async def feedback_counts(self, path: str, start: int, end: int) -> tuple[int, int]:
        """(received, answered) in a subtree between two instants."""
        rows = await self._read(
            "SELECT sum(f.created_at BETWEEN ? AND ?), sum(f.answered_at BETWEEN ? AND ?)"
            f" FROM feedback f JOIN units u ON u.code = f.unit_code WHERE {_IN_PATH}",
            (start, end, start, end, path, path),
        )
        return rows[0][0] or 0, rows[0][1] or 0

    # -- weekly reports ------------------------------------------------------------------

    async def subscribe(self, member_id: int, unit_code: str, weekday: int, minute: int) -> None:
        """Send this organizer a weekly report of ``unit_code``."""
        await self._committer().write(
            [
                (
                    "INSERT INTO report_subscriptions (member_id, unit_code, weekday, minute)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (member_id, unit_code) DO UPDATE SET"
                    " weekday = excluded.weekday, minute = excluded.minute",
                    (member_id, unit_code, weekday, minute),
                )
            ]
        )

    async def unsubscribe(self, member_id: int, unit_code: str) -> None:
        """Stop a weekly report."""
        await self._committer().write(
            [
                (
                    "DELETE FROM report_subscriptions WHERE member_id = ? AND unit_code = ?",
                    (member_id, unit_code),
                )
            ]
        )

    async def subscriptions_of(self, member_id: int) -> list[tuple[str, int, int]]:
        """(unit, weekday, minute) of a member's weekly reports."""
        rows = await self._read(
            "SELECT unit_code, weekday, minute FROM report_subscriptions WHERE member_id = ?",
            (member_id,),
        )
        return [tuple(r) for r in rows]

    async def due_subscriptions(self, weekday: int, up_to_minute: int) -> list[tuple]:
        """(member, unit, minute, channel, account) of reports due today by ``up_to_minute``."""
        rows = await self._read(
            "SELECT s.member_id, s.unit_code, s.minute, a.channel, a.external_id"
            " FROM report_subscriptions s JOIN accounts a ON a.member_id = s.member_id"
            " AND a.reachable = 1 WHERE s.weekday = ? AND s.minute <= ?",
            (weekday, up_to_minute),
        )
        return [tuple(r) for r in rows]


def _feedback(row) -> Feedback:
    return Feedback(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], row[7])
