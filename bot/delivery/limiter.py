"""A rate limiter with a hard window, measured rather than assumed (see reference/telegram.md).

Grants are spaced evenly at a little under the configured rate, and never more than the rate
fall in any one-second window of grant times; time lost to a busy loop is not caught up in a
burst. PTB's AIORateLimiter is a leaky bucket that let 39 calls through a 20-call window.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

# Spacing grants 2% wider than the rate leaves room for network jitter between our grant and
# the platform's arrival time, so that its one-second windows stay within the cap too.
HEADROOM = 0.98


class RateLimiter:
    """At most ``rate`` grants in any one-second window, evenly spaced; pausable after a 429."""

    def __init__(
        self,
        rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self._interval = 1.0 / (rate * HEADROOM)
        self._window = max(1, int(rate))
        self._grants: deque[float] = deque(maxlen=self._window)
        self._next = 0.0
        self._paused_until = 0.0
        self._monotonic, self._sleep = monotonic, sleep
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for the next free slot."""
        async with self._lock:
            while True:
                now = self._monotonic()
                ready = max(self._next, self._paused_until)
                if len(self._grants) == self._window:
                    ready = max(ready, self._grants[0] + 1.0)
                if ready <= now:
                    break
                await self._sleep(ready - now)
            self._grants.append(now)
            self._next = now + self._interval

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` (the platform said retry_after)."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)


class PerKeyGap:
    """At most one grant per key every ``1/rate`` seconds (one chat: about 1 message/s)."""

    def __init__(self, rate: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._gap = 1.0 / rate
        self._next: dict[str, float] = {}
        self._monotonic = monotonic

    def wait_for(self, key: str) -> float:
        """Seconds until ``key`` may be sent to again (0 when it may now)."""
        return max(0.0, self._next.get(key, 0.0) - self._monotonic())

    def take(self, key: str) -> None:
        """Record a send to ``key``."""
        now = self._monotonic()
        self._next[key] = now + self._gap
        if len(self._next) > 50_000:  # forget chats whose gap has long passed
            self._next = {k: t for k, t in self._next.items() if t > now}
