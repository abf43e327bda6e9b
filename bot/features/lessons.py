"""The daily lesson: the next unread one (today's themed lesson first), and the streak."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import zip_longest

from ..content.lessons import STRANDS, Lesson
from ..core.messages import Choice
from ..core.models import LessonProgress
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn

LESSON_READ = "lesson_read"


def reading_order(lessons: Sequence[Lesson], plan: Sequence[str] = ()) -> list[Lesson]:
    """The year plan's order (content/plan.yaml), then any lessons it does not list with the
    strands interleaved (thought, ethics, style, thought, …), each in file order."""
    by_id = {lesson.id: lesson for lesson in lessons}
    planned = [by_id[i] for i in plan if i in by_id]
    listed = set(plan)
    rest = [lesson for lesson in lessons if lesson.id not in listed]
    by_strand = [[lesson for lesson in rest if lesson.strand == s] for s in STRANDS]
    return planned + [lesson for group in zip_longest(*by_strand) for lesson in group if lesson]


def next_lesson(order: Sequence[Lesson], progress: LessonProgress, today: date) -> Lesson:
    """Today's themed lesson if unread, else the first unread after the last one, else review."""
    today_tag = f"{today.day}/{today.month}"
    for lesson in order:
        if today_tag in lesson.dates and lesson.id not in progress.read:
            return lesson
    ids = [lesson.id for lesson in order]
    start = ids.index(progress.last_id) + 1 if progress.last_id in ids else 0
    rotated = list(order[start:]) + list(order[:start])
    for lesson in rotated:
        if lesson.id not in progress.read:
            return lesson
    return rotated[0]


def register(router: Router, services: Services) -> None:
    """Add /baihoc and its 'next lesson' choice."""

    @router.command("baihoc", "lesson")
    async def lesson(turn: Turn, args: str) -> None:
        order = reading_order(services.lessons, services.plan)
        item = next_lesson(order, turn.progress, turn.today)
        finished_all = len(turn.progress.read) >= len(order) and item.id in turn.progress.read
        turn.progress = turn.progress.after_reading(item.id, turn.today)
        turn.record(LESSON_READ, item.id)
        if finished_all:
            turn.say(turn.t("lessons.review", total=turn.number(len(order))))
        turn.ask(
            turn.t(
                "lessons.show",
                title=item.title,
                strand=turn.t(f"strands.{item.strand}"),
                body=item.body,
                action=item.action,
                source=item.source,
                streak=turn.number(turn.progress.streak),
                read=turn.number(len(turn.progress.read)),
                total=turn.number(len(order)),
            ),
            [
                Choice("lesson:next", turn.t("lessons.next")),
                Choice("go:menu", turn.t("lessons.menu")),
            ],
        )

    @router.choice("lesson", needs_member=True)
    async def on_next(turn: Turn, value: str) -> None:
        await lesson(turn, "")
