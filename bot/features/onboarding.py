"""Registration: consent, full name, unit, category, confirmation — and the same steps for edits.

Nothing is stored before the person agrees: the consent question lives only in this process.
The name, unit and category steps serve both registration (``flow: register``) and profile
edits (``flow: edit``); the flow decides what happens after each step.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..core.messages import Choice
from ..core.models import Member
from ..core.router import Router
from ..core.services import Services
from ..core.text import to_nfc
from ..core.turn import Turn
from .help import show_menu

NAME_MAX = 80
_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[ .'-][^\W\d_]+)*\.?$")
REGISTER, EDIT = "register", "edit"


def clean_full_name(text: str) -> str | None:
    """'nguyễn  văn AN' -> 'Nguyễn Văn An'; None unless it looks like a full name (≥ 2 words)."""
    name = " ".join(to_nfc(text).split())
    if not len(name.split()) >= 2 or len(name) > NAME_MAX or not _NAME_CHARS.match(name):
        return None
    return " ".join(word[:1].upper() + word[1:].lower() for word in name.split())


def register(router: Router, services: Services) -> None:
    """Add the onboarding commands, steps and choices to the router."""
    org = lambda: services.org  # noqa: E731 - the tree is replaced whole on reload

    @router.command("start", "batdau", needs_member=False)
    async def start(turn: Turn, args: str) -> None:
        if args.lower().startswith("hn-"):  # a study session's check-in link
            if turn.member is not None:
                await router.command_named("diemdanh").handler(turn, args)
                return
            turn.say(turn.t("onboarding.register_then_check_in"))
            args = ""
        unit = org().by_join_code(args) if args else None
        if turn.member is not None:
            if unit is not None and unit.code != turn.member.unit_code:
                turn.ask(
                    turn.t("onboarding.move_question", unit=org().full_name(unit.code)),
                    [
                        Choice(f"move:{unit.code}", turn.t("onboarding.move_yes")),
                        Choice("move:", turn.t("onboarding.move_no")),
                    ],
                )
                return
            await show_menu(turn, turn.t("onboarding.welcome_back", greeting=greeting(turn)))
            return
        if args and unit is None:
            turn.say(turn.t("onboarding.bad_code", code=args[:32]))
        turn.ask(
            turn.t("onboarding.consent"),
            [
                Choice("consent:yes", turn.t("onboarding.consent_yes")),
                Choice("consent:no", turn.t("onboarding.consent_no")),
            ],
            state="onboarding.consent",
            data={"unit": unit.code} if unit else {},
            persist=False,
        )

    @router.choice("consent")
    async def on_consent(turn: Turn, value: str) -> None:
        if turn.member is not None:
            await show_menu(turn, turn.t("onboarding.welcome_back", greeting=greeting(turn)))
        elif value == "yes":
            data = {"flow": REGISTER, "consent_at": turn.timestamp}
            data.update({k: v for k, v in turn.dialog.data.items() if k == "unit"})
            turn.say(turn.t("onboarding.consent_thanks"), edit=True)
            ask_name(turn, data)
        else:
            turn.forget_dialog()
            turn.say(turn.t("onboarding.declined"), edit=True)

    @router.state("onboarding.name")
    async def on_name(turn: Turn, text: str) -> None:
        name = clean_full_name(text)
        if name is None:
            turn.say(turn.t("onboarding.bad_name", limit=NAME_MAX))
            return
        await after_step(turn, {**turn.dialog.data, "name": name})

    @router.state("onboarding.unit")
    async def on_unit_text(turn: Turn, text: str) -> None:
        unit = org().by_join_code(text)
        if unit is not None:
            await after_step(turn, {**turn.dialog.data, "unit": unit.code})
            return
        found = org().search(text)
        if not found:
            turn.say(turn.t("onboarding.unit_not_found", text=text[:60]))
            return
        turn.ask(
            turn.t("onboarding.unit_matches", count=len(found)),
            [Choice(f"unit:{u.code}", org().full_name(u.code)) for u in found]
            + [Choice("cancel:", turn.t("common.cancel"))],
            state="onboarding.unit",
        )

    @router.choice("unit")
    async def on_unit_choice(turn: Turn, code: str) -> None:
        if org().get(code) is None:
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        await after_step(turn, {**turn.dialog.data, "unit": code})

    @router.choice("cat")
    async def on_category(turn: Turn, category: str) -> None:
        if category not in services.settings.organisation.categories:
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        await after_step(turn, {**turn.dialog.data, "category": category}, edit=True)

    @router.choice("reg")
    async def on_confirm(turn: Turn, value: str) -> None:
        data = turn.dialog.data
        if turn.member is not None or data.get("flow") != REGISTER:
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        if value != "ok":
            ask_name(turn, {k: data[k] for k in ("flow", "consent_at")})
            return
        turn.save_member(
            Member(
                None,
                data["name"],
                data["unit"],
                data["category"],
                turn.locale,
                data["consent_at"],
                turn.timestamp,
            )
        )
        turn.say(turn.t("onboarding.confirmed_short"), edit=True)
        await show_menu(turn, turn.t("onboarding.registered", greeting=greeting(turn)))

    @router.choice("move", needs_member=True)
    async def on_move(turn: Turn, code: str) -> None:
        if code and org().get(code) is not None:
            turn.save_member(replace(turn.member, unit_code=code))
            turn.say(turn.t("profile.saved"), edit=True)
        await show_menu(turn, turn.t("onboarding.welcome_back", greeting=greeting(turn)))

    async def after_step(turn: Turn, data: dict, *, edit: bool = False) -> None:
        """Go to the next missing step, or finish the flow."""
        if data.get("flow") == EDIT:
            member = turn.member
            turn.save_member(
                replace(
                    member,
                    full_name=data.get("name", member.full_name),
                    unit_code=data.get("unit", member.unit_code),
                    category=data.get("category", member.category),
                )
            )
            turn.finish()
            turn.say(turn.t("profile.saved"), edit=edit)
            await router.command_named("hoso").handler(turn, "")
        elif "name" not in data:
            ask_name(turn, data)
        elif "unit" not in data:
            ask_unit(turn, data)
        elif "category" not in data:
            ask_category(turn, data)
        else:
            ask_confirmation(turn, data)

    def ask_confirmation(turn: Turn, data: dict) -> None:
        turn.ask(
            turn.t(
                "onboarding.confirm",
                name=data["name"],
                unit=org().full_name(data["unit"]),
                category=turn.t(f"categories.{data['category']}"),
            ),
            [
                Choice("reg:ok", turn.t("onboarding.confirm_yes")),
                Choice("reg:redo", turn.t("onboarding.confirm_redo")),
            ],
            state="onboarding.confirm",
            data=data,
        )


def greeting(turn: Turn) -> str:
    """'Chào đồng chí …' for party members, 'Chào bạn …' otherwise (DOMAIN.md)."""
    member = turn.member
    key = "greeting.dang_vien" if member.category == "dang_vien" else "greeting.other"
    return turn.t(key, name=member.full_name)


def ask_name(turn: Turn, data: dict) -> None:
    """Ask for the full name (used by registration and profile edits)."""
    _ask_text(turn, "onboarding.ask_name", "onboarding.name", data)


def ask_unit(turn: Turn, data: dict) -> None:
    """Ask for the unit's join code or part of its name."""
    _ask_text(turn, "onboarding.ask_unit", "onboarding.unit", data)


def _ask_text(turn: Turn, question: str, state: str, data: dict) -> None:
    turn.ask(
        turn.t(question), [Choice("cancel:", turn.t("common.cancel"))], state=state, data=data
    )


def ask_category(turn: Turn, data: dict) -> None:
    """Ask which group the member belongs to."""
    categories = turn.services.settings.organisation.categories
    turn.ask(
        turn.t("onboarding.ask_category"),
        [Choice(f"cat:{c}", turn.t(f"categories.{c}")) for c in categories]
        + [Choice("cancel:", turn.t("common.cancel"))],
        state="onboarding.category",
        data=data,
    )
