"""The conversation core: ``handle(Incoming) -> list[Reply]``, the same for every channel."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from ..store.outbox import OutboxRow
from .messages import Incoming, Kind, Reply
from .models import LessonProgress, Member, Session
from .router import Router
from .services import Services
from .text import fold, fold_compact, to_nfc
from .turn import Turn

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 2000


class Conversation:
    """Routes each incoming message to a feature and persists the turn before replying.

    Turns of one account run one at a time, in arrival order; turns of different accounts run
    concurrently and share database transactions (group commit). Sessions are cached: only this
    process writes them.
    """

    def __init__(self, services: Services, router: Router, cache_size: int = 50_000) -> None:
        self.services = services
        self.router = router
        self._cache: OrderedDict[tuple[str, str], Session] = OrderedDict()
        self._cache_size = cache_size
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Handle one message; the replies describe only what has been committed."""
        key = (incoming.channel, incoming.user_id)
        async with self._serial(key):
            session = await self._session(key)
            turn = Turn(incoming, session, self.services)
            try:
                await self._dispatch(turn)
                changes = turn.collect_changes()
                member = await self.services.store.save_turn(
                    incoming.channel, incoming.user_id, turn.member, changes, turn.timestamp
                )
            except Exception:
                log.exception("turn failed on %s (kind %s)", incoming.channel, incoming.kind.value)
                self._cache.pop(key, None)
                return [Reply(turn.t("errors.internal"))]
            self._remember(key, session, turn, member)
            return turn.replies

    # -- dispatch ------------------------------------------------------------------------

    async def _dispatch(self, turn: Turn) -> None:
        incoming = turn.incoming
        if incoming.kind is Kind.UNSUPPORTED:
            turn.say(turn.t("errors.unsupported"))
        elif incoming.kind is Kind.EDITED:
            turn.say(turn.t("errors.edited"))
        elif incoming.kind is Kind.BUTTON:
            await self._on_button(turn, incoming.token)
        elif incoming.kind is Kind.FILE:
            await self._on_special(turn, self.router.file_handler, incoming.text)
        elif incoming.kind is Kind.CONTACT:
            await self._on_special(turn, self.router.contact_handler, incoming.text)
        elif len(incoming.text) > MAX_INPUT_CHARS:
            turn.say(
                turn.t(
                    "errors.too_long",
                    length=turn.number(len(incoming.text)),
                    limit=turn.number(MAX_INPUT_CHARS),
                )
            )
        else:
            await self._on_text(turn, to_nfc(incoming.text))

    async def _on_button(self, turn: Turn, token: str) -> None:
        if token.startswith("/"):  # a command button: exactly as if it had been typed
            await self._on_text(turn, token)
            return
        offer = turn.dialog.offer
        prefix, _, index = token.rpartition(".")
        if offer is None or prefix != offer.prefix or not index.isdigit():
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        position = int(index)
        if position >= len(offer.keys):
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        await self._choose(turn, offer.keys[position])

    async def _on_special(self, turn: Turn, handler, text: str) -> None:
        if handler is None:
            turn.say(turn.t("errors.unsupported"))
        else:
            await handler(turn, text)

    async def _on_text(self, turn: Turn, text: str) -> None:
        if not text:
            turn.say(turn.t("errors.empty"))
            return
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            name = name.split("@", 1)[0]
            await self._command(turn, fold_compact(name), args.strip(), typed=f"/{name}")
            return
        choice = self._match_offer(turn, text)
        if choice is not None:
            await self._choose(turn, choice)
            return
        command = self.router.word(fold_compact(text))
        if command is not None:
            await self._command(turn, command.names[0], "", typed=text)
            return
        handler = self.router.state_handler(turn.dialog.state)
        if handler is not None:
            await handler(turn, text)
        elif turn.dialog.offer is not None:
            turn.repeat_offer(turn.t("errors.choose_one"))
        else:
            turn.say(turn.t("errors.not_understood"))

    def _match_offer(self, turn: Turn, text: str) -> str | None:
        offer = turn.dialog.offer
        if offer is None:
            return None
        stripped = text.strip().rstrip(".)")
        if stripped.isascii() and stripped.isdigit() and 1 <= int(stripped) <= len(offer.keys):
            return offer.keys[int(stripped) - 1]
        typed = fold_compact(text)
        for key, label in zip(offer.keys, offer.labels, strict=True):
            if typed and typed == fold_compact(label):
                return key
        typed_words = fold(text)
        matches = [
            k
            for k, lbl in zip(offer.keys, offer.labels, strict=True)
            if typed_words and typed_words in fold(lbl)
        ]
        return matches[0] if len(matches) == 1 and len(typed_words) >= 3 else None

    async def _choose(self, turn: Turn, key: str) -> None:
        namespace, _, value = key.partition(":")
        choice = self.router.choice_handler(namespace)
        turn.close_offer()
        if choice is None:
            log.error("no handler for choice namespace %r", namespace)
            turn.say(turn.t("errors.stale_button"), notice=True)
        elif choice.needs_member and turn.member is None:
            turn.say(turn.t("errors.not_registered"))
        else:
            await choice.handler(turn, value)

    async def _command(self, turn: Turn, name: str, args: str, *, typed: str) -> None:
        command = self.router.command_named(name)
        if command is None:
            turn.say(turn.t("errors.unknown_command", command=typed[:40]))
            return
        if command.needs_member and turn.member is None:
            turn.say(turn.t("errors.not_registered"))
            return
        if command.admin_only and not turn.is_admin:
            turn.say(turn.t("errors.not_allowed"))
            return
        if not command.keeps_state:
            turn.finish()
        await command.handler(turn, args)

    async def render_pushes(self, rows: list[OutboxRow]) -> dict[int, list[Reply] | Exception]:
        """What to push for each outbox row now (an empty list: nothing any more).

        Sessions not in the cache are loaded in one query for the whole batch and not cached
        (a broadcast to 540,000 accounts must not flush the sessions of people chatting).
        Nothing is written: a push changes no dialog state.
        """
        specs = {row.kind: self.router.push_spec(row.kind) for row in rows}
        keys = {(r.channel, r.external_id) for r in rows}
        # A snapshot: sessions may leave the cache while the others load.
        cached = {key: self._cache[key] for key in keys if key in self._cache}
        missing = keys - cached.keys()
        loaded = (
            await self.services.store.load_sessions(
                missing, progress=any(s and s.needs_progress for s in specs.values())
            )
            if missing
            else {}
        )
        results: dict[int, list[Reply] | Exception] = {}
        for row in rows:
            key = (row.channel, row.external_id)
            spec = specs[row.kind]
            if spec is None:
                results[row.id] = LookupError(f"no renderer for pushes of kind {row.kind!r}")
                continue
            session = cached.get(key) or loaded[key]
            turn = Turn(Incoming(row.channel, row.external_id, Kind.PUSH), session, self.services)
            try:
                await spec.render(turn, row.payload)
            except Exception as exc:
                log.exception("rendering push %d of kind %s failed", row.id, row.kind)
                results[row.id] = exc
                continue
            if any(not c.key.startswith("/") for r in turn.replies for c in r.choices):
                results[row.id] = ValueError(
                    f"pushes of kind {row.kind!r} may only offer commands"
                )
            else:
                results[row.id] = turn.replies
        return results

    # -- sessions ------------------------------------------------------------------------

    async def _session(self, key: tuple[str, str]) -> Session:
        session = self._cache.get(key)
        if session is None:
            session = await self.services.store.load_session(*key)
        else:
            self._cache.move_to_end(key)
        return session

    def _remember(
        self, key: tuple[str, str], session: Session, turn: Turn, member: Member | None
    ) -> None:
        progress = turn.progress if member is not None else LessonProgress()
        self._cache[key] = Session(session.channel, session.user_id, member, turn.dialog, progress)
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _serial(self, key: tuple[str, str]) -> _KeyLock:
        return _KeyLock(self._locks, key)


class _KeyLock:
    """One asyncio.Lock per key while anyone holds or waits for it (kept small for 540k keys)."""

    __slots__ = ("_key", "_lock", "_locks")

    def __init__(self, locks: dict, key: tuple[str, str]) -> None:
        self._locks, self._key = locks, key

    async def __aenter__(self) -> None:
        lock, users = self._locks.get(self._key, (None, 0))
        self._lock = lock or asyncio.Lock()
        self._locks[self._key] = (self._lock, users + 1)
        try:
            await self._lock.acquire()
        except BaseException:  # cancelled while waiting: give the place up
            self._leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._lock.release()
        self._leave()

    def _leave(self) -> None:
        lock, users = self._locks[self._key]
        if users <= 1:
            del self._locks[self._key]
        else:
            self._locks[self._key] = (lock, users - 1)
