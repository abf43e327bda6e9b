"""A contest under load: members answering through the full Telegram stack, and closing a round.

1. Answering: registered members each open the contest, enter, start, answer every question by
   pressing the buttons the bot really sent, and type their prediction. Every one of those
   updates goes through PTB's ``Application.process_update``, the conversation core, the
   contest feature and SQLite, against the no-network request stub of benchmarks/throughput.py.
   The ceiling is a bare PTB echo bot on the same stub in the same run (runs alternate).
2. Closing: a round with 100,000 submitted attempts is ranked and its results stored in one
   transaction (``QuizStore.close_round``): the ranking is final. Then, separately timed, one
   result message per entrant and the organizer's summary are queued (``queue_results``).

Usage:  python benchmarks/contest.py [--members 1000] [--questions 10] [--entrants 100000]
The last output line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from contextlib import closing
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters
from throughput import TOKEN, StubRequest, Updates, closed_loop, measure_echo

from bot.app import open_app
from bot.channels.telegram import TelegramChannel
from bot.config import load_settings
from bot.store.quizzes import NewContest

FIRST_USER = 10_000
UNITS = ("DEMO.HA.1", "DEMO.HA.2", "DEMO.BS.1")


def add_members(path: Path, count: int, first_user: int = FIRST_USER) -> None:
    """Registered members with Telegram accounts, written straight into the database."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT INTO members (id, full_name, unit_code, category, consent_at, created_at)"
            " VALUES (?, ?, ?, 'dang_vien', 0, 0)",
            [(n + 1, f"Thành Viên {n}", UNITS[n % 3]) for n in range(count)],
        )
        conn.executemany(
            "INSERT INTO accounts (channel, external_id, member_id) VALUES ('telegram', ?, ?)",
            [(str(first_user + n), n + 1) for n in range(count)],
        )


async def create_contest(app, questions: int, *, now: int, closes: int) -> int:
    ids = tuple(q.id for q in app.services.questions.questions)[:questions]
    return await app.store.quizzes.create(
        NewContest(
            title="Benchmark",
            unit_code="DEMO",
            unit_path=app.services.org.path("DEMO"),
            categories=(),
            pool={},
            questions_per_round=questions,
            time_limit_s=None,
            attempts=1,
            tiebreak="all_correct",
            rounds=((now, closes, ids),),
            created_by=None,
            creator_channel="console",
            creator_account="admin",
            request_key=f"bench-{now}-{questions}",
        ),
        now,
    )


def settings_for(folder: str):
    return load_settings(
        None,
        environ={"BOT_DATABASE_PATH": str(Path(folder) / "bench.db"), "BOT_TELEGRAM_TOKEN": TOKEN},
    )


def contest_script(contest_id: int, questions: int) -> list[tuple[str, str]]:
    """What one member sends: open, enter, start, answer every question, predict."""
    return (
        [("text", f"/cuocthi {contest_id}"), ("button", "Vào thi"), ("button", "Bắt đầu")]
        + [("answer", "")] * questions
        + [("text", "khoảng 1.200")]
    )


async def measure_echo_buttons(members: int, questions: int) -> float:
    """A bare PTB bot on the contest's traffic: texts are echoed; a pressed button is answered
    and its message edited to show the button's data, with PTB's own typed methods."""
    stub = StubRequest()
    application = Application.builder().token(TOKEN).request(stub).updater(None).build()
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=label) for label in ("Vào thi", "Bắt đầu")],
            [InlineKeyboardButton(letter, callback_data=letter) for letter in "ABCD"],
        ]
    )

    async def echo(update: Update, context: object) -> None:
        await update.message.reply_text(update.message.text, reply_markup=markup)

    async def press(update: Update, context: object) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(
            update.callback_query.data, reply_markup=markup
        )

    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(press))
    updates = Updates(stub)
    script = contest_script(1, questions)
    rng = random.Random(1)
    await application.initialize()

    async def step(user: int, index: int) -> None:
        kind, value = script[index]
        if kind == "text":
            data = updates.text(user, value)
        else:
            data = updates.button(user, value or rng.choice("ABCD"))
        await application.process_update(Update.de_json(data, application.bot))

    seconds, _, count = await closed_loop(step, members, len(script))
    await application.shutdown()
    return count / seconds


async def measure_answering(members: int, questions: int) -> dict:
    """Updates per second while ``members`` enter and finish one round at the same time."""
    with tempfile.TemporaryDirectory() as folder:
        settings = settings_for(folder)
        async with open_app(settings) as app:
            add_members(settings.database.path, members)
            now = int(time.time())
            contest_id = await create_contest(app, questions, now=now - 60, closes=now + 3600)
            stub = StubRequest()
            channel = TelegramChannel(app, request=stub)
            application = channel.application
            await application.initialize()
            updates = Updates(stub)
            rng = random.Random(1)
            script = contest_script(contest_id, questions)

            async def step(user: int, index: int) -> None:
                kind, value = script[index]
                if kind == "answer":
                    value = rng.choice("ABCD"[: len(stub.keyboards[user][1][0])] or "A")
                    data = updates.button(user, value)
                elif kind == "button":
                    data = updates.button(user, value)
                else:
                    data = updates.text(user, value)
                await application.process_update(Update.de_json(data, application.bot))

            seconds, _, count = await closed_loop(step, members, len(script))
            await application.shutdown()
            submitted = app.store.quizzes
            entrants, _ = await submitted.entrants_so_far(contest_id, 1)
            assert entrants == members, f"only {entrants} of {members} submitted"
            return {"updates": count, "seconds": seconds, "updates_per_s": count / seconds}


async def measure_close(entrants: int, questions: int = 10) -> dict:
    """Seconds to rank a round of ``entrants`` submitted attempts and queue everyone's result."""
    with tempfile.TemporaryDirectory() as folder:
        settings = settings_for(folder)
        async with open_app(settings) as app:
            add_members(settings.database.path, entrants)
            now = int(time.time())
            contest_id = await create_contest(app, questions, now=now - 7200, closes=now - 60)
            rng = random.Random(2)
            with closing(sqlite3.connect(settings.database.path)) as conn, conn:
                layout = json.dumps([])
                conn.executemany(
                    "INSERT INTO contest_attempts (contest_id, round, member_id, number,"
                    " unit_code, category, layout, started_ms, correct, prediction,"
                    " submitted_ms) VALUES (?, 1, ?, 1, ?, 'dang_vien', ?, ?, ?, ?, ?)",
                    [
                        (
                            contest_id,
                            n + 1,
                            UNITS[n % 3],
                            layout,
                            (start := (now - 7000) * 1000 + rng.randrange(3_600_000)),
                            min(questions, int(rng.triangular(0, questions + 3, questions))),
                            rng.randrange(0, 2 * entrants),
                            start + rng.randrange(30_000, 900_000),
                        )
                        for n in range(entrants)
                    ],
                )
            contest = await app.store.quizzes.get(contest_id)
            started = time.perf_counter()
            ranked = await app.store.quizzes.close_round(contest, 1, now)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            await app.store.quizzes.queue_results(contest, 1, now)
            queue_seconds = time.perf_counter() - started
            queued = await app.store.outbox.counts()
            results = sum(n for (kind, _), n in queued.items() if kind == "contest_result")
            assert len(ranked) == entrants and results == entrants, (len(ranked), results)
            return {"entrants": entrants, "close_s": seconds, "queue_s": queue_seconds}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000, help="members answering at once")
    parser.add_argument("--questions", type=int, default=10, help="questions per round")
    parser.add_argument(
        "--entrants", type=int, default=100_000, help="entrants of the closed round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each bot")
    args = parser.parse_args()

    ceilings, text_ceilings, fulls = [], [], []
    for _ in range(args.rounds):
        text_ceilings.append((await measure_echo(args.members))[0])
        ceilings.append(await measure_echo_buttons(args.members, args.questions))
        fulls.append((await measure_answering(args.members, args.questions))["updates_per_s"])
    ceiling, answering = statistics.median(ceilings), statistics.median(fulls)
    text_ceiling = statistics.median(text_ceilings)
    ratio = answering / ceiling
    close = await measure_close(args.entrants, args.questions)
    steps = args.questions + 4
    print(
        f"bare PTB bot, same traffic:  {ceiling:7.0f} updates/s  "
        f"(runs: {', '.join(f'{c:.0f}' for c in ceilings)}; the ceiling: texts echoed, "
        "buttons answered and their message edited)"
    )
    print(
        f"bare PTB echo, texts only:   {text_ceiling:7.0f} updates/s  "
        f"(runs: {', '.join(f'{c:.0f}' for c in text_ceilings)}; benchmarks/throughput.py's "
        f"ceiling, for comparison: ratio {answering / text_ceiling:.1%})"
    )
    print(
        f"contest answering:           {answering:7.0f} updates/s  "
        f"(runs: {', '.join(f'{f:.0f}' for f in fulls)}; {args.members} members × {steps} "
        f"updates: open, enter, start, {args.questions} answers, prediction)"
    )
    print(f"ratio:                       {ratio:7.1%}   (goal ≥ 60%)")
    print(
        f"close a round of {close['entrants']:,} entrants: {close['close_s']:.2f} s "
        "(read attempts, rank, store the results; goal ≤ 2 s)"
    )
    print(
        f"then queue {close['entrants']:,} result messages and the summary: "
        f"{close['queue_s']:.2f} s (no goal; the messages then go out at the send rate)"
    )
    print(
        json.dumps(
            {
                "answers_per_s": round(answering),
                "ceiling_updates_per_s": round(ceiling),
                "ratio": round(ratio, 3),
                "text_echo_updates_per_s": round(text_ceiling),
                "ratio_to_text_echo": round(answering / text_ceiling, 3),
                "close_100k_s": round(close["close_s"], 3),
                "queue_results_100k_s": round(close["queue_s"], 3),
                "entrants": close["entrants"],
                "members": args.members,
                "questions": args.questions,
                "rounds": args.rounds,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
