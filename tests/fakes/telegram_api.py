"""A local fake Telegram Bot API server for end-to-end tests of the bot.

Start it with ``async with FakeTelegram() as tg:`` and build the bot with
``Application.builder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url)``.
Inject updates with ``push_*``, observe the bot through ``calls`` and ``sent_messages``,
and script failures with ``fail``, ``block`` and ``delay``.
"""

# The wait_* helpers take a timeout on purpose: tests read better than with asyncio.timeout.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from .telegram_state import (
    ApiError,
    JsonDict,
    MethodHandler,
    TelegramState,
    UploadedFile,
    as_int,
    decode_params,
)

__all__ = ["SECRET_TOKEN_HEADER", "ApiError", "Call", "FakeTelegram", "UploadedFile"]

SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BLOCKED_BY_USER = "Forbidden: bot was blocked by the user"

_CHAT_WRITE_PREFIXES = ("send", "edit", "copy", "forward")
_MAX_REQUEST_BYTES = 50 * 1024 * 1024
_SHUTDOWN_TIMEOUT = 1.0
_WAIT_POLL_INTERVAL = 0.05
_RECENT_CALLS_SHOWN = 10


@dataclass(frozen=True)
class Call:
    """A request the bot made; ``status`` is None until it has been answered."""

    method: str
    params: JsonDict
    at: float
    status: int | None = None

    @property
    def chat_id(self) -> int | None:
        """The ``chat_id`` parameter as an int, or None."""
        return as_int(self.params.get("chat_id"))

    def matches(self, method: str, chat_id: int | None = None) -> bool:
        """Whether this is a call to ``method`` (any case), to ``chat_id`` if given."""
        if self.method.lower() != method.lower():
            return False
        return chat_id is None or self.chat_id == chat_id


@dataclass
class _Rule:
    method: str
    chat_id: int | None
    times: int


@dataclass
class _Fault(_Rule):
    error: ApiError


@dataclass
class _Delay(_Rule):
    seconds: float


_RuleT = TypeVar("_RuleT", bound=_Rule)


def _take(rules: list[_RuleT], call: Call) -> _RuleT | None:
    """Use up one application of the first rule matching the call."""
    for rule in rules:
        if call.matches(rule.method, rule.chat_id):
            rule.times -= 1
            if rule.times <= 0:
                rules.remove(rule)
            return rule
    return None


async def _read_params(request: web.Request) -> JsonDict:
    """Query string plus a form, multipart or JSON body, decoded like the real API does."""
    raw: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        raw.update(await request.json())
    else:
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                value = UploadedFile(value.filename, value.content_type, value.file.read())
            raw[name] = value
    return decode_params(raw)


class FakeTelegram:
    """The Telegram Bot API for one bot, served over HTTP on 127.0.0.1."""

    def __init__(self, token: str = "123456:TEST-TOKEN", bot_username: str = "demo_bot") -> None:
        self.token = token
        self.calls: list[Call] = []
        self._state = TelegramState(token, bot_username)
        self._methods: dict[str, MethodHandler] = {
            **self._state.methods(),
            "getupdates": self._get_updates,
        }
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._blocked: set[int] = set()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._changed = asyncio.Event()
        self._chat_changed: dict[int, asyncio.Event] = {}
        self._closing = asyncio.Event()

    # Lifecycle

    async def start(self) -> None:
        """Start serving on 127.0.0.1 on a free port."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already running")
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=_MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Release pending long polls and delays, then shut the server down."""
        if self._runner is None:
            return
        self._closing.set()
        self._notify()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` takes; it requests ``{base_url}{token}/{method}``."""
        return f"{self._origin}/bot"

    @property
    def base_file_url(self) -> str:
        """What PTB's ``base_file_url`` takes."""
        return f"{self._origin}/file/bot"

    @property
    def bot_user(self) -> JsonDict:
        """The bot's User object, as getMe describes it."""
        return dict(self._state.bot_user)

    @property
    def webhook(self) -> JsonDict:
        """The webhook the bot set: ``url`` ("" when none) plus the options it passed."""
        return dict(self._state.webhook)

    @property
    def _origin(self) -> str:
        if self._runner is None:
            raise RuntimeError("FakeTelegram is not running; use start() or 'async with'")
        return f"http://127.0.0.1:{self._port}"

    # Injecting updates

    def make_message_update(
        self, user_id: int, text: str, *, first_name: str = "Test", language_code: str = "vi"
    ) -> JsonDict:
        """Build (without queueing) an update with a private text message from a user."""
        return self._state.message_update(
            user_id, text, first_name=first_name, language_code=language_code
        )

    def make_callback_update(
        self, user_id: int, data: str, *, message_id: int | None = None
    ) -> JsonDict:
        """Build (without queueing) a button press on a bot message in a private chat.

        Without ``message_id`` the message is the last one the bot sent to that chat with an
        inline keyboard. Raises LookupError when there is no such message.
        """
        return self._state.callback_update(user_id, data, message_id=message_id)

    def push_message(
        self, user_id: int, text: str, *, first_name: str = "Test", language_code: str = "vi"
    ) -> int:
        """Queue a private text message (with bot_command entities); returns the update_id."""
        update = self.make_message_update(
            user_id, text, first_name=first_name, language_code=language_code
        )
        return self._enqueue(update)

    def push_callback(self, user_id: int, data: str, *, message_id: int | None = None) -> int:
        """Queue a button press (see make_callback_update); returns the update_id."""
        return self._enqueue(self.make_callback_update(user_id, data, message_id=message_id))

    def push_edited_message(self, user_id: int, text: str, message_id: int) -> int:
        """Queue an edit by the user of their own message; returns the update_id."""
        return self._enqueue(self._state.edited_message_update(user_id, text, message_id))

    def push_sticker(self, user_id: int) -> int:
        """Queue a sticker from the user; returns the update_id."""
        return self._enqueue(self._state.sticker_update(user_id))

    def push_photo(self, user_id: int, *, caption: str | None = None) -> int:
        """Queue a photo from the user; returns the update_id."""
        return self._enqueue(self._state.photo_update(user_id, caption=caption))

    def push_document(self, user_id: int, filename: str, content: bytes) -> int:
        """Queue a document the user sends (served by getFile and the file URL)."""
        return self._enqueue(self._state.document_update(user_id, filename, content))

    def push_contact(self, user_id: int, phone: str, *, owner: int | None = None) -> int:
        """Queue a shared contact: the user's own number unless ``owner`` is someone else."""
        return self._enqueue(self._state.contact_update(user_id, phone, owner=owner))

    def push_raw(self, update: JsonDict) -> int:
        """Queue any update; its update_id is replaced by the next one. Returns it."""
        return self._enqueue(self._state.raw_update(update))

    def update(self, update_id: int) -> JsonDict:
        """The update that was built or pushed with that id (e.g. to learn its message_id)."""
        return self._state.injected(update_id)

    # Observing

    def calls_to(self, method: str, *, chat_id: int | None = None) -> list[Call]:
        """The calls to ``method`` (any case), optionally only those to ``chat_id``."""
        return [call for call in self.calls if call.matches(method, chat_id)]

    def sent_messages(self, chat_id: int) -> list[JsonDict]:
        """The messages the bot sent to a chat, oldest first, each as last edited.

        They are the Message objects the API returned, so ``reply_markup`` is there only for
        inline keyboards; other keyboards are visible in the calls' params.
        """
        return self._state.bot_messages(chat_id)

    def last_text(self, chat_id: int) -> str:
        """The text (or caption) of the last message the bot sent to a chat."""
        messages = self.sent_messages(chat_id)
        if not messages:
            raise AssertionError(f"the bot sent no message to chat {chat_id}")
        return str(messages[-1].get("text", messages[-1].get("caption", "")))

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 5.0, *, what: str | None = None
    ) -> None:
        """Wait until ``predicate()`` is true; raise AssertionError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout:g}s waiting for {what or 'the condition'};"
                    f" last calls: {self._recent_calls()}"
                )
            await self._wait_change(min(remaining, _WAIT_POLL_INTERVAL))

    async def wait_for_chat(
        self, chat_id: int, predicate: Callable[[], bool], timeout: float = 10.0
    ) -> None:
        """Like ``wait_for``, but woken only by calls to ``chat_id``.

        Thousands of simulated members can wait at once without each change waking them all.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout:g}s waiting on chat {chat_id}; its last text: "
                    f"{self.sent_messages(chat_id)[-1:]!r:.300}"
                )
            event = self._chat_changed.setdefault(chat_id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_for_calls(
        self, method: str, count: int = 1, *, chat_id: int | None = None, timeout: float = 5.0
    ) -> list[Call]:
        """Wait until ``count`` calls to ``method`` have arrived; returns all such calls.

        A call counts once it arrives, so a delayed one may still have ``status`` None.
        """
        target = f" to chat {chat_id}" if chat_id is not None else ""
        await self.wait_for(
            lambda: len(self.calls_to(method, chat_id=chat_id)) >= count,
            timeout,
            what=f"{count} call(s) to {method}{target}",
        )
        return self.calls_to(method, chat_id=chat_id)

    async def wait_until_consumed(self, update_id: int, timeout: float = 5.0) -> None:
        """Wait until a getUpdates offset has confirmed the update.

        Being returned by getUpdates is not enough: that answer can be lost (PTB cancels a
        running long poll when it stops). A confirmation means PTB put the update in its
        update queue; its handlers may still be running.
        """
        await self.wait_for(
            lambda: self._state.confirmed_offset > update_id,
            timeout,
            what=f"getUpdates to confirm update {update_id}",
        )

    # Scripting faults

    def fail(
        self,
        method: str,
        *,
        status: int,
        description: str,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching calls with that error instead of running them.

        ``retry_after`` is sent as ``parameters.retry_after``, as with real 429 answers.
        """
        error = ApiError(status, description, retry_after)
        self._faults.append(_Fault(method, chat_id, times, error))

    def block(self, chat_id: int) -> None:
        """Make every send/edit to the chat fail with 403 'bot was blocked by the user'."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo ``block``."""
        self._blocked.discard(chat_id)

    def delay(
        self, method: str, seconds: float, times: int = 1, *, chat_id: int | None = None
    ) -> None:
        """Hold back the answer of the next ``times`` matching calls by ``seconds``.

        The call takes effect at once (a message is stored immediately); only the answer is
        late, so a client that times out cannot know it went through, as with the real API.
        """
        self._delays.append(_Delay(method, chat_id, times, seconds))

    # Webhooks

    async def post_update(
        self, url: str, update: JsonDict, *, secret_token: str | None = None
    ) -> int:
        """POST an update to a webhook as Telegram does; returns the HTTP status."""
        headers = {SECRET_TOKEN_HEADER: secret_token} if secret_token is not None else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=update, headers=headers) as response,
        ):
            return response.status

    # Serving requests

    async def _handle(self, request: web.Request) -> web.Response:
        call = self._record(request.match_info["method"], await _read_params(request))
        delay = _take(self._delays, call)
        try:
            result = await self._answer(request.match_info["token"], call)
            body, status = {"ok": True, "result": result}, 200
        except ApiError as error:
            body, status = error.body(), error.status
        if delay is not None:
            await self._sleep(delay.seconds)
        self._settle(call, status)
        return web.json_response(body, status=status)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for file_path, content in self._state.files.values():
            if file_path == path:
                return web.Response(body=content)
        return web.Response(status=404)

    async def _answer(self, token: str, call: Call) -> Any:
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        handler = self._methods.get(call.method.lower())
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        if fault := _take(self._faults, call):
            raise fault.error
        if call.chat_id in self._blocked and call.method.lower().startswith(_CHAT_WRITE_PREFIXES):
            raise ApiError(403, BLOCKED_BY_USER)
        result = handler(call.params)
        return await result if inspect.isawaitable(result) else result

    async def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        """Long poll: confirm updates below ``offset``, then wait up to ``timeout`` for one."""
        self._state.check_polling_allowed()
        self._state.acknowledge(as_int(params.get("offset")) or 0)
        self._notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout") or 0)
        while not self._state.pending and not self._closing.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self._wait_change(remaining)
        return self._state.next_updates(as_int(params.get("limit")) or 100)

    def _enqueue(self, update: JsonDict) -> int:
        update_id = self._state.enqueue(update)
        self._notify()
        return update_id

    def _record(self, method: str, params: JsonDict) -> Call:
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        self._notify()
        return call

    def _settle(self, call: Call, status: int) -> None:
        for index in range(len(self.calls) - 1, -1, -1):
            if self.calls[index] is call:
                self.calls[index] = replace(call, status=status)
                break
        self._notify()
        if call.chat_id is not None and (waiting := self._chat_changed.pop(call.chat_id, None)):
            waiting.set()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _recent_calls(self) -> str:
        recent = self.calls[-_RECENT_CALLS_SHOWN:]
        return "; ".join(f"{c.method} {c.params!r:.80} -> {c.status}" for c in recent) or "none"
