"""An evening of a contest: 2,000 members enter at once through the real PTB stack over HTTP.

The final ranking the bot stores is compared with a recomputation written here from the raw
answers and the question bank, without the bot's ranking code.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from contextlib import closing

import pytest

from bot.app import open_app
from bot.channels.telegram import TelegramChannel
from bot.config import load_settings
from bot.store.quizzes import NewContest

from .conftest import rows
from .fakes.telegram_api import FakeTelegram
from .test_telegram import telegram_env

MEMBERS = 2000
QUESTIONS = 3
FIRST_USER = 100_000
UNITS = ("DEMO.HA.1", "DEMO.HA.2", "DEMO.BS.1")


@pytest.fixture
async def fake():
    async with FakeTelegram() as tg:
        yield tg


def add_members(path, count: int) -> None:
    """Registered members straight into the database (registration is tested elsewhere)."""
    with closing(sqlite3.connect(path)) as conn, conn:
        for n in range(count):
            conn.execute(
                "INSERT INTO members (id, full_name, unit_code, category, consent_at, created_at)"
                " VALUES (?, ?, ?, ?, 0, 0)",
                (n + 1, f"Thành Viên Số {n}", UNITS[n % 3], "dang_vien" if n % 4 else "doan_vien"),
            )
            conn.execute(
                "INSERT INTO accounts (channel, external_id, member_id) VALUES ('telegram', ?, ?)",
                (str(FIRST_USER + n), n + 1),
            )


def last(tg: FakeTelegram, chat: int) -> dict:
    messages = tg.sent_messages(chat)
    return messages[-1] if messages else {}


def buttons(message: dict) -> dict[str, str]:
    markup = message.get("reply_markup") or {}
    return {
        b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row
    }


async def step(tg: FakeTelegram, chat: int, push, fragment: str) -> dict:
    """Do something as the member and wait for the bot's answer containing ``fragment``."""
    before = last(tg, chat)
    push()
    await tg.wait_for_chat(
        chat,
        lambda: last(tg, chat) != before and fragment in last(tg, chat).get("text", ""),
        timeout=120,
    )
    return last(tg, chat)


async def press(tg: FakeTelegram, chat: int, message: dict, label: str, expect: str) -> dict:
    """Press a button of ``message`` and wait for the answer containing ``expect``."""
    data, message_id = buttons(message)[label], message["message_id"]
    return await step(
        tg, chat, lambda: tg.push_callback(chat, data, message_id=message_id), expect
    )


async def enter(tg: FakeTelegram, chat: int, contest_id: int, rng: random.Random) -> None:
    message = await step(
        tg, chat, lambda: tg.push_message(chat, f"/cuocthi {contest_id}"), "Vòng 1:"
    )
    message = await press(tg, chat, message, "▶ Vào thi", "Sẵn sàng")
    message = await press(tg, chat, message, "▶ Bắt đầu", "Câu 1/")
    for number in range(2, QUESTIONS + 2):
        expect = f"Câu {number}/" if number <= QUESTIONS else "Câu hỏi phụ"
        message = await press(tg, chat, message, rng.choice(sorted(buttons(message))), expect)
    guess = str(rng.randint(0, MEMBERS))
    await step(tg, chat, lambda: tg.push_message(chat, guess), "Đã nộp bài")


def recompute(path, bank, contest_id: int) -> list[int]:
    """The ranking, from raw answers: attempt ids in final order (one per member)."""
    with closing(sqlite3.connect(path)) as conn:
        attempts = conn.execute(
            "SELECT id, member_id, prediction, started_ms, submitted_ms FROM contest_attempts"
            " WHERE contest_id = ? AND submitted_ms IS NOT NULL",
            (contest_id,),
        ).fetchall()
        answers: dict[int, int] = {}
        for attempt_id, question_id, option in conn.execute(
            "SELECT attempt_id, question_id, option FROM contest_answers"
        ):
            right = option in bank.get(question_id).correct
            answers[attempt_id] = answers.get(attempt_id, 0) + right
    all_right = {m for a, m, *_ in attempts if answers.get(a, 0) == QUESTIONS}
    actual = len(all_right)
    keyed = sorted(
        (-answers.get(a, 0), abs(p - actual), s2 - s1, s2, a) for a, _, p, s1, s2 in attempts
    )
    return [key[-1] for key in keyed]


async def test_two_thousand_members_enter_at_once_and_the_ranking_is_exact(env, clock, fake):
    settings = load_settings(None, environ=telegram_env(env, fake))
    async with open_app(settings, clock=clock) as app:
        add_members(settings.database.path, MEMBERS)
        now = int(clock.now().timestamp())
        questions = tuple(q.id for q in app.services.questions.select(strand="dao_duc"))[
            :QUESTIONS
        ]
        contest_id = await app.store.quizzes.create(
            NewContest(
                title="Thi tìm hiểu buổi tối",
                unit_code="DEMO",
                unit_path=app.services.org.path("DEMO"),
                categories=(),
                pool={"strand": "dao_duc"},
                questions_per_round=QUESTIONS,
                time_limit_s=None,
                attempts=1,
                tiebreak="all_correct",
                rounds=((now, now + 3 * 3600, questions),),
                created_by=None,
                creator_channel="console",
                creator_account="admin",
                request_key="evening",
            ),
            now,
        )
        channel = TelegramChannel(app)
        await channel.start()
        try:
            rng = random.Random(5)
            await asyncio.gather(
                *(
                    enter(fake, FIRST_USER + n, contest_id, random.Random(rng.random()))
                    for n in range(MEMBERS)
                )
            )
        finally:
            await channel.stop()

        assert rows(
            app, "SELECT count(*) FROM contest_attempts WHERE submitted_ms IS NOT NULL"
        ) == [(MEMBERS,)]
        assert rows(app, "SELECT count(*) FROM contest_answers") == [(MEMBERS * QUESTIONS,)]
        clock.advance(hours=4)
        for job in app.conversation.router.minute_jobs:
            await job()

        stored = [a for (a,) in rows(app, "SELECT attempt_id FROM contest_results ORDER BY rank")]
        assert stored == recompute(settings.database.path, app.services.questions, contest_id)
        assert rows(app, "SELECT count(*) FROM outbox WHERE kind = 'contest_result'") == [
            (MEMBERS,)
        ]
        entries = rows(app, "SELECT count(*) FROM activity WHERE kind = 'contest_entry'")
        assert entries == [(MEMBERS,)]
        (payload,) = rows(app, "SELECT payload FROM outbox WHERE kind = 'contest_summary'")[0]
        assert json.loads(payload) == {"contest": contest_id, "round": 1}
