"""check-content: the shipped content passes; each class of error is caught on crafted files."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from bot.app import check_content
from bot.config import SHIPPED_CONTENT, SHIPPED_QUIZZES, load_settings

from .test_console import run_bot

QUESTION = """\
  - id: {id}
    strand: tu_tuong
    text: "{text}"
    options: ["Quảng trường Ba Đình", "Tân Trào", "Pác Bó", "Bến Nhà Rồng"]
    answer: {answer}
    explanation: "Ngày 2/9/1945, Bác đọc Tuyên ngôn Độc lập tại Quảng trường Ba Đình."
    source: "{source}"
    tags: [{tags}]
    dates: [{dates}]
    difficulty: 1
"""


def question(**values: str) -> str:
    defaults = {
        "id": "q-x-001",
        "text": "Bản Tuyên ngôn Độc lập được đọc tại đâu?",
        "answer": "A",
        "source": "Tuyên ngôn Độc lập, 2/9/1945",
        "tags": "doc-lap",
        "dates": '"2/9"',
    }
    return QUESTION.format(**{**defaults, **values})


@pytest.fixture
def content(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the shipped content and banks to break."""
    folder, quizzes = tmp_path / "content", tmp_path / "quizzes"
    shutil.copytree(SHIPPED_CONTENT, folder)
    shutil.copytree(SHIPPED_QUIZZES, quizzes)
    return folder, quizzes


def findings(env: dict, content: tuple[Path, Path]) -> tuple[list[str], list[str]]:
    folder, quizzes = content
    settings = load_settings(
        None,
        environ={**env, "BOT_CONTENT_DIR": str(folder), "BOT_CONTENT_QUIZZES_DIR": str(quizzes)},
    )
    report = check_content(settings)
    return [str(f) for f in report.errors], [str(f) for f in report.warnings]


def add_bank(content, text: str, name: str = "extra.yaml") -> Path:
    path = content[1] / name
    path.write_text("questions:\n" + text, encoding="utf-8")
    return path


def test_the_shipped_content_has_no_errors(env):
    result = run_bot(env, "check-content")
    assert result.returncode == 0, result.stdout
    assert result.stderr.strip().startswith("0 error(s)")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (question(answer="E"), "answer E is not among the 4 options"),
        (question(source=""), "missing 'source'"),
        (question(dates='"31/4"'), "'31/4' is not a day of the year"),
        (question(text="x" * 301), "at most 300 allowed"),
        (question().replace("difficulty: 1", "dificulty: 1"), "unknown field 'dificulty'"),
        (
            question().replace('"Tân Trào"', '"Tất cả các phương án trên"'),
            "refers to other options",
        ),
    ],
)
def test_each_kind_of_error_in_a_question_is_reported_at_its_line(env, content, bad, message):
    path = add_bank(content, bad)
    errors, _ = findings(env, content)
    assert any(e.startswith(f"{path}:") and message in e for e in errors), errors


def test_duplicate_ids_are_reported(env, content):
    add_bank(content, question() + question(text="Một câu hỏi khác hẳn về Pác Bó?"))
    errors, _ = findings(env, content)
    assert any(
        "extra.yaml:12: duplicate question id 'q-x-001' (extra.yaml:2)" in e for e in errors
    )


def test_near_duplicate_questions_are_reported(env, content):
    path = add_bank(
        content,
        question(id="q-x-001")
        + question(id="q-x-002", text="Bản Tuyên ngôn Độc lập được đọc ở đâu?"),
    )
    errors, _ = findings(env, content)
    assert any(
        e.startswith(f"{path}:12:") and "'q-x-002' nearly repeats 'q-x-001'" in e for e in errors
    ), errors


def test_unknown_tags_and_plan_entries(env, content):
    folder = content[0]
    (folder / "tags.yaml").write_text("tags:\n  doc-lap: Độc lập\n", encoding="utf-8")
    add_bank(content, question(tags="doc-lap, khong-co"))
    (folder / "plan.yaml").write_text("order: [tt-khong-co-gi-quy-hon-doc-lap, khong-co]\n")
    errors, _ = findings(env, content)
    assert any("tag 'khong-co' is not in tags.yaml" in e for e in errors), errors
    assert any(e.startswith(f"{folder / 'plan.yaml'}:1:") and "'khong-co'" in e for e in errors)


def copied_lesson(content) -> str:
    original = (content[0] / "lessons" / "tu_tuong.yaml").read_text(encoding="utf-8")
    first = original.split("\n  - id: ", 2)[1]
    return "lessons:\n  - id: " + first.replace(first.split("\n", 1)[0], "tt-ban-sao", 1)


def test_a_lesson_on_a_day_that_does_not_exist(env, content):
    lesson = copied_lesson(content)
    bad = lesson.replace('dates: ["2/9", "30/4"]', 'dates: ["30/2"]')
    assert bad != lesson
    (content[0] / "lessons" / "copy.yaml").write_text(bad, encoding="utf-8")
    errors, _ = findings(env, content)
    assert any("copy.yaml" in e and "'30/2' is not a day of the year" in e for e in errors)


def test_a_near_copy_of_a_lesson(env, content):
    (content[0] / "lessons" / "copy.yaml").write_text(copied_lesson(content), encoding="utf-8")
    errors, _ = findings(env, content)
    assert any("nearly repeats" in e and "tt-ban-sao" in e for e in errors), errors


def test_warnings_do_not_fail_and_name_the_calendar_line(env, content):
    texts = [
        "Thủ đô của nước ta tên là gì?",
        "Bến cảng nào gắn với ngày 5/6/1911?",
        "Hang Cốc Bó thuộc tỉnh nào?",
        "Cây đa nổi tiếng ở đâu?",
        "Nhà sàn của Bác nằm trong khu di tích nào?",
        "Làng Sen thuộc huyện nào?",
        "Chiến thắng năm 1954 diễn ra tại đâu?",
        "Quảng trường lớn nhất thủ đô mang tên gì?",
        "Tỉnh nào có Khu di tích Kim Liên?",
    ]
    add_bank(
        content,
        "".join(
            question(id=f"q-x-{n:03d}", text=t).replace('"Quảng trường Ba Đình"', f'"Đáp án {t}"')
            for n, t in enumerate(texts)
        ),
    )
    errors, warnings = findings(env, content)
    assert not errors
    assert any("extra.yaml:1:" in w and "9 of 9 right answers are A" in w for w in warnings)
    assert all(":0:" not in w for w in warnings)


def test_the_command_prints_file_line_message_and_exits_1(env, content):
    path = add_bank(content, question(answer="Z"))
    result = run_bot(
        {**env, "BOT_CONTENT_DIR": str(content[0]), "BOT_CONTENT_QUIZZES_DIR": str(content[1])},
        "check-content",
    )
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if "answer 'Z'" in line)
    assert line.startswith(f"{path}:") and textwrap.shorten(line, 400)


async def test_reloading_takes_valid_content_and_keeps_the_old_on_errors(env, content, clock):
    from bot.app import open_app

    from .conftest import Chat

    folder, quizzes = content
    settings = load_settings(
        None,
        environ={**env, "BOT_CONTENT_DIR": str(folder), "BOT_CONTENT_QUIZZES_DIR": str(quizzes)},
    )
    async with open_app(settings, clock=clock) as app:
        before = len(app.services.questions)
        admin = Chat(app, "admin")
        add_bank(content, question(id="q-moi-001", text="Một câu hỏi hoàn toàn mới về Pác Bó?"))
        await admin.send("/napnoidung")
        assert "Đã nạp lại nội dung" in admin.text
        assert len(app.services.questions) == before + 1
        add_bank(content, question(id="q-moi-002", answer="G"), name="broken.yaml")
        await admin.send("/napnoidung")
        assert "chưa được nạp" in admin.text and "broken.yaml" in admin.text
        assert len(app.services.questions) == before + 1  # the old content stays
        member = Chat(app, "u1")
        await member.send("/napnoidung")
        assert "không có quyền" in member.text
