"""The values that cross the boundary between channels and the conversation core."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Kind(Enum):
    """What a member sent, as far as the core cares."""

    TEXT = "text"
    BUTTON = "button"
    EDITED = "edited"
    UNSUPPORTED = "unsupported"
    PUSH = "push"  # not from the member: the bot is preparing a message to push
    FILE = "file"  # a document sent to the bot (``file`` is None when it was too large)
    CONTACT = "contact"  # the member shared their own phone number (``text``)


@dataclass(frozen=True)
class Document:
    """A file sent with a reply (the year-end self-report, a workbook, a chart).

    ``photo``: an image a channel that can should show inline rather than as a file.
    """

    filename: str
    content: bytes = field(repr=False)
    photo: bool = False


@dataclass(frozen=True)
class Incoming:
    """One thing a member did, in any channel."""

    channel: str
    user_id: str
    kind: Kind = Kind.TEXT
    text: str = ""
    token: str = ""
    file: Document | None = None


@dataclass(frozen=True)
class Choice:
    """One option offered to a member: a stable key for the core and a label for people."""

    key: str
    label: str


@dataclass(frozen=True)
class Reply:
    """One message for the member who wrote; ``choices`` become buttons or numbered lines.

    ``edit`` asks a channel that can edit to replace the message whose button was pressed;
    ``notice`` marks a short remark that a channel may show as a pop-up instead of a message.
    ``token_prefix`` ties buttons to the offer stored in the member's dialog state.
    """

    text: str
    choices: tuple[Choice, ...] = ()
    token_prefix: str = ""
    edit: bool = False
    notice: bool = False
    document: Document | None = None
    # Ask for the member's phone number: a channel that can offers a "share my number" button.
    ask_contact: bool = False

    def token(self, index: int) -> str:
        """The token a channel attaches to choice ``index`` (callback_data).

        A choice whose key is a command ("/baihoc") carries the command itself: pressing it is
        the same as typing it, so it needs no stored offer (used in pushed messages).
        """
        key = self.choices[index].key
        return key if key.startswith("/") else f"{self.token_prefix}.{index}"
