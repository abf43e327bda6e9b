"""The aiohttp transport under PTB: what a failure says about whether a message may have left."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import NetworkError

from bot.channels.http import NOT_SENT, AiohttpRequest
from bot.channels.telegram import _delivery_error
from bot.delivery.errors import MaybeDelivered, Transient

from .fakes.telegram_api import FakeTelegram
from .test_telegram import free_port


async def test_a_refused_connection_is_not_sent_and_retried():
    request = AiohttpRequest(2, connect_timeout=1.0)
    await request.initialize()
    bot = Bot("123:T", base_url=f"http://127.0.0.1:{free_port()}/bot", request=request)
    try:
        with pytest.raises(NetworkError) as raised:
            await bot.send_message(1, "x")
    finally:
        await request.shutdown()
    assert NOT_SENT in str(raised.value)
    assert isinstance(_delivery_error(raised.value), Transient)


async def test_a_connection_broken_after_sending_may_have_delivered():
    error = NetworkError("aiohttp.ServerDisconnectedError: Server disconnected")
    assert isinstance(_delivery_error(error), MaybeDelivered)


async def test_requests_and_uploads_reach_the_bot_api():
    async with FakeTelegram() as tg:
        request = AiohttpRequest(4)
        bot = Bot(tg.token, base_url=tg.base_url, request=request)
        await bot.initialize()
        try:
            await bot.send_message(42, "Xin chào")
            await bot.send_document(42, b"%PDF-1.4 test", filename="bao-cao.pdf", caption="Tệp")
        finally:
            await bot.shutdown()
        assert tg.last_text(42) == "Tệp"
        (upload,) = tg.calls_to("sendDocument")
        assert upload.params["chat_id"] in (42, "42")
        assert tg.calls_to("sendMessage")[0].params["text"] == "Xin chào"
