"""A local fake of the Zalo Bot API for end-to-end tests (aiohttp, 127.0.0.1, a free port).

What it does like Zalo (see ../shared/reference/zalo-bot-api.md): ``/bot<token>/<method>`` with
the ``{ok, result, description, error_code}`` envelope; getUpdates hands out one update per
call and answers 408 after its timeout when there is none; string ids and millisecond dates;
sendMessage refuses texts over 2,000 characters; a quota after which sends answer 429; webhook
deliveries posted with ``X-Bot-Api-Secret-Token``, in either payload shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web


@dataclass
class Sent:
    chat_id: str
    text: str
    at: float = field(default_factory=time.monotonic)


class FakeZalo:
    """One bot's Zalo API: queue updates from users, read what the bot sent."""

    def __init__(self, token: str = "zalo-test-token") -> None:
        self.token = token
        self.sent: list[Sent] = []
        self.calls: list[tuple[str, dict]] = []
        self.quota: int | None = None  # sends allowed before 429
        self.webhook: dict = {}
        self._updates: asyncio.Queue[dict] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    async def __aenter__(self) -> FakeZalo:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # -- users ---------------------------------------------------------------------------

    def update(self, user: str, text: str, *, event: str = "message.text.received") -> dict:
        """An update as Zalo sends it (wrapped, string ids, date in milliseconds)."""
        message_id = f"{next(self._ids):020x}"
        message = {
            "from": {"id": user, "display_name": "Thành viên", "is_bot": False},
            "chat": {"id": user, "chat_type": "PRIVATE"},
            "message_id": message_id,
            "date": int(time.time() * 1000),
        }
        if event == "message.text.received":
            message["text"] = text
        return {"ok": True, "result": {"event_name": event, "message": message}}

    def say(self, user: str, text: str) -> dict:
        """Queue a text from a user for getUpdates; returns the update."""
        update = self.update(user, text)
        self._updates.put_nowait(update)
        return update

    def repeat(self, update: dict) -> None:
        """Hand out the same update again (Zalo may)."""
        self._updates.put_nowait(update)

    def texts(self, user: str) -> list[str]:
        """What the bot sent to a user, oldest first."""
        return [s.text for s in self.sent if s.chat_id == user]

    async def wait_for(
        self, user: str, fragment: str, seconds: float = 10.0, *, after: int = 0
    ) -> str:
        """Wait until the bot sends ``user`` a text containing ``fragment`` (among its texts
        from number ``after`` on); return it."""
        deadline = asyncio.get_running_loop().time() + seconds
        seen = after
        while True:
            texts = self.texts(user)
            for text in texts[seen:]:
                if fragment in text:
                    return text
            seen = len(texts)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no message with {fragment!r} to {user}; got {texts[-3:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def post_webhook(self, url: str, payload: dict, secret: str) -> int:
        """Deliver an update to the bot's webhook as Zalo would; the HTTP status."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url, json=payload, headers={"X-Bot-Api-Secret-Token": secret}
            ) as response,
        ):
            return response.status

    # -- the API -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await request.json() if request.can_read_body else {}
        self.calls.append((method, params))
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        if method == "getMe":
            return self._ok({"id": "b0t", "account_name": "Bot học tập", "account_type": "BASIC"})
        if method == "getUpdates":
            try:
                update = await asyncio.wait_for(
                    self._updates.get(), float(params.get("timeout", 30))
                )
            except TimeoutError:
                return self._error(408, "Request Timeout")
            return web.json_response(update)
        if method in ("setWebhook", "deleteWebhook"):
            self.webhook = dict(params) if method == "setWebhook" else {}
            return self._ok(True)
        if method == "getWebhookInfo":
            return self._ok({"url": self.webhook.get("url", "")})
        if method in ("sendMessage", "sendPhoto"):
            text = str(params.get("text", params.get("caption", "")))
            if not 1 <= len(text) <= 2000:
                return self._error(400, "text must be 1-2000 characters")
            if self.quota is not None and len(self.sent) >= self.quota:
                return self._error(429, "Quota exceeded")
            self.sent.append(Sent(str(params.get("chat_id")), text))
            self._changed.set()
            return self._ok(
                {"message_id": f"{next(self._ids):020x}", "date": int(time.time() * 1000)}
            )
        if method == "sendChatAction":
            return self._ok(True)
        return self._error(404, "Not Found")

    @staticmethod
    def _ok(result: object) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": code, "description": description}, status=code
        )
