"""The sender: drains one channel's outbox through its rate limiter, exactly once where it can.

Every row is claimed ('sending', committed) before it is sent and finished after, so a crash
leaves at most the claimed rows 'unknown' (never resent on their own). Replies to a member's own
message do not come this way: only what the bot pushes later does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from ..config import DeliverySettings, parse_quiet_hours
from ..core.clock import Clock
from ..core.messages import Reply
from ..store.outbox import BLOCKED, CANCELLED, FAILED, UNKNOWN, OutboxRow, OutboxStore
from .errors import Blocked, MaybeDelivered, Rejected, RetryLater, Transient
from .limiter import PerKeyGap, RateLimiter
from .quota import MonthlyQuota, next_month_start

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 300
SENT_FLUSH_SECONDS = 0.05


class Pusher(Protocol):
    """A channel's way of sending one message to one account, raising delivery errors."""

    async def push(self, external_id: str, replies: list[Reply]) -> None: ...


Prepared = tuple[OutboxRow, "list[Reply] | Exception"]
# Renders a batch of rows: per row id, the replies to push or the error that prevented it.
Render = Callable[[list[OutboxRow]], Awaitable[dict[int, "list[Reply] | Exception"]]]


def is_quiet(moment: time, quiet: tuple[time, time] | None) -> bool:
    """Whether a local time of day falls in the quiet hours (which may span midnight)."""
    if quiet is None:
        return False
    start, end = quiet
    return start <= moment < end if start < end else (moment >= start or moment < end)


def seconds_of_quiet(moment: datetime, quiet: tuple[time, time] | None) -> float:
    """How long the quiet hours that ``moment`` (local time) falls in still last; 0 outside."""
    if not is_quiet(moment.time(), quiet):
        return 0.0
    until = datetime.combine(moment.date(), quiet[1], moment.tzinfo)
    if until <= moment:
        until += timedelta(days=1)
    return (until - moment).total_seconds()


class Sender:
    """Sends due outbox rows of one channel; ``wake()`` after enqueueing to start at once."""

    def __init__(
        self,
        *,
        channel: str,
        pusher: Pusher,
        outbox: OutboxStore,
        render: Render,
        clock: Clock,
        zone: ZoneInfo,
        settings: DeliverySettings,
        quota: MonthlyQuota | None = None,
    ) -> None:
        self.channel = channel
        self._quota = quota
        self._pusher, self._outbox, self._render = pusher, outbox, render
        self._clock, self._zone, self._settings = clock, zone, settings
        rate = settings.paid_rate_per_second or settings.rate_per_second
        self.limiter = RateLimiter(rate)
        # Per chat, seconds matter, not milliseconds: the injected clock (tests move it).
        self._per_chat = PerKeyGap(
            settings.per_chat_per_second, monotonic=lambda: clock.now().timestamp()
        )
        self._quiet = parse_quiet_hours(settings.quiet_hours)
        # Claim only what the limiter will let through in about a tenth of a second, so that
        # a crash leaves few rows 'unknown'. (Preparing such a batch — read, claim, render —
        # took ~60 ms for 100 rows from a 540,000-row queue: inside the time to send it.)
        self._claim_size = max(1, math.ceil(rate / 10))
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._in_flight: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._sent_ids: list[int] = []
        self._claimed: set[int] = set()  # claimed, not yet handed to a send
        self._runner: asyncio.Task | None = None
        self._flush: asyncio.Task | None = None
        self.sent = 0

    def wake(self) -> None:
        """New rows were queued: look now instead of at the next poll."""
        self._wake.set()

    def start(self) -> asyncio.Task:
        """Run the sender in the background until ``stop()``."""
        self._runner = asyncio.create_task(self.run())
        return self._runner

    async def stop(self) -> None:
        """Stop claiming, put back what was claimed but not sent, wait for the sends under way.

        A clean stop leaves nothing 'sending': only a crash can make rows 'unknown'.
        """
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
        await self._release_unpushed()
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        if self._flush is not None:
            await asyncio.gather(self._flush, return_exceptions=True)

    async def run(self) -> None:
        """Send until stopped.

        One task prepares the next batch (read, claim, render) while this one hands the
        current batch to the rate limiter, so database work never leaves a slot unused. An
        error in either is logged and its claimed rows go back to the queue; sending goes on.
        """
        batches: asyncio.Queue[list[Prepared]] = asyncio.Queue(maxsize=1)
        producer = asyncio.create_task(self._produce(batches))
        try:
            while not self._stopping:
                batch = await self._until_stopped(batches.get())
                if batch is None:
                    break
                try:
                    await self._dispatch(batch)
                except Exception:
                    log.exception("sending a batch failed; its unsent rows go back to the queue")
                    await self._release_unpushed()
        finally:
            self._stopping = True
            self._stopped.set()
            await asyncio.gather(producer, return_exceptions=True)

    async def _produce(self, batches: asyncio.Queue) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                batch, pause = await self._next_batch()
            except Exception:
                log.exception("preparing a batch failed; its rows go back to the queue")
                await self._release_unpushed()
                batch, pause = [], IDLE_POLL_SECONDS
            if batch:
                # If the sender stops meanwhile, the batch stays claimed and stop() puts it back.
                await self._until_stopped(batches.put(batch))
            elif not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(pause, IDLE_POLL_SECONDS))

    async def _until_stopped(self, awaitable):
        """The result of ``awaitable``, or None (and it is cancelled) once the sender stops."""
        task = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self._stopped.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not task.done():
            task.cancel()
            return None
        return task.result()

    async def _release_unpushed(self) -> None:
        if self._claimed:
            ids, self._claimed = sorted(self._claimed), set()
            await self._outbox.release(ids, self._stamp())

    async def drain(self) -> None:
        """Send everything due now and wait for the sends to finish (tests, one-off runs)."""
        while True:
            batch, _ = await self._next_batch()
            if not batch:
                break
            await self._dispatch(batch)
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _next_batch(self) -> tuple[list[Prepared], float]:
        """Claim and render the next rows to send, or say how long to wait before looking."""
        now = self._clock.now()
        quiet = seconds_of_quiet(now.astimezone(self._zone), self._quiet)
        if quiet:
            return [], quiet
        rows = await self._outbox.due(self.channel, int(now.timestamp()), self._claim_size * 4)
        if not rows:
            return [], await self._until_next_due(now)
        ready, seen = [], set()
        for row in rows:
            if row.external_id not in seen and self._per_chat.wait_for(row.external_id) == 0:
                ready.append(row)
            seen.add(row.external_id)
        if not ready:
            return [], min(self._per_chat.wait_for(row.external_id) for row in rows)
        ready = ready[: self._claim_size]
        claimed = await self._outbox.claim([r.id for r in ready], int(now.timestamp()))
        self._claimed |= claimed
        # Rows cancelled (unsubscribed) since they were read are not claimed: skip them.
        ready = [row for row in ready if row.id in claimed]
        rendered = await self._render(ready) if ready else {}
        return [(row, rendered[row.id]) for row in ready], 0.0

    async def _dispatch(self, batch: list[Prepared]) -> None:
        for row, replies in batch:
            if self._stopping:
                return  # the rest is still claimed: stop() puts it back in the queue
            if self._quota is not None and not await self._quota.admit(row.priority):
                # The month's quota is kept for what matters more: this waits for next month.
                self._claimed.discard(row.id)
                await self._outbox.retry_later(
                    row.id,
                    next_month_start(self._clock.now().astimezone(self._zone).date(), self._zone),
                    self._stamp(),
                    "monthly quota",
                    count_attempt=False,
                )
                await self._quota.defer()
                continue
            wait = self._per_chat.wait_for(row.external_id)
            if wait:  # an earlier batch wrote to the same chat a moment ago
                self._claimed.discard(row.id)
                await self._outbox.retry_later(
                    row.id,
                    self._stamp() + math.ceil(wait),
                    self._stamp(),
                    "per-chat limit",
                    count_attempt=False,
                )
                continue
            await self.limiter.acquire()
            self._per_chat.take(row.external_id)
            await self._slots.acquire()
            self._claimed.discard(row.id)
            task = asyncio.create_task(self._deliver(row, replies))
            self._in_flight.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._in_flight.discard(task)

    async def _until_next_due(self, now: datetime) -> float:
        next_due = await self._outbox.next_due(self.channel)
        if next_due is None:
            return IDLE_POLL_SECONDS
        return min(IDLE_POLL_SECONDS, max(0.0, next_due - now.timestamp()))

    async def _deliver(self, row: OutboxRow, replies: list[Reply] | Exception) -> None:
        outbox = self._outbox
        try:
            try:
                if isinstance(replies, Exception):
                    raise replies
                if replies:
                    await self._pusher.push(row.external_id, replies)
            finally:
                # The slot limits requests waiting for the platform, not database bookkeeping.
                self._slots.release()
            if not replies:
                await outbox.finish(row.id, CANCELLED, self._stamp(), "nothing to send")
                return
        except Blocked:
            await outbox.block_account(row.channel, row.external_id, self._stamp())
            await outbox.finish(row.id, BLOCKED, self._stamp())
        except RetryLater as exc:
            self.limiter.pause(exc.seconds)
            await outbox.retry_later(
                row.id,
                self._stamp() + math.ceil(exc.seconds),
                self._stamp(),
                str(exc),
                count_attempt=False,
            )
        except Transient as exc:
            await self._retry_or_fail(row, str(exc) or type(exc).__name__)
        except MaybeDelivered as exc:
            log.warning("push %d timed out and may have arrived: marked unknown", row.id)
            await outbox.finish(row.id, UNKNOWN, self._stamp(), str(exc))
        except Rejected as exc:
            await outbox.finish(row.id, FAILED, self._stamp(), str(exc))
        except Exception as exc:  # a bug while rendering: keep the row for an operator
            log.exception("push %d failed unexpectedly", row.id)
            await outbox.finish(row.id, FAILED, self._stamp(), type(exc).__name__)
        else:
            self.sent += 1
            await self._mark_sent(row.id)

    async def _mark_sent(self, row_id: int) -> None:
        # Successes are recorded together, every SENT_FLUSH_SECONDS: one statement instead of
        # one per message. Until then the row stays 'sending' (after a crash: 'unknown').
        self._sent_ids.append(row_id)
        while row_id in self._sent_ids:  # a flush already under way may have missed it
            if self._flush is None or self._flush.done():
                self._flush = asyncio.create_task(self._flush_sent())
            await asyncio.shield(self._flush)

    async def _flush_sent(self) -> None:
        await asyncio.sleep(SENT_FLUSH_SECONDS)
        ids, self._sent_ids = self._sent_ids, []
        await self._outbox.mark_sent(ids, self._stamp())

    async def _retry_or_fail(self, row: OutboxRow, error: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self._settings.max_attempts:
            await self._outbox.finish(row.id, FAILED, self._stamp(), error)
            return
        delay = min(BACKOFF_CAP_SECONDS, 2**attempts) * random.uniform(0.8, 1.2)
        await self._outbox.retry_later(
            row.id, self._stamp() + math.ceil(delay), self._stamp(), error
        )

    def _stamp(self) -> int:
        return int(self._clock.now().timestamp())
