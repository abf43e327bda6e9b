"""The synthetic demo province: a consistent tree, members, rosters and realistic activity."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import unicodedata
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot import demo_data
from bot.content.commitments import load_commitments
from bot.demo_data import CATEGORIES, fill_demo
from bot.features.sessions import CLOSES_AFTER_S, CODE_ALPHABET, OPENS_BEFORE_S
from bot.store.participation import ParticipationStore
from bot.store.sqlite import SqliteStore

END = date(2026, 5, 31)  # 30 days ending here include 19/5
LOCAL = timezone(timedelta(hours=7))
ERASED = -(2**40)
KINDS = (
    "lesson_read",
    "practice_answer",
    "contest_entry",
    "contest_all_correct",
    "session_attendance",
    "commitment_checkin",
)
FEATURES = ("commitments", "commitment_checkins", "study_sessions", "session_attendance")
TRIGGERS = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"


def fresh(path: Path) -> Path:
    """An empty database with every migration applied."""

    async def migrate() -> None:
        store = SqliteStore(path)
        await store.open()
        await store.close()

    asyncio.run(migrate())
    return path


def rows(path: Path, sql: str, *params) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


def one(path: Path, sql: str, *params):
    return rows(path, sql, *params)[0][0]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    path = fresh(tmp_path_factory.mktemp("small") / "demo.db")
    return path, fill_demo(path, members=600, days=30, end=END)


@pytest.fixture(scope="module")
def larger(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    path = fresh(tmp_path_factory.mktemp("larger") / "demo.db")
    return path, fill_demo(path, members=20_000, days=30, end=END, seed=7)


def test_counts_are_the_rows_written(small):
    path, counts = small
    tables = {"units", "members", "accounts", "roster", "activity", "organizers"}
    assert set(counts) == tables | set(FEATURES)
    for table, count in counts.items():
        assert one(path, f"SELECT count(*) FROM {table}") == count
    assert counts["members"] == counts["accounts"] == 600


def test_tree_has_four_levels_with_consistent_paths(small):
    path, _ = small
    units = {
        code: (name, parent, level, unit_path, join, active)
        for code, name, parent, level, unit_path, join, active in rows(
            path, "SELECT code, name, parent_code, level, path, join_code, active FROM units"
        )
    }
    assert units["P"][:3] == ("Tỉnh Minh Họa", None, "tỉnh")
    assert units["P"][3] == "/P/"
    levels = ("tỉnh", "huyện", "xã", "chi bộ")
    for code, (name, parent, level, unit_path, join, active) in units.items():
        depth = code.count(".")
        assert level == levels[depth]
        assert active == 1
        assert 6 <= len(join) <= 8
        assert name == unicodedata.normalize("NFC", name)
        if parent is None:
            assert code == "P"
            continue
        assert code.rsplit(".", 1)[0] == parent
        assert unit_path == units[parent][3] + code + "/"
        prefix = {"huyện": ("Huyện ", "Thành phố "), "xã": ("Xã ", "Phường ")}
        prefix["chi bộ"] = ("Chi bộ ", "Chi đoàn ")
        assert name.startswith(prefix[level])
    assert len({u[4] for u in units.values()}) == len(units)
    children: dict[str, int] = {}
    for _, parent, *_ in units.values():
        if parent:
            children[parent] = children.get(parent, 0) + 1
    for code, (_, _, level, *_) in units.items():
        if level != "chi bộ":
            assert children.get(code, 0) >= 2, code


def test_members_live_in_cells_with_a_realistic_mix(small):
    path, _ = small
    assert rows(path, "SELECT min(id), max(id), count(*) FROM members") == [(1, 600, 600)]
    assert (
        one(
            path,
            "SELECT count(*) FROM members m JOIN units u ON u.code = m.unit_code"
            " WHERE u.level = 'chi bộ'",
        )
        == 600
    )
    start = datetime(2026, 5, 2, tzinfo=LOCAL).timestamp()
    families = {"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"}
    families |= {"Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
    for name, locale, consent, created in rows(
        path, "SELECT full_name, locale, consent_at, created_at FROM members"
    ):
        assert name == unicodedata.normalize("NFC", name)
        assert name.split()[0] in families and 3 <= len(name.split()) <= 4
        assert locale == "vi"
        assert consent <= created < start
    mix = dict(rows(path, "SELECT category, count(*) FROM members GROUP BY category"))
    assert set(mix) == set(CATEGORIES)
    shares = {"dang_vien": 0.22, "doan_vien": 0.30, "hoi_vien": 0.25, "cong_chuc": 0.08}
    shares["quan_chung"] = 0.15
    for category, share in shares.items():
        assert abs(mix[category] / 600 - share) < 0.08, (category, mix)


def test_one_telegram_account_per_member(small):
    path, _ = small
    accounts = rows(path, "SELECT channel, external_id, member_id, reachable FROM accounts")
    assert sorted(a[2] for a in accounts) == list(range(1, 601))
    assert all(
        a[0] == "telegram" and a[1] == str(10_000_000 + a[2]) and a[3] == 1 for a in accounts
    )


def test_roster_covers_nearly_everyone_with_unique_hashes(small):
    path, _ = small
    total, hashes, linked = rows(
        path, "SELECT count(*), count(DISTINCT phone_hash), count(member_id) FROM roster"
    )[0]
    assert 0.95 * 600 <= total <= 1.05 * 600
    assert hashes == total
    assert 0.55 <= linked / total <= 0.85
    assert all(
        len(h) == 64 and int(h, 16) >= 0 for (h,) in rows(path, "SELECT phone_hash FROM roster")
    )
    # A linked entry is the member: same unit, category and name.
    assert (
        one(
            path,
            "SELECT count(*) FROM roster r JOIN members m ON m.id = r.member_id"
            " WHERE r.unit_code != m.unit_code OR r.category != m.category"
            " OR r.full_name != m.full_name",
        )
        == 0
    )
    assert one(path, "SELECT count(*) FROM roster WHERE updated_at < imported_at") == 0
    # Roster-only people (no account) make up a few percent.
    unregistered = one(
        path,
        "SELECT count(*) FROM roster WHERE member_id IS NULL AND full_name NOT IN"
        " (SELECT full_name FROM members)",
    )
    assert unregistered >= 1


def test_activity_covers_exactly_the_period_in_local_days(small):
    path, counts = small
    first = END - timedelta(days=29)
    assert rows(path, "SELECT min(day), max(day) FROM activity") == [(20260502, 20260531)]
    for at, day in rows(path, "SELECT at, day FROM activity"):
        local = datetime.fromtimestamp(at, LOCAL).date()
        assert local.year * 10000 + local.month * 100 + local.day == day
        assert first <= local <= END
    assert 0.6 <= counts["activity"] / (600 * 30 / 20) <= 1.6
    # Inserted in time order, as the bot would have.
    assert (
        one(
            path,
            "SELECT count(*) FROM activity a JOIN activity b ON b.id = a.id + 1 WHERE b.at < a.at",
        )
        == 0
    )
    kinds = {k for (k,) in rows(path, "SELECT DISTINCT kind FROM activity")}
    assert set(KINDS) <= kinds
    # Every person counted is a member, a roster entry, or an erased member's stand-in.
    assert (
        one(
            path,
            "SELECT count(*) FROM activity WHERE member_id IS NULL OR member_id = 0"
            " OR member_id > 600"
            " OR (member_id < 0 AND member_id > ? AND kind != 'session_attendance')",
            ERASED,
        )
        == 0
    )


def test_activity_rows_carry_the_member_unit_and_category(small):
    path, _ = small
    mismatched = one(
        path,
        "SELECT count(*) FROM activity a JOIN members m ON m.id = a.member_id"
        " WHERE a.unit_code != m.unit_code OR a.category != m.category",
    )
    assert mismatched == 0


def test_participation_is_uneven_and_spikes_on_19_may(small):
    path, _ = small
    per_day = dict(rows(path, "SELECT day, count(*) FROM activity GROUP BY day"))
    assert per_day[20260519] > 1.5 * statistics.median(per_day.values())
    per_member = [
        n
        for (n,) in rows(
            path, "SELECT count(*) FROM activity WHERE member_id > 0 GROUP BY member_id"
        )
    ]
    assert len(per_member) < 600  # some members never took part
    assert max(per_member) > 5 * statistics.median(per_member)


def test_contests_all_correct_only_with_an_entry(small):
    path, _ = small
    orphans = one(
        path,
        "SELECT count(*) FROM activity a WHERE kind = 'contest_all_correct' AND NOT EXISTS"
        " (SELECT 1 FROM activity e WHERE e.kind = 'contest_entry' AND e.member_id = a.member_id"
        " AND e.ref = a.ref AND e.day = a.day)",
    )
    assert orphans == 0


def test_organizers_head_their_own_district_and_commune(small):
    path, counts = small
    organized = rows(
        path,
        "SELECT o.member_id, u.level, u.path, mu.path, o.granted_at FROM organizers o"
        " JOIN units u ON u.code = o.unit_code JOIN members m ON m.id = o.member_id"
        " JOIN units mu ON mu.code = m.unit_code",
    )
    assert len(organized) == counts["organizers"]
    levels = [level for _, level, *_ in organized]
    assert levels.count("huyện") == one(path, "SELECT count(*) FROM units WHERE level = 'huyện'")
    assert levels.count("xã") == one(path, "SELECT count(*) FROM units WHERE level = 'xã'")
    start = datetime(2026, 5, 2, tzinfo=LOCAL).timestamp()
    for _, _, unit_path, member_path, granted in organized:
        assert member_path.startswith(unit_path)
        assert granted < start


def test_larger_fill_has_every_kind_of_person(larger):
    path, counts = larger
    assert counts["members"] == 20_000
    cells = one(path, "SELECT count(*) FROM units WHERE level = 'chi bộ'")
    assert 40 <= 20_000 / cells <= 80
    assert one(path, "SELECT count(*) FROM units WHERE level = 'huyện'") >= 2
    assert set(KINDS) | {"feedback_sent", "commitment_written"} <= {
        k for (k,) in rows(path, "SELECT DISTINCT kind FROM activity")
    }
    # Erased members: each a stand-in ≤ -2^40, the same on all their rows, ~0.1% of rows.
    erased, stand_ins = rows(
        path,
        "SELECT count(*), count(DISTINCT member_id) FROM activity WHERE member_id <= ?",
        ERASED,
    )[0]
    assert 0 < erased < 0.01 * counts["activity"] and stand_ins >= 1
    # Roster-only people attend sessions as -roster.id.
    roster_only = rows(
        path,
        "SELECT a.kind, r.member_id FROM activity a JOIN roster r ON r.id = -a.member_id"
        " WHERE a.member_id < 0 AND a.member_id > ?",
        ERASED,
    )
    assert roster_only and all(k == "session_attendance" and m is None for k, m in roster_only)
    # Weekdays are busier than weekends.
    by_weekday: dict[int, list[int]] = {}
    for day, n in rows(
        path, "SELECT day, count(*) FROM activity WHERE day < 20260515 GROUP BY day"
    ):
        weekday = date(day // 10000, day // 100 % 100, day % 100).weekday()
        by_weekday.setdefault(weekday, []).append(n)
    weekdays = statistics.mean(n for d in range(5) for n in by_weekday[d])
    sunday = statistics.mean(by_weekday[6])
    assert sunday < weekdays
    # Commitments: at most one per member and year.
    assert (
        one(
            path,
            "SELECT count(*) FROM (SELECT member_id, ref FROM activity"
            " WHERE kind = 'commitment_written' GROUP BY member_id, ref HAVING count(*) > 1)",
        )
        == 0
    )


def test_same_seed_same_database_other_seed_other_data(tmp_path):
    dumps = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        path = fresh(tmp_path / f"{name}.db")
        counts = fill_demo(path, members=300, days=10, end=END, seed=seed, phone_key=b"k")
        with closing(sqlite3.connect(path)) as conn:
            tables = ("units", "members", "accounts", "roster", "activity", "organizers")
            dump = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
            dump |= {
                t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in FEATURES
            }
        dumps.append((counts, dump))
    assert dumps[0] == dumps[1]
    assert dumps[0][1]["activity"] != dumps[2][1]["activity"]
    assert dumps[0][1]["members"] != dumps[2][1]["members"]


def test_same_seed_same_commitments_and_sessions(tmp_path):
    dumps = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        path = fresh(tmp_path / f"{name}.db")  # over New Year: commitments are written then
        counts = fill_demo(path, members=1_000, days=45, end=date(2026, 2, 14), seed=seed)
        with closing(sqlite3.connect(path)) as conn:
            dump = {
                t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in FEATURES
            }
        dumps.append((counts, dump))
    assert dumps[0] == dumps[1]
    for table in FEATURES:
        assert dumps[0][1][table] and dumps[0][1][table] != dumps[2][1][table], table


def test_a_second_process_makes_the_same_rows(tmp_path, monkeypatch):
    if not demo_data._Helper.possible():
        pytest.skip("no fork here, or other threads running")
    started = []
    start = demo_data._Helper.start
    monkeypatch.setattr(
        demo_data._Helper, "start", lambda self, *args: started.append(args) or start(self, *args)
    )
    dumps = []
    for name, threshold in (("alone", 10**12), ("helped", 0)):
        monkeypatch.setattr(demo_data, "PARALLEL_ROWS", threshold)
        path = fresh(tmp_path / f"{name}.db")
        counts = fill_demo(path, members=2_000, days=40, end=END)
        with closing(sqlite3.connect(path)) as conn:
            dump = conn.execute("SELECT * FROM activity ORDER BY id").fetchall()
            features = [
                conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in FEATURES
            ]
            assert conn.execute("PRAGMA database_list").fetchall()[1:] == []
        assert not list(tmp_path.glob("*scratch*"))
        dumps.append((counts, dump, features))
    assert len(started) == 1  # only the second fill had a helper
    assert dumps[0] == dumps[1]
    assert len(dumps[0][1]) > 1_000
    assert all(dumps[0][2])  # the commitments and sessions too, none empty


def test_commitments_are_the_ones_the_log_has_written(larger):
    path, counts = larger
    logged = {
        (member, int(year)): at
        for member, year, at in rows(
            path,
            "SELECT member_id, ref, at FROM activity WHERE kind = 'commitment_written'"
            " AND member_id > 0",
        )
    }
    stored = rows(
        path,
        "SELECT c.member_id, c.year, c.items, c.created_at, c.updated_at, m.category"
        " FROM commitments c JOIN members m ON m.id = c.member_id",
    )
    # Members only (not erased members' stand-ins), exactly those the log says wrote one.
    assert len(stored) == counts["commitments"] == one(path, "SELECT count(*) FROM commitments")
    assert {(member, year) for member, year, *_ in stored} == logged.keys()
    assert len(logged) > 100
    content = load_commitments(
        Path(__file__).parent.parent / "content" / "commitments.yaml", CATEGORIES
    )
    suggested = {c: {s.text["vi"] for s in content.for_category(c)} for c in CATEGORIES}
    sizes = set()
    for member, year, text, created, updated, category in stored:
        assert created == updated == logged[member, year]
        items = json.loads(text)
        assert text == json.dumps(items, ensure_ascii=False)  # as bot.store.commitments stores
        assert 3 <= len(items) <= 7 and len(set(items)) == len(items)
        assert set(items) <= suggested[category], (category, items)
        sizes.add(len(items))
    assert sizes == {3, 4, 5, 6, 7}


def test_check_ins_answer_every_item_when_the_log_says(larger):
    path, counts = larger
    items = {
        (member, year): n
        for member, year, n in rows(
            path, "SELECT member_id, year, json_array_length(items) FROM commitments"
        )
    }
    logged = rows(
        path, "SELECT member_id, ref, at FROM activity WHERE kind = 'commitment_checkin'"
    )
    # Only on commitments in the table: not those written before the period.
    expected = {
        (member, int(period[:4]), period): at
        for member, period, at in logged
        if (member, int(period[:4])) in items
    }
    assert 20 < len(expected) < len(logged)
    stored = rows(
        path,
        "SELECT member_id, year, period, count(*), min(item), max(item), min(at), max(at)"
        " FROM commitment_checkins GROUP BY member_id, year, period",
    )
    assert {(member, year, period) for member, year, period, *_ in stored} == expected.keys()
    for member, year, period, n, low, high, first, last in stored:
        assert (n, low, high) == (items[member, year], 0, items[member, year] - 1)
        assert first == last == expected[member, year, period]
    assert counts["commitment_checkins"] == sum(n for _, _, _, n, *_ in stored)
    later = one(
        path,
        "SELECT count(*) FROM commitment_checkins k JOIN commitments c USING (member_id, year)"
        " WHERE k.at <= c.created_at",
    )
    assert later == 0
    statuses = dict(rows(path, "SELECT status, count(*) FROM commitment_checkins GROUP BY 1"))
    assert statuses["done"] > statuses["in_progress"] > statuses["not_yet"] > 0
    assert len(statuses) == 3


def test_organizers_see_the_commitments_through_the_bot(larger):
    path, _ = larger

    async def completion() -> tuple[int, int]:
        store = SqliteStore(path)
        await store.open()
        try:
            return await store.commitments.completion("/P/", 2026)
        finally:
            await store.close()

    written = one(path, "SELECT count(*) FROM commitments WHERE year = 2026")
    assert asyncio.run(completion()) == (written, 20_000)


def test_attendance_is_the_log_s_and_sessions_belong_to_cells(larger):
    path, counts = larger
    logged = rows(
        path,
        "SELECT CAST(substr(ref, 9) AS INTEGER), member_id, unit_code, category, at, day"
        " FROM activity WHERE kind = 'session_attendance' ORDER BY 1, 2",
    )
    stored = rows(
        path,
        "SELECT session_id, person, unit_code, category, at, day FROM session_attendance"
        " ORDER BY 1, 2",
    )
    # Exactly one activity row per attendance (the trigger did not log them a second time).
    assert logged == stored
    assert counts["session_attendance"] == len(stored) > 500
    sessions = {
        number: rest
        for number, *rest in rows(
            path,
            "SELECT s.id, s.code, s.title, s.unit_code, u.level, s.starts_at, s.place,"
            " s.created_by, s.created_at FROM study_sessions s"
            " JOIN units u ON u.code = s.unit_code",
        )
    }
    assert counts["study_sessions"] == len(sessions) > 10
    assert set(sessions) == set(range(1, len(sessions) + 1))
    assert len({code for code, *_ in sessions.values()}) == len(sessions)
    for code, title, _, level, starts, place, creator, created in sessions.values():
        assert level == "chi bộ"
        assert len(code) == 6 and set(code) <= set(CODE_ALPHABET)
        assert title.startswith("Hội nghị học tập") and len(title) <= 160
        assert place and creator is not None and created < starts
        for text in (title, place):
            assert text == unicodedata.normalize("NFC", text)
    for session, _, unit, _, at, _ in stored:
        _, _, cell, _, starts, *_ = sessions[session]
        assert unit == cell
        assert starts - OPENS_BEFORE_S <= at <= starts + CLOSES_AFTER_S
    # The creator organizes the cell's commune or district (and was one by then).
    strangers = one(
        path,
        "SELECT count(*) FROM study_sessions s JOIN units u ON u.code = s.unit_code"
        " WHERE NOT EXISTS (SELECT 1 FROM organizers o JOIN units ou ON ou.code = o.unit_code"
        " WHERE o.member_id = s.created_by AND substr(u.path, 1, length(ou.path)) = ou.path"
        " AND o.granted_at <= s.created_at)",
    )
    assert strangers == 0
    # Members checked in themselves; roster-only people of the cell were marked by the creator.
    marked = rows(
        path,
        "SELECT a.person, a.marked_by, s.created_by, r.member_id, r.unit_code = a.unit_code"
        " FROM session_attendance a JOIN study_sessions s ON s.id = a.session_id"
        " LEFT JOIN roster r ON r.id = -a.person",
    )
    roster_only = [m for m in marked if m[0] < 0]
    assert roster_only and len(roster_only) < len(marked)
    for person, by, creator, linked, same_unit in marked:
        if person > 0:
            assert by is None
        else:
            assert by == creator and linked is None and same_unit == 1


def test_attendance_trigger_is_back_and_counts_new_attendance(tmp_path):
    reference = fresh(tmp_path / "reference.db")
    path = fresh(tmp_path / "demo.db")
    fill_demo(path, members=2_000, days=30, end=END)
    assert rows(path, TRIGGERS) == rows(reference, TRIGGERS)
    session, cell, starts = rows(
        path, "SELECT id, unit_code, starts_at FROM study_sessions ORDER BY id LIMIT 1"
    )[0]
    member, category = rows(
        path,
        "SELECT id, category FROM members WHERE unit_code = ? AND id NOT IN"
        " (SELECT person FROM session_attendance WHERE session_id = ?) ORDER BY id LIMIT 1",
        cell,
        session,
    )[0]
    at = starts + 60
    day = datetime.fromtimestamp(at, LOCAL).date()
    before = one(path, "SELECT count(*) FROM activity")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            *ParticipationStore.attendance_statement(
                session, member, cell, category, marked_by=None, at=at, day=day
            )
        )
    assert one(path, "SELECT count(*) FROM activity") == before + 1
    assert rows(
        path,
        "SELECT member_id, unit_code, category, kind, ref, at FROM activity WHERE id = ?",
        one(path, "SELECT max(id) FROM activity"),
    ) == [(member, cell, category, "session_attendance", f"session:{session}", at)]
    assert one(path, "SELECT count(*) FROM session_attendance") == one(
        path, "SELECT count(*) FROM activity WHERE kind = 'session_attendance'"
    )


def test_tiny_and_empty_fills(tmp_path):
    counts = fill_demo(fresh(tmp_path / "tiny.db"), members=5, days=1, end=END)
    assert counts["members"] == 5 and counts["units"] >= 1 + 2 + 4 + 8
    counts = fill_demo(fresh(tmp_path / "empty.db"), members=0, days=0, end=END)
    assert counts["members"] == counts["activity"] == counts["roster"] == 0


def test_refuses_a_database_that_is_not_empty(small):
    path, _ = small
    with pytest.raises(ValueError, match="empty"):
        fill_demo(path, members=10, days=1, end=END)


def test_refuses_a_database_that_is_not_migrated(tmp_path):
    path = tmp_path / "blank.db"
    sqlite3.connect(path).close()
    with pytest.raises(ValueError, match="migrated"):
        fill_demo(path, members=10, days=1, end=END)
