"""Telegram end to end: the real PTB Application over HTTP against a local fake Bot API server."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable

import pytest

from bot.app import open_app
from bot.channels.telegram import TelegramChannel
from bot.config import load_settings
from bot.logs import setup_logging

from .conftest import LESSONS, rows
from .fakes.telegram_api import FakeTelegram

USER = 5001


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def fake():
    async with FakeTelegram() as tg:
        yield tg


def telegram_env(env: dict, tg: FakeTelegram, **extra: str) -> dict:
    return {
        **env,
        "BOT_TELEGRAM_TOKEN": tg.token,
        "BOT_TELEGRAM_BASE_URL": tg.base_url,
        "BOT_TELEGRAM_BASE_FILE_URL": tg.base_file_url,
        **extra,
    }


@pytest.fixture
async def bot(env, clock, fake):
    settings = load_settings(None, environ=telegram_env(env, fake))
    async with open_app(settings, clock=clock) as app:
        channel = TelegramChannel(app)
        await channel.start()
        try:
            yield app
        finally:
            await channel.stop()


class Member:
    """A Telegram user driving the bot through the fake server."""

    def __init__(self, tg: FakeTelegram, user_id: int = USER) -> None:
        self.tg, self.id = tg, user_id

    def _seen(self) -> set:
        return {(m["message_id"], m.get("text")) for m in self.tg.sent_messages(self.id)}

    async def _expect(self, action: Callable[[], int], fragment: str) -> dict:
        before = self._seen()
        action()

        def arrived() -> dict | None:
            for message in self.tg.sent_messages(self.id):
                key = (message["message_id"], message.get("text"))
                if key not in before and fragment in message.get("text", ""):
                    return message
            return None

        await self.tg.wait_for(lambda: arrived() is not None, what=f"a message with {fragment!r}")
        return arrived()

    async def say(self, text: str, expect: str) -> dict:
        """Send text and wait for a reply containing ``expect``."""
        return await self._expect(lambda: self.tg.push_message(self.id, text), expect)

    async def press(self, label: str, expect: str) -> dict:
        """Press the newest button whose label contains ``label``."""
        message_id, data = self.button(label)
        return await self._expect(
            lambda: self.tg.push_callback(self.id, data, message_id=message_id), expect
        )

    def button(self, label: str) -> tuple[int, str]:
        for message in reversed(self.tg.sent_messages(self.id)):
            markup = message.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if label.casefold() in button["text"].casefold():
                        return message["message_id"], button["callback_data"]
        raise AssertionError(f"no button {label!r}")

    async def register(self, name: str = "Nguyễn Văn An") -> tuple[int, str]:
        """Register; return the confirm button (message id, data) for replay tests."""
        await self.say("/start", "xin bạn đồng ý")
        await self.press("đồng ý", "họ và tên")
        await self.say(name, "đơn vị")
        await self.say("HA-DONG", "đối tượng")
        await self.press("Đảng viên", "kiểm tra lại")
        confirm = self.button("hoàn tất")
        await self.press("hoàn tất", "đăng ký xong")
        return confirm


async def test_a_member_goes_from_start_to_a_read_lesson(bot, fake):
    member = Member(fake)
    await member.register()
    consent = fake.sent_messages(USER)[0]
    # The pressed question became the thanks and the next question, with its own button.
    assert consent["text"].startswith("✅ Cảm ơn bạn đã đồng ý.\n\nBạn vui lòng gõ họ và tên")
    assert consent["reply_markup"]["inline_keyboard"][0][0]["text"] == "✖ Hủy"
    assert len(fake.calls_to("editMessageText", chat_id=USER)) == 2

    lesson = await member.press("Bài học hôm nay", "Làm theo hôm nay")
    assert f"Đã đọc 1/{LESSONS}" in lesson["text"]
    buttons = lesson["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in buttons] == [["Bài tiếp ➡"], ["Về menu"]]
    await member.press("Bài tiếp", f"Đã đọc 2/{LESSONS}")
    assert len(fake.calls_to("answerCallbackQuery")) == 5
    assert rows(bot, "SELECT count(*) FROM activity WHERE kind = 'lesson_read'") == [(2,)]
    assert rows(bot, "SELECT channel, external_id, reachable FROM accounts") == [
        ("telegram", str(USER), 1)
    ]


async def test_start_publishes_vietnamese_and_english_commands(bot, fake):
    calls = fake.calls_to("setMyCommands")
    by_language = {c.params.get("language_code"): c.params["commands"] for c in calls}
    assert set(by_language) == {None, "en"}
    vietnamese = {c["command"]: c["description"] for c in by_language[None]}
    assert vietnamese["baihoc"] == "Bài học hôm nay"
    assert {"start", "baihoc", "hoso", "xoadulieu", "huongdan"} <= set(vietnamese)
    assert "napdonvi" not in vietnamese  # admin commands stay out of the public menu
    assert bot.services.bot_username == "demo_bot"


async def test_stale_and_forged_buttons_answer_with_a_notice_only(bot, fake):
    member = Member(fake)
    message_id, data = await member.register()
    sent = len(fake.calls_to("sendMessage"))
    for forged in (data, "garbage", "x" * 64):
        fake.push_callback(USER, forged, message_id=message_id)
    await fake.wait_for(lambda: len(fake.calls_to("answerCallbackQuery")) == 6)
    notices = [c.params.get("text", "") for c in fake.calls_to("answerCallbackQuery")[-3:]]
    assert all("hết hiệu lực" in text for text in notices)
    assert len(fake.calls_to("sendMessage")) == sent
    assert rows(bot, "SELECT count(*) FROM members") == [(1,)]


async def test_edits_stickers_photos_and_unknown_commands_get_an_answer(bot, fake):
    member = Member(fake)
    await member.say("/khongco", "Không có lệnh /khongco")
    await member._expect(lambda: fake.push_sticker(USER), "chỉ đọc được tin nhắn chữ")
    await member._expect(lambda: fake.push_photo(USER), "chỉ đọc được tin nhắn chữ")
    await member._expect(lambda: fake.push_edited_message(USER, "sửa", 1), "đã sửa")
    await member.say("x" * 3000, "quá giới hạn")
    assert rows(bot, "SELECT count(*) FROM dialogs") == [(0,)]


async def test_a_member_who_blocked_the_bot_is_marked_unreachable(bot, fake):
    member = Member(fake)
    await member.register()
    fake.block(USER)
    fake.push_message(USER, "/baihoc")
    await fake.wait_for(lambda: rows(bot, "SELECT reachable FROM accounts") == [(0,)])
    assert fake.calls_to("sendMessage", chat_id=USER)[-1].status == 403


async def test_block_and_unblock_reported_by_telegram_update_reachability(bot, fake):
    member = Member(fake)
    await member.register()

    def membership(status: str) -> dict:
        user = {"id": USER, "is_bot": False, "first_name": "Test"}
        chat_member = {"user": fake.bot_user, "status": status}
        return {
            "my_chat_member": {
                "chat": {"id": USER, "type": "private", "first_name": "Test"},
                "from": user,
                "date": 1_780_000_000,
                "old_chat_member": {**chat_member, "status": "member"},
                "new_chat_member": {
                    **chat_member,
                    **({"until_date": 0} if status == "kicked" else {}),
                },
            }
        }

    fake.push_raw(membership("kicked"))
    await fake.wait_for(lambda: rows(bot, "SELECT reachable FROM accounts") == [(0,)])
    fake.push_raw(membership("member"))
    await fake.wait_for(lambda: rows(bot, "SELECT reachable FROM accounts") == [(1,)])


async def test_group_messages_are_ignored(bot, fake):
    update_id = fake.push_raw(
        {
            "message": {
                "message_id": 1,
                "date": 1_780_000_000,
                "chat": {"id": -100, "type": "group", "title": "Chi bộ"},
                "from": {"id": USER, "is_bot": False, "first_name": "Test"},
                "text": "/baihoc",
            }
        }
    )
    await fake.wait_until_consumed(update_id)
    Member(fake)
    await Member(fake).say("/huongdan", "/start")
    assert not fake.calls_to("sendMessage", chat_id=-100)


async def test_webhook_mode_checks_the_secret_and_drops_duplicates(env, clock, fake):
    port = free_port()
    secret = "s3cret-webhook-token"
    settings = load_settings(
        None,
        environ=telegram_env(
            env,
            fake,
            BOT_TELEGRAM_MODE="webhook",
            BOT_TELEGRAM_WEBHOOK_URL="https://bot.example.test/tg-hook",
            BOT_TELEGRAM_WEBHOOK_SECRET=secret,
            BOT_TELEGRAM_WEBHOOK_PORT=str(port),
        ),
    )
    async with open_app(settings, clock=clock) as app:
        channel = TelegramChannel(app)
        await channel.start()
        try:
            assert fake.webhook["url"] == "https://bot.example.test/tg-hook"
            assert fake.webhook["secret_token"] == secret
            assert not fake.calls_to("getUpdates")
            url = f"http://127.0.0.1:{port}/tg-hook"
            update = fake.make_message_update(USER, "/huongdan")
            assert await fake.post_update(url, update, secret_token="wrong-secret") == 403
            assert await fake.post_update(url, update) == 403
            assert await fake.post_update(url, update, secret_token=secret) == 200
            assert await fake.post_update(url, update, secret_token=secret) == 200
            await fake.wait_for_calls("sendMessage", chat_id=USER)
            other = fake.make_message_update(USER, "/menu")
            assert await fake.post_update(url, other, secret_token=secret) == 200
            await fake.wait_for_calls("sendMessage", 2, chat_id=USER)
            help_replies = [
                c for c in fake.calls_to("sendMessage") if "các lệnh sau" in c.params["text"]
            ]
            assert len(help_replies) == 1  # the repeated update was handled once
        finally:
            await channel.stop()


async def test_the_token_never_reaches_the_logs(env, clock, fake, capsys):
    settings = load_settings(None, environ=telegram_env(env, fake, BOT_LOG_LEVEL="DEBUG"))
    setup_logging(settings)
    try:
        async with open_app(settings, clock=clock) as app:
            channel = TelegramChannel(app)
            await channel.start()
            await Member(fake).register("Phan Thị Riêng")
            fake.fail("sendMessage", status=400, description="Bad Request: chat not found")
            fake.push_message(USER, "/baihoc")
            await fake.wait_for(
                lambda: any(c.status == 400 for c in fake.calls_to("sendMessage")),
                what="the failed lesson reply",
            )
            await channel.stop()
    finally:
        logging.getLogger().handlers.clear()
    logged = capsys.readouterr().err
    assert "telegram channel started" in logged
    assert fake.token not in logged
    assert fake.token.split(":")[1] not in logged
    assert "Riêng" not in logged  # what members type is not logged either
    assert "BadRequest" in logged  # errors are logged by type


async def test_the_year_end_report_arrives_as_a_document(bot, fake):
    member = Member(fake)
    await member.register()
    await member.say("/camket", "Gợi ý cho Đảng viên")
    for number in (1, 2, 3):
        await member.press(f"⬜ {number}", f"{number}. ✅")
    await member.press("Xong", "Bản cam kết năm 2026:")
    await member.press("Lưu cam kết", "Đã lưu bản cam kết")
    await member.say("/tongket", "Đã hoàn thành 0/3")
    (call,) = await fake.wait_for_calls("sendDocument", chat_id=USER)
    upload = call.params["document"]
    assert upload.filename == "tu-danh-gia-cam-ket-2026.docx" and upload.content[:2] == b"PK"
    assert "Bản tự đánh giá" in call.params["caption"]


async def test_an_organizer_sends_a_roster_file_and_a_member_shares_their_number(bot, fake):
    organizer = Member(fake, 6001)
    await organizer.register(name="Lê Văn Tổ")
    (organizer_id,) = rows(bot, "SELECT id FROM members WHERE full_name = 'Lê Văn Tổ'")[0]
    await bot.store.grant(organizer_id, "DEMO.HA", actor="test", now=0)
    await organizer.say("/danhsach", "Gửi tệp .csv hoặc .xlsx")
    roster = (
        "Họ và tên,Số điện thoại,Mã đơn vị,Đối tượng\n"
        "Nguyễn Văn An,0912345678,DEMO.HA.1,Đảng viên\n"
    )
    await organizer._expect(
        lambda: fake.push_document(6001, "danh-sach.csv", roster.encode()), "Thêm mới: 1"
    )
    await organizer.press("Nạp 1", "Đã nạp 1 người")
    assert rows(bot, "SELECT full_name FROM roster") == [("Nguyễn Văn An",)]

    member = Member(fake)
    await member.register()
    await member.say("/xacminh", "chia sẻ số điện thoại")
    markup = fake.calls_to("sendMessage", chat_id=USER)[-1].params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert markup["keyboard"][0][0]["request_contact"] is True
    await member._expect(
        lambda: fake.push_contact(USER, "+84 912 345 678", owner=999), "chính mình"
    )
    await member._expect(lambda: fake.push_contact(USER, "+84912345678"), "Đây là bạn?")
    await member.press("Đúng, là tôi", "Đã xác nhận")
    (me,) = rows(bot, "SELECT id FROM members WHERE full_name = 'Nguyễn Văn An'")[0]
    assert rows(bot, "SELECT member_id FROM roster") == [(me,)]


async def test_pushed_documents_and_photos_are_uploaded(bot, fake):
    from bot.core.messages import Document, Reply

    channel = TelegramChannel(bot)
    await channel.application.initialize()
    try:
        await channel.push(
            str(USER),
            [
                Reply("Tóm tắt"),
                Reply("Bảng kết quả", document=Document("ket-qua.xlsx", b"PK-xlsx")),
                Reply("Biểu đồ", document=Document("bieu-do.png", b"\x89PNG", photo=True)),
            ],
        )
    finally:
        await channel.application.shutdown()
    assert [m.get("text") or m.get("caption") for m in fake.sent_messages(USER)] == [
        "Tóm tắt",
        "Bảng kết quả",
        "Biểu đồ",
    ]
    assert fake.calls_to("sendDocument")[0].params["document"].filename == "ket-qua.xlsx"
    assert fake.calls_to("sendPhoto")[0].params["photo"].content == b"\x89PNG"


async def test_a_slow_answer_shows_typing_until_it_comes_and_a_quick_one_does_not(
    bot, fake, monkeypatch
):
    from bot.channels import busy

    monkeypatch.setattr(busy, "SHOW_AFTER_S", 0.2)
    monkeypatch.setattr(busy, "REPEAT_EVERY_S", 0.3)
    member = Member(fake)
    await member.say("/start", "xin bạn đồng ý")
    assert not fake.calls_to("sendChatAction")

    handle = bot.conversation.handle

    async def slow(incoming):
        await asyncio.sleep(0.8)  # a province report, say
        return await handle(incoming)

    monkeypatch.setattr(bot.conversation, "handle", slow)
    await member.say("/start", "xin bạn đồng ý")
    shown = fake.calls_to("sendChatAction", chat_id=USER)
    assert len(shown) >= 2 and {call.params["action"] for call in shown} == {"typing"}
    await asyncio.sleep(0.5)
    assert len(fake.calls_to("sendChatAction")) == len(shown)  # stopped with the answer
