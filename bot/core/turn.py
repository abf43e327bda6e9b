"""A turn: one incoming message being handled, collecting replies and changes to persist."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from .messages import Choice, Document, Incoming, Reply
from .models import Activity, Dialog, Member, Offer, Session, TurnChanges

if TYPE_CHECKING:
    from .services import Services


_PREFIX_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def new_offer_prefix() -> str:
    """Four characters that tell this offer's buttons from older ones.

    Not a secret: a member can only press buttons in their own chat, and every press is checked
    against their stored offer. (os.urandom cost a system call per reply.)
    """
    bits = random.getrandbits(24)
    return "".join(_PREFIX_ALPHABET[(bits >> shift) % 62] for shift in (0, 6, 12, 18))


class Turn:
    """What handlers see and change: the member, the dialog, the replies."""

    def __init__(self, incoming: Incoming, session: Session, services: Services) -> None:
        self.incoming = incoming
        self.session = session
        self.services = services
        self.member: Member | None = session.member
        self.dialog: Dialog = session.dialog
        self.progress = session.progress
        self.now: datetime = services.clock.now()
        self.replies: list[Reply] = []
        self.changes = TurnChanges()
        self._dialog_changed = False
        self._volatile = False
        self.locale = services.texts.locale_of(
            (self.member.locale if self.member else "")
            or self.dialog.locale
            or services.settings.locale
        )

    # -- reading -------------------------------------------------------------------------

    @property
    def today(self) -> date:
        """The local calendar day in the configured zone."""
        return self.now.astimezone(self.services.zone).date()

    @property
    def timestamp(self) -> int:
        """Now as UTC unix seconds, as stored."""
        return int(self.now.timestamp())

    @property
    def actor(self) -> str:
        """Who is acting, as the audit log names them: 'telegram:12345'."""
        return f"{self.incoming.channel}:{self.incoming.user_id}"

    @property
    def is_admin(self) -> bool:
        """Whether this channel account is an administrator from the configuration."""
        return self.services.settings.is_admin(self.incoming.channel, self.incoming.user_id)

    def t(self, key: str, **values: object) -> str:
        """A text in the member's language."""
        return self.services.texts.get(self.locale, key, **values)

    def number(self, value: int | float) -> str:
        """A number formatted for the member's language (537.023)."""
        return self.services.texts.number(self.locale, value)

    def flow_data(self, *required: str) -> dict | None:
        """A copy of the dialog data if it holds ``required``; else says the choice is stale.

        A button from a flow that has ended (or a forged one) must change nothing.
        """
        data = dict(self.dialog.data)
        if all(key in data for key in required):
            return data
        self.say(self.t("errors.stale_button"), notice=True)
        return None

    # -- replying ------------------------------------------------------------------------

    def say(
        self,
        text: str,
        *,
        edit: bool = False,
        notice: bool = False,
        commands: Iterable[Choice] = (),
    ) -> None:
        """Add a reply; ``commands`` are buttons whose keys are commands ("/baihoc")."""
        commands = tuple(commands)
        if any(not c.key.startswith("/") for c in commands):
            raise ValueError("command buttons need keys like '/baihoc'")
        self.replies.append(Reply(text, commands, edit=edit, notice=notice))

    def ask_contact(self, text: str, state: str, data: dict | None = None) -> None:
        """Ask for the member's phone number (a share button where the channel has one)."""
        self.enter(state, data)
        self.replies.append(Reply(text, ask_contact=True))

    def attach(self, caption: str, document: Document) -> None:
        """Send a file (with a short caption)."""
        self.replies.append(Reply(caption, document=document))

    def ask(
        self,
        text: str,
        choices: Iterable[Choice],
        *,
        state: str | None = None,
        data: dict | None = None,
        edit: bool = False,
        persist: bool = True,
    ) -> None:
        """Reply with choices and remember them as the open offer (optionally entering a state).

        ``persist=False`` keeps the offer in this process only: for questions asked before a
        person has agreed that anything about them may be stored.
        """
        choices = tuple(choices)
        prefix = new_offer_prefix()
        offer = Offer(prefix, tuple(c.key for c in choices), tuple(c.label for c in choices))
        self._set_dialog(
            self.dialog.with_(
                offer=offer,
                state=self.dialog.state if state is None else state,
                data=self.dialog.data if data is None else data,
            )
        )
        self._volatile = not persist
        self.replies.append(Reply(text, choices, token_prefix=prefix, edit=edit))

    def repeat_offer(self, text: str) -> None:
        """Show the open offer again (same buttons stay valid) after a text we could not use."""
        offer = self.dialog.offer
        if offer is None:  # a choice was just used: there is nothing left to show again
            self.say(text)
            return
        choices = tuple(Choice(k, lbl) for k, lbl in zip(offer.keys, offer.labels, strict=True))
        self.replies.append(Reply(text, choices, token_prefix=offer.prefix))

    # -- changing state ------------------------------------------------------------------

    def enter(self, state: str, data: dict | None = None) -> None:
        """Wait for free text in ``state``; the previous offer closes."""
        self._set_dialog(
            self.dialog.with_(
                state=state, data=self.dialog.data if data is None else data, offer=None
            )
        )

    def finish(self) -> None:
        """End the current flow: no state, no data, no open offer."""
        if self.member is None and not self.dialog.locale:
            self.forget_dialog()
        elif self.dialog != Dialog(locale=self.dialog.locale):
            self._set_dialog(Dialog(locale=self.dialog.locale))

    def close_offer(self) -> None:
        """Make the open offer stale (a choice was used, or a new flow starts)."""
        if self.dialog.offer is not None:
            self._set_dialog(self.dialog.with_(offer=None))

    def set_locale(self, locale: str) -> None:
        """Switch the member's language from this reply on."""
        self.locale = locale
        self._set_dialog(self.dialog.with_(locale=locale))
        if self.member is not None:
            self.save_member(replace(self.member, locale=locale))

    def save_member(self, member: Member) -> None:
        """Create or update the member at the end of the turn."""
        self.member = member
        self.changes.member = member

    def erase_member(self) -> None:
        """Delete the member's personal data at the end of the turn."""
        self.changes.erased = self.member
        self.member = None
        self.dialog = Dialog()

    def forget_dialog(self) -> None:
        """Store nothing about this account (e.g. consent declined)."""
        self.changes.dialog_deleted = True
        self.dialog = Dialog()
        self._dialog_changed = False

    def record(self, kind: str, ref: str = "") -> None:
        """Log one participation (a 'lượt') for the member."""
        self.changes.activities.append(Activity(kind, ref, self.timestamp, self.today))

    def write(self, sql: str, params: tuple) -> None:
        """Commit a feature's row with this turn's changes (all or nothing, one transaction)."""
        self.changes.writes.append((sql, params))

    def _set_dialog(self, dialog: Dialog) -> None:
        self.dialog = dialog
        self._dialog_changed = True
        self._volatile = False
        self.changes.dialog_deleted = False

    def collect_changes(self) -> TurnChanges:
        """The changes to persist, with the dialog only when it changed."""
        if self._volatile:
            self.changes.dialog_deleted = True
        elif self._dialog_changed and self.changes.erased is None:
            self.changes.dialog = self.dialog
        return self.changes
