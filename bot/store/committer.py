"""Group commit: writes of concurrent turns share one transaction, each caller awaits it.

A turn's writes are a list of statements. While one transaction commits, new turns queue up;
the next transaction takes all of them, runs statements of the same shape with one
``executemany`` (a single thread hop in aiosqlite) and commits once. A turn's own statements
keep their order because they are grouped by (position in the turn, SQL). That is safe because
concurrent turns never touch the same rows: turns of one member run one after another, and each
waits for its commit. If the shared transaction fails, each turn is retried alone so one bad turn
cannot sink the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosqlite

log = logging.getLogger(__name__)

Statement = tuple[str, Sequence]


def _future() -> asyncio.Future:
    return asyncio.get_running_loop().create_future()


@dataclass
class _Pending:
    statements: list[Statement]
    returning: bool = False  # one statement whose result rows the caller wants back
    bulk: bool = False  # each statement's params is a list of rows for one executemany
    rows: list = field(default_factory=list)
    done: asyncio.Future = field(default_factory=_future)


class GroupCommitter:
    """Serialises every write through one connection, batching concurrent callers."""

    def __init__(self, conn: aiosqlite.Connection, max_batch: int = 512) -> None:
        self._conn = conn
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._runner: asyncio.Task | None = None
        self.transactions = 0

    async def write(self, statements: list[Statement]) -> None:
        """Apply ``statements`` atomically, in order; return once committed."""
        if statements:
            await self._submit(_Pending(statements))

    async def write_returning(self, sql: str, params: Sequence) -> list[tuple]:
        """Run one statement with a RETURNING clause in the shared transaction; its rows."""
        pending = _Pending([(sql, params)], returning=True)
        await self._submit(pending)
        return pending.rows

    async def write_bulk(self, statements: list[tuple[str, Sequence[Sequence]]]) -> None:
        """Apply many rows per statement (one executemany each) atomically, in order.

        For large jobs such as closing a contest round: 100,000 rows cost one thread hop.
        """
        await self._submit(_Pending(list(statements), bulk=True))

    async def _submit(self, pending: _Pending) -> None:
        self._queue.append(pending)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain())
        # A cancelled caller cancels only its wait: the write itself still commits.
        await pending.done

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            try:
                await self._commit(batch)
            except Exception:
                log.warning("group commit of %d turns failed; retrying one by one", len(batch))
                for pending in batch:
                    await self._commit_alone(pending)
            else:
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_result(None)

    async def _commit_alone(self, pending: _Pending) -> None:
        try:
            await self._commit([pending])
        except Exception as exc:
            if not pending.done.done():
                pending.done.set_exception(exc)
        else:
            if not pending.done.done():
                pending.done.set_result(None)

    async def _commit(self, batch: list[_Pending]) -> None:
        conn = self._conn
        await conn.execute("BEGIN IMMEDIATE")
        try:
            groups: dict[tuple[int, str], list[Sequence]] = {}
            for pending in batch:
                if pending.returning:
                    (sql, params) = pending.statements[0]
                    pending.rows = [tuple(r) for r in await conn.execute_fetchall(sql, params)]
                    continue
                if pending.bulk:
                    for sql, rows in pending.statements:
                        await conn.executemany(sql, rows)
                    continue
                for position, (sql, params) in enumerate(pending.statements):
                    groups.setdefault((position, sql), []).append(params)
            for (_, sql), rows in sorted(groups.items(), key=lambda item: item[0][0]):
                await conn.executemany(sql, rows)
            await conn.execute("COMMIT")
            self.transactions += 1
        except BaseException:
            await conn.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        """Wait for queued writes to finish."""
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
