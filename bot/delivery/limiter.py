"""A rate limiter with a hard window, measured rather than assumed (see reference/telegram.md).

Two rules together: a small token bucket refilled at a little under the rate (so sends are
spread out, and a few late ones may catch up), and a sliding window that never lets more than
``rate × HEADROOM`` grants into any one second. PTB's AIORateLimiter is a leaky bucket that let
39 calls through a 20-call window; this one cannot, by construction.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

# Granting 2% under the rate leaves room for network jitter between our grant and the
# platform's arrival time, so that its one-second windows stay within the cap too.
HEADROOM = 0.98
# How many grants may catch up at once after the event loop was late: at least BURST, or what
# CATCH_UP_SECONDS of the rate would have granted (10 at 1,000/s, where the loop is often busy
# for several milliseconds rendering a batch; with only 3 those grants were lost: 93–96% of the
# cap instead of 98%). 25 ms of catch-up let arrivals bunch past the cap at the server.
BURST = 3
CATCH_UP_SECONDS = 0.01


class RateLimiter:
    """At most ``rate`` grants in any one-second window; pausable after a 429."""

    def __init__(
        self,
        rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self._refill = rate * HEADROOM
        self._window = max(1, int(self._refill))
        self._grants: deque[float] = deque(maxlen=self._window)
        self._tokens = 1.0
        self._capacity = float(min(max(BURST, rate * CATCH_UP_SECONDS), self._window))
        self._monotonic, self._sleep = monotonic, sleep
        self._updated = monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for the next free slot."""
        async with self._lock:
            while True:
                now = self._monotonic()
                self._tokens = min(
                    self._capacity, self._tokens + (now - self._updated) * self._refill
                )
                self._updated = now
                ready = self._paused_until
                if self._tokens < 1.0:
                    ready = max(ready, now + (1.0 - self._tokens) / self._refill)
                if len(self._grants) == self._window:
                    ready = max(ready, self._grants[0] + 1.0)
                if ready <= now:
                    break
                await self._sleep(ready - now)
            self._tokens -= 1.0
            self._grants.append(now)

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` (the platform said retry_after)."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)
        self._tokens = 0.0


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
