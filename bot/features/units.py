"""Units for organizers: join codes and links to share, and reloading the units file."""

from __future__ import annotations

import logging

from ..content.yamlfile import ContentError
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn

log = logging.getLogger(__name__)
LIST_LIMIT = 30


async def visible_tops(turn: Turn) -> list[str]:
    """The units whose subtrees this account may see: all for admins, granted ones otherwise."""
    if turn.is_admin:
        return [u.code for u in turn.services.org.children(None)]
    if turn.member is None:
        return []
    return await turn.services.store.organizer_units(turn.member.id)


async def may_organize(turn: Turn, code: str) -> bool:
    """Whether this account organizes the unit ``code`` (it lies in one of its subtrees)."""
    org = turn.services.org
    return org.get(code) is not None and any(
        org.get(top) is not None and org.is_within(code, top) for top in await visible_tops(turn)
    )


async def organized_units(turn: Turn, limit: int) -> list[str]:
    """Codes an organizer may address: each visible top unit and its direct sub-units."""
    org = turn.services.org
    codes: list[str] = []
    for top in await visible_tops(turn):
        if org.get(top) is not None:
            codes += [top, *(u.code for u in org.children(top))]
    return codes[:limit]


def register(router: Router, services: Services) -> None:
    """Add /donvi (organizers), /napdonvi and /napnoidung (admins)."""

    @router.command("donvi", "units", needs_member=False, for_organizers=True)
    async def units(turn: Turn, args: str) -> None:
        tops = await visible_tops(turn)
        if not tops:
            turn.say(turn.t("errors.not_allowed"))
            return
        org = services.org
        lines = [turn.t("units.heading")]
        shown = 0
        for top in tops:
            if org.get(top) is None:
                continue
            base = len(org.ancestors(top))
            for unit in org.subtree(top):
                if shown == LIST_LIMIT:
                    lines.append(turn.t("units.more", limit=turn.number(LIST_LIMIT)))
                    turn.say("\n".join(lines))
                    return
                indent = "  " * (len(org.ancestors(unit.code)) - base)
                lines.append(
                    turn.t(
                        "units.line",
                        indent=indent,
                        name=unit.name,
                        code=unit.join_code,
                        link=services.deep_link(unit.join_code),
                    )
                )
                shown += 1
        turn.say("\n".join(lines))

    async def reload(turn: Turn, load, failed_key: str, action: str):
        """Run a reload; on errors show the first findings and return None (nothing changed)."""
        try:
            result = await load()
        except ContentError as exc:
            shown = "\n".join(str(f) for f in exc.findings[:10])
            turn.say(turn.t(failed_key, count=len(exc.findings), findings=shown))
            return None
        await services.store.log_action(
            actor=turn.actor, action=action, scope="all", now=turn.timestamp
        )
        return result

    @router.command("napnoidung", "reloadcontent", needs_member=False, admin_only=True)
    async def reload_content(turn: Turn, args: str) -> None:
        content = await reload(
            turn, services.reload_content, "units.content_failed", "reload_content"
        )
        if content is not None:
            turn.say(
                turn.t(
                    "units.content_reloaded",
                    lessons=turn.number(len(content.lessons)),
                    questions=turn.number(len(content.questions)),
                    dates=turn.number(len(content.calendar)),
                )
            )

    @router.command("napdonvi", "reloadunits", needs_member=False, admin_only=True)
    async def reload_units(turn: Turn, args: str) -> None:
        count = await reload(turn, services.reload_units, "units.reload_failed", "reload_units")
        if count is not None:
            turn.say(turn.t("units.reloaded", count=turn.number(count)))
