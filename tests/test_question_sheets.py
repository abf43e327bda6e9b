"""Question sheets: a bank to XLSX and back, and the rows an organizer's sheet gets wrong."""

from __future__ import annotations

import io

import yaml
from openpyxl import Workbook, load_workbook

from bot.config import SHIPPED_QUIZZES
from bot.content.quizzes import load_questions
from bot.content.sheets import question_sheet, read_question_sheet

from .test_console import run_bot


def sheet(rows: list[list]) -> bytes:
    book = Workbook()
    book.active.append(["Câu hỏi", "A", "B", "C", "D", "Đáp án", "Giải thích", "Nguồn"])
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD = [
    "Bản Tuyên ngôn Độc lập được đọc tại đâu?",
    "Quảng trường Ba Đình",
    "Tân Trào",
    "Pác Bó",
    "Bến Nhà Rồng",
    "A",
    "Ngày 2/9/1945, tại Quảng trường Ba Đình.",
    "Tuyên ngôn Độc lập, 2/9/1945",
]


def test_a_bank_goes_to_a_sheet_and_back_unchanged(tmp_path):
    bank = load_questions(SHIPPED_QUIZZES)
    chosen = [q for q in bank.questions if q.file == "ngay_le.yaml"]
    content = question_sheet(chosen)
    assert load_workbook(io.BytesIO(content)).active["B1"].value == "Câu hỏi"
    result = read_question_sheet(content, "ngay_le.xlsx", prefix="q-x")
    assert result.accepted == len(chosen) and not result.rejected and not result.problems
    (tmp_path / "bank.yaml").write_text(result.yaml_text, encoding="utf-8")
    again = load_questions(tmp_path)
    fields = (
        "id",
        "strand",
        "text",
        "options",
        "correct",
        "explanation",
        "source",
        "tags",
        "dates",
        "difficulty",
    )
    assert [tuple(getattr(q, f) for f in fields) for q in again.questions] == [
        tuple(getattr(q, f) for f in fields) for q in chosen
    ]


def test_bad_rows_are_refused_with_their_row_numbers():
    result = read_question_sheet(
        sheet(
            [
                GOOD,
                [*GOOD[:5], "E", *GOOD[6:]],  # the answer is not an option
                [*GOOD[:6], GOOD[6], ""],  # no source
                [*GOOD[:1], "=1+1", *GOOD[2:]],  # a formula
                [*GOOD[:1], "Tất cả các phương án trên", *GOOD[2:]],
                [],
                GOOD,
            ]
        ),
        "cau-hoi.xlsx",
        prefix="q-tinh",
    )
    reasons = dict(result.rejected)
    assert result.accepted == 2
    assert "answer E is not among the 4 options" in reasons[3]
    assert "missing 'source'" in reasons[4]
    assert "công thức" in reasons[5]
    assert "refers to other options" in reasons[6]
    ids = [item["id"] for item in yaml.safe_load(result.yaml_text)["questions"]]
    assert ids[0] == "q-tinh-001" and len(set(ids)) == 2


def test_files_that_cannot_be_questions():
    assert read_question_sheet(b"x", "a.txt", prefix="q").problems
    assert "Thiếu cột" in read_question_sheet(b"A,B\n1,2\n", "a.csv", prefix="q").problems[0]
    assert read_question_sheet(b"PK\x03\x04broken", "a.xlsx", prefix="q").problems


def test_the_import_and_export_commands(env, tmp_path):
    source = tmp_path / "cau-hoi.xlsx"
    source.write_bytes(sheet([GOOD, [*GOOD[:5], "Z", *GOOD[6:]]]))
    out = tmp_path / "tinh.yaml"
    result = run_bot(env, "import-questions", str(source), "--out", str(out))
    assert result.returncode == 1  # one row refused
    assert f"{source}:3:" in result.stdout and "1 questions written" in result.stdout
    assert load_questions(tmp_path).questions[0].id == "q-cau-hoi-001"
    again = run_bot(env, "import-questions", str(source), "--out", str(out))
    assert again.returncode == 2 and "exists" in again.stderr
    exported = tmp_path / "all.xlsx"
    made = run_bot(env, "export-questions", "--bank", "tu_tuong.yaml", "--out", str(exported))
    assert made.returncode == 0 and load_workbook(exported).active.max_row > 30
