"""What the bot knows about a member: see it, correct it, choose a language, erase it."""

from __future__ import annotations

from datetime import datetime

from ..content.texts import LOCALES
from ..core.messages import Choice
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn
from .help import show_menu
from .onboarding import EDIT, ask_category, ask_name, ask_unit
from .reminders import format_minute


def register(router: Router, services: Services) -> None:
    """Add /hoso, /ngonngu and /xoadulieu."""

    @router.command("hoso", "profile")
    async def profile(turn: Turn, args: str) -> None:
        member = turn.member
        org = services.org
        minute, items = await services.store.profile_extras(member.id, turn.today.year)
        unit = org.get(member.unit_code)
        turn.ask(
            turn.t(
                "profile.show",
                name=member.full_name,
                unit=org.full_name(unit.code) if unit else member.unit_code,
                category=turn.t(f"categories.{member.category}"),
                since=services.texts.date(
                    datetime.fromtimestamp(member.created_at, services.zone).date()
                ),
                lessons=turn.number(len(turn.progress.read)),
                streak=turn.number(turn.progress.streak_on(turn.today)),
                language=turn.t(f"languages.{turn.locale}"),
                reminder=format_minute(minute)
                if minute is not None
                else turn.t("profile.reminder_off"),
                commitment=turn.t("profile.commitment_items", count=items)
                if items
                else turn.t("profile.commitment_none"),
            ),
            [
                Choice("edit:name", turn.t("profile.edit_name")),
                Choice("edit:unit", turn.t("profile.edit_unit")),
                Choice("edit:category", turn.t("profile.edit_category")),
                Choice("go:ngonngu", turn.t("profile.edit_language")),
                Choice("go:xoadulieu", turn.t("profile.erase")),
            ],
        )

    @router.choice("edit", needs_member=True)
    async def on_edit(turn: Turn, field: str) -> None:
        steps = {"name": ask_name, "unit": ask_unit, "category": ask_category}
        if field not in steps:
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        steps[field](turn, {"flow": EDIT})

    @router.command("ngonngu", "language", needs_member=False)
    async def language(turn: Turn, args: str) -> None:
        turn.ask(
            turn.t("profile.choose_language"),
            [Choice(f"lang:{code}", turn.t(f"languages.{code}")) for code in LOCALES],
        )

    @router.choice("lang")
    async def on_language(turn: Turn, code: str) -> None:
        if code not in LOCALES:
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        turn.set_locale(code)
        await show_menu(turn, turn.t("profile.language_set", language=turn.t(f"languages.{code}")))

    @router.command("xoadulieu", "deletedata")
    async def erase(turn: Turn, args: str) -> None:
        turn.ask(
            turn.t("profile.erase_question"),
            [
                Choice("erase:yes", turn.t("profile.erase_yes")),
                Choice("erase:no", turn.t("profile.erase_no")),
            ],
        )

    @router.choice("erase", needs_member=True)
    async def on_erase(turn: Turn, value: str) -> None:
        if value != "yes":
            turn.say(turn.t("profile.erase_cancelled"), edit=True)
            return
        turn.erase_member()
        turn.say(turn.t("profile.erased"), edit=True)
