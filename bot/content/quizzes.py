"""Question banks: multiple-choice questions loaded from ``quizzes/*.yaml``.

The schema is documented in ``quizzes/README.md``. A question has 2–6 options and one or more
correct ones given by letter (``answer: B`` or ``answer: [A, C]``: either is accepted). Options
are shown to each member in their own shuffled order and mapped back on the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.text import fold
from .lessons import STRANDS, read_dates, read_strand, read_tags
from .yamlfile import Checker, load_folder

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}\Z")
LETTERS = "ABCDEF"
MIN_OPTIONS, MAX_OPTIONS = 2, 6
TEXT_MAX = 300
OPTION_MAX = 100
EXPLANATION_MAX = 400
SOURCE_MAX = 200
DIFFICULTIES = (1, 2, 3)
FIELDS = {
    "id",
    "strand",
    "text",
    "options",
    "answer",
    "explanation",
    "source",
    "tags",
    "dates",
    "difficulty",
}
# Options that point at other options ("all of the above") break when options are shuffled.
_CATCH_ALL = tuple(
    fold(phrase)
    for phrase in (
        "tất cả",
        "cả hai",
        "cả ba",
        "cả a",
        "cả b",
        "không phương án nào",
        "không có phương án nào",
        "các phương án trên",
        "các đáp án trên",
        "all of the above",
        "none of the above",
    )
)


@dataclass(frozen=True)
class Question:
    """One question; ``correct`` holds the indexes of the accepted options, in file order."""

    id: str
    strand: str
    text: str
    options: tuple[str, ...]
    correct: frozenset[int]
    explanation: str
    source: str
    tags: tuple[str, ...]
    dates: tuple[str, ...]
    difficulty: int
    file: str
    line: int

    def is_correct(self, option: int) -> bool:
        """Whether the option at ``option`` (file order) is an accepted answer."""
        return option in self.correct

    @property
    def answer_text(self) -> str:
        """The (first) correct option, for feedback."""
        return self.options[min(self.correct)]


class QuestionBank:
    """Every loaded question, with the selections practice and contests make."""

    def __init__(self, questions: Sequence[Question]) -> None:
        self.questions = tuple(questions)
        self.by_id = {q.id: q for q in self.questions}

    def __len__(self) -> int:
        return len(self.questions)

    def get(self, question_id: str) -> Question | None:
        """The question with this id (None when a bank no longer has it)."""
        return self.by_id.get(question_id)

    def select(
        self, *, strand: str = "", date: str = "", tags: Iterable[str] = (), bank: str = ""
    ) -> list[Question]:
        """Questions of a strand, for a day ("19/5"), with any of ``tags``, from one bank file
        ("ngay_le.yaml"); every question when nothing is asked for."""
        wanted = set(tags)
        return [
            q
            for q in self.questions
            if (not strand or q.strand == strand)
            and (not date or date in q.dates)
            and (not wanted or wanted & set(q.tags))
            and (not bank or q.file == bank)
        ]

    def banks(self) -> list[str]:
        """The bank files, in load order."""
        return list(dict.fromkeys(q.file for q in self.questions))

    def tags(self) -> set[str]:
        """Every tag in use."""
        return {t for q in self.questions for t in q.tags}

    def dates(self) -> set[str]:
        """Every commemorative day some question is tagged for."""
        return {d for q in self.questions for d in q.dates}


def load_questions(folder: Path) -> QuestionBank:
    """Every question of ``folder/*.yaml``; ContentError lists every problem found."""
    return QuestionBank(load_folder(folder, "questions", _question, "question"))


def _question(check: Checker, item, file: Path) -> Question | None:
    raw_id = item.get("id")
    label = f"question '{raw_id}'" if raw_id else f"question at line {item.line}"
    before = len(check.findings)
    check.unknown_keys(item, FIELDS, label)
    question_id = str(raw_id or "")
    if not _ID.match(question_id):
        check.add(item.line_of("id"), f"{label}: 'id' must be 2–64 of a-z, 0-9 and '-'")
    strand = read_strand(check, item, label)
    text = check.text(item, "text", label, limit=TEXT_MAX)
    options = _options(check, item, label)
    correct = _answer(check, item, label, len(options))
    explanation = check.text(item, "explanation", label, limit=EXPLANATION_MAX)
    source = check.text(item, "source", label, limit=SOURCE_MAX)
    tags = read_tags(check, item, "tags", label)
    dates = read_dates(check, item, label)
    difficulty = item.get("difficulty", 2)
    if difficulty not in DIFFICULTIES or isinstance(difficulty, bool):
        check.add(item.line_of("difficulty"), f"{label}: 'difficulty' must be 1, 2 or 3")
    if len(check.findings) > before:
        return None
    return Question(
        question_id,
        strand,
        text,
        options,
        correct,
        explanation,
        source,
        tags,
        dates,
        difficulty,
        file.name,
        item.line,
    )


def _options(check: Checker, item, label: str) -> tuple[str, ...]:
    values = item.get("options")
    line = item.line_of("options")
    if not isinstance(values, list) or not MIN_OPTIONS <= len(values) <= MAX_OPTIONS:
        check.add(line, f"{label}: 'options' must be a list of {MIN_OPTIONS} to {MAX_OPTIONS}")
        return ()
    options = []
    for letter, value in zip(LETTERS, values, strict=False):
        if not isinstance(value, str | int | float) or not str(value).strip():
            check.add(line, f"{label}: option {letter} must be non-empty text")
            continue
        text = str(value).strip()
        if len(text) > OPTION_MAX:
            check.add(
                line, f"{label}: option {letter} has {len(text)} characters, at most {OPTION_MAX}"
            )
        if any(fold(text).startswith(phrase) for phrase in _CATCH_ALL):
            check.add(
                line,
                f"{label}: option {letter} refers to other options ({text!r}); options are "
                "shuffled for each member, so write each one as a statement of its own",
            )
        options.append(text)
    if len({fold(o) for o in options}) < len(options):
        check.add(line, f"{label}: two options say the same thing")
    return tuple(options)


def _answer(check: Checker, item, label: str, count: int) -> frozenset[int]:
    value = item.get("answer")
    letters = value if isinstance(value, list) else [value]
    line = item.line_of("answer")
    if value is None or not letters:
        check.add(item.line, f"{label}: missing 'answer' (the letter of the correct option)")
        return frozenset()
    correct = set()
    for letter in letters:
        text = str(letter).strip().upper()
        if len(text) != 1 or text not in LETTERS:
            check.add(line, f"{label}: answer {letter!r} is not a letter A–F")
        elif count and LETTERS.index(text) >= count:
            check.add(line, f"{label}: answer {text} is not among the {count} options")
        else:
            correct.add(LETTERS.index(text))
    if count and len(correct) >= count:
        check.add(line, f"{label}: every option is marked correct")
    return frozenset(correct)


__all__ = ["STRANDS", "Question", "QuestionBank", "load_questions"]
