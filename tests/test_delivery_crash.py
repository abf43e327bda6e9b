"""kill -9 in the middle of a broadcast, then a restart: nothing twice, only in-flight lost."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections import Counter
from contextlib import closing

from bot.app import open_app
from bot.config import load_settings
from bot.store.outbox import NewMessage

from .conftest import ROOT, Chat
from .fakes.telegram_api import FakeTelegram

MEMBERS = range(8000, 8120)
NOTICE = {"text": "Thông báo: hội nghị học tập chuyên đề năm lúc 8:00 sáng Chủ nhật."}


def statuses(db: str) -> Counter:
    with closing(sqlite3.connect(db)) as conn:
        return Counter(dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")))


async def start_bot(env: dict, log) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        cwd=ROOT,
        env={**os.environ, **env},
    )


async def test_a_broadcast_survives_kill_9_without_duplicates(env, clock, tmp_path):
    async with FakeTelegram() as fake:
        env = {
            **env,
            "BOT_TELEGRAM_TOKEN": fake.token,
            "BOT_TELEGRAM_BASE_URL": fake.base_url,
            "BOT_DELIVERY_RATE_PER_SECOND": "20",
            "BOT_DELIVERY_QUIET_HOURS": "",
        }
        settings = load_settings(None, environ=env)
        async with open_app(settings) as app:
            for user in MEMBERS:
                await Chat(app, str(user), channel="telegram").register()
            now = int(app.services.clock.now().timestamp())
            await app.store.outbox.enqueue(
                [
                    NewMessage(f"notice:1:{u}", "telegram", str(u), None, "notice", NOTICE, now)
                    for u in MEMBERS
                ],
                now,
            )
        db = env["BOT_DATABASE_PATH"]

        def notices() -> list[int]:
            return [
                c.chat_id
                for c in fake.calls_to("sendMessage")
                if NOTICE["text"] in c.params.get("text", "")
            ]

        with (tmp_path / "bot.log").open("wb") as log:
            first = await start_bot(env, log)
            await fake.wait_for(lambda: len(notices()) >= 30, timeout=20, what="30 notices")
            first.send_signal(signal.SIGKILL)
            await first.wait()
            killed_at = statuses(db)
            assert killed_at["pending"] > 0 and killed_at["sent"] >= 25

            second = await start_bot(env, log)
            await fake.wait_for(
                lambda: statuses(db)["pending"] == 0 and statuses(db)["sending"] == 0,
                timeout=30,
                what="the rest of the broadcast",
            )
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 15) == 0

        final = statuses(db)
        received = Counter(notices())
        assert max(received.values()) == 1  # nobody got the notice twice
        assert final["sent"] + final["unknown"] == len(MEMBERS)
        # Only what was in flight is unknown: rows claimed for the next tenth of a second and
        # sends whose 'sent' mark (written every 50 ms) had not been committed yet.
        assert final["unknown"] == killed_at["sending"] <= 8
        with closing(sqlite3.connect(db)) as conn:
            sent = {
                int(e)
                for (e,) in conn.execute("SELECT external_id FROM outbox WHERE status = 'sent'")
            }
        assert sent <= set(received)  # every row marked sent really arrived
        assert len(received) >= len(MEMBERS) - final["unknown"]
