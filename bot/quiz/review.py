"""Spaced review of practice questions with FSRS (the ``fsrs`` package), one card per question.

A wrong answer rates the card *Again* (it comes back within minutes, then days); a right answer
to a hard question, or one that took long, *Hard*; any other right answer *Good*.
"""

from __future__ import annotations

import json
import random
from datetime import datetime

from fsrs import Card, Rating, Scheduler

SLOW_MS = 30_000
# No fuzzing: the same answers give the same schedule (reproducible tests and support answers).
_SCHEDULER = Scheduler(enable_fuzzing=False)


def rating_for(correct: bool, *, hard: bool, elapsed_ms: int) -> Rating:
    """How well the member knew the answer."""
    if not correct:
        return Rating.Again
    return Rating.Hard if hard or elapsed_ms > SLOW_MS else Rating.Good


def review(card_json: str | None, rating: Rating, at: datetime) -> tuple[str, datetime]:
    """The card after this answer (as stored JSON) and when it is due again."""
    # A card id is required: without one fsrs.Card sleeps 1 ms to make ids unique, which would
    # stall the event loop. Cards are keyed by (member, question) in the database anyway.
    card = Card.from_dict(json.loads(card_json)) if card_json else Card(card_id=0, due=at)
    card, _ = _SCHEDULER.review_card(card, rating, review_datetime=at)
    return json.dumps(card.to_dict()), card.due


def pick_question(
    candidates: list[str], cards: dict[str, tuple[int, str]], now: int, rng: random.Random
) -> tuple[str, str] | None:
    """The next practice question among ``candidates`` and why: "due", "new" or "early".

    A question due for review comes first (the most overdue); then one never practised (at
    random); then, when everything is practised and nothing is due, the one due soonest.
    """
    if not candidates:
        return None
    due = [(cards[q][0], q) for q in candidates if q in cards and cards[q][0] <= now]
    if due:
        return min(due)[1], "due"
    fresh = [q for q in candidates if q not in cards]
    if fresh:
        return rng.choice(fresh), "new"
    return min((cards[q][0], q) for q in candidates)[1], "early"
