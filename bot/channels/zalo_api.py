"""A thin async client of the Zalo Bot API (see ../shared/reference/zalo-bot-api.md).

Zalo copies the Telegram Bot API's URL pattern (``<base>/bot<token>/<method>``) and reply
envelope (``{ok, result, description, error_code}``) with ten methods. ``getUpdates`` returns at
most one update and answers 408 when there is nothing yet. The token is part of every URL, so
URLs are never logged and errors never quote them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
MAX_TEXT = 2000


class ZaloError(Exception):
    """The Zalo Bot API refused a call (the message is Zalo's description, never the URL)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code


class ZaloUnauthorized(ZaloError):
    """401: the token is wrong or revoked."""


class ZaloQuotaExceeded(ZaloError):
    """429: the plan's message quota is used up."""


class ZaloNetworkError(Exception):
    """No answer from Zalo (connection refused, reset, timed out)."""


class ZaloClient:
    """Calls one bot's methods; one aiohttp session, opened by ``start``."""

    def __init__(self, token: str, base_url: str = DEFAULT_BASE_URL, timeout: float = 10.0):
        self._prefix = f"{base_url.rstrip('/')}/bot{token}/"
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the connection pool."""
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, wait: float | None = None, **params: Any) -> Any:
        """POST ``params`` as JSON; the ``result``, or a ZaloError. ``wait``: seconds at most."""
        if self._session is None:
            await self.start()
        try:
            async with self._session.post(
                self._prefix + method,
                json=params,
                timeout=aiohttp.ClientTimeout(total=wait or self._timeout),
            ) as response:
                raw = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ZaloNetworkError(type(exc).__name__) from None
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        if status == 200 and body.get("ok", True):
            return body.get("result")
        code = int(body.get("error_code") or status)
        description = str(body.get("description") or "")
        if code == 401:
            raise ZaloUnauthorized(code, description or "Unauthorized")
        if code == 429:
            raise ZaloQuotaExceeded(code, description or "Quota exceeded")
        raise ZaloError(code, description or "error")

    async def get_me(self) -> dict:
        """The bot's own account."""
        return await self.call("getMe")

    async def get_updates(self, seconds: int = 30) -> dict | None:
        """The next update (at most one), or None when none came within ``seconds`` (408)."""
        try:
            return await self.call("getUpdates", wait=seconds + 10, timeout=seconds)
        except ZaloError as exc:
            if exc.code == 408:
                return None
            raise

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        """Receive updates at ``url`` (public HTTPS) with the secret header."""
        return await self.call("setWebhook", url=url, secret_token=secret_token)

    async def delete_webhook(self) -> Any:
        """Stop the webhook (polling works again)."""
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict:
        """Where updates are delivered now."""
        return await self.call("getWebhookInfo")

    async def send_message(self, chat_id: str, text: str) -> dict:
        """Send one text (1–2,000 characters)."""
        return await self.call("sendMessage", chat_id=chat_id, text=text[:MAX_TEXT])

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> dict:
        """Send a photo by URL (Zalo takes no uploads)."""
        return await self.call("sendPhoto", chat_id=chat_id, photo=photo_url, caption=caption)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        """Show "typing…"."""
        return await self.call("sendChatAction", chat_id=chat_id, action=action)


def unwrap(payload: dict) -> dict | None:
    """The update inside a webhook delivery or a getUpdates result: both shapes are seen."""
    update = payload.get("result", payload) if "ok" in payload else payload
    return update if isinstance(update, dict) and "message" in update else None


async def sleep_or_stop(seconds: float, stop: asyncio.Event) -> None:
    """Wait ``seconds`` unless ``stop`` is set first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
