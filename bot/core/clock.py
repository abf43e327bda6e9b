"""Time is injected: the real clock in production, a fake one that tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class FakeClock:
    """A clock that stands still until moved."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 5, 19, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The time the clock was set to."""
        return self._now

    def advance(self, **delta: float) -> None:
        """Move forward, e.g. ``advance(days=1, hours=2)``."""
        self._now += timedelta(**delta)

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (aware)."""
        self._now = moment
