"""What features depend on, gathered once at the composition root and passed explicitly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..config import Settings
from ..content.calendar import Commemoration
from ..content.commitments import CommitmentContent
from ..content.lessons import Lesson
from ..content.quizzes import QuestionBank
from ..content.texts import Texts
from ..org import Organisation
from .clock import Clock

if TYPE_CHECKING:
    from ..store import Store


@dataclass
class Services:
    """Shared dependencies. ``org`` and content are replaced whole on reload, never mutated."""

    settings: Settings
    store: Store
    clock: Clock
    texts: Texts
    lessons: list[Lesson]
    commitments: CommitmentContent
    org: Organisation
    questions: QuestionBank = field(default_factory=lambda: QuestionBank(()))
    calendar: list[Commemoration] = field(default_factory=list)
    # Lesson ids in the year plan's order (content/plan.yaml; empty: strands interleaved).
    plan: list[str] = field(default_factory=list)
    # The HMAC key roster phone numbers are stored with (never logged, never in the database).
    phone_key: bytes = field(default=b"", repr=False)
    bot_username: str = ""
    # Re-reads the units file; returns how many units are loaded (set by the app).
    reload_units: Callable[[], Awaitable[int]] | None = None
    # Re-reads and validates all content; replaces it only when valid (set by the app).
    reload_content: Callable[[], Awaitable[object]] | None = None
    # Tells the senders that rows were queued (set by delivery; a no-op without it).
    wake_delivery: Callable[[], None] = lambda: None
    zone: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        self.zone = self.settings.zone

    def deep_link(self, join_code: str) -> str:
        """The Telegram link that opens the bot with the unit's join code."""
        return f"https://t.me/{self.bot_username or '<bot>'}?start={join_code}"
