"""The Zalo channel: the same conversation core, with choices as numbered lines.

Zalo has no buttons, edits or file uploads. Choices become ``[n] label`` lines and the member
answers with the number or the words; command hints become "/cuocthi 12 — Vào thi" lines;
texts over 2,000 characters are split at paragraph boundaries; a document becomes a note that
it is available on Telegram or from the organizers (reports keep their text summary). A
command typed without its slash ("cuocthi 12") works as with it. Updates arrive by long
polling (development) or webhook (``X-Bot-Api-Secret-Token`` checked in constant time); both
payload shapes are accepted and a repeated ``message_id`` is handled once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from urllib.parse import urlparse

from ..core.messages import Incoming, Kind, Reply
from ..core.text import fold_compact, split_text
from ..delivery.errors import MaybeDelivered, RetryLater, Transient
from ..delivery.quota import MonthlyQuota
from .console import render
from .webhook import WebhookServer
from .zalo_api import (
    MAX_TEXT,
    ZaloClient,
    ZaloError,
    ZaloNetworkError,
    ZaloQuotaExceeded,
    sleep_or_stop,
    unwrap,
)

log = logging.getLogger(__name__)

CHANNEL = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_EVENT = "message.text.received"
RECENT = 10_000
QUOTA_RETRY_SECONDS = 3600


def to_incoming(update: dict) -> Incoming | None:
    """What a member did, or None for what the core does not handle (groups, other events)."""
    message = update.get("message") or {}
    sender = (message.get("from") or {}).get("id")
    chat = message.get("chat") or {}
    if not sender or str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE":
        return None
    if update.get("event_name", TEXT_EVENT) == TEXT_EVENT and isinstance(message.get("text"), str):
        return Incoming(CHANNEL, str(sender), Kind.TEXT, text=message["text"])
    return Incoming(CHANNEL, str(sender), Kind.UNSUPPORTED)


class ZaloChannel:
    """Receives Zalo updates, answers through the core, pushes for the outbox."""

    def __init__(self, app, client: ZaloClient | None = None) -> None:
        self._app = app
        self._settings = app.settings.zalo
        self.client = client or ZaloClient(self._settings.token.reveal(), self._settings.base_url)
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._stop = asyncio.Event()
        self._poller: asyncio.Task | None = None
        self._webhook: WebhookServer | None = None
        self._handling: set[asyncio.Task] = set()
        # Every message sent counts against the plan's monthly quota (replies too).
        services = app.services
        self.quota = MonthlyQuota(
            CHANNEL,
            self._settings.monthly_quota,
            app.store.outbox,
            lambda: services.clock.now().astimezone(services.zone).date(),
        )

    async def start(self) -> None:
        """Check the token, then poll or serve the webhook."""
        await self.client.start()
        me = await self.client.get_me()
        log.info(
            "Zalo bot %s connected (%s mode)", me.get("account_name", "?"), self._settings.mode
        )
        if self._settings.mode == "webhook":
            self._webhook = WebhookServer(
                self._settings.webhook_listen, self._settings.webhook_port
            )
            self._webhook.add(
                urlparse(self._settings.webhook_url).path or "/zalo",
                header=SECRET_HEADER,
                secret=self._settings.webhook_secret.reveal(),
                receive=self._receive_later,
            )
            await self._webhook.start()
            await self.client.set_webhook(
                self._settings.webhook_url, self._settings.webhook_secret.reveal()
            )
        else:
            await self.client.delete_webhook()
            self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        """Stop receiving, finish the turns under way, close the connections."""
        self._stop.set()
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self._webhook is not None:
            await self._webhook.stop()
        if self._handling:
            await asyncio.gather(*self._handling, return_exceptions=True)
        await self.client.close()

    async def _receive_later(self, payload: dict) -> None:
        """Answer the webhook call at once and handle the update in the background (a slow
        turn must not make Zalo time out and deliver it again)."""
        task = asyncio.create_task(self.receive(payload))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def idle(self) -> None:
        """Wait for the updates being handled (and their replies) to finish."""
        while self._handling:
            await asyncio.gather(*list(self._handling), return_exceptions=True)

    async def _poll(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                update = await self.client.get_updates(self._settings.poll_timeout)
                delay = 1.0
            except (ZaloError, ZaloNetworkError) as exc:
                log.warning("Zalo getUpdates failed (%s); retrying in %.0f s", exc, delay)
                await sleep_or_stop(delay, self._stop)
                delay = min(delay * 2, 60.0)
                continue
            if update is not None:
                # Handled in the background: a slow turn must not hold up the next update.
                await self._receive_later(update)

    async def receive(self, payload: dict) -> None:
        """Handle one update (webhook body or getUpdates result), once per message id."""
        update = unwrap(payload)
        if update is None:
            return
        message_id = str((update.get("message") or {}).get("message_id", ""))
        if message_id:
            if message_id in self._recent:
                return
            self._recent[message_id] = None
            if len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        incoming = to_incoming(update)
        if incoming is None:
            return
        incoming = self._with_slash(incoming)
        replies = await self._app.conversation.handle(incoming)
        try:
            await self.push(incoming.user_id, replies)
        except (RetryLater, Transient, MaybeDelivered) as exc:
            log.warning("a Zalo reply was not sent: %s", type(exc).__name__)

    def _with_slash(self, incoming: Incoming) -> Incoming:
        """ "cuocthi 12" as "/cuocthi 12": commands typed without the slash work too."""
        text = incoming.text.strip()
        first, _, rest = text.partition(" ")
        router = self._app.conversation.router
        typed_command = incoming.kind is Kind.TEXT and not text.startswith("/") and rest
        if typed_command and router.command_named(fold_compact(first)) is not None:
            return Incoming(incoming.channel, incoming.user_id, Kind.TEXT, text="/" + text)
        return incoming

    async def push(self, external_id: str, replies: list[Reply]) -> None:
        """Send replies in order, raising delivery errors (the outbox sender's contract)."""
        parts = [part for reply in replies for part in self._parts(reply)]
        for number, text in enumerate(parts):
            try:
                await self.client.send_message(external_id, text)
                await self.quota.count()
            except ZaloQuotaExceeded as exc:
                if number:
                    raise MaybeDelivered(f"part {number + 1} of {len(parts)}") from exc
                raise RetryLater(QUOTA_RETRY_SECONDS) from exc
            except (ZaloError, ZaloNetworkError) as exc:
                if number:
                    raise MaybeDelivered(f"part {number + 1} of {len(parts)}") from exc
                raise Transient(str(exc)) from exc

    def _parts(self, reply: Reply) -> list[str]:
        if reply.ask_contact:
            note = self._app.services.texts.get(self._app.settings.locale, "zalo.type_phone")
            return split_text(f"{reply.text}\n{note}", MAX_TEXT)
        text = render(reply)
        if reply.document is not None:
            note = self._app.services.texts.get(self._app.settings.locale, "zalo.no_files")
            text = f"{text}\n({note})"
        return split_text(text, MAX_TEXT)
