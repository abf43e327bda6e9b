"""Contest ranking, the Vietnamese way, fully deterministic.

Order: most correct answers → smallest distance between the tie-break prediction and the actual
number → shortest completion time → earliest submission → lowest attempt id (only equal when two
attempts were submitted in the same millisecond: the one stored first wins).

With several attempts allowed, a member's best attempt by that same order counts, and a member
counts once. The actual number is computed at close from the counted entries: how many members
answered every question correctly ("all_correct") or how many entered at all ("entrants").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ALL_CORRECT, ENTRANTS = "all_correct", "entrants"
TIEBREAKS = (ALL_CORRECT, ENTRANTS)


@dataclass(frozen=True)
class Entry:
    """One submitted attempt. ``person`` identifies the member (an erased one keeps a stand-in)."""

    attempt_id: int
    person: int
    correct: int
    prediction: int | None
    duration_ms: int
    submitted_ms: int


@dataclass(frozen=True)
class Ranked:
    """An entry with its place (1 = first) and its distance to the actual number."""

    rank: int
    entry: Entry
    distance: int | None


def _key(entry: Entry, actual: int) -> tuple:
    distance = abs(entry.prediction - actual) if entry.prediction is not None else float("inf")
    return (-entry.correct, distance, entry.duration_ms, entry.submitted_ms, entry.attempt_id)


def actual_number(entries: Iterable[Entry], tiebreak: str, questions: int) -> int:
    """The number predictions are compared with, from every submitted attempt."""
    entries = list(entries)
    if tiebreak == ENTRANTS:
        return len({e.person for e in entries})
    if tiebreak == ALL_CORRECT:
        return len({e.person for e in entries if e.correct >= questions})
    raise ValueError(f"unknown tie-break {tiebreak!r}")


def rank(entries: Iterable[Entry], actual: int) -> list[Ranked]:
    """Each member's best attempt, in final order, numbered from 1 (no shared places)."""
    best: dict[int, tuple[tuple, Entry]] = {}
    for entry in entries:
        key = _key(entry, actual)
        held = best.get(entry.person)
        if held is None or key < held[0]:
            best[entry.person] = (key, entry)
    ordered = sorted(best.values(), key=lambda pair: pair[0])
    return [
        Ranked(place, entry, None if key[1] == float("inf") else key[1])
        for place, (key, entry) in enumerate(ordered, 1)
    ]
