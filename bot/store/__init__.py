"""Persistence behind a narrow interface; SQLite by default."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..core.models import Member, Session, TurnChanges, Unit
from .commitments import CommitmentStore
from .outbox import OutboxStore
from .participation import ParticipationStore
from .quizzes import QuizStore
from .reports import ReportStore
from .sqlite import SqliteStore


class Store(Protocol):
    """What the rest of the bot may ask of persistence. A PostgreSQL store implements the same.

    Delivery, commitments, quizzes, reports and participation (rosters, sessions, feedback)
    are query groups of their own.
    """

    outbox: OutboxStore
    commitments: CommitmentStore
    quizzes: QuizStore
    reports: ReportStore
    participation: ParticipationStore

    async def load_session(self, channel: str, user_id: str) -> Session: ...

    async def load_sessions(
        self, keys: Iterable[tuple[str, str]], *, progress: bool = True
    ) -> dict[tuple[str, str], Session]: ...

    async def save_turn(
        self, channel: str, user_id: str, member: Member | None, changes: TurnChanges, now: int
    ) -> Member | None: ...

    async def set_reachable(self, channel: str, user_id: str, reachable: bool) -> None: ...

    async def profile_extras(self, member_id: int, year: int) -> tuple[int | None, int | None]: ...

    async def sync_units(self, units: list[Unit], paths: dict[str, str]) -> dict[str, str]: ...

    async def find_member_by_account(self, channel: str, user_id: str) -> Member | None: ...

    async def get_member(self, member_id: int) -> Member | None: ...

    async def grant(self, member_id: int, unit_code: str, *, actor: str, now: int) -> None: ...

    async def revoke(self, member_id: int, unit_code: str, *, actor: str, now: int) -> bool: ...

    async def organizer_units(self, member_id: int) -> list[str]: ...

    async def members_in(self, path: str, words: list[str]) -> list[tuple[int, str, str, str]]: ...

    async def log_action(self, *, actor: str, action: str, scope: str, now: int) -> None: ...


__all__ = [
    "CommitmentStore",
    "OutboxStore",
    "ParticipationStore",
    "QuizStore",
    "ReportStore",
    "SqliteStore",
    "Store",
]
