"""SQL of delivery: the outbox, reminder schedules and the scheduler's own state."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date

from .activity import day_number
from .committer import GroupCommitter

Reader = Callable[[str, Iterable], Awaitable[list]]

# Statuses a row can have; see migrations/0003_delivery.sql.
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
BLOCKED, UNKNOWN, CANCELLED = "blocked", "unknown", "cancelled"


@dataclass(frozen=True)
class OutboxRow:
    """One message to push to one channel account."""

    id: int
    channel: str
    external_id: str
    member_id: int | None
    kind: str
    payload: dict
    attempts: int
    priority: int = 0


@dataclass(frozen=True)
class NewMessage:
    """A message to enqueue; ``key`` makes enqueueing it twice a no-op."""

    key: str
    channel: str
    external_id: str
    member_id: int | None
    kind: str
    payload: dict
    not_before: int
    priority: int = 0
    ref: str = ""


# The reachable accounts of members in a unit subtree (by path prefix; unit codes may contain
# '_', a LIKE wildcard, hence substr) and of the given categories ('[]' means all).
AUDIENCE_FROM = (
    "members m JOIN units u ON u.code = m.unit_code JOIN accounts a ON a.member_id = m.id"
)
AUDIENCE_WHERE = (
    "substr(u.path, 1, length(?)) = ? AND a.reachable = 1"
    " AND (? = '[]' OR m.category IN (SELECT value FROM json_each(?)))"
)

_INSERT = (
    "INSERT OR IGNORE INTO outbox (key, channel, external_id, member_id, kind, ref, payload,"
    " priority, not_before, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class OutboxStore:
    """Queries on the outbox and reminders, sharing the store's connections."""

    def __init__(self, read: Reader, committer: Callable[[], GroupCommitter]) -> None:
        self._read = read
        self._committer = committer

    # -- enqueueing ----------------------------------------------------------------------

    async def enqueue(self, messages: list[NewMessage], now: int) -> None:
        """Add messages; a key already present is left as it is (idempotent)."""
        await self._committer().write(
            [
                (
                    _INSERT,
                    (
                        m.key,
                        m.channel,
                        m.external_id,
                        m.member_id,
                        m.kind,
                        m.ref,
                        json.dumps(m.payload, ensure_ascii=False),
                        m.priority,
                        m.not_before,
                        now,
                        now,
                    ),
                )
                for m in messages
            ]
        )

    async def enqueue_reminders(
        self,
        kind: str,
        day: date,
        first_minute: int,
        last_minute: int,
        *,
        day_start: int,
        now: int,
    ) -> None:
        """Queue every ``kind`` reminder due on local ``day`` between two minutes of the day.

        One row per reachable account; the key (kind:day:member:channel) makes a second pass
        over the same minutes, after a restart or a clock jump, add nothing.
        """
        await self._committer().write(
            [
                (
                    "INSERT OR IGNORE INTO outbox (key, channel, external_id, member_id, kind,"
                    " payload, priority, not_before, created_at, updated_at)"
                    " SELECT r.kind || ':' || ? || ':' || r.member_id || ':' || a.channel,"
                    " a.channel, a.external_id, r.member_id, r.kind, json_object('day', ?), 0,"
                    " ? + r.minute * 60, ?, ?"
                    " FROM reminders r JOIN accounts a ON a.member_id = r.member_id"
                    " WHERE r.kind = ? AND r.minute BETWEEN ? AND ? AND a.reachable = 1",
                    (
                        day.isoformat(),
                        day.isoformat(),
                        day_start,
                        now,
                        now,
                        kind,
                        first_minute,
                        last_minute,
                    ),
                )
            ]
        )

    async def count_reminders(self, kind: str, first_minute: int, last_minute: int) -> int:
        """How many ``kind`` reminders fall between two minutes of the day."""
        rows = await self._read(
            "SELECT count(*) FROM reminders WHERE kind = ? AND minute BETWEEN ? AND ?",
            (kind, first_minute, last_minute),
        )
        return rows[0][0]

    async def add_missed(self, day: date, kind: str, count: int) -> None:
        """Count reminders skipped because they were too old when the bot came back."""
        if count:
            await self._committer().write(
                [
                    (
                        "INSERT INTO missed_reminders (day, kind, count) VALUES (?, ?, ?)"
                        " ON CONFLICT (day, kind) DO UPDATE SET count = count + excluded.count",
                        (day_number(day), kind, count),
                    )
                ]
            )

    # -- sending -------------------------------------------------------------------------

    async def due(self, channel: str, now: int, limit: int) -> list[OutboxRow]:
        """Pending rows of a channel whose time has come, most urgent first."""
        rows = await self._read(
            "SELECT id, channel, external_id, member_id, kind, payload, attempts, priority"
            " FROM outbox WHERE status = 'pending' AND not_before <= ? AND channel = ?"
            " ORDER BY priority DESC, not_before, id LIMIT ?",
            (now, channel, limit),
        )
        return [
            OutboxRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows
        ]

    async def next_due(self, channel: str) -> int | None:
        """When the earliest pending row of a channel falls due (UTC seconds), if any."""
        rows = await self._read(
            "SELECT min(not_before) FROM outbox WHERE status = 'pending' AND channel = ?",
            (channel,),
        )
        return rows[0][0]

    async def claim(self, ids: list[int], now: int) -> set[int]:
        """Mark rows as being sent, committed before any send; returns those still pending.

        A row cancelled in the meantime (the member unsubscribed) is not returned.
        """
        rows = await self._committer().write_returning(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?"
            " WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending' RETURNING id",
            (now, json.dumps(ids)),
        )
        return {row[0] for row in rows}

    async def finish(self, row_id: int, status: str, now: int, error: str = "") -> None:
        """Record how a send ended."""
        await self._committer().write(
            [
                (
                    "UPDATE outbox SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                    (status, error[:200], now, row_id),
                )
            ]
        )

    async def release(self, row_ids: list[int], now: int) -> None:
        """Put claimed rows that were never pushed back in the queue (a clean stop, an error)."""
        await self._committer().write(
            [
                (
                    "UPDATE outbox SET status = 'pending', attempts = attempts - 1, updated_at = ?"
                    " WHERE id IN (SELECT value FROM json_each(?)) AND status = 'sending'",
                    (now, json.dumps(row_ids)),
                )
            ]
        )

    async def mark_sent(self, row_ids: list[int], now: int) -> None:
        """Record many successful sends in one statement."""
        await self._committer().write(
            [
                (
                    "UPDATE outbox SET status = 'sent', updated_at = ?"
                    " WHERE id IN (SELECT value FROM json_each(?))",
                    (now, json.dumps(row_ids)),
                )
            ]
        )

    async def retry_later(
        self, row_id: int, not_before: int, now: int, error: str, *, count_attempt: bool = True
    ) -> None:
        """Put a row back in the queue until ``not_before`` (a 429 is not a failed attempt)."""
        await self._committer().write(
            [
                (
                    "UPDATE outbox SET status = 'pending', not_before = ?, error = ?,"
                    " updated_at = ?, attempts = attempts - ? WHERE id = ?",
                    (not_before, error[:200], now, 0 if count_attempt else 1, row_id),
                )
            ]
        )

    async def block_account(self, channel: str, external_id: str, now: int) -> None:
        """The account blocked the bot: mark it and drop what was waiting for it."""
        await self._committer().write(
            [
                (
                    "UPDATE accounts SET reachable = 0 WHERE channel = ? AND external_id = ?",
                    (channel, external_id),
                ),
                (
                    "UPDATE outbox SET status = 'blocked', updated_at = ?"
                    " WHERE channel = ? AND external_id = ? AND status = 'pending'",
                    (now, channel, external_id),
                ),
            ]
        )

    async def mark_in_flight_unknown(self, now: int) -> int:
        """At start: rows left 'sending' by a crash may have been delivered; never resend them."""
        rows = await self._committer().write_returning(
            "UPDATE outbox SET status = 'unknown', updated_at = ? WHERE status = 'sending'"
            " RETURNING id",
            (now,),
        )
        return len(rows)

    async def requeue_unknown(self, now: int) -> int:
        """An operator's decision: send the 'unknown' rows again (they may arrive twice)."""
        rows = await self._committer().write_returning(
            "UPDATE outbox SET status = 'pending', not_before = ?, updated_at = ?"
            " WHERE status = 'unknown' RETURNING id",
            (now, now),
        )
        return len(rows)

    async def counts(self) -> dict[tuple[str, str], int]:
        """Rows per (kind, status), for operators and progress reports."""
        rows = await self._read(
            "SELECT kind, status, count(*) FROM outbox GROUP BY kind, status", ()
        )
        return {(kind, status): count for kind, status, count in rows}

    # -- reminders -----------------------------------------------------------------------

    async def reminder_minute(self, member_id: int, kind: str) -> int | None:
        """The local minute of the day of a member's reminder, or None when off."""
        rows = await self._read(
            "SELECT minute FROM reminders WHERE member_id = ? AND kind = ?", (member_id, kind)
        )
        return rows[0][0] if rows else None

    async def set_reminder(self, member_id: int, kind: str, minute: int | None) -> None:
        """Set (or, with None, remove) a reminder; what is queued but unsent is dropped.

        Dropping the queued row means an unsubscribe wins over the queue, and a new hour
        takes effect today without the old hour's message also arriving.
        """
        statements = [
            (
                "DELETE FROM outbox WHERE member_id = ? AND kind = ? AND status = 'pending'",
                (member_id, kind),
            )
        ]
        if minute is None:
            statements.append(
                ("DELETE FROM reminders WHERE member_id = ? AND kind = ?", (member_id, kind))
            )
        else:
            statements.append(
                (
                    "INSERT INTO reminders (member_id, kind, minute) VALUES (?, ?, ?)"
                    " ON CONFLICT (member_id, kind) DO UPDATE SET minute = excluded.minute",
                    (member_id, kind, minute),
                )
            )
        await self._committer().write(statements)

    # -- broadcasts ----------------------------------------------------------------------

    async def count_audience(self, path: str, categories: list[str]) -> int:
        """How many reachable accounts of these categories are in the subtree at ``path``."""
        rows = await self._read(
            "SELECT count(*) FROM " + AUDIENCE_FROM + " WHERE " + AUDIENCE_WHERE,
            (path, path, json.dumps(categories), json.dumps(categories)),
        )
        return rows[0][0]

    async def create_broadcast(
        self,
        *,
        request_key: str,
        unit_code: str,
        path: str,
        categories: list[str],
        text: str,
        created_by: int | None,
        now: int,
    ) -> tuple[int, int]:
        """Store a notice and queue one row per recipient; returns (id, recipients).

        One transaction: the notice, its rows (one INSERT … SELECT: 540,000 in seconds) and
        the count, so no one ever sees a notice without its rows. ``request_key`` makes a
        repeated request (a second press of "send") return the same notice, not a new one.
        """
        cats = json.dumps(categories)
        await self._committer().write(
            [
                (
                    "INSERT OR IGNORE INTO broadcasts (request_key, unit_code, categories, text,"
                    " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (request_key, unit_code, cats, text, created_by, now),
                ),
                (
                    "INSERT OR IGNORE INTO outbox (key, channel, external_id, member_id, kind,"
                    " ref, payload, priority, not_before, created_at, updated_at)"
                    " SELECT 'notice:' || b.id || ':' || m.id || ':' || a.channel,"
                    " a.channel, a.external_id, m.id, 'notice', CAST(b.id AS TEXT),"
                    " json_object('broadcast', b.id), 1, ?, ?, ?"
                    " FROM broadcasts b, "
                    + AUDIENCE_FROM
                    + " WHERE b.request_key = ? AND b.recipients = 0 AND "
                    + AUDIENCE_WHERE,
                    (now, now, now, request_key, path, path, cats, cats),
                ),
                (
                    "UPDATE broadcasts SET recipients = (SELECT count(*) FROM outbox"
                    " WHERE kind = 'notice' AND ref = CAST(broadcasts.id AS TEXT))"
                    " WHERE request_key = ? AND recipients = 0",
                    (request_key,),
                ),
            ]
        )
        rows = await self._read(
            "SELECT id, recipients FROM broadcasts WHERE request_key = ?", (request_key,)
        )
        return rows[0][0], rows[0][1]

    async def broadcast(self, broadcast_id: int) -> dict | None:
        """A stored notice, or None."""
        rows = await self._read(
            "SELECT id, unit_code, categories, text, created_by, created_at, recipients,"
            " finished_at FROM broadcasts WHERE id = ?",
            (broadcast_id,),
        )
        if not rows:
            return None
        keys = (
            "id",
            "unit_code",
            "categories",
            "text",
            "created_by",
            "created_at",
            "recipients",
            "finished_at",
        )
        return dict(zip(keys, rows[0], strict=True))

    async def progress(self, kind: str, ref: str) -> dict[str, int]:
        """Rows of one broadcast (or other ref) per status."""
        rows = await self._read(
            "SELECT status, count(*) FROM outbox WHERE kind = ? AND ref = ? GROUP BY status",
            (kind, ref),
        )
        return dict(rows)

    async def finished_broadcasts(self) -> list[int]:
        """Broadcasts with nothing left to send whose organizer has not been told yet."""
        rows = await self._read(
            "SELECT b.id FROM broadcasts b WHERE b.finished_at IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM outbox o WHERE o.kind = 'notice' AND o.ref = CAST(b.id AS TEXT)"
            " AND o.status IN ('pending', 'sending'))",
            (),
        )
        return [row[0] for row in rows]

    async def accounts_of(self, member_id: int) -> list[tuple[str, str]]:
        """The reachable (channel, account id) pairs of a member."""
        rows = await self._read(
            "SELECT channel, external_id FROM accounts WHERE member_id = ? AND reachable = 1",
            (member_id,),
        )
        return [tuple(row) for row in rows]

    async def mark_broadcast_finished(self, broadcast_id: int, now: int) -> None:
        """Record that the organizer's final summary has been queued."""
        await self._committer().write(
            [("UPDATE broadcasts SET finished_at = ? WHERE id = ?", (now, broadcast_id))]
        )

    async def muted(self, member_id: int, kind: str) -> bool:
        """Whether the member turned off reminders of ``kind`` (those on by default)."""
        rows = await self._read(
            "SELECT 1 FROM reminder_optouts WHERE member_id = ? AND kind = ?", (member_id, kind)
        )
        return bool(rows)

    async def set_muted(self, member_id: int, kind: str, muted: bool) -> None:
        """Turn a default-on reminder kind off (dropping what is queued) or on again."""
        if muted:
            statements = [
                (
                    "INSERT OR IGNORE INTO reminder_optouts (member_id, kind) VALUES (?, ?)",
                    (member_id, kind),
                ),
                (
                    "DELETE FROM outbox WHERE member_id = ? AND kind = ? AND status = 'pending'",
                    (member_id, kind),
                ),
            ]
        else:
            statements = [
                (
                    "DELETE FROM reminder_optouts WHERE member_id = ? AND kind = ?",
                    (member_id, kind),
                )
            ]
        await self._committer().write(statements)

    # -- state ---------------------------------------------------------------------------

    async def get_state(self, name: str) -> str | None:
        """A value the bot keeps about itself."""
        rows = await self._read("SELECT value FROM bot_state WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    async def add_to_state(self, name: str, amount: int = 1) -> None:
        """Add to a counter kept as a value (atomic: concurrent senders do not lose counts)."""
        await self._committer().write(
            [
                (
                    "INSERT INTO bot_state (name, value) VALUES (?, ?) ON CONFLICT (name)"
                    " DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
                    (name, str(amount)),
                )
            ]
        )

    async def set_state(self, name: str, value: str) -> None:
        """Remember a value about the bot itself."""
        await self._committer().write(
            [
                (
                    "INSERT INTO bot_state (name, value) VALUES (?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (name, value),
                )
            ]
        )
