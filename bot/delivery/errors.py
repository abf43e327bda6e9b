"""How a push can fail, in channel-neutral terms the sender acts on."""

from __future__ import annotations


class DeliveryError(Exception):
    """A push did not go through."""


class Blocked(DeliveryError):
    """The person blocked the bot (Telegram 403): stop sending to them."""


class RetryLater(DeliveryError):
    """The platform asked us to slow down (429): try again after ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:g} s")
        self.seconds = seconds


class Transient(DeliveryError):
    """A network or server error: the message did not arrive; retry with backoff."""


class MaybeDelivered(DeliveryError):
    """A timeout after the request left: it may have arrived, so it must not be resent."""


class Rejected(DeliveryError):
    """The platform refused this message for good (e.g. chat not found)."""
