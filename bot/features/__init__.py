"""The features: each module registers its commands, states and choices on the router."""

from __future__ import annotations

from ..core.router import Router
from ..core.services import Services
from . import (
    broadcasts,
    calendar,
    commitments,
    contests,
    feedback,
    help,
    lessons,
    linking,
    onboarding,
    practice,
    profile,
    reminders,
    reports,
    rosters,
    sessions,
    units,
)

# Order is the order of /huongdan and of Telegram's command menu.
FEATURES = (
    onboarding,
    lessons,
    practice,
    contests,
    calendar,
    reminders,
    commitments,
    profile,
    linking,
    help,
    units,
    sessions,
    feedback,
    rosters,
    broadcasts,
    reports,
)


def build_router(services: Services) -> Router:
    """A router with every feature registered and the typed words of every command."""
    router = Router()
    for feature in FEATURES:
        feature.register(router, services)
    texts = services.texts
    for command in router.commands:
        key = f"commands.{command.names[0]}.words"
        if texts.has(key):
            words = [w for text in texts.all_locales(key) for w in text.splitlines()]
            router.add_words(command.names[0], words)
    return router
