"""The rules of contests and practice as plain functions: ranking, predictions, times, review."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.content.quizzes import Question
from bot.documents.contest_results import SHEET_KEYS, results_workbook, safe_text
from bot.features.contests import choose_questions, duration_text, parse_start, short_name
from bot.quiz.prediction import parse_prediction
from bot.quiz.ranking import ALL_CORRECT, ENTRANTS, Entry, actual_number, rank
from bot.quiz.review import Rating, pick_question, rating_for, review
from bot.store.quizzes import ResultRow, Standing

# -- ranking ----------------------------------------------------------------------------------


def entry(attempt, person, correct, prediction, duration, submitted):
    return Entry(attempt, person, correct, prediction, duration, submitted)


def order(entries, actual):
    return [r.entry.attempt_id for r in rank(entries, actual)]


def test_more_correct_answers_rank_first():
    entries = [entry(1, 1, 8, 100, 1000, 1), entry(2, 2, 10, 900, 9000, 9)]
    assert order(entries, 100) == [2, 1]


def test_equal_scores_are_split_by_the_closest_prediction():
    entries = [entry(1, 1, 10, 130, 1000, 1), entry(2, 2, 10, 95, 9000, 9)]
    assert order(entries, 100) == [2, 1]  # |95-100| = 5 beats |130-100| = 30


def test_a_prediction_above_or_below_by_the_same_amount_ties_and_time_decides():
    entries = [entry(1, 1, 10, 110, 5000, 1), entry(2, 2, 10, 90, 4000, 9)]
    assert order(entries, 100) == [2, 1]


def test_equal_time_is_split_by_the_earlier_submission():
    entries = [entry(1, 1, 10, 100, 5000, 20), entry(2, 2, 10, 100, 5000, 10)]
    assert order(entries, 100) == [2, 1]


def test_a_complete_tie_is_split_by_the_attempt_stored_first():
    entries = [entry(7, 1, 10, 100, 5000, 10), entry(3, 2, 10, 100, 5000, 10)]
    assert order(entries, 100) == [3, 7]
    assert [r.rank for r in rank(entries, 100)] == [1, 2]


def test_only_each_members_best_attempt_counts():
    entries = [
        entry(1, 1, 6, 100, 1000, 1),
        entry(2, 1, 9, 100, 9000, 5),  # member 1's best
        entry(3, 2, 8, 100, 1000, 2),
    ]
    ranked = rank(entries, 100)
    assert [r.entry.attempt_id for r in ranked] == [2, 3]
    assert len(ranked) == 2


def test_the_best_attempt_is_chosen_with_the_actual_number_known():
    # Same score: the attempt whose prediction turned out closer counts.
    entries = [entry(1, 1, 9, 50, 1000, 1), entry(2, 1, 9, 98, 9000, 5)]
    assert order(entries, 100) == [2]
    assert order(entries, 40) == [1]


def test_actual_numbers_count_people_not_attempts():
    entries = [
        entry(1, 1, 10, 0, 1, 1),
        entry(2, 1, 10, 0, 1, 2),
        entry(3, 2, 9, 0, 1, 3),
        entry(4, 3, 10, 0, 1, 4),
    ]
    assert actual_number(entries, ALL_CORRECT, 10) == 2
    assert actual_number(entries, ENTRANTS, 10) == 3
    with pytest.raises(ValueError):
        actual_number(entries, "other", 10)


def test_distance_is_reported():
    ranked = rank([entry(1, 1, 10, 1234, 1, 1)], 1200)
    assert ranked[0].distance == 34


# -- predictions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1200", 1200),
        ("1.200", 1200),
        ("1,200", 1200),
        ("1 200", 1200),
        ("khoảng 1.200", 1200),
        ("1200 người", 1200),
        ("Dự đoán: 1.200 người.", 1200),
        ("khoang 1200 nguoi", 1200),
        ("1.200.000", 1_200_000),
        ("0", 0),
    ],
)
def test_predictions_are_read_as_a_person_means_them(text, value):
    assert parse_prediction(text) == value


@pytest.mark.parametrize(
    "text", ["", "nhiều lắm", "1000 - 1200", "1,5", "12.00", "-5", "1200 hoặc 1300", "1/2"]
)
def test_unclear_predictions_are_refused(text):
    assert parse_prediction(text) is None


# -- times and names --------------------------------------------------------------------------

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 5, 10, 8, 0, tzinfo=ZONE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20:00 19/5", datetime(2026, 5, 19, 20, 0, tzinfo=ZONE)),
        ("19/5 20h", datetime(2026, 5, 19, 20, 0, tzinfo=ZONE)),
        ("20h", datetime(2026, 5, 10, 20, 0, tzinfo=ZONE)),
        ("7:30", datetime(2026, 5, 11, 7, 30, tzinfo=ZONE)),  # passed today: tomorrow
        ("8 giờ 2/9/2026", datetime(2026, 9, 2, 8, 0, tzinfo=ZONE)),
    ],
)
def test_start_times_are_read_in_local_time(text, expected):
    assert parse_start(text, NOW) == expected


@pytest.mark.parametrize("text", ["tối nay", "25:00 19/5", "20:00 31/2", "19/5"])
def test_unclear_start_times_are_refused(text):
    assert parse_start(text, NOW) is None


def test_durations_show_hundredths():
    assert duration_text(125_379) == "2:05,37"
    assert duration_text(0) == "0:00,00"


def test_members_see_shortened_names():
    assert short_name("Nguyễn Văn An") == "Nguyễn V. An"
    assert short_name("Trần Thị Thu Hà") == "Trần T. T. Hà"
    assert short_name("Lê Na") == "Lê Na"


# -- choosing questions -----------------------------------------------------------------------


def question(qid, dates=()):
    return Question(
        qid, "tu_tuong", "?", ("a", "b"), frozenset({0}), "e", "s", (), tuple(dates), 1, "f", 1
    )


def test_rounds_get_distinct_questions_tagged_ones_first():
    tagged = [question(f"t{i}", ["19/5"]) for i in range(3)]
    others = [question(f"o{i}") for i in range(10)]
    rounds = choose_questions(tagged, tagged + others, 4, 2, random.Random(1))
    flat = [q for r in rounds for q in r]
    assert len(flat) == len(set(flat)) == 8
    assert {q for q in rounds[0][:3]} == {"t0", "t1", "t2"}


def test_too_few_questions_for_the_rounds_is_refused():
    assert choose_questions([question("a"), question("b")], [], 2, 2, random.Random(1)) is None


# -- review -----------------------------------------------------------------------------------


def test_a_missed_question_comes_back_sooner_than_a_known_one():
    at = datetime(2026, 5, 10, tzinfo=UTC)
    _, missed = review(None, rating_for(False, hard=False, elapsed_ms=5000), at)
    _, known = review(None, rating_for(True, hard=False, elapsed_ms=5000), at)
    assert missed - at < known - at
    assert rating_for(True, hard=True, elapsed_ms=1) is Rating.Hard
    assert rating_for(True, hard=False, elapsed_ms=60_000) is Rating.Hard


def test_review_state_survives_storage():
    at = datetime(2026, 5, 10, tzinfo=UTC)
    card, due = review(None, Rating.Good, at)
    card, due2 = review(card, Rating.Good, due)
    assert due2 - due > timedelta(hours=12)


def test_due_questions_come_first_then_new_then_the_soonest():
    rng = random.Random(1)
    cards = {"a": (50, "{}"), "b": (200, "{}")}
    assert pick_question(["a", "b", "c"], cards, 100, rng) == ("a", "due")
    assert pick_question(["b", "c"], cards, 100, rng) == ("c", "new")
    assert pick_question(["b"], cards, 100, rng) == ("b", "early")
    assert pick_question([], cards, 100, rng) is None


# -- the workbook -----------------------------------------------------------------------------


def test_formula_like_text_is_neutralised():
    assert safe_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_text("+84 912") == "'+84 912"
    assert safe_text("Nguyễn Văn An") == "Nguyễn Văn An"


def test_results_workbook_reads_back():
    rows = [
        ResultRow(1, 1, "=cmd|' /C calc'!A0", "U1", "dang_vien", 10, 120, 3, 65_430, 1),
        ResultRow(2, 2, "Trần Thị Bình", "U2", "doan_vien", 9, 100, 17, 70_000, 2),
    ]
    labels = {key: key.upper() for key in SHEET_KEYS}
    data = results_workbook(
        "Thi 19/5",
        1,
        10,
        rows,
        [("Phường Hà Đông", Standing("", 2, 4, 9.5))],
        unit_name=lambda code: {"U1": "Chi bộ 1", "U2": "Chi đoàn 2"}[code],
        category_name=lambda c: c,
        labels=labels,
    )
    book = load_workbook(io.BytesIO(data))
    ranking, units = book["RANKING"], book["UNITS"]
    assert [c.value for c in ranking[2]][:5] == ["RANK", "NAME", "UNIT", "CATEGORY", "CORRECT"]
    first = [c.value for c in ranking[3]]
    assert first[:5] == [1, "'=cmd|' /C calc'!A0", "Chi bộ 1", "dang_vien", 10]
    assert first[7] == 65.43
    assert ranking.freeze_panes == "A3"
    assert [c.value for c in units[2]] == ["Phường Hà Đông", 2, 4, 0.5, 9.5]
