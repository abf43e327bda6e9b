"""Finding one's way: the menu, the command list, and cancelling whatever is under way."""

from __future__ import annotations

from ..core.messages import Choice
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn
from .units import visible_tops

# The menu shows the few things a member does most; /huongdan lists everything.
MENU = ("baihoc", "ontap", "cuocthi", "ngayle", "hoso", "huongdan")


async def show_menu(turn: Turn, heading: str) -> None:
    """Offer the main actions under ``heading``."""
    if turn.member is None:
        turn.ask(heading, [Choice("go:start", turn.t("commands.start.label"))])
        return
    turn.ask(heading, [Choice(f"go:{name}", turn.t(f"commands.{name}.label")) for name in MENU])


def register(router: Router, services: Services) -> None:
    """Add /huongdan, /menu, /huy and the menu choices."""

    @router.command("huongdan", "help", needs_member=False, keeps_state=True)
    async def help_(turn: Turn, args: str) -> None:
        lines = [turn.t("help.heading")]
        organizer = bool(await visible_tops(turn))
        for command in router.commands:
            if not command.in_menu or (command.admin_only and not turn.is_admin):
                continue
            if command.for_organizers and not organizer:
                continue
            if command.needs_member and turn.member is None:
                continue
            name = command.names[0]
            aliases = " ".join(f"/{alias}" for alias in command.names[1:])
            lines.append(
                turn.t(
                    "help.line",
                    command=f"/{name}",
                    aliases=aliases,
                    description=turn.t(f"commands.{name}.description"),
                )
            )
        lines.append(turn.t("help.footer" if turn.member else "help.footer_guest"))
        turn.say("\n".join(lines))

    @router.command("menu", needs_member=False)
    async def menu(turn: Turn, args: str) -> None:
        await show_menu(turn, turn.t("help.menu_heading"))

    @router.command("huy", "cancel", needs_member=False)
    async def cancel(turn: Turn, args: str) -> None:
        turn.say(turn.t("help.cancelled"))

    @router.choice("cancel")
    async def on_cancel(turn: Turn, value: str) -> None:
        if turn.member is None:
            turn.forget_dialog()
        else:
            turn.finish()
        turn.say(turn.t("help.cancelled"), edit=True)

    @router.choice("go")
    async def on_go(turn: Turn, name: str) -> None:
        command = router.command_named(name)
        if command is None or (command.needs_member and turn.member is None):
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        turn.finish()
        await command.handler(turn, "")
