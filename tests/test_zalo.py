"""Zalo end to end: the real conversation core over HTTP against a local fake Zalo Bot API."""

from __future__ import annotations

import pytest

from bot.app import open_app
from bot.channels.zalo import ZaloChannel
from bot.config import load_settings
from bot.core.messages import Choice, Reply
from bot.delivery.errors import RetryLater
from bot.store.quizzes import NewContest

from .conftest import rows
from .fakes.zalo_api import FakeZalo
from .test_telegram import free_port

USER = "6ede9afa66b88fe6d6a9"


@pytest.fixture
async def fake():
    async with FakeZalo() as zalo:
        yield zalo


def zalo_env(env: dict, fake: FakeZalo, **extra: str) -> dict:
    return {
        **env,
        "BOT_ZALO_TOKEN": fake.token,
        "BOT_ZALO_BASE_URL": fake.base_url,
        "BOT_ZALO_POLL_TIMEOUT": "1",
        **extra,
    }


@pytest.fixture
async def bot(env, clock, fake):
    settings = load_settings(None, environ=zalo_env(env, fake))
    async with open_app(settings, clock=clock) as app:
        channel = ZaloChannel(app)
        await channel.start()
        try:
            yield app, channel
        finally:
            await channel.stop()


async def talk(fake: FakeZalo, text: str, expect: str, user: str = USER) -> str:
    before = len(fake.texts(user))
    fake.say(user, text)
    return await fake.wait_for(user, expect, after=before)


async def register(fake: FakeZalo, user: str = USER, name: str = "Nguyễn Văn An") -> None:
    consent = await talk(fake, "/start", "[1]", user)
    assert "đồng ý" in consent
    await talk(fake, "1", "họ và tên", user)
    await talk(fake, name, "đơn vị", user)
    await talk(fake, "HA-DONG", "[1] Đảng viên", user)
    await talk(fake, "1", "kiểm tra lại", user)
    await talk(fake, "hoàn tất", "đăng ký xong", user)


async def test_a_member_registers_reads_and_practises_by_number(bot, fake):
    app, _ = bot
    await register(fake)
    assert rows(app, "SELECT channel, external_id FROM accounts") == [("zalo", USER)]
    lesson = await talk(fake, "baihoc", "Làm theo hôm nay")  # no slash
    assert "[1] Bài tiếp" in lesson
    await talk(fake, "/ontap", "[2] Đạo đức")
    question = await talk(fake, "2", "Câu hỏi mới")
    assert "A." in question and "[1] A" in question
    feedback = await talk(fake, "1", "Bạn chọn A.")
    assert "Nguồn:" in feedback
    assert rows(app, "SELECT count(*) FROM activity WHERE kind = 'practice_answer'") == [(1,)]


async def test_a_member_enters_a_contest_typing_numbers(bot, fake, clock):
    app, _ = bot
    await register(fake)
    now = int(clock.now().timestamp())
    questions = tuple(q.id for q in app.services.questions.select(strand="tu_tuong"))[:2]
    contest_id = await app.store.quizzes.create(
        NewContest(
            title="Thi trên Zalo",
            unit_code="DEMO",
            unit_path=app.services.org.path("DEMO"),
            categories=(),
            pool={},
            questions_per_round=2,
            time_limit_s=None,
            attempts=1,
            tiebreak="all_correct",
            rounds=((now, now + 3600, questions),),
            created_by=None,
            creator_channel="console",
            creator_account="admin",
            request_key="zalo",
        ),
        now,
    )
    await talk(fake, f"cuocthi {contest_id}", "[1] ▶ Vào thi")  # a command without its slash
    await talk(fake, "1", "Sẵn sàng")
    await talk(fake, "1", "Câu 1/2")
    await talk(fake, "2", "Câu 2/2")
    await talk(fake, "3", "Câu hỏi phụ")
    await talk(fake, "khoảng 10 người", "Đã nộp bài")
    assert rows(app, "SELECT count(*) FROM contest_answers") == [(2,)]


async def test_repeated_updates_are_handled_once_and_idle_polls_are_quiet(bot, fake):
    update = fake.say(USER, "/huongdan")
    await fake.wait_for(USER, "/start")
    fake.repeat(update)
    fake.say(USER, "/menu")
    await fake.wait_for(USER, "[1]")
    assert len(fake.texts(USER)) == 2
    polls = [c for c in fake.calls if c[0] == "getUpdates"]
    assert polls and all(c[1] == {"timeout": 1} for c in polls)


async def test_pushes_split_long_texts_and_show_command_hints(bot, fake):
    _, channel = bot
    long = "\n\n".join(f"Đoạn {n}: " + "chữ " * 120 for n in range(8))
    await channel.push(USER, [Reply(long, (Choice("/baihoc", "📖 Đọc bài"),))])
    texts = fake.texts(USER)
    assert len(texts) >= 2 and all(len(t) <= 2000 for t in texts)
    assert texts[-1].endswith("/baihoc — 📖 Đọc bài")
    fake.quota = len(fake.sent)
    with pytest.raises(RetryLater):
        await channel.push(USER, [Reply("Nhắc học bài hôm nay")])


async def test_webhook_mode_checks_the_secret_and_takes_both_payload_shapes(env, clock, fake):
    port = free_port()
    settings = load_settings(
        None,
        environ=zalo_env(
            env,
            fake,
            BOT_ZALO_MODE="webhook",
            BOT_ZALO_WEBHOOK_URL=f"https://bot.example.org/zalo/{port}",
            BOT_ZALO_WEBHOOK_SECRET="s3cret-zalo-webhook",
            BOT_ZALO_WEBHOOK_PORT=str(port),
        ),
    )
    async with open_app(settings, clock=clock) as app:
        channel = ZaloChannel(app)
        await channel.start()
        try:
            assert fake.webhook["secret_token"] == "s3cret-zalo-webhook"
            url = f"http://127.0.0.1:{port}/zalo/{port}"
            wrapped = fake.update(USER, "/huongdan")
            assert await fake.post_webhook(url, wrapped, "wrong-secret") == 403
            assert fake.texts(USER) == []
            assert await fake.post_webhook(url, wrapped, "s3cret-zalo-webhook") == 200
            bare = fake.update(USER, "/menu")["result"]
            assert await fake.post_webhook(url, bare, "s3cret-zalo-webhook") == 200
            assert await fake.post_webhook(url, wrapped, "s3cret-zalo-webhook") == 200  # again
            await fake.wait_for(USER, "[1]")
            assert len(fake.texts(USER)) == 2
            sticker = fake.update(USER, "", event="message.sticker.received")
            await fake.post_webhook(url, sticker, "s3cret-zalo-webhook")
            await fake.wait_for(USER, "chỉ đọc được tin nhắn chữ")
        finally:
            await channel.stop()
        assert rows(app, "SELECT count(*) FROM members") == [(0,)]


async def test_a_telegram_member_links_their_zalo_account_with_a_one_time_code(bot, fake):
    from .conftest import Chat

    app, _ = bot
    telegram = Chat(app, "5001", channel="telegram")
    await telegram.register()
    await telegram.send("/lienket")
    code = telegram.text.split("Mã liên kết của bạn: ")[1].split()[0]
    await talk(fake, "/lienket SAIMA1", "không đúng hoặc đã hết hạn")
    await talk(fake, f"lienket {code}", "Đã liên kết")  # typed without the slash
    assert rows(app, "SELECT channel, member_id FROM accounts ORDER BY channel") == [
        ("telegram", 1),
        ("zalo", 1),
    ]
    await talk(fake, "/hoso", "Nguyễn Văn An")
    other = "a1b2c3d4e5f6a7b8c9d0"
    await talk(fake, f"/lienket {code}", "không đúng", user=other)  # used once only
    await talk(fake, "baihoc", "Làm theo hôm nay")
    assert rows(app, "SELECT count(DISTINCT member_id) FROM activity") == [(1,)]


def test_quota_shares_keep_room_for_what_matters_most():
    from bot.delivery.quota import admits

    assert admits(0, 79, 100) and not admits(0, 80, 100)  # reminders stop at 80%
    assert admits(5, 94, 100) and not admits(5, 95, 100)  # notices at 95%
    assert admits(0, 10_000, 0)  # no quota configured


async def test_near_the_monthly_quota_reminders_wait_and_notices_go(bot, fake, clock):
    from bot.delivery.sender import Sender
    from bot.store.outbox import NewMessage

    app, channel = bot
    await register(fake)
    (member_id,) = rows(app, "SELECT id FROM members")[0]
    channel.quota.quota = 100
    await channel.idle()  # the registration's replies are counted first
    await app.store.outbox.set_state(f"quota.zalo.sent.{clock.now():%Y-%m}", "85")
    now = int(clock.now().timestamp())
    await app.store.outbox.enqueue(
        [
            # Another chat, so the one-message-a-second-per-chat rule does not hold it back.
            NewMessage("r1", "zalo", "other-chat", None, "lesson", {}, now, 0),
            NewMessage("n1", "zalo", USER, member_id, "notice", {"broadcast": 0}, now, 5),
        ],
        now,
    )
    sender = Sender(
        channel="zalo",
        pusher=channel,
        outbox=app.store.outbox,
        render=lambda rows_: _render_plain(rows_),
        clock=app.services.clock,
        zone=app.services.zone,
        settings=app.settings.delivery,
        quota=channel.quota,
    )
    await sender.drain()
    statuses = dict(rows(app, "SELECT key, status FROM outbox"))
    assert statuses["r1"] == "pending" and statuses["n1"] in ("sent", "sending")
    (not_before,) = rows(app, "SELECT not_before FROM outbox WHERE key = 'r1'")[0]
    assert not_before == 1780246800  # 00:00 on 1/6/2026 in Hà Nội
    assert await channel.quota.deferred(clock.now().date()) == 1
    assert await channel.quota.used() == 86
    # The organizers' report says what the quota held back.
    from bot.reports.render import Words, summary_text
    from bot.reports.service import make_report

    today = clock.now().date()
    report = await make_report(app.services, "DEMO", today, today)
    assert "Zalo: 1 tin nhắc" in summary_text(report, Words(app.services.texts, "vi"))


async def test_the_daily_lesson_reminder_reaches_a_zalo_member(bot, fake):
    from bot.delivery.sender import Sender
    from bot.store.outbox import NewMessage

    app, channel = bot
    await register(fake)
    await channel.idle()
    (member_id,) = rows(app, "SELECT id FROM members")[0]
    now = int(app.services.clock.now().timestamp())
    await app.store.outbox.enqueue(
        [NewMessage("l1", "zalo", USER, member_id, "lesson", {"day": "2026-05-10"}, now)], now
    )
    sender = Sender(
        channel="zalo",
        pusher=channel,
        outbox=app.store.outbox,
        render=app.conversation.render_pushes,
        clock=app.services.clock,
        zone=app.services.zone,
        settings=app.settings.delivery,
        quota=channel.quota,
    )
    await sender.drain()
    reminder = await fake.wait_for(USER, "Đến giờ học bài")
    assert "\n/baihoc — 📖 Đọc bài ngay" in reminder  # a command hint instead of a button
    await talk(fake, "/baihoc", "Làm theo hôm nay")


async def _render_plain(rows_):
    return {row.id: [Reply(f"Tin {row.kind}")] for row in rows_}


async def test_telegram_and_zalo_run_together_in_one_process(env, tmp_path):
    """`python -m bot run` with both tokens: one process, one database, both apps answer."""
    import asyncio
    import os
    import signal
    import sys

    from .conftest import ROOT
    from .fakes.telegram_api import FakeTelegram

    async with FakeTelegram() as telegram, FakeZalo() as zalo:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env={
                **os.environ,
                **zalo_env(env, zalo),
                "BOT_TELEGRAM_TOKEN": telegram.token,
                "BOT_TELEGRAM_BASE_URL": telegram.base_url,
                "BOT_TELEGRAM_BASE_FILE_URL": telegram.base_file_url,
                "PYTHONUTF8": "1",
            },
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            zalo.say(USER, "/huongdan")
            await zalo.wait_for(USER, "/start để đăng ký", seconds=30)
            telegram.push_message(5001, "/huongdan")
            await telegram.wait_for(
                lambda: any(
                    "/start để" in m.get("text", "") for m in telegram.sent_messages(5001)
                ),
                timeout=30,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert zalo.token not in stderr.decode() and telegram.token not in stderr.decode()
