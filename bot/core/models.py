"""Plain records the core works with and the store persists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Unit:
    """One node of the organisation tree (any depth)."""

    code: str
    name: str
    parent: str | None = None
    level: str = ""
    join_code: str = ""
    # Unit-specific commitment rules; empty / None: as the parent unit (or the configuration).
    commitment_deadline: str = ""
    checkin_months: int | None = None


@dataclass(frozen=True)
class Member:
    """A registered person: the minimum needed to count participation by unit and category."""

    id: int | None
    full_name: str
    unit_code: str
    category: str
    locale: str
    consent_at: int
    created_at: int


@dataclass(frozen=True)
class Offer:
    """The choices last offered to a member; a button or typed answer must match one."""

    prefix: str
    keys: tuple[str, ...]
    labels: tuple[str, ...]


class _Keep:
    """Marks a field ``Dialog.with_`` leaves as it is."""


@dataclass(frozen=True)
class Dialog:
    """Where a member is in a conversation: a state name, its data and the open offer."""

    state: str = ""
    data: dict = field(default_factory=dict)
    offer: Offer | None = None
    locale: str = ""

    def with_(
        self,
        *,
        state: str | None = None,
        data: dict | None = None,
        offer: Offer | type[_Keep] | None = _Keep,
        locale: str | None = None,
    ) -> Dialog:
        """A copy with some fields changed (``offer=None`` removes the offer).

        Written out rather than ``dataclasses.replace``: it runs twice on every button press.
        """
        return Dialog(
            self.state if state is None else state,
            self.data if data is None else data,
            self.offer if offer is _Keep else offer,
            self.locale if locale is None else locale,
        )


@dataclass(frozen=True)
class LessonProgress:
    """Which lessons a member has read and their current streak of reading days."""

    read: frozenset[str] = frozenset()
    last_day: date | None = None
    streak: int = 0
    last_id: str = ""

    def after_reading(self, lesson_id: str, today: date) -> LessonProgress:
        """Progress once ``lesson_id`` has been read on local day ``today``."""
        if self.last_day == today:
            streak = self.streak
        elif self.last_day is not None and (today - self.last_day).days == 1:
            streak = self.streak + 1
        else:
            streak = 1
        return LessonProgress(self.read | {lesson_id}, today, streak, lesson_id)

    def streak_on(self, today: date) -> int:
        """The streak as seen on ``today``: it is broken once a whole day has no reading."""
        if self.last_day is None or (today - self.last_day).days > 1:
            return 0
        return self.streak


@dataclass(frozen=True)
class Session:
    """Everything the core needs about one channel account between turns."""

    channel: str
    user_id: str
    member: Member | None = None
    dialog: Dialog = Dialog()
    progress: LessonProgress = LessonProgress()


@dataclass(frozen=True)
class Activity:
    """One participation: every read lesson, answer or check-in is one 'lượt'."""

    kind: str
    ref: str
    at: int
    day: date


@dataclass
class TurnChanges:
    """What one turn wants written, applied atomically by the store."""

    dialog: Dialog | None = None
    dialog_deleted: bool = False
    member: Member | None = None
    activities: list[Activity] = field(default_factory=list)
    erased: Member | None = None
    # Feature rows (SQL, params) committed in the same transaction as the dialog, e.g. a
    # contest answer together with the dialog moving on to the next question.
    writes: list[tuple[str, tuple]] = field(default_factory=list)

    def is_empty(self) -> bool:
        """Whether there is nothing to write."""
        return (
            self.dialog is None
            and not self.dialog_deleted
            and self.member is None
            and not self.activities
            and not self.writes
            and self.erased is None
        )
