"""Question banks to and from spreadsheets, laid out the way organizers write question sheets.

Columns (Vietnamese or English headers, any order): câu hỏi, A, B, C, D (E, F optional), đáp án
(the letter), giải thích, nguồn; optional: mã (id), mạch (strand), thẻ (tags, comma separated),
ngày (days like 19/5, comma separated), độ khó (1–3). Every row is checked with the bank loader
itself, so a sheet is accepted exactly when the YAML it becomes would load; refused rows are
reported with their row number and reason, in Vietnamese.
"""

from __future__ import annotations

import io
import re
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import yaml
from openpyxl import Workbook
from openpyxl.styles import Font

from ..documents.contest_results import safe_text
from ..tables import (
    Say,
    TableError,
    cell_text,
    csv_rows,
    find_columns,
    is_formula,
    vietnamese,
    xlsx_rows,
)
from .quizzes import LETTERS, Question, load_questions
from .yamlfile import ContentError

HEADERS = {
    "id": ("id", "ma", "macauhoi"),
    "text": ("cauhoi", "noidungcauhoi", "question", "text"),
    "A": ("a", "phuongana", "dapana"),
    "B": ("b", "phuonganb", "dapanb"),
    "C": ("c", "phuonganc", "dapanc"),
    "D": ("d", "phuongand", "dapand"),
    "E": ("e", "phuongane", "dapane"),
    "F": ("f", "phuonganf", "dapanf"),
    "answer": ("dapandung", "dapan", "answer", "correct"),
    "explanation": ("giaithich", "explanation"),
    "source": ("nguon", "source"),
    "strand": ("mach", "strand"),
    "tags": ("the", "tags", "chude"),
    "dates": ("ngay", "ngaykyniem", "dates"),
    "difficulty": ("dokho", "difficulty", "muc"),
}
REQUIRED = ("text", "A", "B", "answer", "explanation", "source")
MAX_BYTES = 10_000_000
_LIST = re.compile(r"[,;]\s*")


@dataclass(frozen=True)
class SheetResult:
    """What a sheet turned into: a YAML bank (when any row passed) and the refused rows."""

    yaml_text: str
    accepted: int
    rejected: tuple[tuple[int, str], ...]
    problems: tuple[str, ...]


def _label(say: Say, field: str) -> str:
    return field if len(field) == 1 else say(f"col_{field}")


def read_question_sheet(
    content: bytes, filename: str, *, prefix: str, strand: str = "tu_tuong", say: Say = vietnamese
) -> SheetResult:
    """Turn a CSV or XLSX question sheet into a bank (ids ``<prefix>-001`` … when none given)."""
    if len(content) > MAX_BYTES:
        return SheetResult("", 0, (), (say("too_large", limit=MAX_BYTES // 1_000_000),))
    extension = Path(filename).suffix.lower()
    if extension not in (".csv", ".xlsx"):
        return SheetResult("", 0, (), (say("only_csv_xlsx"),))
    try:
        if extension == ".csv":
            table = list(csv_rows(content))
        else:
            with closing(xlsx_rows(content)) as rows:
                table = list(rows)
    except TableError as error:
        return SheetResult("", 0, (), (say(error.key, **error.values),))
    items, rejected = [], []
    columns: dict[str, int] | None = None
    for line, cells in table:
        if columns is None:
            if not any(cell_text(c) for c in cells):
                continue
            columns = find_columns(cells, HEADERS)
            missing = [_label(say, f) for f in REQUIRED if f not in columns]
            if missing:
                problem = say("missing_columns", columns=", ".join(missing), line=line)
                return SheetResult("", 0, (), (problem,))
            continue
        values = {f: cells[i] if i < len(cells) else None for f, i in columns.items()}
        if not any(cell_text(v) for v in values.values()):
            continue
        if any(is_formula(v) for v in values.values()):
            rejected.append((line, say("formula_paste")))
            continue
        item = _item(values, len(items) + len(rejected) + 1, prefix, strand)
        reason = _row_problem(item)
        if reason:
            rejected.append((line, reason))
        else:
            items.append(item)
    if columns is None:
        return SheetResult("", 0, (), (say("no_data"),))
    text = yaml.safe_dump({"questions": items}, allow_unicode=True, sort_keys=False, width=100)
    return SheetResult(text if items else "", len(items), tuple(rejected), ())


def _item(values: dict, number: int, prefix: str, strand: str) -> dict:
    text = {field: cell_text(value) for field, value in values.items()}
    options = [text[letter] for letter in LETTERS if text.get(letter)]
    answer = [a for a in _LIST.split(text.get("answer", "").upper()) if a]
    difficulty = text.get("difficulty") or "2"
    return {
        "id": text.get("id") or f"{prefix}-{number:03d}",
        "strand": text.get("strand") or strand,
        "text": text.get("text", ""),
        "options": options,
        "answer": answer[0] if len(answer) == 1 else answer,
        "explanation": text.get("explanation", ""),
        "source": text.get("source", ""),
        "tags": [t for t in _LIST.split(text.get("tags", "")) if t],
        "dates": [d for d in _LIST.split(text.get("dates", "")) if d],
        "difficulty": int(difficulty) if difficulty.isdigit() else difficulty,
    }


def _row_problem(item: dict) -> str:
    """The loader's own verdict on one row: '' when it would load."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "row.yaml"
        path.write_text(
            yaml.safe_dump({"questions": [item]}, allow_unicode=True), encoding="utf-8"
        )
        try:
            load_questions(Path(folder))
        except ContentError as exc:
            return "; ".join(f.message.split(": ", 1)[-1] for f in exc.findings)
    return ""


def question_sheet(questions: list[Question], say: Say = vietnamese) -> bytes:
    """A bank as an XLSX sheet in the same layout (what ``import-questions`` reads back)."""
    book = Workbook()
    sheet = book.active
    sheet.title = say("questions_sheet")
    letters = list(LETTERS[: max(len(q.options) for q in questions)]) if questions else []
    header = [_label(say, "id"), _label(say, "text"), *letters] + [
        _label(say, f)
        for f in ("answer", "explanation", "source", "strand", "tags", "dates", "difficulty")
    ]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for q in questions:
        options = list(q.options) + [""] * (len(letters) - len(q.options))
        sheet.append(
            [safe_text(v) for v in (q.id, q.text, *options)]
            + [
                ", ".join(LETTERS[i] for i in sorted(q.correct)),
                safe_text(q.explanation),
                safe_text(q.source),
                q.strand,
                ", ".join(q.tags),
                ", ".join(q.dates),
                q.difficulty,
            ]
        )
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
