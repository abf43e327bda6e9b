"""Self-tests of the fake Telegram Bot API, driven by the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.fakes.telegram_api import FakeTelegram, UploadedFile

USER = 4242
OTHER_USER = 5151
CHOICES = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Yes", callback_data="yes"),
            InlineKeyboardButton("No", callback_data="no"),
        ]
    ]
)
AGAIN = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(tg) as initialized:
        yield initialized


def make_bot(tg: FakeTelegram, token: str | None = None, **kwargs: object) -> Bot:
    return Bot(token or tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url, **kwargs)


def make_app(tg: FakeTelegram) -> Application:
    return (
        Application.builder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )


@asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text, reply_markup=CHOICES)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"You chose {query.data}", reply_markup=AGAIN)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_echo_and_callback_through_polling(tg: FakeTelegram) -> None:
    app = make_app(tg)
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(on_button))

    async with polling(app):
        update_id = tg.push_message(USER, "hello")
        [sent] = await tg.wait_for_calls("sendMessage", chat_id=USER)
        await tg.wait_until_consumed(update_id)
        press_id = tg.push_callback(USER, "yes")
        await tg.wait_for_calls("editMessageText", chat_id=USER)

    assert sent.params["text"] == "hello"
    assert sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"
    [answer] = tg.calls_to("answerCallbackQuery")
    assert answer.params["callback_query_id"] == tg.update(press_id)["callback_query"]["id"]
    [reply] = tg.sent_messages(USER)
    assert reply["message_id"] == 2
    assert reply["text"] == "You chose yes"
    assert reply["reply_markup"] == AGAIN.to_dict()
    assert tg.last_text(USER) == "You chose yes"
    assert [c.method for c in tg.calls[:3]] == ["getMe", "deleteWebhook", "getUpdates"]
    abandoned_long_poll = ("getUpdates", None)
    assert {(c.method, c.status) for c in tg.calls if c.status != 200} == {abandoned_long_poll}


async def test_commands_stickers_photos_and_edits_reach_handlers(tg: FakeTelegram) -> None:
    seen: list[str] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        if update.edited_message:
            seen.append(f"edited:{message.text}")
        elif message.sticker:
            seen.append(f"sticker:{message.sticker.emoji}")
        elif message.photo:
            seen.append(f"photo:{message.photo[-1].width}:{message.caption}")
        else:
            seen.append(f"command:{context.args}")

    app = make_app(tg)
    app.add_handler(CommandHandler("start", record))
    app.add_handler(MessageHandler(filters.Sticker.ALL | filters.PHOTO, record))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, record))

    async with polling(app):
        command_id = tg.push_message(USER, "/start@demo_bot ref42")
        tg.push_sticker(USER)
        tg.push_photo(USER, caption="look")
        message_id = tg.update(command_id)["message"]["message_id"]
        tg.push_edited_message(USER, "/start again", message_id)
        await tg.wait_for(lambda: len(seen) == 4, what="four handled updates")

    assert seen == ["command:['ref42']", "sticker:👍", "photo:800:look", "edited:/start again"]
    entity = tg.update(command_id)["message"]["entities"][0]
    assert entity == {"type": "bot_command", "offset": 0, "length": len("/start@demo_bot")}


async def test_get_me_commands_and_webhook_methods(tg: FakeTelegram, bot: Bot) -> None:
    assert (bot.id, bot.username, bot.first_name) == (123456, "demo_bot", "Demo Bot")

    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("start", "Bắt đầu")], language_code="vi")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.description for c in await bot.get_my_commands(language_code="vi")] == ["Bắt đầu"]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()

    assert await bot.set_webhook("https://example.test/hook", secret_token="s3cret")
    assert tg.webhook["secret_token"] == "s3cret"
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://example.test/hook", 0)
    with pytest.raises(Conflict):
        await bot.get_updates()
    tg.push_message(USER, "pending")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()
    assert await bot.close()
    assert await bot.log_out()


async def test_documents_and_photos_are_uploaded_as_multipart(tg: FakeTelegram, bot: Bot) -> None:
    document = await bot.send_document(
        USER, io.BytesIO(b"report body"), filename="report.txt", caption="weekly"
    )
    photo = await bot.send_photo(USER, b"\x89PNG fake bytes", reply_markup=CHOICES)
    assert await bot.send_chat_action(USER, "typing")

    assert document.document is not None
    assert (document.document.file_name, document.document.file_size) == ("report.txt", 11)
    assert document.caption == "weekly"
    assert photo.photo[-1].width == 800
    assert photo.reply_markup == CHOICES
    uploaded = tg.calls_to("sendDocument")[0].params["document"]
    assert isinstance(uploaded, UploadedFile)
    assert (uploaded.filename, uploaded.content) == ("report.txt", b"report body")
    assert tg.calls_to("sendPhoto")[0].params["reply_markup"] == CHOICES.to_dict()
    assert [m["message_id"] for m in tg.sent_messages(USER)] == [1, 2]


async def test_429_carries_retry_after(
    tg: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    tg.fail(
        "sendMessage", status=429, description="Too Many Requests: retry after 3", retry_after=3
    )

    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER, "first")
    await bot.send_message(USER, "second")

    assert raised.value.retry_after == dtm.timedelta(seconds=3)
    assert [c.status for c in tg.calls_to("sendMessage")] == [429, 200]
    assert [m["text"] for m in tg.sent_messages(USER)] == ["second"]


async def test_fail_matches_chat_and_counts_times(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail(
        "sendmessage", status=400, description="Bad Request: chat not found", chat_id=USER, times=2
    )

    for _ in range(2):
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(USER, "lost")
    await bot.send_message(OTHER_USER, "fine")
    await bot.send_message(USER, "through")

    assert tg.last_text(USER) == "through"
    assert [c.status for c in tg.calls_to("sendMessage")] == [400, 400, 200, 200]


async def test_blocked_user_gets_403(tg: FakeTelegram, bot: Bot) -> None:
    tg.block(USER)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(USER, "typing")
    await bot.send_message(OTHER_USER, "hi")
    tg.unblock(USER)
    await bot.send_message(USER, "welcome back")

    assert tg.calls_to("sendMessage", chat_id=USER)[0].status == 403
    assert tg.last_text(USER) == "welcome back"


async def test_wrong_token_is_unauthorized(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(tg, token="999:WRONG"):
            pass

    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{tg.base_url}999:WRONG/getMe") as response,
    ):
        body = await response.json()
    assert (response.status, body) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert [c.status for c in tg.calls_to("getMe")] == [401, 401]


async def test_edit_errors_like_the_real_api(tg: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_message(USER, "pick", reply_markup=CHOICES)

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("pick", USER, message.message_id, reply_markup=CHOICES)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("new", USER, 999)
    edited = await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=AGAIN)
    assert isinstance(edited, type(message))
    assert edited.reply_markup == AGAIN
    assert edited.edit_date is not None
    stripped = await bot.edit_message_text("done", USER, message.message_id)
    assert isinstance(stripped, type(message))
    assert stripped.reply_markup is None
    assert tg.sent_messages(USER)[0]["text"] == "done"
    assert "reply_markup" not in tg.sent_messages(USER)[0]


async def test_long_poll_returns_early_when_update_is_pushed(tg: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=3))
    await tg.wait_for_calls("getUpdates")
    update_id = tg.push_message(USER, "wake up")
    updates = await poll

    assert time.monotonic() - started < 1
    assert [u.update_id for u in updates] == [update_id]
    assert updates[0].message is not None
    assert updates[0].message.text == "wake up"
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    await tg.wait_until_consumed(update_id, timeout=0.1)


async def test_long_poll_honours_timeout_limit_and_offset(tg: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.3)) == ()
    assert 0.25 < time.monotonic() - started < 1

    first, second, third = (tg.push_message(USER, text) for text in ("a", "b", "c"))
    assert [u.update_id for u in await bot.get_updates(limit=2)] == [first, second]
    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second, third]
    with pytest.raises(AssertionError, match=f"confirm update {second}"):
        await tg.wait_until_consumed(second, timeout=0.1)
    assert await bot.get_updates(offset=third + 1) == ()
    await tg.wait_until_consumed(third, timeout=0.1)


async def test_push_raw_takes_the_next_update_id(tg: FakeTelegram, bot: Bot) -> None:
    first = tg.push_message(USER, "hi")
    raw = tg.push_raw({"update_id": 999, "message": tg.update(first)["message"]})

    updates = await bot.get_updates()

    assert raw == first + 1
    assert [u.update_id for u in updates] == [first, raw]


async def test_delay_makes_the_client_time_out(tg: FakeTelegram) -> None:
    tg.delay("sendMessage", 1.0)
    async with make_bot(tg, request=HTTPXRequest(read_timeout=0.2)) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(USER, "slow")
        assert tg.last_text(USER) == "slow"
        [slow] = tg.calls_to("sendMessage")
        assert slow.status is None
        await bot.send_message(USER, "fast")

    assert [m["text"] for m in tg.sent_messages(USER)] == ["slow", "fast"]


async def test_accepts_json_query_and_form_params(tg: FakeTelegram) -> None:
    url = f"{tg.base_url}{tg.token}"
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/sendMessage", json={"chat_id": 7, "text": "json"}) as r:
            assert (await r.json())["result"]["chat"] == {
                "id": 7,
                "first_name": "Test",
                "type": "private",
            }
        async with session.get(f"{url}/sendMessage", params={"chat_id": "7", "text": "123"}) as r:
            assert (await r.json())["result"]["text"] == "123"
        form = {"chat_id": "-1001", "text": "true", "reply_markup": markup}
        async with session.post(f"{url}/sendMessage", data=form) as r:
            assert (await r.json())["result"]["chat"]["type"] == "supergroup"
        async with session.post(f"{url}/fooBar") as r:
            assert (r.status, await r.json()) == (
                404,
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
            )

    json_call, query_call, form_call, _ = tg.calls
    assert json_call.params == {"chat_id": 7, "text": "json"}
    assert query_call.params == {"chat_id": 7, "text": "123"}
    assert form_call.params["text"] == "true"
    assert form_call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    assert tg.sent_messages(-1001)[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "A"


async def test_post_update_to_ptb_webhook(tg: FakeTelegram) -> None:
    port = free_port()
    app = make_app(tg)
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            secret_token="s3cret",
            webhook_url=f"http://127.0.0.1:{port}/hook",
        )
        try:
            hook = tg.webhook
            update = tg.make_message_update(USER, "via webhook")
            assert await tg.post_update(hook["url"], update, secret_token="wrong") == 403
            assert (
                await tg.post_update(hook["url"], update, secret_token=hook["secret_token"]) == 200
            )
            await tg.wait_for_calls("sendMessage", chat_id=USER)
        finally:
            await app.updater.stop()
            await app.stop()

    assert tg.last_text(USER) == "via webhook"
    assert tg.calls_to("setWebhook")[0].params["url"] == f"http://127.0.0.1:{port}/hook"


async def test_helpers_explain_what_is_missing(tg: FakeTelegram) -> None:
    with pytest.raises(LookupError, match="inline keyboard"):
        tg.push_callback(USER, "yes")
    with pytest.raises(AssertionError, match=r"1 call\(s\) to sendMessage to chat 4242"):
        await tg.wait_for_calls("sendMessage", chat_id=USER, timeout=0.1)
    with pytest.raises(AssertionError, match="sent no message"):
        tg.last_text(USER)
