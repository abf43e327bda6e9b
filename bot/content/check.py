"""``python -m bot check-content``: every check content must pass, as ``file:line: message``.

The loaders already refuse what would break the bot (schema, lengths, dates that do not exist,
answers that are not among the options, missing sources). This adds what a reviewer needs
across files: near-duplicate questions and lessons, the year plan's references, tags outside
the vocabulary, and, as warnings, unbalanced answer letters and commemorative days that have no
themed lesson or too few questions for a ready contest.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..core.text import fold
from .calendar import Commemoration
from .lessons import Lesson
from .quizzes import LETTERS, Question
from .yamlfile import ContentError, Finding, load_yaml

# Share of word pairs two items have in common above which they count as near-duplicates
# (calibrated on the shipped content: the closest distinct questions share 53%, lessons 8%).
QUESTION_SIMILARITY = 0.6
LESSON_SIMILARITY = 0.3
# A ready contest for a day wants at least this many questions tagged for it.
QUESTIONS_PER_DATE = 5


@dataclass(frozen=True)
class Report:
    """Errors stop the bot from loading the content; warnings are for the editors."""

    errors: list[Finding]
    warnings: list[Finding]


def _pairs(text: str) -> set[tuple[str, str]]:
    words = re.findall(r"\w+", fold(text))
    return set(itertools.pairwise(words))


def _similarity(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _near_duplicates(items: list, text_of, threshold: float, folder: Path, noun: str):
    """Pairs of items whose texts share at least ``threshold`` of their word pairs."""
    shingled = [(item, _pairs(text_of(item))) for item in items]
    found = []
    for (a, sa), (b, sb) in itertools.combinations(shingled, 2):
        score = _similarity(sa, sb)
        if score >= threshold:
            found.append(
                Finding(
                    folder / b.file,
                    b.line,
                    f"{noun} '{b.id}' nearly repeats '{a.id}' ({a.file}:{a.line}; "
                    f"{score:.0%} of word pairs shared)",
                )
            )
    return found


def near_duplicate_questions(questions: list[Question], folder: Path) -> list[Finding]:
    """Questions asking the same thing in nearly the same words (text and right answer)."""
    return _near_duplicates(
        questions, lambda q: f"{q.text} {q.answer_text}", QUESTION_SIMILARITY, folder, "question"
    )


def near_duplicate_lessons(lessons: list[Lesson], folder: Path) -> list[Finding]:
    """Lessons that say nearly the same thing."""
    return _near_duplicates(
        lessons,
        lambda lesson: f"{lesson.title} {lesson.body}",
        LESSON_SIMILARITY,
        folder,
        "lesson",
    )


def load_plan(path: Path) -> list[str]:
    """The lesson ids of the year plan, in order ([] without a plan file)."""
    if not path.exists():
        return []
    data = load_yaml(path)
    order = data.get("order") if isinstance(data, dict) else None
    return [str(i) for i in order] if isinstance(order, list) else []


def check_plan(path: Path, lessons: list[Lesson]) -> list[Finding]:
    """The year plan (``plan.yaml``) may only name lessons that exist, each once."""
    if not path.exists():
        return []
    try:
        data = load_yaml(path)
    except ContentError as exc:
        return exc.findings
    order = data.get("order") if isinstance(data, dict) else None
    if not isinstance(order, list):
        return [Finding(path, 1, "expected a top-level 'order:' list of lesson ids")]
    known = {lesson.id for lesson in lessons}
    findings, seen = [], set()
    line = data.line_of("order")
    for lesson_id in order:
        if lesson_id not in known:
            findings.append(Finding(path, line, f"order: unknown lesson id {lesson_id!r}"))
        elif lesson_id in seen:
            findings.append(Finding(path, line, f"order: lesson {lesson_id!r} listed twice"))
        seen.add(lesson_id)
    return findings


def check_tags(path: Path, lessons: list[Lesson], questions: list[Question], root: Path):
    """Tags used by lessons and questions must be in the vocabulary (``tags.yaml``)."""
    if not path.exists():
        return []
    try:
        data = load_yaml(path)
    except ContentError as exc:
        return exc.findings
    vocabulary = data.get("tags") if isinstance(data, dict) else None
    if not isinstance(vocabulary, dict):
        return [Finding(path, 1, "expected a top-level 'tags:' mapping of tag: description")]
    findings = []
    for item, folder in [(lesson, root / "lessons") for lesson in lessons] + [
        (q, root.parent / "quizzes") for q in questions
    ]:
        for tag in item.tags:
            if tag not in vocabulary:
                findings.append(
                    Finding(
                        folder / item.file,
                        item.line,
                        f"'{item.id}': tag '{tag}' is not in {path.name} (add it there, or use "
                        "an existing one)",
                    )
                )
    return findings


def balance_warnings(questions: list[Question], folder: Path) -> list[Finding]:
    """Files whose right answers pile up on one letter (members learn to guess it)."""
    warnings = []
    by_file: dict[str, Counter] = {}
    for q in questions:
        by_file.setdefault(q.file, Counter())[LETTERS[min(q.correct)]] += 1
    for file, letters in by_file.items():
        total = sum(letters.values())
        top, count = letters.most_common(1)[0]
        if total >= 8 and count > total * 0.4:
            warnings.append(
                Finding(folder / file, 1, f"{count} of {total} right answers are {top}")
            )
    return warnings


def calendar_warnings(
    calendar: list[Commemoration], lessons: list[Lesson], questions: list[Question], path: Path
) -> list[Finding]:
    """Days without a themed lesson, or with too few questions for a ready contest."""
    warnings = []
    for entry in calendar:
        themed = sum(entry.key in lesson.dates for lesson in lessons)
        tagged = sum(entry.key in q.dates for q in questions)
        if not themed:
            warnings.append(
                Finding(path, entry.line, f"{entry.key} ({entry.id}): no lesson tagged for it")
            )
        if tagged < QUESTIONS_PER_DATE:
            warnings.append(
                Finding(
                    path,
                    entry.line,
                    f"{entry.key} ({entry.id}): {tagged} questions tagged for it; a ready contest"
                    f" takes the rest from other banks (at least {QUESTIONS_PER_DATE} advised)",
                )
            )
    return warnings
