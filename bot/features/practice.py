"""Practice (/ontap): one question at a time, immediate feedback, missed questions come back.

The member picks a strand, a commemorative day or everything; questions due for review come
first (FSRS, see bot/quiz/review.py), then new ones. Options are shuffled for each showing and
mapped back here; the time to answer is measured on the server. Each answer is an activity.
"""

from __future__ import annotations

import random
from datetime import datetime

from ..content.lessons import STRANDS
from ..content.quizzes import LETTERS, Question
from ..core.messages import Choice
from ..core.models import Activity
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn
from ..quiz.layout import option_at, shuffled_order
from ..quiz.review import pick_question, rating_for, review

PRACTICE_ANSWER = "practice_answer"
MAX_DATE_CHOICES = 6


def question_text(turn: Turn, question: Question, order: list[int], heading: str) -> str:
    """The question with its options lettered in the member's order."""
    lines = [heading, "", question.text, ""]
    lines += [f"{LETTERS[i]}. {question.options[o]}" for i, o in enumerate(order)]
    return "\n".join(lines)


def letter_choices(namespace: str, count: int) -> list[Choice]:
    """Buttons A, B, C … whose values are the shown positions."""
    return [Choice(f"{namespace}:{i}", LETTERS[i]) for i in range(count)]


def wait_text(turn: Turn, seconds: float) -> str:
    """'10 phút', '3 giờ', '2 ngày' until a card comes back."""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return turn.t("practice.in_minutes", n=minutes)
    if minutes < 48 * 60:
        return turn.t("practice.in_hours", n=round(minutes / 60))
    return turn.t("practice.in_days", n=round(minutes / 1440))


def register(router: Router, services: Services) -> None:
    """Add /ontap and its choices."""
    store = services.store.quizzes
    rng = random.Random()

    def candidates(scope: str) -> list[Question]:
        kind, _, value = scope.partition(":")
        if kind == "s":
            return services.questions.select(strand=value)
        if kind == "d":
            return services.questions.select(date=value)
        return list(services.questions.questions)

    def scope_label(turn: Turn, scope: str) -> str:
        kind, _, value = scope.partition(":")
        if kind == "s":
            return turn.t(f"strands.{value}")
        if kind == "d":
            return turn.t("practice.scope_date", date=value)
        return turn.t("practice.scope_all")

    @router.command("ontap", "practice")
    async def practice(turn: Turn, args: str) -> None:
        if not len(services.questions):
            turn.say(turn.t("practice.no_questions"))
            return
        cards = await store.cards(turn.member.id)
        due = sum(1 for due_at, _ in cards.values() if due_at <= turn.timestamp)
        choices = []
        if due:
            choices.append(Choice("prs:all", turn.t("practice.due", n=turn.number(due))))
        choices += [Choice(f"prs:s:{s}", turn.t(f"strands.{s}")) for s in STRANDS]
        days = sorted(
            services.questions.dates(),
            key=lambda d: _days_until(turn, d),
        )[:MAX_DATE_CHOICES]
        choices += [Choice(f"prs:d:{d}", turn.t("practice.scope_date", date=d)) for d in days]
        if not due:
            choices.append(Choice("prs:all", turn.t("practice.scope_all")))
        turn.ask(turn.t("practice.choose", total=turn.number(len(services.questions))), choices)

    @router.choice("prs", needs_member=True)
    async def on_scope(turn: Turn, scope: str) -> None:
        if not candidates(scope):
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        await ask_next(turn, scope, edit=True)

    async def ask_next(turn: Turn, scope: str, *, edit: bool = False) -> None:
        pool = {q.id: q for q in candidates(scope)}
        cards = await store.cards(turn.member.id)
        picked = pick_question(list(pool), cards, turn.timestamp, rng)
        if picked is None:
            turn.say(turn.t("practice.no_questions"))
            return
        question, why = pool[picked[0]], picked[1]
        order = shuffled_order(len(question.options), rng)
        heading = turn.t(
            f"practice.heading_{why}",
            scope=scope_label(turn, scope),
            stars="★" * question.difficulty,
        )
        turn.ask(
            question_text(turn, question, order, heading),
            [*letter_choices("pra", len(order)), Choice("go:menu", turn.t("practice.stop"))],
            state="practice.question",
            data={"scope": scope, "q": question.id, "order": order, "shown": _ms(turn.now)},
            edit=edit,
        )

    @router.choice("pra", needs_member=True)
    async def on_answer(turn: Turn, value: str) -> None:
        data = turn.flow_data("scope", "q", "order", "shown")
        if data is None:
            return
        question = services.questions.get(data["q"])
        option = option_at(data["order"], int(value)) if value.isdigit() else None
        if question is None or option is None:  # the bank changed meanwhile, or a forgery
            turn.finish()
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        elapsed = _ms(turn.now) - data["shown"]
        correct = question.is_correct(option)
        cards = await store.cards(turn.member.id)
        held = cards.get(question.id)
        card, due = review(
            held[1] if held else None,
            rating_for(correct, hard=question.difficulty >= 3, elapsed_ms=elapsed),
            turn.now,
        )
        await store.save_card(
            turn.member,
            question.id,
            card,
            int(due.timestamp()),
            correct=correct,
            activity=Activity(PRACTICE_ANSWER, question.id, turn.timestamp, turn.today),
        )
        order = data["order"]
        verdict = (
            turn.t("practice.right")
            if correct
            else turn.t(
                "practice.wrong",
                letter=LETTERS[order.index(min(question.correct))],
                answer=question.answer_text,
            )
        )
        turn.ask(
            question_text(turn, question, order, turn.t("practice.answered"))
            + "\n\n"
            + turn.t(
                "practice.feedback",
                verdict=verdict,
                chosen=LETTERS[int(value)],
                explanation=question.explanation,
                source=question.source,
                back=wait_text(turn, (due - turn.now).total_seconds()),
            ),
            [
                Choice(f"prn:{data['scope']}", turn.t("practice.next")),
                Choice("go:menu", turn.t("practice.stop")),
            ],
            state="",
            data={},
            edit=True,
        )

    @router.choice("prn", needs_member=True)
    async def on_next(turn: Turn, scope: str) -> None:
        if not candidates(scope):
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        await ask_next(turn, scope)

    @router.state("practice.question")
    async def on_typed(turn: Turn, text: str) -> None:
        # Letters and numbers typed instead of pressed were matched to the buttons already.
        count = len(turn.dialog.data.get("order", [])) or 4
        turn.repeat_offer(turn.t("practice.answer_with_letter", last=LETTERS[count - 1]))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _days_until(turn: Turn, day_month: str) -> int:
    day, month = (int(p) for p in day_month.split("/"))
    today = turn.today
    for year in (today.year, today.year + 1):
        try:
            delta = (today.replace(year=year, month=month, day=day) - today).days
        except ValueError:
            continue
        if delta >= 0:
            return delta
    return 366
