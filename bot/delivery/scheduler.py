"""The reminder scheduler: every minute, turn reminders that fell due into outbox rows.

The schedule lives in the database (``reminders``), and so does the last moment looked at, so a
restart picks up exactly where the bot stopped: reminders due while it was down are queued if
they are still within ``missed_grace``, otherwise counted as missed. APScheduler only supplies
the once-a-minute tick (delivery/service.py); nothing of the schedule is in its memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..config import DeliverySettings, parse_duration
from ..core.clock import Clock
from ..store.outbox import OutboxStore

log = logging.getLogger(__name__)

LAST_TICK = "scheduler.last_tick"
TICK_SLACK = timedelta(minutes=2)
REMINDER_KINDS = ("lesson",)


def minute_ranges(after: datetime, until: datetime, zone: ZoneInfo) -> list[tuple[date, int, int]]:
    """The local (day, first minute, last minute) whose moments lie in (after, until]."""
    start, end = after.astimezone(zone), until.astimezone(zone)
    ranges = []
    day = start.date()
    while day <= end.date():
        first = start.hour * 60 + start.minute + 1 if day == start.date() else 0
        last = end.hour * 60 + end.minute if day == end.date() else 24 * 60 - 1
        if first <= last:
            ranges.append((day, first, last))
        day += timedelta(days=1)
    return ranges


class ReminderScheduler:
    """Queues due reminders once a minute (and at start, for what was missed)."""

    def __init__(
        self,
        *,
        outbox: OutboxStore,
        clock: Clock,
        zone: ZoneInfo,
        settings: DeliverySettings,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._outbox, self._clock, self._zone = outbox, clock, zone
        self._grace = parse_duration(settings.missed_grace)
        self._on_queued = on_queued

    async def tick(self) -> None:
        """Queue what fell due since the last tick; count what is too old to send."""
        now = self._clock.now()
        stored = await self._outbox.get_state(LAST_TICK)
        last = datetime.fromtimestamp(int(stored), now.tzinfo) if stored else now
        if now <= last:  # first start, or the clock went back: nothing new is due
            await self._outbox.set_state(LAST_TICK, str(int(now.timestamp())))
            return
        # Grace applies to downtime only: a tick that follows the previous one within a couple of
        # minutes is on time, whatever the grace (which may be 0: send nothing missed).
        downtime = now - last > TICK_SLACK
        send_from = max(last, now - self._grace) if downtime else last
        if send_from > last:
            await self._count_missed(last, send_from)
        for day, first, last_minute in minute_ranges(send_from, now, self._zone):
            day_start = int(datetime.combine(day, time(0), self._zone).timestamp())
            for kind in REMINDER_KINDS:
                await self._outbox.enqueue_reminders(
                    kind,
                    day,
                    first,
                    last_minute,
                    day_start=day_start,
                    now=int(now.timestamp()),
                )
        await self._outbox.set_state(LAST_TICK, str(int(now.timestamp())))
        self._on_queued()

    async def _count_missed(self, after: datetime, until: datetime) -> None:
        total = 0
        for day, first, last in minute_ranges(after, until, self._zone):
            for kind in REMINDER_KINDS:
                count = await self._outbox.count_reminders(kind, first, last)
                total += count
                await self._outbox.add_missed(day, kind, count)
        if total:
            log.warning("%d reminders fell due while the bot was down and were too old", total)
