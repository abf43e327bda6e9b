"""Questions and concerns (/phananh): members ask, their unit's organizers answer in chat.

A question goes to the organizers of the nearest unit up the member's tree that has any (or
to the admins), through the outbox. "Ẩn danh" hides the sender from organizers; the bot still
knows who asked, to deliver the answer. Status: open → answered (or closed without an answer).
"""

from __future__ import annotations

from datetime import datetime

from ..core.messages import Choice
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn
from ..store.outbox import NewMessage
from ..store.participation import ANSWERED, CLOSED, OPEN, Feedback
from .units import visible_tops

FEEDBACK_NEW, FEEDBACK_ANSWER = "feedback_new", "feedback_answer"
FEEDBACK_SENT = "feedback_sent"
TEXT_MIN, TEXT_MAX = 10, 1500
LIST_LIMIT = 10
PRIORITY = 5


def register(router: Router, services: Services) -> None:
    """Add /phananh, its steps and the two pushes."""
    store = services.store.participation

    async def scope_of(turn: Turn) -> list[str]:
        return [t for t in await visible_tops(turn) if services.org.get(t) is not None]

    async def can_handle(turn: Turn, item: Feedback) -> bool:
        org = services.org
        return org.get(item.unit_code) is not None and any(
            org.is_within(item.unit_code, top) for top in await scope_of(turn)
        )

    @router.command("phananh", "feedback", needs_member=False)
    async def feedback(turn: Turn, args: str) -> None:
        if args.strip().isdigit():
            await show_item(turn, int(args))
            return
        tops = await scope_of(turn)
        if not tops and turn.member is None:
            turn.say(turn.t("errors.not_registered"))
            return
        lines, choices = [], []
        if tops:
            waiting = []
            for top in tops:
                waiting += await store.feedback_in(services.org.path(top), [OPEN], LIST_LIMIT)
            lines.append(turn.t("feedback.waiting", n=turn.number(len(waiting))))
            choices += [
                Choice(f"fbv:{item.id}", f"#{item.id} {item.text[:40]}")
                for item in waiting[:LIST_LIMIT]
            ]
        if turn.member is not None:
            own = await store.feedback_of(turn.member.id, 3)
            if own:
                lines.append(turn.t("feedback.own_heading"))
                lines += [
                    turn.t(
                        "feedback.own_line",
                        id=item.id,
                        text=item.text[:60],
                        status=turn.t(f"feedback.status_{item.status}"),
                    )
                    for item in own
                ]
                choices += [
                    Choice(f"fbv:{item.id}", turn.t("feedback.see", id=item.id))
                    for item in own
                    if item.status == ANSWERED
                ]
            choices.append(Choice("fbn:new", turn.t("feedback.new")))
        turn.ask("\n".join(lines) or turn.t("feedback.intro"), choices)

    @router.choice("fbn", needs_member=True)
    async def on_new(turn: Turn, value: str) -> None:
        turn.ask(
            turn.t("feedback.ask_text", low=TEXT_MIN, high=TEXT_MAX),
            [Choice("cancel:", turn.t("common.cancel"))],
            state="feedback.text",
            data={},
            edit=True,
        )

    @router.state("feedback.text")
    async def on_text(turn: Turn, text: str) -> None:
        if turn.member is None:
            turn.say(turn.t("errors.not_registered"))
            return
        if not TEXT_MIN <= len(text) <= TEXT_MAX:
            turn.repeat_offer(turn.t("feedback.length", low=TEXT_MIN, high=TEXT_MAX))
            return
        turn.ask(
            turn.t("feedback.ask_anonymous", text=text),
            [
                Choice("fbs:named", turn.t("feedback.send_named")),
                Choice("fbs:anonymous", turn.t("feedback.send_anonymous")),
                Choice("cancel:", turn.t("common.cancel")),
            ],
            state="feedback.confirm",
            data={"text": text},
        )

    @router.choice("fbs", needs_member=True)
    async def on_send(turn: Turn, value: str) -> None:
        data = turn.flow_data("text")
        if data is None:
            return
        anonymous = value == "anonymous"
        member = turn.member
        feedback_id = await store.create_feedback(
            member.id, member.unit_code, anonymous, data["text"], turn.timestamp
        )
        turn.record(FEEDBACK_SENT, f"feedback:{feedback_id}")
        accounts = await recipients(member.unit_code)
        await services.store.outbox.enqueue(
            [
                NewMessage(
                    key=f"{FEEDBACK_NEW}:{feedback_id}:{channel}:{account}",
                    channel=channel,
                    external_id=account,
                    member_id=None,
                    kind=FEEDBACK_NEW,
                    payload={"id": feedback_id},
                    not_before=turn.timestamp,
                    priority=PRIORITY,
                    ref=f"feedback:{feedback_id}",
                )
                for channel, account in accounts
            ],
            turn.timestamp,
        )
        services.wake_delivery()
        turn.finish()
        key = "feedback.sent_anonymous" if anonymous else "feedback.sent"
        turn.say(turn.t(key, id=feedback_id), edit=True)

    async def recipients(unit_code: str) -> list[tuple[str, str]]:
        """Organizers of the nearest unit up the tree that has any; else the admins."""
        for unit in reversed(services.org.ancestors(unit_code)):
            accounts = await services.store.quizzes.organizer_accounts([unit.code])
            if accounts:
                return accounts
        admins = [a.split(":", 1) for a in services.settings.admins if ":" in a]
        return [(channel, account) for channel, account in admins]

    # -- organizers ------------------------------------------------------------------------

    async def show_item(turn: Turn, feedback_id: int, *, edit: bool = False) -> None:
        item = await store.feedback(feedback_id)
        mine = item is not None and turn.member is not None and item.member_id == turn.member.id
        if item is None or not (mine or await can_handle(turn, item)):
            turn.say(turn.t("feedback.not_found"))
            return
        sender = turn.t("feedback.anonymous_sender")
        if not item.anonymous and item.member_id is not None:
            member = await services.store.get_member(item.member_id)
            sender = member.full_name if member else turn.t("feedback.anonymous_sender")
        text = turn.t(
            "feedback.item",
            id=item.id,
            sender=sender if not mine else turn.t("feedback.you"),
            unit=services.org.full_name(item.unit_code),
            date=services.texts.date(datetime.fromtimestamp(item.created_at, services.zone)),
            text=item.text,
            status=turn.t(f"feedback.status_{item.status}"),
        )
        if item.answer:
            text += "\n\n" + turn.t("feedback.answer_shown", answer=item.answer)
        choices = []
        if not mine and item.status == OPEN:
            choices = [
                Choice(f"fba:{item.id}", turn.t("feedback.answer")),
                Choice(f"fbc:{item.id}", turn.t("feedback.close")),
            ]
        elif mine and item.status == ANSWERED:
            choices = [Choice(f"fbc:{item.id}", turn.t("feedback.close_own"))]
        if choices:
            turn.ask(text, choices, edit=edit)
        else:
            turn.say(text, edit=edit)

    @router.choice("fbv")
    async def on_view(turn: Turn, value: str) -> None:
        if value.isdigit():
            await show_item(turn, int(value), edit=True)

    @router.choice("fba")
    async def on_answer(turn: Turn, value: str) -> None:
        item = await store.feedback(int(value)) if value.isdigit() else None
        if item is None or not await can_handle(turn, item):
            turn.say(turn.t("errors.not_allowed"))
            return
        turn.ask(
            turn.t("feedback.ask_answer", id=item.id),
            [Choice("cancel:", turn.t("common.cancel"))],
            state="feedback.answer",
            data={"id": item.id},
        )

    @router.state("feedback.answer")
    async def on_answer_text(turn: Turn, text: str) -> None:
        if not 2 <= len(text) <= TEXT_MAX:
            turn.repeat_offer(turn.t("feedback.length", low=2, high=TEXT_MAX))
            return
        turn.ask(
            turn.t("feedback.confirm_answer", answer=text),
            [
                Choice("fbo:send", turn.t("feedback.send_answer")),
                Choice("cancel:", turn.t("common.cancel")),
            ],
            state="feedback.answer_confirm",
            data={**turn.dialog.data, "answer": text},
        )

    @router.choice("fbo")
    async def on_answer_send(turn: Turn, value: str) -> None:
        data = turn.flow_data("id", "answer")
        if data is None:
            return
        item = await store.feedback(data["id"])
        if item is None or not await can_handle(turn, item):
            turn.say(turn.t("errors.not_allowed"))
            return
        organizer = turn.member.id if turn.member else None
        turn.finish()
        if not await store.answer_feedback(item.id, data["answer"], organizer, turn.timestamp):
            turn.say(turn.t("feedback.already_answered", id=item.id), edit=True)
            return
        if item.member_id is not None:
            accounts = await services.store.outbox.accounts_of(item.member_id)
            await services.store.outbox.enqueue(
                [
                    NewMessage(
                        key=f"{FEEDBACK_ANSWER}:{item.id}:{channel}",
                        channel=channel,
                        external_id=account,
                        member_id=item.member_id,
                        kind=FEEDBACK_ANSWER,
                        payload={"id": item.id},
                        not_before=turn.timestamp,
                        priority=PRIORITY,
                        ref=f"feedback:{item.id}",
                    )
                    for channel, account in accounts
                ],
                turn.timestamp,
            )
            services.wake_delivery()
        await services.store.log_action(
            actor=turn.actor,
            action="feedback_answer",
            scope=f"feedback:{item.id} {item.unit_code}",
            now=turn.timestamp,
        )
        turn.say(turn.t("feedback.answered", id=item.id), edit=True)

    @router.choice("fbc")
    async def on_close(turn: Turn, value: str) -> None:
        item = await store.feedback(int(value)) if value.isdigit() else None
        mine = item is not None and turn.member is not None and item.member_id == turn.member.id
        if item is None or not (mine or await can_handle(turn, item)):
            turn.say(turn.t("errors.not_allowed"))
            return
        await store.close_feedback(item.id)
        turn.say(turn.t("feedback.closed", id=item.id), edit=True)

    # -- pushes ------------------------------------------------------------------------------

    @router.push(FEEDBACK_NEW)
    async def new_item(turn: Turn, payload: dict) -> None:
        item = await store.feedback(payload.get("id", 0))
        if item is None or item.status != OPEN:
            return
        turn.say(
            turn.t(
                "feedback.push_new",
                id=item.id,
                unit=services.org.full_name(item.unit_code),
                text=item.text[:300],
            ),
            commands=[Choice(f"/phananh {item.id}", turn.t("feedback.answer"))],
        )

    @router.push(FEEDBACK_ANSWER)
    async def answer(turn: Turn, payload: dict) -> None:
        item = await store.feedback(payload.get("id", 0))
        if item is None or (item.status == CLOSED and not item.answer):
            return
        turn.say(
            turn.t("feedback.push_answer", id=item.id, text=item.text[:200], answer=item.answer),
            commands=[Choice(f"/phananh {item.id}", turn.t("feedback.see", id=item.id))],
        )
