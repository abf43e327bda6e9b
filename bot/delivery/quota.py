"""A monthly message quota (Zalo's plans count outbound messages per month).

Every message a channel sends counts, replies included. Near the end of the quota the less
urgent kinds wait for next month, so that what is left goes to what matters most: replies to
a member's own message (always, until the quota is gone), then contest and session notices
(outbox priority ≥ 5, until 95%), then reminders (until 80%). Counters live in the database
(``bot_state``), so a restart does not reset them, and deferrals are counted for the reports.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

# Share of the quota each outbox priority may use; replies are not in the outbox.
NOTICE_PRIORITY = 5
NOTICE_SHARE = 0.95
REMINDER_SHARE = 0.80


def month_key(day: date) -> str:
    """'2026-11'."""
    return f"{day.year}-{day.month:02d}"


def share_for(priority: int) -> float:
    """How much of the month's quota rows of this priority may use."""
    return NOTICE_SHARE if priority >= NOTICE_PRIORITY else REMINDER_SHARE


def admits(priority: int, used: int, quota: int) -> bool:
    """Whether a queued message of ``priority`` may go with ``used`` of ``quota`` spent."""
    return quota <= 0 or used < quota * share_for(priority)


def next_month_start(day: date, zone) -> int:
    """UTC seconds of the first moment of the next month, local time."""
    first = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return int(datetime.combine(first, time(0), zone).timestamp())


class MonthlyQuota:
    """Counts one channel's sends per month in ``bot_state``."""

    def __init__(self, channel: str, quota: int, outbox, today: Callable[[], date]) -> None:
        self.channel, self.quota = channel, quota
        self._outbox, self._today = outbox, today

    def _key(self, what: str, day: date | None = None) -> str:
        return f"quota.{self.channel}.{what}.{month_key(day or self._today())}"

    async def used(self) -> int:
        """Messages sent this month."""
        return int(await self._outbox.get_state(self._key("sent")) or 0)

    async def count(self, messages: int = 1) -> None:
        """Record sent messages."""
        await self._outbox.add_to_state(self._key("sent"), messages)

    async def admit(self, priority: int) -> bool:
        """Whether a queued message of this priority may go now."""
        return admits(priority, await self.used(), self.quota)

    async def defer(self) -> None:
        """Count a message held until next month."""
        await self._outbox.add_to_state(self._key("deferred"))

    async def deferred(self, day: date) -> int:
        """Messages held for quota in the month of ``day``."""
        return int(await self._outbox.get_state(self._key("deferred", day)) or 0)
