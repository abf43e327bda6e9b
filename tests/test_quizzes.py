"""Practice, contests and the calendar through the conversation core (console channel)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from bot.content.quizzes import LETTERS

from .conftest import Chat, render_push, rows

# -- helpers ----------------------------------------------------------------------------------


def dialog_data(app, user: str) -> dict:
    (data,) = rows(
        app, "SELECT data FROM dialogs WHERE channel = 'console' AND external_id = ?", user
    )[0]
    return json.loads(data)


def practice_letter(app, user: str, *, right: bool) -> str:
    """The letter of a right (or a wrong) option of the practice question on screen."""
    data = dialog_data(app, user)
    question = app.services.questions.get(data["q"])
    for shown, option in enumerate(data["order"]):
        if question.is_correct(option) == right:
            return LETTERS[shown]
    raise AssertionError("no such option")


def contest_letter(app, user: str, *, right: bool) -> str:
    """The letter of a right (or wrong) option of the contest question on screen."""
    data = dialog_data(app, user)
    (layout,) = rows(app, "SELECT layout FROM contest_attempts WHERE id = ?", data["att"])[0]
    question_id, order = json.loads(layout)[data["pos"]]
    question = app.services.questions.get(question_id)
    for shown, option in enumerate(order):
        if question.is_correct(option) == right:
            return LETTERS[shown]
    raise AssertionError("no such option")


async def press_letter(chat: Chat, letter: str) -> None:
    reply = chat.last_with_choices()
    index = [c.label for c in reply.choices].index(letter)
    await chat.press_token(reply.token(index))


async def run_minute_jobs(app) -> None:
    for job in app.conversation.router.minute_jobs:
        await job()


async def launch_contest(admin: Chat, *, questions: str = "5", extra=()) -> int:
    await admin.send("/cuocthi")
    await admin.press("tạo cuộc thi")
    await admin.send("Tìm hiểu Ngày sinh Chủ tịch Hồ Chí Minh")
    await admin.press("tư tưởng")
    while f"mỗi vòng: {questions}" not in " ".join(
        c.label.lower() for c in admin.last_with_choices().choices
    ):
        await admin.press("số câu")
    for label in extra:
        await admin.press(label)
    await admin.press("phát động")
    assert "Đã phát động" in admin.text, admin.text
    return rows(admin.app, "SELECT max(id) FROM contests")[0][0]


@pytest.fixture
async def admin(app) -> Chat:
    return Chat(app, "admin")


@pytest.fixture
async def member(app) -> Chat:
    chat = Chat(app, "u1")
    await chat.register()
    return chat


# -- practice ---------------------------------------------------------------------------------


async def test_practice_gives_feedback_and_brings_a_missed_question_back(app, member, clock):
    await member.send("/ontap")
    await member.press("tư tưởng")
    first = dialog_data(app, "u1")["q"]
    assert "A." in member.text and "B." in member.text
    await press_letter(member, practice_letter(app, "u1", right=False))
    assert "Chưa đúng" in member.text and "Nguồn:" in member.text
    assert rows(app, "SELECT kind, ref FROM activity WHERE kind = 'practice_answer'") == [
        ("practice_answer", first)
    ]
    (lapses, due) = rows(app, "SELECT lapses, due FROM practice_cards")[0]
    assert lapses == 1 and due - int(clock.now().timestamp()) <= 600

    await member.press("câu tiếp")
    second = dialog_data(app, "u1")["q"]
    assert second != first
    await press_letter(member, practice_letter(app, "u1", right=True))
    assert "Chính xác" in member.text

    clock.advance(minutes=5)  # a miss is due again after a minute, a new right one after ten
    await member.send("/ontap")
    await member.press("ôn lại câu đến hạn (1)")
    assert "Ôn lại" in member.text
    assert dialog_data(app, "u1")["q"] == first


async def test_practice_refuses_forged_and_repeated_answers(app, member):
    await member.send("/ontap")
    await member.press("đạo đức")
    reply = member.last_with_choices()
    await member.press_token(reply.token(0))
    await member.press_token(reply.token(0))  # a double tap
    assert "hết hiệu lực" in member.text
    await member.press_token("zzzz.1")
    assert "hết hiệu lực" in member.text
    assert rows(app, "SELECT count(*) FROM activity WHERE kind = 'practice_answer'") == [(1,)]


async def test_a_typed_letter_answers_and_other_text_is_explained(app, member):
    await member.send("/ontap")
    await member.press("phong cách")
    await member.send("mình không biết")
    assert "chữ cái từ A đến" in member.text
    await member.send(practice_letter(app, "u1", right=True).lower())
    assert "Chính xác" in member.text


# -- contests ---------------------------------------------------------------------------------


async def test_a_contest_from_launch_to_ranked_results(app, admin, member, clock):
    other = Chat(app, "u2")
    await other.register(name="Trần Thị Bình", code="HA-TAY")
    contest_id = await launch_contest(admin)
    notices = rows(app, "SELECT external_id FROM outbox WHERE kind = 'contest_notice'")
    assert sorted(notices) == [("u1",), ("u2",)]
    notice = await render_push(app, "contest_notice", "u1")
    assert notice[0].choices[0].key == f"/cuocthi {contest_id}"

    # u1: every answer right, 10 s per question, predicts 1.
    await member.send(f"/cuocthi {contest_id}")
    await member.press("vào thi")
    await member.press("bắt đầu")
    for _ in range(5):
        clock.advance(seconds=10)
        await press_letter(member, contest_letter(app, "u1", right=True))
    await member.send("khoảng 1 người")
    assert "đúng 5/5" in member.text and "0:50,00" in member.text

    # u2: one wrong answer, faster.
    await other.send(f"/cuocthi {contest_id}")
    await other.press("vào thi")
    await other.press("bắt đầu")
    for n in range(5):
        clock.advance(seconds=2)
        await press_letter(other, contest_letter(app, "u2", right=n > 0))
    await other.send("1.200")
    assert "đúng 4/5" in other.text

    # One attempt allowed: a second entry is refused.
    await member.send(f"/cuocthi {contest_id}")
    assert "hết 1 lần dự thi" in member.text

    answers = rows(
        app,
        "SELECT answered_ms - shown_ms FROM contest_answers a JOIN contest_attempts t"
        " ON t.id = a.attempt_id WHERE t.member_id = (SELECT id FROM members"
        " WHERE full_name = 'Nguyễn Văn An') ORDER BY position",
    )
    assert answers == [(10_000,)] * 5

    clock.advance(days=1)
    await run_minute_jobs(app)
    results = rows(app, "SELECT rank, correct, distance FROM contest_results ORDER BY rank")
    assert results == [(1, 5, 0), (2, 4, 1199)]
    assert rows(app, "SELECT actual FROM contest_rounds") == [(1,)]

    pushed = await render_push(app, "contest_result", "u1")
    assert "xếp thứ 1/2" in pushed[0].text
    summary = await render_push(app, "contest_summary", "admin")
    assert "Nguyễn V. An" in summary[0].text
    book = load_workbook(io.BytesIO(summary[1].document.content))
    ranking = book["Xếp hạng"]
    first = [cell.value for cell in ranking[3]]
    assert [first[0], first[1], first[4]] == [1, "Nguyễn Văn An", 5]
    assert first[8].startswith("10/05/2026 08:00:50")  # submitted, local time to the millisecond
    assert ranking[4][1].value == "Trần Thị Bình"

    # Closing again changes nothing.
    await run_minute_jobs(app)
    assert len(rows(app, "SELECT * FROM contest_results")) == 2


async def test_answers_after_the_close_or_beyond_the_limit_do_not_count(app, admin, member, clock):
    contest_id = await launch_contest(admin, extra=["thời gian mỗi câu"])  # 30 s
    await member.send(f"/cuocthi {contest_id}")
    await member.press("vào thi")
    await member.press("bắt đầu")
    clock.advance(seconds=31)
    await press_letter(member, contest_letter(app, "u1", right=True))
    assert "Quá 30 giây" in member.text
    assert rows(app, "SELECT correct, late FROM contest_answers") == [(0, 1)]

    clock.advance(days=2)
    await press_letter(member, contest_letter(app, "u1", right=True))
    assert "đã đóng" in member.text
    assert rows(app, "SELECT count(*) FROM contest_answers") == [(1,)]


async def test_a_double_tap_records_one_answer_and_a_stale_button_nothing(app, admin, member):
    contest_id = await launch_contest(admin)
    await member.send(f"/cuocthi {contest_id}")
    await member.press("vào thi")
    begin = member.last_with_choices()
    await member.press("bắt đầu")
    await member.press_token(begin.token(0))  # "Bắt đầu" again
    assert rows(app, "SELECT count(*) FROM contest_attempts") == [(1,)]
    question = member.last_with_choices()
    await member.press_token(question.token(0))
    await member.press_token(question.token(0))
    assert "hết hiệu lực" in member.text
    assert rows(app, "SELECT count(*) FROM contest_answers") == [(1,)]


async def test_a_prediction_must_be_a_clear_number(app, admin, member, clock):
    contest_id = await launch_contest(admin)
    await member.send(f"/cuocthi {contest_id}")
    await member.press("vào thi")
    await member.press("bắt đầu")
    for _ in range(5):
        await press_letter(member, contest_letter(app, "u1", right=True))
    await member.send("khoảng 1000 - 1200")
    assert "chưa phải một con số" in member.text
    assert rows(app, "SELECT submitted_ms FROM contest_attempts") == [(None,)]
    await member.send("1,200 người")
    assert rows(app, "SELECT prediction FROM contest_attempts") == [(1200,)]


async def test_members_cannot_create_and_outsiders_cannot_see(app, admin, member):
    await member.send("/cuocthi")
    assert all("tạo" not in c.label.lower() for r in member.replies for c in r.choices)
    await member.send("/cuocthi ngayle:sinh-nhat-bac")
    assert "không có quyền" in member.text
    contest_id = await launch_contest(admin, extra=["đổi đơn vị"])  # DEMO → DEMO.HA
    outsider = Chat(app, "u3")
    await outsider.register(name="Võ Thị Bốn", code="BS-KP1")
    await outsider.send(f"/cuocthi {contest_id}")
    assert "Không tìm thấy" in outsider.text


async def test_a_contest_with_too_few_questions_is_refused(app, admin):
    await admin.send("/cuocthi")
    await admin.press("tạo cuộc thi")
    await admin.send("Cuộc thi quá nhiều vòng")
    await admin.send("ba-dinh")  # a topic with few questions
    available = len(app.services.questions.select(tags=["ba-dinh"]))
    assert available < 40  # what this test needs of the shipped banks
    for _ in range(3):  # 4 rounds of 10 questions
        await admin.press("số vòng")
    await admin.press("phát động")
    assert "Không đủ câu hỏi: cần 40 câu khác nhau" in admin.text
    assert rows(app, "SELECT count(*) FROM contests") == [(0,)]


async def test_a_ready_contest_is_offered_before_a_date_and_launched_in_one_press(
    app, admin, clock
):
    clock.set(datetime(2026, 5, 9, 1, 0, tzinfo=UTC))  # 08:00 on 9/5, ten days before 19/5
    await run_minute_jobs(app)
    await run_minute_jobs(app)  # a second pass queues nothing more
    assert rows(app, "SELECT count(*) FROM outbox WHERE kind = 'contest_offer'") == [(1,)]
    offer = await render_push(app, "contest_offer", "admin")
    assert "19/5/2026" in offer[0].text
    await admin.send(offer[0].choices[0].key)
    assert "136 năm" in admin.text
    await admin.press("phát động")
    assert "Đã phát động" in admin.text
    (pool,) = rows(app, "SELECT pool FROM contests")[0]
    assert json.loads(pool)["date"] == "19/5"
    (closes,) = rows(app, "SELECT closes_at FROM contest_rounds")[0]
    assert closes == int(datetime(2026, 5, 19, 17, 0, tzinfo=UTC).timestamp())  # 0:00 on 20/5


async def test_coming_dates_are_listed(app, member):
    await member.send("/ngayle")
    assert "19/5/2026" in member.text and "còn 9 ngày" in member.text


async def finish_attempt(app, chat: Chat, contest_id: int, *, right: bool, guess: str = "1"):
    await chat.send(f"/cuocthi {contest_id}")
    await chat.press("vào thi")
    await chat.press("bắt đầu")
    for _ in range(5):
        await press_letter(chat, contest_letter(app, chat.user_id, right=right))
    await chat.send(guess)
    assert "Đã nộp bài" in chat.text, chat.text


async def test_an_organizer_sees_the_results_of_their_subtree_only(app, admin, member, clock):
    far = Chat(app, "u3")
    await far.register(name="Võ Thị Bốn", code="BS-KP1")
    organizer = Chat(app, "org")
    await organizer.register(name="Lê Văn Tổ", code="HOA-AN")
    member_id = rows(app, "SELECT id FROM members WHERE full_name = 'Lê Văn Tổ'")[0][0]
    await app.store.grant(member_id, "DEMO.HA", actor="test", now=0)

    contest_id = await launch_contest(admin)  # the whole province
    await finish_attempt(app, member, contest_id, right=False)
    await finish_attempt(app, far, contest_id, right=True)
    clock.advance(days=1, minutes=1)
    await run_minute_jobs(app)

    await organizer.send(f"/cuocthi {contest_id}")
    await organizer.press("kết quả vòng 1")
    text = organizer.replies[0].text
    assert "Nguyễn V. An" in text and "Võ T. Bốn" not in text
    assert "Phạm vi: Đảng bộ xã Hòa An" in text
    book = load_workbook(io.BytesIO(organizer.replies[1].document.content))
    names = [row[1].value for row in book["Xếp hạng"].iter_rows(min_row=3)]
    assert names == ["Nguyễn Văn An"]

    # The member sees the whole ranking (shortened names) and their place in their own unit.
    result = await render_push(app, "contest_result", "u1")
    assert "xếp thứ 2/2" in result[0].text and "Trong Chi bộ thôn Đông" in result[0].text
    await member.send(f"/cuocthi {contest_id}")
    await member.press("kết quả vòng 1")
    assert "Võ T. Bốn" in member.text and len(member.replies) == 1  # no workbook for members


async def test_an_erased_member_stays_in_the_ranking_anonymously(app, admin, member, clock):
    contest_id = await launch_contest(admin)
    await finish_attempt(app, member, contest_id, right=True)
    await member.send("/xoadulieu")
    await member.press("Xóa vĩnh viễn")
    assert rows(app, "SELECT member_id FROM contest_attempts") == [(None,)]
    clock.advance(days=1, minutes=1)
    await run_minute_jobs(app)
    assert rows(app, "SELECT rank, member_id, correct FROM contest_results") == [(1, None, 5)]
    assert rows(app, "SELECT count(*) FROM outbox WHERE kind = 'contest_result'") == [(0,)]
    summary = await render_push(app, "contest_summary", "admin")
    assert "(đã xóa)" in summary[0].text


async def test_an_attempt_left_half_way_resumes_where_it_stopped(app, admin, member, clock):
    contest_id = await launch_contest(admin)
    await member.send(f"/cuocthi {contest_id}")
    await member.press("vào thi")
    await member.press("bắt đầu")
    await press_letter(member, contest_letter(app, "u1", right=True))
    await press_letter(member, contest_letter(app, "u1", right=True))
    await member.send("/huy")
    await member.send(f"/cuocthi {contest_id}")
    await member.press("làm tiếp")
    assert "Câu 3/5" in member.text
    for _ in range(3):
        await press_letter(member, contest_letter(app, "u1", right=True))
    await member.send("2")
    assert "đúng 5/5" in member.text
    assert rows(app, "SELECT count(*) FROM contest_attempts") == [(1,)]


async def test_a_contest_can_draw_from_one_bank_or_a_typed_topic(app, admin):
    await admin.send("/cuocthi")
    await admin.press("tạo cuộc thi")
    await admin.send("Thi theo chủ đề đoàn kết")
    await admin.send("không có chủ đề này")
    assert "Không có câu hỏi nào với chủ đề" in admin.text
    await admin.send("doan ket")
    assert "Chủ đề doan-ket" in admin.text
    await admin.send("/cuocthi")
    await admin.press("tạo cuộc thi")
    await admin.send("Thi theo bộ câu hỏi ngày lễ")
    await admin.press("ngay_le.yaml")
    await admin.press("phát động")
    (pool,) = rows(app, "SELECT pool FROM contests")[0]
    (questions,) = rows(app, "SELECT questions FROM contest_rounds")[0]
    assert json.loads(pool) == {"bank": "ngay_le.yaml"}
    files = {app.services.questions.get(q).file for q in json.loads(questions)}
    assert files == {"ngay_le.yaml"}
