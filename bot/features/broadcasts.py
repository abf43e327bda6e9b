"""Organizer notices (/thongbao): write, choose units and categories, preview, confirm, follow.

Only organizers of a unit's subtree (and admins) may send to it; each notice is stored once and
queued as one outbox row per recipient, rendered when it is sent.
"""

from __future__ import annotations

import math
import secrets

from ..core.messages import Choice
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn
from ..store.outbox import NewMessage
from .units import may_organize, organized_units, visible_tops

NOTICE = "notice"
SUMMARY = "broadcast_summary"
MAX_UNIT_CHOICES = 12


def eta_parts(waiting: int, rate: float) -> tuple[int, int]:
    """(hours, minutes) to send ``waiting`` messages at ``rate`` per second, rounded up."""
    minutes = math.ceil(math.ceil(waiting / rate) / 60)
    return divmod(minutes, 60)


def eta_text(turn: Turn, waiting: int, rate: float) -> str:
    """'dưới 1 phút', 'khoảng 5 phút', 'khoảng 1 giờ 20 phút'."""
    if waiting <= rate * 60:
        return turn.t("broadcast.eta_under_minute")
    hours, minutes = eta_parts(waiting, rate)
    if hours:
        return turn.t("broadcast.eta_hours", hours=hours, minutes=minutes)
    return turn.t("broadcast.eta_minutes", minutes=minutes)


def register(router: Router, services: Services) -> None:
    """Add /thongbao, its steps, and the notice and summary pushes."""
    outbox = services.store.outbox
    settings = services.settings
    rate = settings.delivery.paid_rate_per_second or settings.delivery.rate_per_second
    texts: dict[int, str] = {}  # notices never change once sent: keep their text at hand

    @router.command("thongbao", "notice", needs_member=False, for_organizers=True)
    async def notice(turn: Turn, args: str) -> None:
        if not await visible_tops(turn):
            turn.say(turn.t("errors.not_allowed"))
            return
        ask_text(turn)

    def ask_text(turn: Turn) -> None:
        turn.ask(
            turn.t("broadcast.ask_text"),
            [Choice("cancel:", turn.t("common.cancel"))],
            state="broadcast.text",
            data={},
        )

    @router.state("broadcast.text")
    async def on_text(turn: Turn, text: str) -> None:
        data = {**turn.dialog.data, "text": text}
        if "unit" in data:
            await preview(turn, data)
        else:
            await ask_unit(turn, data)

    async def ask_unit(turn: Turn, data: dict) -> None:
        org = services.org
        codes = await organized_units(turn, MAX_UNIT_CHOICES)
        turn.ask(
            turn.t("broadcast.ask_unit"),
            [Choice(f"bcu:{code}", org.full_name(code)) for code in codes]
            + [Choice("cancel:", turn.t("common.cancel"))],
            state="broadcast.unit",
            data=data,
        )

    @router.state("broadcast.unit")
    async def on_unit_typed(turn: Turn, text: str) -> None:
        unit = services.org.by_join_code(text) or services.org.get(text.strip())
        if unit is None or not await may_organize(turn, unit.code):
            turn.repeat_offer(turn.t("broadcast.unit_not_allowed", text=text[:40]))
            return
        await ask_categories(turn, {**turn.dialog.data, "unit": unit.code, "cats": []})

    @router.choice("bcu")
    async def on_unit(turn: Turn, code: str) -> None:
        if not await may_organize(turn, code):
            turn.say(turn.t("errors.not_allowed"))
            return
        await ask_categories(turn, {**turn.dialog.data, "unit": code, "cats": []}, edit=True)

    async def ask_categories(turn: Turn, data: dict, *, edit: bool = False) -> None:
        chosen = data["cats"]
        mark = lambda on: "✅" if on else "⬜"  # noqa: E731
        choices = [Choice("bcc:all", f"{mark(not chosen)} {turn.t('broadcast.all_categories')}")]
        choices += [
            Choice(f"bcc:{c}", f"{mark(c in chosen)} {turn.t(f'categories.{c}')}")
            for c in settings.organisation.categories
        ]
        choices.append(Choice("bcc:done", turn.t("broadcast.categories_done")))
        turn.ask(
            turn.t("broadcast.ask_categories"),
            choices,
            state="broadcast.categories",
            data=data,
            edit=edit,
        )

    @router.choice("bcc")
    async def on_category(turn: Turn, value: str) -> None:
        data = turn.flow_data("unit", "text")
        if data is None:
            return
        if value == "done":
            await preview(turn, data, edit=True)
            return
        cats = [] if value == "all" else list(data["cats"])
        if value in settings.organisation.categories:
            cats = [c for c in cats if c != value] if value in cats else [*cats, value]
        await ask_categories(turn, {**data, "cats": cats}, edit=True)

    async def preview(turn: Turn, data: dict, *, edit: bool = False) -> None:
        org = services.org
        # Pressing "send" twice (or again after an error) must not send the notice twice.
        data = {**data, "request": secrets.token_hex(8)}
        audience = await outbox.count_audience(org.path(data["unit"]), data["cats"])
        cats = ", ".join(turn.t(f"categories.{c}") for c in data["cats"]) or turn.t(
            "broadcast.all_categories"
        )
        turn.ask(
            turn.t(
                "broadcast.preview",
                text=data["text"],
                unit=org.full_name(data["unit"]),
                categories=cats,
                count=turn.number(audience),
                eta=eta_text(turn, audience, rate),
            ),
            ([Choice("bc:send", turn.t("broadcast.send"))] if audience else [])
            + [
                Choice("bc:edit", turn.t("broadcast.edit_text")),
                Choice("bc:unit", turn.t("broadcast.change_unit")),
                Choice("cancel:", turn.t("common.cancel")),
            ],
            state="broadcast.preview",
            data=data,
            edit=edit,
        )

    @router.choice("bc")
    async def on_confirm(turn: Turn, value: str) -> None:
        data = turn.flow_data("unit", "text")
        if data is None:
            return
        if value == "edit":
            turn.ask(
                turn.t("broadcast.ask_text"),
                [Choice("cancel:", turn.t("common.cancel"))],
                state="broadcast.text",
                data=data,
            )
            return
        if value == "unit":
            await ask_unit(turn, {"text": data["text"]})
            return
        if not await may_organize(turn, data["unit"]):  # rights may have changed since the preview
            turn.say(turn.t("errors.not_allowed"))
            return
        broadcast_id, _recipients = await outbox.create_broadcast(
            request_key=data["request"],
            unit_code=data["unit"],
            path=services.org.path(data["unit"]),
            categories=data["cats"],
            text=data["text"],
            created_by=turn.member.id if turn.member else None,
            now=turn.timestamp,
        )
        await services.store.log_action(
            actor=turn.actor,
            action="broadcast",
            scope=f"unit:{data['unit']} categories:{','.join(data['cats']) or 'all'}",
            now=turn.timestamp,
        )
        services.wake_delivery()
        turn.finish()
        await show_progress(turn, broadcast_id, edit=True)

    @router.choice("bcp")
    async def on_progress(turn: Turn, value: str) -> None:
        broadcast = await outbox.broadcast(int(value)) if value.isdigit() else None
        if broadcast is None or not await may_organize(turn, broadcast["unit_code"]):
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        await show_progress(turn, broadcast["id"], edit=True)

    async def show_progress(turn: Turn, broadcast_id: int, *, edit: bool) -> None:
        counts = await outbox.progress(NOTICE, str(broadcast_id))
        waiting = counts.get("pending", 0) + counts.get("sending", 0)
        key = "broadcast.progress" if waiting else "broadcast.progress_done"
        turn.ask(
            turn.t(
                key,
                total=turn.number(sum(counts.values())),
                sent=turn.number(counts.get("sent", 0)),
                failed=turn.number(
                    counts.get("failed", 0) + counts.get("blocked", 0) + counts.get("unknown", 0)
                ),
                waiting=turn.number(waiting),
                eta=eta_text(turn, waiting, rate),
            ),
            [Choice(f"bcp:{broadcast_id}", turn.t("broadcast.refresh"))] if waiting else [],
            edit=edit,
        )

    @router.push(NOTICE)
    async def render_notice(turn: Turn, payload: dict) -> None:
        if "broadcast" in payload:
            broadcast_id = payload["broadcast"]
            if broadcast_id not in texts:
                broadcast = await outbox.broadcast(broadcast_id)
                texts[broadcast_id] = broadcast["text"] if broadcast else ""
            text = texts[broadcast_id]
        else:
            text = payload.get("text", "")
        if text:
            turn.say(turn.t("broadcast.notice", text=text))

    @router.every_minute
    async def queue_summaries() -> None:
        """Tell each organizer once their broadcast has nothing left to send."""
        now = int(services.clock.now().timestamp())
        for broadcast_id in await outbox.finished_broadcasts():
            broadcast = await outbox.broadcast(broadcast_id)
            organizer = broadcast["created_by"]
            accounts = await outbox.accounts_of(organizer) if organizer else []
            await outbox.enqueue(
                [
                    NewMessage(
                        f"{SUMMARY}:{broadcast_id}:{organizer}:{channel}",
                        channel,
                        external_id,
                        organizer,
                        SUMMARY,
                        {"broadcast": broadcast_id},
                        now,
                        priority=2,
                        ref=str(broadcast_id),
                    )
                    for channel, external_id in accounts
                ],
                now,
            )
            await outbox.mark_broadcast_finished(broadcast_id, now)

    @router.push(SUMMARY)
    async def render_summary(turn: Turn, payload: dict) -> None:
        broadcast = await outbox.broadcast(payload["broadcast"])
        if broadcast is None:
            return
        counts = await outbox.progress(NOTICE, str(broadcast["id"]))
        turn.say(
            turn.t(
                "broadcast.summary",
                unit=services.org.full_name(broadcast["unit_code"]),
                total=turn.number(sum(counts.values())),
                sent=turn.number(counts.get("sent", 0)),
                blocked=turn.number(counts.get("blocked", 0)),
                failed=turn.number(counts.get("failed", 0) + counts.get("unknown", 0)),
            )
        )
