"""The SQLite store: all SQL of the bot lives here and in the migrations."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import aiosqlite

from ..core.models import (
    Dialog,
    LessonProgress,
    Member,
    Offer,
    Session,
    TurnChanges,
    Unit,
)
from ..core.text import fold, fold_compact
from .activity import activity_statement, day_from_number
from .commitments import CommitmentStore
from .committer import GroupCommitter, Statement
from .migrate import apply_migrations
from .outbox import OutboxStore
from .participation import ParticipationStore
from .quizzes import QuizStore
from .reports import ReportStore

log = logging.getLogger(__name__)
T = TypeVar("T")

LESSON_READ = "lesson_read"
_JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at meetings
_RELEASED = "~"  # prefix of a join code taken away from a unit; never typed by anyone


# Connections reserved for reports (see SqliteStore.run_report).
REPORT_READERS = 2
# Erased members' activity is kept under a random id at or below -2^40 (migrations/0006).
ERASED_BASE = 2**40


def _in_snapshot(work: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    """``work(conn)`` in one read transaction, always ended (reports never write)."""
    conn.execute("BEGIN")
    try:
        return work(conn)
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def new_join_code(length: int = 6) -> str:
    """A short, unambiguous code members type or receive in a deep link."""
    return "".join(secrets.choice(_JOIN_ALPHABET) for _ in range(length))


class SqliteStore:
    """Persistence on one SQLite file: one writer connection, one reader connection."""

    def __init__(self, path: Path, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        # Reports read on connections of their own, in worker threads: a province report reads
        # ~800,000 rows, and on the shared reader every member's turn would wait behind it.
        self._report_readers: asyncio.Queue[sqlite3.Connection] | None = None
        self._committer: GroupCommitter | None = None
        self._last_member_id = 0
        self.outbox = OutboxStore(self._read, lambda: self._committer)
        self.commitments = CommitmentStore(self._read, lambda: self._committer)
        self.quizzes = QuizStore(self._read, lambda: self._committer)
        self.reports = ReportStore(self.run_report)
        self.participation = ParticipationStore(self._read, lambda: self._committer)

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> list[str]:
        """Create the file if needed, migrate, open connections; return the migrations run."""
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        ran = self._migrate()
        self._writer = await self._connect()
        self._reader = await self._connect()
        self._report_readers = asyncio.Queue()
        for _ in range(REPORT_READERS):  # opening is quick (as migrating above): no thread
            self._report_readers.put_nowait(self._connect_for_reports())
        self._committer = GroupCommitter(self._writer)
        rows = await self._read(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'members'), 0),"
            " coalesce((SELECT max(id) FROM members), 0))"
        )
        self._last_member_id = rows[0][0]
        return ran

    def _migrate(self) -> list[str]:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            return apply_migrations(conn)
        finally:
            conn.close()

    async def _connect(self, *extra_pragmas: str) -> aiosqlite.Connection:
        # Autocommit mode: the committer opens every write transaction with BEGIN IMMEDIATE.
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            f"busy_timeout={int(self._busy_timeout_ms)}",
            "foreign_keys=ON",
            *extra_pragmas,
        ):
            await conn.execute(f"PRAGMA {pragma}")
        return conn

    def _connect_for_reports(self) -> sqlite3.Connection:
        # Used by one worker thread at a time (run_report hands it out), never written through.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "query_only=ON",
            f"busy_timeout={int(self._busy_timeout_ms)}",
            "temp_store=MEMORY",
            "cache_size=-65536",  # up to 64 MB of pages each
        ):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    async def close(self) -> None:
        """Finish queued writes and close the connections."""
        if self._committer is not None:
            await self._committer.close()
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        if self._report_readers is not None:
            for _ in range(REPORT_READERS):  # a report in progress finishes first
                (await self._report_readers.get()).close()
        self._reader = self._writer = self._committer = self._report_readers = None

    async def __aenter__(self) -> SqliteStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _allocate_member_id(self) -> int:
        # Ids come from here rather than from SQLite so that a new member's rows batch with
        # other turns. This process is the only writer; a PostgreSQL store uses a sequence.
        self._last_member_id += 1
        return self._last_member_id

    @property
    def transactions(self) -> int:
        """How many write transactions have committed (for benchmarks)."""
        return self._committer.transactions if self._committer else 0

    async def run_report(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on one of the connections reserved for reports, in a worker thread
        (SQLite and numpy's sorts release the GIL, so members' turns go on meanwhile), inside
        one read transaction: every query of a report sees the same snapshot, even if units
        are reloaded or members join meanwhile. Waits while every such connection is busy."""
        readers = self._report_readers
        conn = await readers.get()
        running = asyncio.ensure_future(asyncio.to_thread(_in_snapshot, work, conn))
        # Back to the pool when the thread is done, not when a cancelled caller gives up.
        running.add_done_callback(lambda _: readers.put_nowait(conn))
        return await asyncio.shield(running)

    async def _read(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        return list(await self._reader.execute_fetchall(sql, tuple(params)))

    # -- sessions and turns --------------------------------------------------------------

    async def load_session(self, channel: str, user_id: str) -> Session:
        """The member, dialog and lesson progress of one channel account."""
        # The hot path of every first contact: one plain keyed query, no JSON.
        rows = await self._read(
            "SELECT m.id, m.full_name, m.unit_code, m.category, m.locale, m.consent_at,"
            " m.created_at, d.state, d.data, d.offer, d.locale"
            " FROM (SELECT ? AS channel, ? AS external_id) k"
            " LEFT JOIN accounts a USING (channel, external_id)"
            " LEFT JOIN members m ON m.id = a.member_id"
            " LEFT JOIN dialogs d USING (channel, external_id)",
            (channel, user_id),
        )
        row = rows[0]
        member = Member(*row[:7]) if row[0] is not None else None
        dialog = _dialog_from_row(row[7:]) if row[7] is not None else Dialog()
        progress = (await self._lesson_progress([member.id])).get(member.id) if member else None
        return Session(channel, user_id, member, dialog, progress or LessonProgress())

    async def load_sessions(
        self, keys: Iterable[tuple[str, str]], *, progress: bool = True
    ) -> dict[tuple[str, str], Session]:
        """Sessions of many accounts in two round trips (one without lesson progress)."""
        keys = list(keys)
        rows = await self._read(
            "SELECT json_extract(k.value, '$[0]'), json_extract(k.value, '$[1]'),"
            " m.id, m.full_name, m.unit_code, m.category, m.locale, m.consent_at,"
            " m.created_at, d.state, d.data, d.offer, d.locale"
            " FROM json_each(?) k"
            " LEFT JOIN accounts a ON a.channel = json_extract(k.value, '$[0]')"
            "  AND a.external_id = json_extract(k.value, '$[1]')"
            " LEFT JOIN members m ON m.id = a.member_id"
            " LEFT JOIN dialogs d ON d.channel = json_extract(k.value, '$[0]')"
            "  AND d.external_id = json_extract(k.value, '$[1]')",
            (json.dumps(keys),),
        )
        found = {}
        for row in rows:
            member = Member(*row[2:9]) if row[2] is not None else None
            dialog = _dialog_from_row(row[9:]) if row[9] is not None else Dialog()
            found[(row[0], row[1])] = (member, dialog)
        members = [m.id for m, _ in found.values() if m is not None]
        progress_of = await self._lesson_progress(members) if progress and members else {}
        return {
            key: Session(
                key[0],
                key[1],
                member,
                dialog,
                progress_of.get(member.id, LessonProgress()) if member else LessonProgress(),
            )
            for key, (member, dialog) in found.items()
        }

    async def _lesson_progress(self, member_ids: list[int]) -> dict[int, LessonProgress]:
        rows = await self._read(
            "SELECT member_id, ref, day FROM activity WHERE kind = ?"
            " AND member_id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (LESSON_READ, json.dumps(member_ids)),
        )
        progress: dict[int, LessonProgress] = {}
        for member_id, ref, day in rows:
            current = progress.get(member_id, LessonProgress())
            progress[member_id] = current.after_reading(ref, day_from_number(day))
        return progress

    async def save_turn(
        self, channel: str, user_id: str, member: Member | None, changes: TurnChanges, now: int
    ) -> Member | None:
        """Apply one turn's changes atomically; return the member as stored (with its id)."""
        if changes.is_empty():
            return member
        statements = self._dialog_statements(channel, user_id, changes, now)
        if changes.erased is not None:
            statements += _erase_statements(changes.erased.id)
            await self._committer.write(statements)
            return None
        if changes.member is not None and changes.member.id is None:
            member = replace(changes.member, id=self._allocate_member_id())
            statements += _insert_member_statements(channel, user_id, member)
        elif changes.member is not None:
            member = changes.member
            statements.append(
                (
                    "UPDATE members SET full_name = ?, unit_code = ?, category = ?, locale = ?"
                    " WHERE id = ?",
                    (
                        member.full_name,
                        member.unit_code,
                        member.category,
                        member.locale,
                        member.id,
                    ),
                )
            )
        if member is not None:
            statements += [activity_statement(member, a) for a in changes.activities]
        statements += changes.writes
        await self._committer.write(statements)
        return member

    def _dialog_statements(
        self, channel: str, user_id: str, changes: TurnChanges, now: int
    ) -> list[Statement]:
        if changes.dialog_deleted or changes.erased is not None:
            return [
                ("DELETE FROM dialogs WHERE channel = ? AND external_id = ?", (channel, user_id))
            ]
        if changes.dialog is None:
            return []
        d = changes.dialog
        offer = (
            json.dumps([d.offer.prefix, d.offer.keys, d.offer.labels], ensure_ascii=False)
            if d.offer
            else None
        )
        return [
            (
                "INSERT INTO dialogs"
                " (channel, external_id, state, data, offer, locale, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (channel, external_id) DO UPDATE SET"
                " state = excluded.state, data = excluded.data, offer = excluded.offer,"
                " locale = excluded.locale, updated_at = excluded.updated_at",
                (
                    channel,
                    user_id,
                    d.state,
                    json.dumps(d.data, ensure_ascii=False),
                    offer,
                    d.locale,
                    now,
                ),
            )
        ]

    async def set_reachable(self, channel: str, user_id: str, reachable: bool) -> None:
        """Record that a channel account blocked the bot (or came back)."""
        await self._committer.write(
            [
                (
                    "UPDATE accounts SET reachable = ? WHERE channel = ? AND external_id = ?",
                    (int(reachable), channel, user_id),
                )
            ]
        )

    # -- organisation ---------------------------------------------------------------------

    async def sync_units(self, units: list[Unit], paths: dict[str, str]) -> dict[str, str]:
        """Store the units file; deactivate units no longer listed; return every join code.

        A join code written in the file wins, even when another unit held it before. Otherwise a
        unit keeps the code it had, so links already shared keep working; new units get a fresh
        random code.
        """
        existing = {
            code: join
            for code, join in await self._read("SELECT code, join_code FROM units")
            if not join.startswith(_RELEASED)
        }
        given = {fold_compact(u.join_code) for u in units if u.join_code}
        taken = given | {fold_compact(join) for join in existing.values()}
        codes: dict[str, str] = {}
        for unit in units:
            join = unit.join_code or existing.get(unit.code, "")
            if not unit.join_code and fold_compact(join) in given:
                join = ""  # the file hands this unit's old code to another unit
            while not join:
                candidate = new_join_code()
                if fold_compact(candidate) not in taken:
                    join = candidate
            taken.add(fold_compact(join))
            codes[unit.code] = join
        statements: list[Statement] = [
            # Free the codes about to be assigned, wherever they are now (UNIQUE is checked
            # per statement, so a code moving between units must be released first).
            (
                f"UPDATE units SET join_code = '{_RELEASED}' || code"
                " WHERE join_code IN (SELECT value FROM json_each(?))",
                (json.dumps(list(codes.values())),),
            )
        ]
        # Parents come before children in ``units``, so the parent_code foreign key holds.
        statements += [
            (
                "INSERT INTO units (code, name, parent_code, level, path, join_code, active)"
                " VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (code) DO UPDATE SET"
                " name = excluded.name, parent_code = excluded.parent_code,"
                " level = excluded.level, path = excluded.path,"
                " join_code = excluded.join_code, active = 1",
                (u.code, u.name, u.parent, u.level, paths[u.code], codes[u.code]),
            )
            for u in units
        ]
        statements.append(
            (
                "UPDATE units SET active = 0 WHERE code NOT IN (SELECT value FROM json_each(?))",
                (json.dumps([u.code for u in units]),),
            )
        )
        await self._committer.write(statements)
        return codes

    async def profile_extras(self, member_id: int, year: int) -> tuple[int | None, int | None]:
        """(lesson reminder minute, number of commitment items this year), None where unset."""
        rows = await self._read(
            "SELECT (SELECT minute FROM reminders WHERE member_id = ? AND kind = 'lesson'),"
            " (SELECT json_array_length(items) FROM commitments"
            " WHERE member_id = ? AND year = ?)",
            (member_id, member_id, year),
        )
        return rows[0][0], rows[0][1]

    async def unit_rows(self) -> list[tuple[str, str, str, str, str]]:
        """(code, name, parent, level, join code) of every stored unit, parents first."""
        rows = await self._read(
            "SELECT code, name, coalesce(parent_code, ''), level, join_code FROM units"
            " ORDER BY length(path), path"
        )
        return [tuple(r) for r in rows]

    async def members_count(self) -> int:
        """How many members are registered."""
        return (await self._read("SELECT count(*) FROM members"))[0][0]

    async def find_member_by_account(self, channel: str, user_id: str) -> Member | None:
        """The member behind a channel account, if registered."""
        return (await self.load_session(channel, user_id)).member

    async def get_member(self, member_id: int) -> Member | None:
        """A member by id."""
        rows = await self._read(
            "SELECT id, full_name, unit_code, category, locale, consent_at, created_at"
            " FROM members WHERE id = ?",
            (member_id,),
        )
        return Member(*rows[0]) if rows else None

    async def grant(self, member_id: int, unit_code: str, *, actor: str, now: int) -> None:
        """Make a member an organizer of a unit subtree, and log who did it."""
        await self._committer.write(
            [
                (
                    "INSERT OR IGNORE INTO organizers (member_id, unit_code, granted_at)"
                    " VALUES (?, ?, ?)",
                    (member_id, unit_code, now),
                ),
                (
                    "INSERT INTO audit_log (at, actor, action, scope) VALUES (?, ?, 'grant', ?)",
                    (now, actor, f"member:{member_id} unit:{unit_code}"),
                ),
            ]
        )

    async def revoke(self, member_id: int, unit_code: str, *, actor: str, now: int) -> bool:
        """Take organizer rights away; False when there were none."""
        rows = await self._read(
            "SELECT 1 FROM organizers WHERE member_id = ? AND unit_code = ?",
            (member_id, unit_code),
        )
        await self._committer.write(
            [
                (
                    "DELETE FROM organizers WHERE member_id = ? AND unit_code = ?",
                    (member_id, unit_code),
                ),
                (
                    "INSERT INTO audit_log (at, actor, action, scope) VALUES (?, ?, 'revoke', ?)",
                    (now, actor, f"member:{member_id} unit:{unit_code}"),
                ),
            ]
        )
        return bool(rows)

    async def members_in(self, path: str, words: list[str]) -> list[tuple[int, str, str, str]]:
        """(id, name, unit, category) of members of a subtree whose name has every word
        (compared without diacritics or case)."""
        rows = await self._read(
            "SELECT m.id, m.full_name, m.unit_code, m.category FROM members m"
            " JOIN units u ON u.code = m.unit_code WHERE substr(u.path, 1, length(?)) = ?",
            (path, path),
        )
        return [tuple(r) for r in rows if all(w in fold(r[1]) for w in words)]

    async def organizer_units(self, member_id: int) -> list[str]:
        """The unit codes whose subtrees this member organizes."""
        rows = await self._read(
            "SELECT unit_code FROM organizers WHERE member_id = ? ORDER BY unit_code",
            (member_id,),
        )
        return [code for (code,) in rows]

    async def log_action(self, *, actor: str, action: str, scope: str, now: int) -> None:
        """Append to the audit log (who did what on which scope; never message contents)."""
        await self._committer.write(
            [
                (
                    "INSERT INTO audit_log (at, actor, action, scope) VALUES (?, ?, ?, ?)",
                    (now, actor, action, scope),
                )
            ]
        )


def _insert_member_statements(channel: str, user_id: str, member: Member) -> list[Statement]:
    return [
        (
            "INSERT INTO members"
            " (id, full_name, unit_code, category, locale, consent_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                member.id,
                member.full_name,
                member.unit_code,
                member.category,
                member.locale,
                member.consent_at,
                member.created_at,
            ),
        ),
        (
            "INSERT INTO accounts (channel, external_id, member_id) VALUES (?, ?, ?)"
            " ON CONFLICT (channel, external_id) DO UPDATE SET member_id = excluded.member_id,"
            " reachable = 1",
            (channel, user_id, member.id),
        ),
    ]


def _erase_statements(member_id: int) -> list[Statement]:
    # Everything that names the person goes; see migrations/0006 for the stand-in's range.
    stand_in = -(ERASED_BASE + secrets.randbelow(ERASED_BASE))
    return [
        # Activity stays as anonymous counts under a random stand-in (the same for all of the
        # member's rows, so reports still count one person), linked to nobody.
        ("UPDATE activity SET member_id = ? WHERE member_id = ?", (stand_in, member_id)),
        (
            "UPDATE OR IGNORE session_attendance SET person = ? WHERE person = ?",
            (stand_in, member_id),
        ),
        (
            "DELETE FROM dialogs WHERE (channel, external_id) IN"
            " (SELECT channel, external_id FROM accounts WHERE member_id = ?)",
            (member_id,),
        ),
        ("DELETE FROM organizers WHERE member_id = ?", (member_id,)),
        (
            "UPDATE audit_log SET actor = 'erased' WHERE actor IN"
            " (SELECT channel || ':' || external_id FROM accounts WHERE member_id = ?)",
            (member_id,),
        ),
        ("UPDATE broadcasts SET created_by = NULL WHERE created_by = ?", (member_id,)),
        (
            "UPDATE contests SET created_by = NULL, creator_account = '' WHERE created_by = ?",
            (member_id,),
        ),
        ("DELETE FROM outbox WHERE member_id = ? AND status = 'pending'", (member_id,)),
        (
            "UPDATE outbox SET member_id = NULL, external_id = '', payload = '{}'"
            " WHERE member_id = ?",
            (member_id,),
        ),
        ("DELETE FROM accounts WHERE member_id = ?", (member_id,)),
        ("DELETE FROM members WHERE id = ?", (member_id,)),
    ]


def _dialog_from_row(row: sqlite3.Row | tuple) -> Dialog:
    state, data, offer, locale = row
    parsed = None
    if offer:
        prefix, keys, labels = json.loads(offer)
        parsed = Offer(prefix, tuple(keys), tuple(labels))
    return Dialog(state, json.loads(data), parsed, locale)
