"""Telegram channel on python-telegram-bot 22: updates in, replies out. No business rules here."""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from collections import OrderedDict
from dataclasses import replace
from urllib.parse import urlparse

from telegram import BotCommand, CallbackQuery, InputFile, Update
from telegram.constants import ChatMemberStatus, ChatType, MessageLimit
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from ..core.messages import Document, Incoming, Kind, Reply
from ..core.text import split_text
from ..delivery.errors import Blocked, MaybeDelivered, Rejected, RetryLater, Transient
from .busy import Busy
from .http import NOT_SENT, AiohttpRequest
from .webhook import WebhookServer

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SHORT_LABEL = 14


def to_incoming(update: Update) -> Incoming | None:
    """What a member did, or None for updates the core does not handle (groups, channels…)."""
    if update.callback_query is not None:
        query = update.callback_query
        return Incoming(CHANNEL, str(query.from_user.id), Kind.BUTTON, token=query.data or "")
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.chat.type != ChatType.PRIVATE:
        return None
    user_id = str(message.from_user.id)
    if update.edited_message is not None:
        return Incoming(CHANNEL, user_id, Kind.EDITED)
    if message.contact is not None:
        # Only one's own number counts: a forwarded contact card is somebody else's.
        own = message.contact.user_id == message.from_user.id
        return Incoming(
            CHANNEL, user_id, Kind.CONTACT, text=message.contact.phone_number if own else ""
        )
    if message.document is not None:
        return Incoming(CHANNEL, user_id, Kind.FILE, text=message.document.file_name or "")
    if message.text is None:
        return Incoming(CHANNEL, user_id, Kind.UNSUPPORTED)
    return Incoming(CHANNEL, user_id, Kind.TEXT, text=message.text)


# Bots may download files up to 20 MB; rosters are far smaller, and bigger uploads are refused
# before downloading.
MAX_DOWNLOAD_BYTES = 5_000_000


def keyboard(reply: Reply) -> dict | None:
    """An inline keyboard of large buttons: one per row, two only when every label is short."""
    if not reply.choices:
        return None
    buttons = [
        {"text": choice.label, "callback_data": reply.token(index)}
        for index, choice in enumerate(reply.choices)
    ]
    short = all(len(b["text"]) <= _SHORT_LABEL for b in buttons)
    per_row = 2 if len(buttons) >= 4 and short else 1
    return {"inline_keyboard": [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]}


def coalesce(replies: list[Reply]) -> list[Reply]:
    """Fold a plain 'edit the pressed message' reply into the reply after it.

    Pressing "I agree" then shows one message ("✅ Thanks … Please type your name") in place of
    the question instead of an edited question plus a new message: a tidier chat, one API call.
    """
    if len(replies) < 2:
        return replies
    first, second = replies[0], replies[1]
    if not first.edit or first.choices or second.notice or second.edit:
        return replies
    text = f"{first.text}\n\n{second.text}"
    if len(text) > MessageLimit.MAX_TEXT_LENGTH:
        return replies
    merged = Reply(text, second.choices, token_prefix=second.token_prefix, edit=True)
    return [merged, *replies[2:]]


class TelegramChannel:
    """Runs a PTB Application in polling or webhook mode and renders the core's replies."""

    def __init__(self, app, *, request: BaseRequest | None = None) -> None:
        self._app = app
        self._settings = app.settings.telegram
        builder = (
            Application.builder()
            .token(self._settings.token.reveal())
            .concurrent_updates(self._settings.concurrent_updates)
        )
        if self._settings.base_url:
            builder = builder.base_url(self._settings.base_url).base_file_url(
                self._settings.base_file_url
                or self._settings.base_url.replace("/bot", "/file/bot")
            )
        if request is None:
            # Replies and pushes share one pool; long polling holds a connection of its own.
            connections = max(64, 2 * app.settings.delivery.max_in_flight)
            builder = builder.request(AiohttpRequest(connections)).get_updates_request(
                AiohttpRequest(2)
            )
        else:
            builder = builder.request(request).get_updates_request(request)
        if self._settings.mode == "webhook":
            builder = builder.updater(None)
        self.application = builder.build()
        # _call() uses Bot.do_api_request on purpose (see there); PTB would warn on each call.
        warnings.filterwarnings(
            "ignore",
            message=r"Please use 'Bot\.(sendMessage|editMessageText|answerCallbackQuery"
            r"|sendChatAction)'",
            category=PTBUserWarning,
        )
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        self._webhook: WebhookServer | None = None
        self._recent_updates: OrderedDict[int, None] = OrderedDict()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, publish the command menu, and start receiving updates."""
        application = self.application
        await application.initialize()
        self._app.services.bot_username = application.bot.username
        await self._publish_commands()
        await application.start()
        if self._settings.mode == "webhook":
            await self._start_webhook()
        else:
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        log.info(
            "telegram channel started as @%s (%s)", application.bot.username, self._settings.mode
        )

    async def stop(self) -> None:
        """Stop receiving, finish the updates in progress and disconnect."""
        if self._webhook is not None:
            await self._webhook.stop()
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def _publish_commands(self) -> None:
        texts = self._app.services.texts
        commands = [
            c
            for c in self._app.conversation.router.commands
            if c.in_menu and not c.admin_only and not c.for_organizers
        ]
        for locale, language_code in (("vi", None), ("en", "en")):
            await self.application.bot.set_my_commands(
                [
                    BotCommand(c.names[0], texts.get(locale, f"commands.{c.names[0]}.description"))
                    for c in commands
                ],
                language_code=language_code,
            )

    async def _start_webhook(self) -> None:
        settings = self._settings
        path = urlparse(settings.webhook_url).path or "/telegram"
        self._webhook = WebhookServer(settings.webhook_listen, settings.webhook_port)
        self._webhook.add(
            path,
            header=SECRET_HEADER,
            secret=settings.webhook_secret.reveal(),
            receive=self._receive_webhook,
        )
        await self._webhook.start()
        await self.application.bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret.reveal(),
            allowed_updates=ALLOWED_UPDATES,
        )

    async def _receive_webhook(self, payload: dict) -> None:
        update = Update.de_json(payload, self.application.bot)
        if update is None or self._seen(update.update_id):
            return
        await self.application.update_queue.put(update)

    def _seen(self, update_id: int) -> bool:
        # Telegram redelivers an update when our answer was slow or lost: handle it once.
        if update_id in self._recent_updates:
            return True
        self._recent_updates[update_id] = None
        if len(self._recent_updates) > 10_000:
            self._recent_updates.popitem(last=False)
        return False

    # -- updates -------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.my_chat_member is not None:
            await self._on_membership(update)
            return
        incoming = to_incoming(update)
        if incoming is None:
            return
        query = update.callback_query
        chat_id = query.message.chat.id if query and query.message else int(incoming.user_id)
        async with Busy(lambda: self._call("sendChatAction", chat_id=chat_id, action="typing")):
            if incoming.kind is Kind.FILE:
                incoming = await self._with_file(incoming, update.message.document)
            replies = await self._app.conversation.handle(incoming)
        if query is not None:
            replies = coalesce(replies)
            notices = [r.text for r in replies if r.notice]
            await self._answer(query, notices[0] if notices else None)
        editable = query.message if query is not None else None
        for reply in replies:
            if reply.notice and query is not None:
                continue
            if reply.edit and editable is not None and await self._edit(editable, reply):
                editable = None
                continue
            await self._send(chat_id, reply)

    async def _with_file(self, incoming: Incoming, document) -> Incoming:
        """The document's bytes attached, unless it is too large (then ``file`` stays None)."""
        if (document.file_size or 0) > MAX_DOWNLOAD_BYTES:
            return incoming
        file = await self.application.bot.get_file(document.file_id)
        content = bytes(await file.download_as_bytearray())
        return replace(incoming, file=Document(incoming.text or "tep", content))

    async def _on_membership(self, update: Update) -> None:
        change = update.my_chat_member
        if change.chat.type != ChatType.PRIVATE:
            return
        reachable = change.new_chat_member.status != ChatMemberStatus.BANNED
        await self._app.store.set_reachable(CHANNEL, str(change.from_user.id), reachable)
        log.info("a member %s the bot", "unblocked" if reachable else "blocked")

    async def _call(self, method: str, **params: object) -> object:
        # The raw result, not PTB's typed method: those parse every returned Message and its
        # keyboard into objects we never read, which was about 40% of the CPU per update in
        # benchmarks/throughput.py. Errors still arrive as PTB's exceptions.
        return await self.application.bot.do_api_request(
            method, api_kwargs={k: v for k, v in params.items() if v is not None}
        )

    async def _answer(self, query: CallbackQuery, text: str | None) -> None:
        try:
            await self._call(
                "answerCallbackQuery",
                callback_query_id=query.id,
                text=text[:200] if text else None,
            )
        except TelegramError as exc:  # too old to answer: harmless
            log.debug("callback answer failed: %s", type(exc).__name__)

    async def _edit(self, message, reply: Reply) -> bool:
        if len(reply.text) > MessageLimit.MAX_TEXT_LENGTH:
            return False
        try:
            await self._call(
                "editMessageText",
                chat_id=message.chat.id,
                message_id=message.message_id,
                text=reply.text,
                reply_markup=keyboard(reply),
            )
        except BadRequest as exc:
            return "not modified" in str(exc).lower()
        except Forbidden:
            await self._mark_blocked(message.chat.id)
        return True

    async def _send(self, chat_id: int, reply: Reply) -> None:
        try:
            if reply.document is not None:
                await self._send_document(chat_id, reply)
                return
            await self._send_parts(chat_id, reply)
        except Forbidden:
            await self._mark_blocked(chat_id)
        except RetryAfter as exc:  # a reply waits once, then goes (the member is waiting)
            log.warning("flood control: reply waits %.0f s", _seconds(exc.retry_after))
            await asyncio.sleep(_seconds(exc.retry_after))
            await self._send_parts(chat_id, reply)
        except TimedOut:
            # It may have arrived: sending again could duplicate it. The member can ask again.
            log.warning("reply timed out; not resent")

    async def _send_document(self, chat_id: int, reply: Reply) -> None:
        document = reply.document
        upload = InputFile(io.BytesIO(document.content), filename=document.filename)
        caption = reply.text[: MessageLimit.CAPTION_LENGTH] or None
        if document.photo:
            await self.application.bot.send_photo(chat_id, upload, caption=caption)
        else:
            await self.application.bot.send_document(chat_id, upload, caption=caption)

    async def _send_parts(self, chat_id: int, reply: Reply) -> None:
        if reply.ask_contact:  # a one-time keyboard with Telegram's "share my number" button
            label = self._app.services.texts.get(self._app.settings.locale, "rosters.share_button")
            markup = {
                "keyboard": [[{"text": label, "request_contact": True}]],
                "one_time_keyboard": True,
                "resize_keyboard": True,
            }
            await self._call("sendMessage", chat_id=chat_id, text=reply.text, reply_markup=markup)
            return
        for text, markup in self._parts(reply):
            await self._call("sendMessage", chat_id=chat_id, text=text, reply_markup=markup)

    async def push(self, external_id: str, replies: list[Reply]) -> None:
        """Send a message the bot pushes (for the outbox sender), raising delivery errors.

        Once a first part has gone, any failure is 'maybe delivered': resending the whole
        message would repeat what already arrived.
        """
        chat_id = int(external_id)
        sends = []
        for reply in replies:
            if reply.document is not None:
                sends.append(lambda reply=reply: self._send_document(chat_id, reply))
                continue
            for text, markup in self._parts(reply):
                sends.append(
                    lambda text=text, markup=markup: self._call(
                        "sendMessage", chat_id=chat_id, text=text, reply_markup=markup
                    )
                )
        for number, send in enumerate(sends):
            try:
                await send()
            except Exception as exc:
                error = _delivery_error(exc)
                if number and not isinstance(error, Blocked):
                    raise MaybeDelivered(f"part {number + 1} of {len(sends)}: {exc}") from exc
                raise error from exc

    def _parts(self, reply: Reply) -> list[tuple[str, dict | None]]:
        texts = split_text(reply.text, MessageLimit.MAX_TEXT_LENGTH)
        return [
            (t, keyboard(reply) if n == len(texts) else None) for n, t in enumerate(texts, start=1)
        ]

    async def _mark_blocked(self, chat_id: int) -> None:
        log.info("a member has blocked the bot; marked unreachable")
        await self._app.store.set_reachable(CHANNEL, str(chat_id), False)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Only the error type: messages and tokens never reach the log.
        log.error(
            "error while handling a Telegram update: %s",
            type(context.error).__name__,
            exc_info=(type(context.error), context.error, context.error.__traceback__),
        )


def _seconds(delay: object) -> float:
    # PTB gives retry_after as int seconds, or as a timedelta when PTB_TIMEDELTA is set.
    return delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)


# Transport errors that happen before a request is written: nothing can have arrived. Ours
# (bot/channels/http.py) say so; httpx's (when PTB's default request is injected) are named.
_NOT_SENT = (NOT_SENT, "ConnectError", "ConnectTimeout", "PoolTimeout", "Pool timeout")


def _delivery_error(exc: Exception) -> Exception:
    """The delivery error a PTB exception stands for."""
    if isinstance(exc, Forbidden):
        return Blocked(str(exc))
    if isinstance(exc, RetryAfter):
        return RetryLater(_seconds(exc.retry_after))
    if isinstance(exc, BadRequest):
        return Rejected(str(exc))
    text = str(exc)
    if isinstance(exc, TimedOut):  # PTB's TimedOut is a NetworkError: check it first
        return Transient(text) if "pool" in text.lower() else MaybeDelivered(text)
    if isinstance(exc, NetworkError):
        transport = "aiohttp." in text or "httpx." in text
        if any(marker in text for marker in _NOT_SENT) or not transport:
            return Transient(text)  # never sent, or refused by a server error (5xx)
        return MaybeDelivered(text)  # the connection broke after the request went out
    if isinstance(exc, TelegramError):
        return Transient(str(exc))
    return exc
