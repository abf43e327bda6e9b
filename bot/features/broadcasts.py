"""Organizer notices to a unit subtree: rendered from the outbox row's text when sent."""

from __future__ import annotations

from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn

NOTICE = "notice"


def register(router: Router, services: Services) -> None:
    """Add the notice push."""

    @router.push(NOTICE)
    async def notice(turn: Turn, payload: dict) -> None:
        text = payload.get("text", "")
        if text:
            turn.say(text)
