"""Shared fixtures: settings on a temporary database, an opened app with a fake clock, a chat."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import open_app
from bot.config import load_settings
from bot.core.clock import FakeClock
from bot.core.messages import Incoming, Kind, Reply

ROOT = Path(__file__).resolve().parent.parent
# How many lessons ship (the counters members see, "Đã đọc 1/60").
LESSONS = sum(
    1
    for file in (ROOT / "content" / "lessons").glob("*.yaml")
    for line in file.read_text(encoding="utf-8").splitlines()
    if line.startswith("  - id: ")
)
# PTB's opt-in to timedelta retry_after (as bot/__main__.py does); the bot handles both.
os.environ.setdefault("PTB_TIMEDELTA", "true")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Environment for a bot on a fresh database, with the console user 'admin' as admin."""
    return {"BOT_DATABASE_PATH": str(tmp_path / "bot.db"), "BOT_ADMINS": "console:admin"}


@pytest.fixture
def settings(env):
    return load_settings(None, environ=env)


@pytest.fixture
def clock() -> FakeClock:
    # 08:00 in Hà Nội on 10 May 2026: a day no shipped lesson is themed for.
    return FakeClock(datetime(2026, 5, 10, 1, 0, tzinfo=UTC))


@pytest.fixture
async def app(settings, clock):
    async with open_app(settings, clock=clock) as opened:
        yield opened


class Chat:
    """Plays one member in the console channel against the real conversation core."""

    def __init__(self, app, user_id: str = "u1", channel: str = "console") -> None:
        self.app, self.user_id, self.channel = app, user_id, channel
        self.replies: list[Reply] = []
        self.history: list[Reply] = []

    async def send(self, text: str, kind: Kind = Kind.TEXT) -> list[Reply]:
        """Type a line."""
        return await self._handle(Incoming(self.channel, self.user_id, kind, text=text))

    async def press(self, label: str) -> list[Reply]:
        """Press the button whose label contains ``label`` on the latest reply that has buttons."""
        reply = self.last_with_choices()
        for index, choice in enumerate(reply.choices):
            if label.casefold() in choice.label.casefold():
                return await self.press_token(reply.token(index))
        raise AssertionError(f"no button {label!r} in {[c.label for c in reply.choices]}")

    async def press_token(self, token: str) -> list[Reply]:
        """Send a raw button token (callback_data), forged or real."""
        return await self._handle(Incoming(self.channel, self.user_id, Kind.BUTTON, token=token))

    def last_with_choices(self) -> Reply:
        for reply in reversed(self.history):
            if reply.choices:
                return reply
        raise AssertionError("no reply with choices yet")

    @property
    def text(self) -> str:
        """All texts of the latest replies."""
        return "\n".join(r.text for r in self.replies)

    async def _handle(self, incoming: Incoming) -> list[Reply]:
        self.replies = await self.app.conversation.handle(incoming)
        self.history += self.replies
        return self.replies

    async def register(
        self, name: str = "Nguyễn Văn An", code: str = "HA-DONG", category: str = "Đảng viên"
    ) -> None:
        """Go through onboarding with buttons."""
        await self.send("/start")
        await self.press("đồng ý")
        await self.send(name)
        await self.send(code)
        await self.press(category)
        await self.press("hoàn tất")
        assert "đăng ký xong" in self.text, self.text


@pytest.fixture
def chat(app) -> Chat:
    return Chat(app)


def rows(app, sql: str, *params) -> list[tuple]:
    """Read the database file directly, as an auditor would (committed data only)."""
    with closing(sqlite3.connect(app.settings.database.path)) as conn:
        return [tuple(r) for r in conn.execute(sql, params)]


async def render_push(app, kind: str, external_id: str):
    """What the latest outbox row of ``kind`` for an account renders to right now."""
    from bot.store.outbox import OutboxRow

    found = rows(
        app,
        "SELECT id, channel, external_id, member_id, kind, payload, attempts FROM outbox"
        " WHERE kind = ? AND external_id = ?",
        kind,
        external_id,
    )
    assert found, f"no {kind} row for {external_id}"
    row = found[-1]
    outbox_row = OutboxRow(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6])
    return (await app.conversation.render_pushes([outbox_row]))[row[0]]
