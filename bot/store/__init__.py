"""Persistence behind a narrow interface; SQLite by default."""

from __future__ import annotations

from typing import Protocol

from ..core.models import Member, Session, TurnChanges, Unit
from .sqlite import SqliteStore


class Store(Protocol):
    """What the rest of the bot may ask of persistence. A PostgreSQL store implements the same."""

    async def load_session(self, channel: str, user_id: str) -> Session: ...

    async def save_turn(
        self, channel: str, user_id: str, member: Member | None, changes: TurnChanges, now: int
    ) -> Member | None: ...

    async def set_reachable(self, channel: str, user_id: str, reachable: bool) -> None: ...

    async def sync_units(self, units: list[Unit], paths: dict[str, str]) -> dict[str, str]: ...

    async def organizer_units(self, member_id: int) -> list[str]: ...

    async def log_action(self, *, actor: str, action: str, scope: str, now: int) -> None: ...


__all__ = ["SqliteStore", "Store"]
