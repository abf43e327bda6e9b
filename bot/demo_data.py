"""Synthetic demo data: a fictional province with members, rosters and their participation.

``fill_demo`` fills an empty, migrated database with "Tỉnh Minh Họa", a clearly invented
province of four unit levels (tỉnh → huyện → xã → chi bộ), its registered members and their
Telegram accounts, rosters, organizers, and an activity log over a period of days. Everything
is drawn from ``random.Random`` generators seeded by ``seed`` (one for the people and plans,
one per week of activity, one each for the commitments, check-ins and study sessions), so the
same arguments give the same database.

The feature tables agree with the log. Each ``commitment_written`` row of a member has its
``commitments`` row: 3-7 of the shipped suggestions for the member's category (from
content/commitments.yaml). Each ``commitment_checkin`` row of a member with a commitment that
year has its ``commitment_checkins`` rows, one per item. Each study session planned has its
``study_sessions`` row, and each ``session_attendance`` row of the log its row in the table of
that name: members checked in (marked_by NULL), roster-only people were marked by the session's
creator, an organizer of the cell's commune (else its district). Commitments written before the
period are not in the log, so not in the tables either, and neither are check-ins on them.

The activity is meant to look like a real deployment to reports and benchmarks: a few members
are active almost every day, most only now and then, about one in ten never; some cells are
livelier than others; weekdays are busier than weekends, and there are spikes around 19/5 and
2/9. About ``members * days / 20`` rows are written (540,000 members over a year: ~10 million).

Speed: one transaction with synchronous=OFF, rows from generators into ``executemany``, the
activity indexes dropped and rebuilt at the end (and the trigger that logs attendance dropped
while the attendance the log already has is written), and for big fills the later weeks made by
a forked second process (the Python that draws rows is the bottleneck, and it has one core).
The feature tables are made in this process from what was planned before the split.
"""

from __future__ import annotations

import calendar
import gc
import hmac
import json
import logging
import math
import os
import random
import re
import signal
import sqlite3
import threading
import time
import traceback
import unicodedata
from bisect import bisect
from collections.abc import Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import TypeVar

from .content.commitments import load_commitments
from .content.yamlfile import ContentError

__all__ = ["fill_demo"]

log = logging.getLogger(__name__)
_FIRST = itemgetter(0)
_BY_MEMBER = itemgetter(1, 5)  # an activity row's member and ref (a year, a period)
T = TypeVar("T")

ZONE_OFFSET = 7 * 3600  # Asia/Ho_Chi_Minh, UTC+7 all year
DAY = 86400

CATEGORIES = ("dang_vien", "doan_vien", "hoi_vien", "cong_chuc", "quan_chung")
# Party cells ("Chi bộ") and youth cells ("Chi đoàn") draw their members from different mixes
# chosen so that, with a quarter of the cells youth cells, the whole province comes out at
# about 22% / 30% / 25% / 8% / 15%.
_YOUTH_CELLS = 0.25
_MIX_YOUTH = (0.05, 0.75, 0.05, 0.05, 0.10)
_MIX_PARTY = (0.2767, 0.15, 0.3167, 0.09, 0.1666)

# How active a member is: never, occasionally, regularly, almost daily.
_TIERS = (0.10, 0.60, 0.24, 0.06)
_TIER_WEIGHT = (0.0, 0.35, 2.0, 8.0)
_MAX_WEIGHT = 40.0
_CATEGORY_WEIGHT = {
    "dang_vien": 1.3,
    "doan_vien": 1.15,
    "hoi_vien": 0.85,
    "cong_chuc": 1.1,
    "quan_chung": 0.6,
}
_WRITES = (0.0, 0.4, 0.7, 0.9)  # writes a yearly commitment
_WRITES_CATEGORY = {
    "dang_vien": 1.15,
    "doan_vien": 1.0,
    "hoi_vien": 0.9,
    "cong_chuc": 1.1,
    "quan_chung": 0.5,
}
_CHECKS_IN = (0.0, 0.08, 0.25, 0.55)  # checks in on the commitment in a given month
_SELF_REPORT = (0.0, 0.03, 0.12, 0.35)  # compiles the year-end self-report
_ATTENDS = (0.0, 0.45, 0.75, 0.9)  # comes to a study session of their cell
_ROSTER_ONLY_ATTENDS = 0.35

# A fill of at least this many activity rows has its later weeks (~60%) made by a second
# process (where os.fork is available).
PARALLEL_ROWS = 1_000_000

# Shares of all activity rows (besides commitments and self-reports, which follow people).
ROWS_PER_MEMBER_DAY = 1 / 20
_SHARE_LESSON = 0.55
_SHARE_PRACTICE = 0.25
_SHARE_CONTEST = 0.06
_ALL_CORRECT = 0.4
_SHARE_SESSION = 0.05
_SHARE_FEEDBACK = 0.0015
# A visit reads a lesson, practises (1-5 answers, 3 on average), or both.
_PRACTICE_BURST = 3
_VISIT_PRACTICE = _SHARE_LESSON / _SHARE_PRACTICE  # lesson rows per practice visit: 2.2
_P_BOTH = 0.06
_P_PRACTICE = (1 + _P_BOTH) / (1 + _VISIT_PRACTICE * _PRACTICE_BURST)
_P_LESSON = 1 + _P_BOTH - _P_PRACTICE
_LESSON_ONLY = 1 - _P_PRACTICE
_WITH_PRACTICE = _LESSON_ONLY + _P_BOTH

_WEEKDAY = (1.08, 1.1, 1.1, 1.08, 1.02, 0.86, 0.76)  # Monday first; averages 1
_SESSION_WEEKDAY = (1.0, 1.0, 1.0, 1.0, 0.9, 0.7, 0.5)
_HOLIDAYS = ((5, 19), (9, 2))  # Bác Hồ's birthday, National Day
_SESSION_STARTS = (450, 480, 840, 1170)  # 7:30, 8:00, 14:00, 19:30

_JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as bot.store.sqlite: no 0/O, 1/I

_FAMILY = (
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.1),
    ("Hoàng", 5.1),
    ("Huỳnh", 4.9),
    ("Phan", 4.5),
    ("Vũ", 3.9),
    ("Võ", 3.5),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
)
_MIDDLE_MALE = ("Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thành", "Xuân")
_MIDDLE_MALE += ("Ngọc", "Trọng", "Đình", "Mạnh", "Tiến", "Anh")
_MIDDLE_FEMALE = ("Thị", "Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương")
_MIDDLE_FEMALE += ("Kim", "Hồng", "Thùy", "Bảo", "Mỹ", "Khánh")
_GIVEN_MALE = (
    "Anh",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Đức",
    "Hải",
    "Hiếu",
    "Hòa",
    "Hùng",
    "Huy",
    "Khánh",
    "Khoa",
    "Kiên",
    "Long",
    "Lộc",
    "Minh",
    "Nam",
    "Nghĩa",
    "Phong",
    "Phúc",
    "Quân",
    "Quang",
    "Sơn",
    "Tài",
    "Thắng",
    "Thành",
    "Thịnh",
    "Toàn",
    "Trung",
    "Tuấn",
    "Tùng",
    "Việt",
    "Vinh",
    "Vũ",
)
_GIVEN_FEMALE = (
    "Anh",
    "Ánh",
    "Chi",
    "Dung",
    "Duyên",
    "Giang",
    "Hà",
    "Hằng",
    "Hạnh",
    "Hiền",
    "Hoa",
    "Huyền",
    "Hương",
    "Lan",
    "Liên",
    "Linh",
    "Loan",
    "Mai",
    "My",
    "Nga",
    "Ngân",
    "Ngọc",
    "Nhung",
    "Oanh",
    "Phương",
    "Quyên",
    "Tâm",
    "Thảo",
    "Thủy",
    "Trang",
    "Trâm",
    "Tuyết",
    "Uyên",
    "Vân",
    "Yến",
)
# Place names are two invented syllables ("Hòa Lợi", "Tân Điền"); villages get one.
_PLACE_FIRST = (
    "An",
    "Bình",
    "Hòa",
    "Phú",
    "Tân",
    "Thạnh",
    "Lộc",
    "Minh",
    "Phước",
    "Long",
    "Vĩnh",
    "Thái",
    "Xuân",
    "Hồng",
    "Kim",
    "Ngọc",
    "Quang",
    "Hưng",
    "Gia",
    "Mỹ",
    "Đức",
    "Nghĩa",
    "Thuận",
    "Cẩm",
    "Hải",
    "Sơn",
    "Trường",
    "Quảng",
    "Đại",
    "Thanh",
    "Yên",
    "Định",
    "Hiệp",
    "Tường",
    "Châu",
    "Lạc",
)
_PLACE_SECOND = (
    "An",
    "Bình",
    "Hòa",
    "Phú",
    "Lộc",
    "Thịnh",
    "Long",
    "Hưng",
    "Thành",
    "Phong",
    "Lợi",
    "Điền",
    "Tiến",
    "Hải",
    "Sơn",
    "Lâm",
    "Thủy",
    "Trung",
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Mỹ",
    "Xuân",
    "Hiệp",
    "Quý",
    "Tân",
    "Khánh",
    "Phát",
    "Đạt",
    "Vinh",
    "Hà",
    "Lương",
    "Cường",
    "Ninh",
    "Thuận",
)
_VILLAGES = (
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Trung",
    "Thượng",
    "Hạ",
    "Đoài",
    "Chợ",
    "Đình",
    "Bến",
    "Giữa",
    "Cầu",
    "Gò",
    "Bãi",
    "Soi",
    "Đồng",
    "Rừng",
    "Ao",
    "Mới",
)
_INSTITUTIONS = ("Trường Tiểu học", "Trường THCS", "Trạm Y tế", "Công an", "Quân sự")

# Commitments and their check-ins (as bot.features.commitments stores them).
_COMMITMENT_ITEMS = (3, 7)
_STATUSES = (0.65, 0.9)  # cumulative shares of done and in progress; the rest not yet
# Drawn once, then picked from: each category's suggestions in this many orders (a member's
# items are the first 3-7), and this many answers ('d', 'i', 'n' an item) per number of items.
_ORDERS = 512
_ANSWERS = 1024
_ITEM_FALLBACK = (
    "Mỗi tuần đọc ít nhất hai bài học ngắn về tư tưởng, đạo đức, phong cách Hồ Chí Minh",
    "Tham gia đầy đủ sinh hoạt của chi bộ, chi đoàn hoặc chi hội hằng tháng",
    "Không chia sẻ thông tin chưa kiểm chứng hoặc sai trái trên mạng xã hội",
    "Mỗi tháng làm ít nhất một việc tốt cho khu dân cư nơi cư trú",
    "Sống tiết kiệm, tổ chức việc hiếu, việc hỷ trong gia đình gọn nhẹ",
    "Mỗi quý tự chỉ ra một khuyết điểm của bản thân và cách khắc phục",
    "Việc đã nhận thì làm xong đúng hẹn, không đùn đẩy",
)
_THEME_FALLBACK = "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh"

# Study sessions: titles ("{theme}" is the year's theme from content/commitments.yaml), and
# the anniversaries that give most sessions in the week up to 19/5 or 2/9 their title.
_SESSION_TITLES = (
    "Hội nghị học tập chuyên đề năm {year}: “{theme}”",
    "Hội nghị học tập chuyên đề “Tấm gương đạo đức Hồ Chí Minh về cần, kiệm, liêm, chính,"
    " chí công vô tư”",
    "Hội nghị học tập chuyên đề “Phong cách dân chủ, gần dân, trọng dân của Chủ tịch Hồ Chí Minh”",
    "Hội nghị học tập chuyên đề “Nói đi đôi với làm, nêu gương trong công việc hằng ngày”",
    "Hội nghị học tập chuyên đề “Thực hành tiết kiệm, chống lãng phí theo lời Bác”",
    "Hội nghị học tập, quán triệt chuyên đề “Xây dựng tổ chức cơ sở trong sạch, vững mạnh”",
)
_YOUTH_TITLES = (
    "Hội nghị học tập chuyên đề “Bác Hồ với thanh niên: học tập, rèn luyện, lập nghiệp”",
    "Hội nghị học tập chuyên đề “Thanh niên học tập và làm theo lời Bác”",
)
_COMMEMORATION = "Hội nghị học tập chuyên đề kỷ niệm {n} năm {what}"
_COMMEMORATIONS = (
    (5, 19, 1890, "Ngày sinh Chủ tịch Hồ Chí Minh"),
    (9, 2, 1945, "Cách mạng Tháng Tám và Quốc khánh 2/9"),
)
_TITLE_MAX = 160  # as bot.features.sessions accepts
_CODE_STEP = 0x3E1D5A27  # odd: a bijection of 32^6, as for the join codes

_LESSON_FALLBACK = tuple(f"bai-{i:03d}" for i in range(1, 16))
_QUESTION_FALLBACK = tuple(f"q-{i:03d}" for i in range(1, 145))
_ID_LINE = re.compile(r"^  - id:\s*([A-Za-z0-9_.:-]+)\s*$", re.MULTILINE)


def _nfc(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", w) for w in words)


@dataclass
class _Cell:
    code: str
    commune: int  # index of its commune
    district: int  # index of its district
    youth: bool
    factor: float  # how lively the cell is


@dataclass
class _Tree:
    units: list[tuple[str, str, str | None, str, str, str, int]]
    districts: list[str]
    communes: list[str]
    cells: list[_Cell]


@dataclass
class _Period:
    start: date
    days: int
    start_ts: int  # local midnight of the first day, UTC unix seconds

    def day_start(self, index: int) -> int:
        return self.start_ts + index * DAY

    def index(self, day: date) -> int:
        return (day - self.start).days


def fill_demo(
    db_path: Path,
    *,
    members: int,
    days: int,
    end: date,
    seed: int = 1,
    phone_key: bytes = b"demo",
) -> dict[str, int]:
    """Fill an empty, migrated database with a demo province; return the rows per table.

    ``days`` days of activity end on ``end`` (inclusive); members, rosters and organizers
    all date from before the first day. Phone numbers are fictional (+849…) and stored only as
    HMAC-SHA256 with ``phone_key``, as the bot stores real ones.
    """
    if members < 0 or days < 0:
        raise ValueError("members and days must not be negative")
    db_path = Path(db_path)
    collecting = gc.isenabled()
    gc.disable()  # millions of tuples and no cycles: the collector would only slow this down
    try:
        return _fill(db_path, members, days, end, seed, phone_key)
    finally:
        if collecting:
            gc.enable()


def _fill(
    db_path: Path, members: int, days: int, end: date, seed: int, phone_key: bytes
) -> dict[str, int]:
    t0 = time.monotonic()
    conn = sqlite3.connect(db_path, isolation_level=None)
    helper = None
    features: dict[str, int] = {}
    try:
        _check_empty(conn)
        rng = random.Random(seed)
        first = end - timedelta(days=max(days, 1) - 1)
        period = _Period(first, days, calendar.timegm(first.timetuple()) - ZONE_OFFSET)
        tree = _build_tree(rng, members)
        people = _People.build(rng, tree, members, period)
        roster = _build_roster(rng, tree, people, members, period, phone_key)
        organizers = _organizers(rng, tree, people, members, period)
        activity = _Activity(rng, seed, tree, people, roster, period, members, *_content_ids())
        activity.plan()
        log.debug("demo: people, rosters and plans after %.1fs", time.monotonic() - t0)

        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB
        # CREATE INDEX sorts in runs the size of the cache, in temporary files, merging them on
        # a second thread: with small runs (see below) it is several times faster than in memory.
        conn.execute("PRAGMA temp_store=FILE")
        conn.execute("PRAGMA threads=2")
        # Big fills make the later weeks in a second process, into a scratch database that is
        # attached now (not possible inside the transaction) and copied over at the end.
        split = days
        if members * days * ROWS_PER_MEMBER_DAY >= PARALLEL_ROWS and _Helper.possible():
            split = activity.split(0.4) or days  # this process also writes members and rosters
        if split < days:
            helper = _Helper(db_path.with_name(db_path.name + ".demo-scratch"))
            conn.execute("ATTACH DATABASE ? AS demo_scratch", (str(helper.path),))
            helper.start(activity, split, days)
        # Deferred: the first insert locks the main database only, not the helper's.
        conn.execute("BEGIN")
        try:
            conn.executemany(
                "INSERT INTO units (code, name, parent_code, level, path, join_code, active)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                tree.units,
            )
            conn.executemany(
                "INSERT INTO members (id, full_name, unit_code, category, locale, consent_at,"
                " created_at) VALUES (?, ?, ?, ?, 'vi', ?, ?)",
                people.member_rows(members),
            )
            conn.executemany(
                "INSERT INTO accounts (channel, external_id, member_id, reachable)"
                " VALUES ('telegram', ?, ?, 1)",
                ((str(10_000_000 + i), i) for i in range(1, members + 1)),
            )
            conn.executemany(
                "INSERT INTO roster (id, unit_code, category, full_name, phone_hash, member_id,"
                " imported_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                roster.rows,
            )
            conn.executemany(
                "INSERT INTO organizers (member_id, unit_code, granted_at) VALUES (?, ?, ?)",
                organizers,
            )
            features = _write_features(conn, activity, tree, organizers, seed)
            log.debug("demo: commitments and sessions after %.1fs", time.monotonic() - t0)
            # Building the indexes once at the end is several times faster than keeping
            # them up to date row by row.
            indexes = conn.execute(
                "SELECT name, sql FROM main.sqlite_master WHERE type = 'index'"
                " AND tbl_name = 'activity' AND sql IS NOT NULL"
            ).fetchall()
            for name, _ in indexes:
                conn.execute(f'DROP INDEX main."{name}"')
            written = _insert_activity(conn, "main", activity.days(0, split))
            log.debug("demo: %d activity rows after %.1fs", written, time.monotonic() - t0)
            if helper:
                helper.join()
                written += conn.execute(
                    f"INSERT INTO main.activity ({_COLUMNS}) SELECT {_COLUMNS}"
                    " FROM demo_scratch.activity ORDER BY rowid"
                ).rowcount
                log.debug("demo: %d activity rows after %.1fs", written, time.monotonic() - t0)
            conn.execute("PRAGMA cache_size=-8192")  # 8 MiB
            for name, sql in indexes:
                conn.execute(sql)
                log.debug("demo: index %s after %.1fs", name, time.monotonic() - t0)
            conn.execute("COMMIT")
            log.debug("demo: committed after %.1fs", time.monotonic() - t0)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if helper:
            conn.execute("DETACH DATABASE demo_scratch")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
        if helper:
            helper.close()
    return {
        "units": len(tree.units),
        "members": members,
        "accounts": members,
        "roster": len(roster.rows),
        "activity": written,
        "organizers": len(organizers),
        **features,
    }


_COLUMNS = "at, member_id, unit_code, category, kind, ref, day"


def _insert_activity(
    conn: sqlite3.Connection, schema: str, days: Iterator[tuple[int, list[tuple]]]
) -> int:
    """Insert day after day (the day is part of the statement); the number of rows."""
    count = 0
    for day, rows in days:
        conn.executemany(
            f"INSERT INTO {schema}.activity ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, {day:d})",
            rows,
        )
        count += len(rows)
    return count


class _Helper:
    """A forked process writing the later weeks' activity into a scratch database.

    The rows do not depend on who makes them (each week has its own random generator), so a
    fill with a helper equals one without. Only used where fork is (POSIX) and safe: with no
    other thread running, whose locks the child could inherit held.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pid = 0
        self._remove()

    @staticmethod
    def possible() -> bool:
        return hasattr(os, "fork") and threading.active_count() == 1

    def start(self, activity: _Activity, start: int, stop: int) -> None:
        with closing(sqlite3.connect(self.path, isolation_level=None)) as scratch:
            scratch.execute(
                "CREATE TABLE activity (at INTEGER, member_id INTEGER, unit_code TEXT,"
                " category TEXT, kind TEXT, ref TEXT, day INTEGER)"
            )
        pid = os.fork()
        if pid:
            self.pid = pid
            return
        status = 1
        try:  # the child: never returns, never touches the parent's connection
            with closing(sqlite3.connect(self.path, isolation_level=None)) as scratch:
                scratch.execute("PRAGMA journal_mode=OFF")
                scratch.execute("PRAGMA synchronous=OFF")
                scratch.execute("BEGIN")
                _insert_activity(scratch, "main", activity.days(start, stop))
                scratch.execute("COMMIT")
            status = 0
        except BaseException:
            with suppress(BaseException):
                traceback.print_exc()
        finally:
            os._exit(status)

    def join(self) -> None:
        """Wait for the helper; raise if it failed."""
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("the process making the later weeks of activity failed")

    def close(self) -> None:
        """Stop the helper if it still runs (after an error), and delete the scratch file."""
        if self.pid:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0
        self._remove()

    def _remove(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


_TABLES = ("units", "members", "accounts", "roster", "activity", "organizers")
_TABLES += ("commitments", "commitment_checkins", "study_sessions", "session_attendance")


def _check_empty(conn: sqlite3.Connection) -> None:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = set(_TABLES) - tables
    if missing:
        raise ValueError(f"not a migrated bot database (missing {', '.join(sorted(missing))})")
    for table in ("units", "members", "roster", "activity", "study_sessions"):
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
            raise ValueError(f"the database already has {table}; demo data needs an empty one")


# -- the unit tree -------------------------------------------------------------------------


def _shape(members: int) -> tuple[int, int, int]:
    """(districts, communes per district, cells per commune) for ~60 members a cell."""
    cells = max(8, round(members / 60))
    districts = min(12, max(2, round(cells / 64)))
    per_district = cells / districts
    communes = max(2, round(math.sqrt(per_district * 1.6)))
    per_commune = max(2, round(per_district / communes))
    return districts, communes, per_commune


def _join_code(counter: int, step: int = 0x2F5A3C1B, offset: int = 0x1B2C3D) -> str:
    """A unique, random-looking 6-letter code: the counter through a bijection of 32^6.

    (``step`` must be odd; study sessions use another one than units.)
    """
    value = (counter * step + offset) % (32**6)
    letters = []
    for _ in range(6):
        value, digit = divmod(value, 32)
        letters.append(_JOIN_ALPHABET[digit])
    return "".join(letters)


def _place_names(rng: random.Random) -> Iterator[str]:
    """Distinct invented two-syllable names, then the same again with numbers."""
    first, second = _nfc(_PLACE_FIRST), _nfc(_PLACE_SECOND)
    names = [f"{a} {b}" for a in first for b in second if a != b]
    rng.shuffle(names)
    yield from names
    round_ = 2
    while True:
        for name in names:
            yield f"{name} {round_}"
        round_ += 1


def _build_tree(rng: random.Random, members: int) -> _Tree:
    n_districts, n_communes, n_cells = _shape(members)
    code_width = 2
    province = "P"
    units = [(province, "Tỉnh Minh Họa", None, "tỉnh", "/P/", _join_code(1), 1)]
    districts: list[str] = []
    communes: list[str] = []
    cells: list[_Cell] = []
    cell_units: list[int] = []  # where each cell is in ``units``
    neighbourhoods: list[int] = []  # cells of villages and wards, not of institutions
    district_names = _place_names(rng)
    commune_names = _place_names(rng)
    villages = _nfc(_VILLAGES)
    cities = 1 if n_districts < 6 else 2
    for d in range(n_districts):
        d_code = f"{province}.{d + 1:0{code_width}d}"
        city = d < cities
        d_name = "Thành phố Minh Họa" if d == 0 else next(district_names)
        if d > 0:
            d_name = ("Thành phố " if city else "Huyện ") + d_name
        d_path = f"/P/{d_code}/"
        units.append((d_code, d_name, province, "huyện", d_path, _join_code(len(units) + 1), 1))
        districts.append(d_code)
        count = max(2, round(n_communes * rng.uniform(0.75, 1.25)))
        width = max(code_width, len(str(count)))
        for c in range(count):
            c_code = f"{d_code}.{c + 1:0{width}d}"
            ward = rng.random() < (0.8 if city else 0.05)
            place = next(commune_names)
            c_name = ("Phường " if ward else "Xã ") + place
            c_path = f"{d_path}{c_code}/"
            units.append((c_code, c_name, d_code, "xã", c_path, _join_code(len(units) + 1), 1))
            commune_index = len(communes)
            communes.append(c_code)
            k = max(2, round(n_cells * rng.uniform(0.7, 1.3)))
            k_width = max(code_width, len(str(k)))
            own = list(villages)
            rng.shuffle(own)
            institutions = rng.randint(0, min(2, k - 1))
            for j in range(k):
                cell_code = f"{c_code}.{j + 1:0{k_width}d}"
                if j < institutions:
                    where = _INSTITUTIONS[(j + c) % len(_INSTITUTIONS)]
                    what = ("phường " if ward else "xã ") + place
                    if where.startswith("Trường"):
                        what = place
                    name = f"{where} {what}"
                elif ward:
                    name = f"khu phố {j + 1 - institutions}"
                else:
                    n = j - institutions
                    name = f"thôn {own[n] if n < len(own) else n + 1}"
                if j >= institutions:
                    neighbourhoods.append(len(cells))
                cell_units.append(len(units))
                units.append(
                    (
                        cell_code,
                        name,  # "Chi bộ …" or "Chi đoàn …" once the youth cells are chosen
                        c_code,
                        "chi bộ",
                        f"{c_path}{cell_code}/",
                        _join_code(len(units) + 1),
                        1,
                    )
                )
                roll = rng.random()
                factor = rng.lognormvariate(0, 0.45)
                if roll < 0.06:
                    factor *= 0.15  # a cell where hardly anyone uses the bot
                elif roll > 0.92:
                    factor *= 2.0  # a cell with a keen secretary
                cells.append(_Cell(cell_code, commune_index, d, False, factor))
    # A quarter of the cells (never a school's or an office's) are youth union cells.
    wanted = min(len(neighbourhoods), round(len(cells) * _YOUTH_CELLS))
    youth = set(rng.sample(neighbourhoods, wanted))
    for index, (cell, at) in enumerate(zip(cells, cell_units, strict=True)):
        cell.youth = index in youth
        code, name, *rest = units[at]
        units[at] = (code, f"{'Chi đoàn' if cell.youth else 'Chi bộ'} {name}", *rest)
    return _Tree(units, districts, communes, cells)


# -- people --------------------------------------------------------------------------------


class _Names:
    """Random Vietnamese full names (NFC)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._family = _nfc(tuple(n for n, _ in _FAMILY))
        total, cum = 0.0, []
        for _, weight in _FAMILY:
            total += weight
            cum.append(total)
        self._family_cum = cum
        self._male = (_nfc(_MIDDLE_MALE), _nfc(_GIVEN_MALE))
        self._female = (_nfc(_MIDDLE_FEMALE), _nfc(_GIVEN_FEMALE))

    def many(self, count: int) -> list[str]:
        rng = self._rng
        random_ = rng.random
        families = rng.choices(self._family, cum_weights=self._family_cum, k=count)
        names = []
        for family in families:
            middles, givens = self._male if random_() < 0.5 else self._female
            middle = middles[int(random_() * len(middles))]
            given = givens[int(random_() * len(givens))]
            while given == middle:
                given = givens[int(random_() * len(givens))]
            if random_() < 0.12:  # a second middle name: Nguyễn Thị Thu Hà
                extra = middles[int(random_() * len(middles))]
                if extra not in (middle, given):
                    middle = f"{middle} {extra}"
            names.append(f"{family} {middle} {given}")
        return names


@dataclass
class _People:
    """Registered members (indexes 0..members-1) followed by erased members' stand-ins.

    ``ids`` is what activity rows carry: the member id, or ≤ -2^40 for an erased member.
    """

    ids: list[int]
    names: list[str]
    cell: list[int]
    category: list[str]
    tier: list[int]
    weight: list[float]
    minute: list[int]  # the local minute of the day they usually open the bot
    created: list[int]
    unit: list[str]

    @classmethod
    def build(cls, rng: random.Random, tree: _Tree, members: int, period: _Period) -> _People:
        cells = tree.cells
        n_cells = len(cells)
        sizes = [rng.uniform(0.6, 1.4) for _ in cells]
        if members >= n_cells:
            cell_of = list(range(n_cells))
            cell_of += rng.choices(range(n_cells), weights=sizes, k=members - n_cells)
        else:
            cell_of = rng.choices(range(n_cells), weights=sizes, k=members)
        rng.shuffle(cell_of)
        erased = max(1, members // 1000) if members else 0
        cell_of += rng.choices(range(n_cells), weights=sizes, k=erased)
        total = members + erased

        youth_cum = _cumulative(_MIX_YOUTH)
        party_cum = _cumulative(_MIX_PARTY)
        tier_cum = _cumulative(_TIERS)
        category, tier, weight, minute = [], [], [], []
        random_, spread = rng.random, rng.lognormvariate
        for c in cell_of:
            cell = cells[c]
            cum = youth_cum if cell.youth else party_cum
            cat = CATEGORIES[bisect(cum, random_() * cum[-1])]
            t = bisect(tier_cum, random_() * tier_cum[-1])
            category.append(cat)
            tier.append(t)
            w = _TIER_WEIGHT[t] * _CATEGORY_WEIGHT[cat] * cell.factor
            # (capped: the keenest read a lesson a day and practise, ~400 rows a year)
            weight.append(min(w * spread(0, 0.4), _MAX_WEIGHT) if w else 0.0)
            minute.append(_habit_minute(random_))
        # Registration over the two years before the period; ids follow registration order.
        created = sorted(period.start_ts - 1 - int(random_() * 730 * DAY) for _ in range(total))
        ids = list(range(1, members + 1))
        taken: set[int] = set()
        while len(ids) < total:
            stand_in = -rng.randrange(2**40, 2**52)
            if stand_in not in taken:
                taken.add(stand_in)
                ids.append(stand_in)
        names = _Names(rng).many(total)
        unit = [cells[c].code for c in cell_of]
        return cls(ids, names, cell_of, category, tier, weight, minute, created, unit)

    def member_rows(self, members: int) -> Iterator[tuple]:
        for i in range(members):
            created = self.created[i]
            consent = created - 20 - (i * 7919) % 280  # consent comes just before the sign-up
            yield (i + 1, self.names[i], self.unit[i], self.category[i], consent, created)


def _weighted_table(rng: random.Random, weights: list[float], items: list[T]) -> list[T]:
    """Items repeated in proportion to their weights: one lookup draws a weighted item.

    ``random.choices`` bisects a list of cumulative weights, which for half a million people
    costs more than building all the rest of a row; ~16 slots a person keep the shares.
    """
    total = sum(weights)
    if total <= 0:
        return []
    scale = 16 * len(weights) / total
    random_ = rng.random
    table: list[T] = []
    extend = table.extend
    for item, w in zip(items, weights, strict=True):
        if w:
            extend([item] * int(w * scale + random_()))
    return table


def _cumulative(weights: tuple[float, ...]) -> list[float]:
    total, cum = 0.0, []
    for w in weights:
        total += w
        cum.append(total)
    return cum


def _habit_minute(random_) -> int:
    """Morning before work, lunch, or the evening (the most), sometimes any time."""
    r = random_()
    if r < 0.2:
        return 360 + int(random_() * 100)  # 6:00-7:40
    if r < 0.4:
        return 690 + int(random_() * 100)  # 11:30-13:10
    if r < 0.9:
        return 1140 + int(random_() * 210)  # 19:00-22:30
    return 420 + int(random_() * 960)  # 7:00-23:00


def _spike(day: date) -> float:
    """1 on an ordinary day, 2.5 on 19/5 and 2/9, fading over the five days around them."""
    extra = 0.0
    for month, dom in _HOLIDAYS:
        distance = abs((day - date(day.year, month, dom)).days)
        if distance <= 5:
            extra += 1.5 * 0.55**distance
    return 1.0 + extra


# -- roster and organizers -----------------------------------------------------------------


@dataclass
class _Roster:
    rows: list[tuple]
    only: list[list[tuple[int, str]]]  # per cell: (roster id, category) of people without app


def _build_roster(
    rng: random.Random,
    tree: _Tree,
    people: _People,
    members: int,
    period: _Period,
    phone_key: bytes,
) -> _Roster:
    """~97% of the members on their cell's roster (70% of them linked), plus ~3% without app."""
    random_ = rng.random
    n_cells = len(tree.cells)
    # Imported unit by unit; a unit's list is in no particular order.
    lists: list[list[int]] = [[] for _ in range(n_cells)]
    for i in range(members):
        if random_() < 0.97:
            lists[people.cell[i]].append(i)
    extra = round(members * 0.03)
    for c in rng.choices(range(n_cells), k=extra):
        lists[c].append(-1)
    entries = []
    for c, cell_list in enumerate(lists):
        rng.shuffle(cell_list)
        entries += [(c, i) for i in cell_list]
    names = iter(_Names(rng).many(extra))
    phones = rng.sample(range(10**8), len(entries))
    imported = [
        period.start_ts - rng.randint(20, 200) * DAY - rng.randrange(DAY) for _ in tree.communes
    ]
    youth_cum, party_cum = _cumulative(_MIX_YOUTH), _cumulative(_MIX_PARTY)
    rows: list[tuple] = []
    only: list[list[tuple[int, str]]] = [[] for _ in range(n_cells)]
    for rid, (c, i) in enumerate(entries, 1):
        phone = f"+849{phones[rid - 1]:08d}"
        phone_hash = hmac.digest(phone_key, phone.encode(), "sha256").hex()
        cell = tree.cells[c]
        at = imported[cell.commune]
        if i >= 0:
            if random_() < 0.7:  # linked by phone at import or at registration
                rows.append(
                    (
                        rid,
                        people.unit[i],
                        people.category[i],
                        people.names[i],
                        phone_hash,
                        i + 1,
                        at,
                        max(at, people.created[i]),
                    )
                )
            else:
                row = (rid, people.unit[i], people.category[i], people.names[i], phone_hash)
                rows.append((*row, None, at, at))
        else:
            cum = youth_cum if cell.youth else party_cum
            category = CATEGORIES[bisect(cum, random_() * cum[-1])]
            rows.append((rid, cell.code, category, next(names), phone_hash, None, at, at))
            only[c].append((rid, category))
    return _Roster(rows, only)


def _organizers(
    rng: random.Random, tree: _Tree, people: _People, members: int, period: _Period
) -> list[tuple[int, str, int]]:
    """The first registered member of each district and of each commune organizes it."""
    district: dict[int, int] = {}
    commune: dict[int, int] = {}
    for i in range(members):
        cell = tree.cells[people.cell[i]]
        district.setdefault(cell.district, i)
        commune.setdefault(cell.commune, i)
        if len(commune) == len(tree.communes) and len(district) == len(tree.districts):
            break
    rows = []
    for first, codes in ((district, tree.districts), (commune, tree.communes)):
        for index, code in enumerate(codes):
            i = first.get(index)
            if i is not None:
                granted = people.created[i] + rng.randint(3600, 30 * DAY)
                rows.append((i + 1, code, min(granted, period.start_ts - 1)))
    return rows


def _content_ids() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The shipped lesson and question ids (refs of lesson_read / practice_answer)."""
    root = Path(__file__).resolve().parent.parent

    def ids(folder: Path) -> tuple[str, ...]:
        found: list[str] = []
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")):
                found += _ID_LINE.findall(path.read_text("utf-8"))
        return tuple(found)

    return (
        ids(root / "content" / "lessons") or _LESSON_FALLBACK,
        ids(root / "quizzes") or _QUESTION_FALLBACK,
    )


# -- activity ------------------------------------------------------------------------------


class _Activity:
    """The activity rows, day by day and in time order within each day.

    A day's rows are ``(at, member_id, unit_code, category, kind, ref)``; the day itself is
    written into the INSERT (one statement a day), which saves binding it ten million times.
    """

    def __init__(
        self,
        rng: random.Random,
        seed: int,
        tree: _Tree,
        people: _People,
        roster: _Roster,
        period: _Period,
        members: int,
        lessons: tuple[str, ...],
        questions: tuple[str, ...],
    ) -> None:
        self.rng = rng
        self.seed = seed
        self.tree = tree
        self.people = people
        self.roster = roster
        self.period = period
        self.members = members
        self.lessons = lessons
        self.questions = questions
        self.day_numbers = []
        for i in range(period.days):
            d = period.start + timedelta(days=i)
            self.day_numbers.append(d.year * 10000 + d.month * 100 + d.day)
        self.who = list(zip(people.ids, people.unit, people.category, strict=True))
        # Seconds of the day: each person's habit, and a pool of "any time" moments.
        self.habit = [m * 60 for m in people.minute]
        self.any_time = [_habit_minute(rng.random) * 60 + rng.randrange(60) for _ in range(4096)]
        self.scheduled: list[list[tuple]] = [[] for _ in range(period.days)]
        # What plan() put into ``scheduled`` for the feature tables: the commitment_written and
        # commitment_checkin rows, and (number, cell, day, start, its attendance rows) a session.
        self.written: list[tuple] = []
        self.checked: list[tuple] = []
        self.sessions: list[tuple[int, int, int, int, list[tuple]]] = []
        # (person id, unit, category, usual second of the day), repeated by liveliness.
        persons = [(*w, h) for w, h in zip(self.who, self.habit, strict=True)]
        self.table = _weighted_table(rng, people.weight, persons)

    def plan(self) -> None:
        """Draw what follows people rather than days: commitments and study sessions."""
        self._commitments(self.scheduled)
        self._sessions(self.scheduled)

    def split(self, share: float) -> int:
        """The first day of the week nearest to ``share`` of the period (0: none)."""
        period = self.period
        target = round(period.days * share)
        mondays = [
            i for i in range(1, period.days) if (period.start + timedelta(days=i)).weekday() == 0
        ]
        return min(mondays, key=lambda i: abs(i - target)) if mondays else 0

    def days(self, start: int, stop: int) -> Iterator[tuple[int, list[tuple]]]:
        """(yyyymmdd, that day's rows in time order) for the days ``start`` to ``stop - 1``.

        Each week draws from its own generator seeded by (seed, week), so the rows are the
        same whichever process makes them and whether the period is made in one piece or two.
        """
        return self._days(self.scheduled, start, stop)

    def _time(self, index: int, i: int) -> int:
        """When person ``i`` did something on the day ``index`` of the period.

        Mostly within 40 minutes of their usual time (which keeps inside the day), sometimes
        at any time.
        """
        r = self.rng.random()
        if r < 0.75:
            return self.period.day_start(index) + self.habit[i] + int(r * 6400) - 2400
        return self.period.day_start(index) + self.any_time[int(r * 16384) & 4095]

    def _row(self, i: int, index: int, kind: str, ref: str) -> tuple:
        return (self._time(index, i), *self.who[i], kind, ref)

    def _commitments(self, scheduled: list[list[tuple]]) -> None:
        """Commitments written early in the year, monthly check-ins, year-end self-reports."""
        people, period = self.people, self.period
        random_ = self.rng.random
        last = period.days - 1
        end = period.start + timedelta(days=last)
        for year in range(period.start.year, end.year + 1):
            jan1 = period.index(date(year, 1, 1))
            q1 = (date(year, 4, 1) - date(year, 1, 1)).days
            rest = (date(year + 1, 1, 1) - date(year, 4, 1)).days
            months = []
            for month in range(1, 13):
                a = period.index(date(year, month, 1))
                b = a + calendar.monthrange(year, month)[1] - 1
                if b >= 0 and a <= last:
                    months.append((a, b, f"{year}-{month:02d}"))
            december = period.index(date(year, 12, 1))
            reports = december <= last and december + 30 >= 0
            written = str(year)
            for i, tier in enumerate(people.tier):
                if not tier or random_() >= _WRITES[tier] * _WRITES_CATEGORY[people.category[i]]:
                    continue
                if random_() < 0.65:
                    day = jan1 + int(random_() * q1)
                else:
                    day = jan1 + q1 + int(random_() * rest)
                if 0 <= day <= last:
                    row = self._row(i, day, "commitment_written", written)
                    scheduled[day].append(row)
                    self.written.append(row)
                checks = _CHECKS_IN[tier]
                for a, b, ref in months:
                    if b <= day or random_() >= checks:
                        continue
                    first = max(a, day + 1)
                    if random_() < 0.7:  # when the end-of-month reminder comes
                        when = max(first, b - int(random_() * 10))
                    else:
                        when = first + int(random_() * (b - first + 1))
                    if 0 <= when <= last:
                        row = self._row(i, when, "commitment_checkin", ref)
                        scheduled[when].append(row)
                        self.checked.append(row)
                if reports and random_() < _SELF_REPORT[tier]:
                    when = december + int(random_() * 31)
                    if when > day and 0 <= when <= last:
                        scheduled[when].append(self._row(i, when, "self_report", written))

    def _sessions(self, scheduled: list[list[tuple]]) -> None:
        """Study sessions in the cells; members and roster-only people attend."""
        rng, people, period = self.rng, self.people, self.period
        random_ = rng.random
        cells = self.tree.cells
        target = _SHARE_SESSION * ROWS_PER_MEMBER_DAY * self.members * period.days
        if target <= 0:
            return
        in_cell: list[list[int]] = [[] for _ in cells]
        for i in range(self.members):
            in_cell[people.cell[i]].append(i)
        expected = [
            sum(_ATTENDS[people.tier[i]] for i in in_cell[c])
            + _ROSTER_ONLY_ATTENDS * len(self.roster.only[c])
            for c in range(len(cells))
        ]
        weights = [cell.factor * len(in_cell[c]) for c, cell in enumerate(cells)]
        total = sum(weights)
        if not total:
            return
        per_session = sum(w * e for w, e in zip(weights, expected, strict=True)) / total
        count = max(1, int(target / max(per_session, 1.0) + random_()))
        day_weights = []
        for i in range(period.days):
            d = period.start + timedelta(days=i)
            day_weights.append(_SESSION_WEEKDAY[d.weekday()] * _spike(d))
        sessions = sorted(
            zip(
                rng.choices(range(period.days), weights=day_weights, k=count),
                rng.choices(_SESSION_STARTS, k=count),
                rng.choices(range(len(cells)), weights=weights, k=count),
                strict=True,
            )
        )
        for number, (index, start, c) in enumerate(sessions, 1):
            ref = f"session:{number}"
            begin = period.day_start(index) + start * 60
            rows = scheduled[index]
            before = len(rows)
            for i in in_cell[c]:
                if random_() < _ATTENDS[people.tier[i]]:  # checked in around the start
                    at = begin + int(random_() * 2100) - 600
                    rows.append((at, *self.who[i], "session_attendance", ref))
            code = cells[c].code
            for rid, category in self.roster.only[c]:
                if random_() < _ROSTER_ONLY_ATTENDS:  # marked by the organizer
                    at = begin + int(random_() * 2100) - 600
                    rows.append((at, -rid, code, category, "session_attendance", ref))
            self.sessions.append((number, c, index, start, rows[before:]))

    def _days(
        self, scheduled: list[list[tuple]], start: int, stop: int
    ) -> Iterator[tuple[int, list[tuple]]]:
        """Lessons, practice, contests and feedback, drawn day by day; then the day's rows."""
        period = self.period
        any_time = self.any_time
        lessons, questions = self.lessons, self.questions
        n_lessons, n_questions = len(lessons), len(questions)
        table = self.table
        size = len(table)
        active = size > 0
        per_day = self.members * ROWS_PER_MEMBER_DAY
        visit_rate = per_day * _SHARE_LESSON / _P_LESSON
        contest_rate = per_day * _SHARE_CONTEST
        feedback_rate = per_day * _SHARE_FEEDBACK
        lesson_only, with_practice = _LESSON_ONLY, _WITH_PRACTICE
        lesson_of_the_day = 0.8 * with_practice
        round_key = None
        entered: set[int] = set()
        first_month = period.start.year * 12 + period.start.month
        week = None
        for index in range(start, stop):
            rows = scheduled[index]
            scheduled[index] = []
            d = period.start + timedelta(days=index)
            if (d.toordinal() - 1) // 7 != week:  # Monday
                week = (d.toordinal() - 1) // 7
                random_ = random.Random(f"demo:{self.seed}:{week}").random
            base = period.day_start(index)
            early = base - 2400
            last_second = base + DAY - 1
            day = self.day_numbers[index]
            factor = _WEEKDAY[d.weekday()] * _spike(d)
            append = rows.append
            if active:
                # The lesson of the day, mostly; some catch up on another one.
                today = lessons[d.toordinal() % n_lessons]
                visits = int(visit_rate * factor + random_())
                for _ in range(visits):
                    person_id, unit, category, usual = table[int(random_() * size)]
                    r = random_()
                    if r < 0.75:  # within 40 minutes of their usual time (inside the day)
                        at = early + usual + int(r * 6400)
                    else:
                        at = base + any_time[int(r * 16384) & 4095]
                    r = random_()
                    if r < with_practice:
                        if r < lesson_of_the_day:
                            ref = today
                        else:
                            ref = lessons[int(random_() * n_lessons)]
                        append((at, person_id, unit, category, "lesson_read", ref))
                        if r < lesson_only:
                            continue
                        at += 60 + int(random_() * 240)
                    for _ in range(1 + int(random_() * 5)):
                        r = random_()
                        if at > last_second:
                            at = last_second
                        r *= n_questions
                        ref = questions[int(r)]
                        append((at, person_id, unit, category, "practice_answer", ref))
                        at += 10 + int(r * 50) % 50
                # A contest a month with weekly rounds: one entry per person and round.
                contest = f"contest:{d.year * 12 + d.month - first_month + 1}"
                key = (contest, week)
                if key != round_key:
                    round_key, entered = key, set()
                entries = int(contest_rate * factor + random_())
                for _ in range(entries):
                    person_id, unit, category, usual = table[int(random_() * size)]
                    if person_id in entered:
                        continue
                    entered.add(person_id)
                    at = base + usual + int(random_() * 3600)
                    append((at, person_id, unit, category, "contest_entry", contest))
                    if random_() < _ALL_CORRECT:
                        kind = "contest_all_correct"
                        append((at, person_id, unit, category, kind, contest))
                feedback = int(feedback_rate * factor + random_())
                for _ in range(feedback):
                    person_id, unit, category, _ = table[int(random_() * size)]
                    at = base + any_time[int(random_() * 4096)]
                    append((at, person_id, unit, category, "feedback_sent", ""))
            rows.sort(key=_FIRST)
            yield day, rows


# -- feature tables ------------------------------------------------------------------------


def _write_features(
    conn: sqlite3.Connection,
    activity: _Activity,
    tree: _Tree,
    organizers: list[tuple[int, str, int]],
    seed: int,
) -> dict[str, int]:
    """The commitments, check-ins, study sessions and attendance the log says there are.

    Made from what ``activity.plan()`` recorded, with generators of their own, so they neither
    change the log nor depend on which process writes which weeks of it.
    """
    suggestions, theme = _commitment_content()
    commitments, items = _commitment_rows(activity.written, suggestions, seed)
    conn.executemany(
        "INSERT INTO commitments (member_id, year, items, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        commitments,
    )
    # A check-in is a row per item: SQL makes them from one row per check-in, faster than
    # binding each. (Like the commitments, in the order of the key: faster than in time order.)
    conn.execute(
        "CREATE TEMP TABLE demo_checkins (member_id INTEGER, year INTEGER, period TEXT,"
        " answers TEXT, at INTEGER)"
    )
    conn.executemany(
        "INSERT INTO temp.demo_checkins VALUES (?, ?, ?, ?, ?)",
        _checkin_rows(activity.checked, items, seed),
    )
    checkins = conn.execute(
        "INSERT INTO main.commitment_checkins (member_id, year, period, item, status, at)"
        f" WITH items (i) AS (VALUES {', '.join(f'({i})' for i in range(_COMMITMENT_ITEMS[1]))})"
        " SELECT c.member_id, c.year, c.period, i, CASE substr(c.answers, i + 1, 1)"
        " WHEN 'd' THEN 'done' WHEN 'i' THEN 'in_progress' ELSE 'not_yet' END, c.at"
        " FROM temp.demo_checkins c CROSS JOIN items ON i < length(c.answers)"
        " ORDER BY c.rowid, i"
    ).rowcount
    conn.execute("DROP TABLE temp.demo_checkins")
    sessions, markers = _session_rows(activity, tree, organizers, theme, seed)
    conn.executemany(
        "INSERT INTO study_sessions (id, code, title, unit_code, starts_at, place, created_by,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        sessions,
    )
    # The log has every attendance already: the trigger that would log it again is off
    # meanwhile, and created again as the migration left it.
    triggers = conn.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger'"
        " AND name = 'session_attendance_activity'"
    ).fetchall()
    for name, _ in triggers:
        conn.execute(f'DROP TRIGGER main."{name}"')
    attended = conn.executemany(
        "INSERT INTO session_attendance (session_id, person, unit_code, category, marked_by, at,"
        " day) VALUES (?, ?, ?, ?, ?, ?, ?)",
        _attendance_rows(activity, markers),
    ).rowcount
    for _, sql in triggers:
        conn.execute(sql)
    return {
        "commitments": len(commitments),
        "commitment_checkins": checkins,
        "study_sessions": len(sessions),
        "session_attendance": attended,
    }


def _commitment_content() -> tuple[dict[str, tuple[str, ...]], str]:
    """The shipped suggestions (Vietnamese texts) per category, and the year's theme.

    Loaded as the bot loads content/commitments.yaml; a category with fewer than three
    suggestions (or no usable file) gets a short generic list.
    """
    path = Path(__file__).resolve().parent.parent / "content" / "commitments.yaml"
    texts: dict[str, tuple[str, ...]] = {}
    theme = _THEME_FALLBACK
    if path.is_file():
        try:
            content = load_commitments(path, CATEGORIES)
        except ContentError as e:
            log.warning("demo: commitment suggestions not usable, using generic ones: %s", e)
        else:
            theme = content.theme.get("vi") or theme
            for category in CATEGORIES:
                texts[category] = tuple(s.text["vi"] for s in content.for_category(category))
    fallback = _nfc(_ITEM_FALLBACK)
    low = _COMMITMENT_ITEMS[0]
    return {c: t if len(t := texts.get(c, ())) >= low else fallback for c in CATEGORIES}, theme


def _commitment_rows(
    written: list[tuple], suggestions: dict[str, tuple[str, ...]], seed: int
) -> tuple[list[tuple], dict[tuple[int, int], int]]:
    """A commitment for each commitment_written row of a member, by member and year.

    Also how many items each (member, year) has, for the check-ins. The items are stored as
    the bot stores them: ``json.dumps(items, ensure_ascii=False)``.
    """
    rng = random.Random(f"demo:{seed}:commitments")
    random_ = rng.random
    low, high = _COMMITMENT_ITEMS
    spread = high - low + 1
    orders: dict[str, list[list[str]]] = {}
    for category in CATEGORIES:
        quoted = [json.dumps(text, ensure_ascii=False) for text in suggestions[category]]
        orders[category] = [rng.sample(quoted, len(quoted)) for _ in range(_ORDERS)]
    rows: list[tuple] = []
    items: dict[tuple[int, int], int] = {}
    for at, member, _, category, _, ref in sorted(written, key=_BY_MEMBER):
        if member <= 0:  # an erased member's stand-in: the commitment went with them
            continue
        order = orders[category][int(random_() * _ORDERS)]
        n = min(low + int(random_() * spread), len(order))
        year = int(ref)
        items[member, year] = n
        rows.append((member, year, "[" + ", ".join(order[:n]) + "]", at, at))
    return rows, items


def _checkin_rows(
    checked: list[tuple], items: dict[tuple[int, int], int], seed: int
) -> Iterator[tuple]:
    """(member, year, period, answers, at) for each commitment_checkin row on a commitment.

    By member and period (the commitment_checkins key), ``answers`` with a letter an item:
    d(one), i(n progress), n(ot yet).
    """
    rng = random.Random(f"demo:{seed}:checkins")
    random_ = rng.random
    done, progress = _STATUSES
    answers: dict[int, list[str]] = {}
    for at, member, _, _, _, period in sorted(checked, key=_BY_MEMBER):
        year = int(period[:4])
        n = items.get((member, year))
        if not n:  # written before the period (or an erased member)
            continue
        if n not in answers:
            answers[n] = [
                "".join(
                    "d" if r < done else "i" if r < progress else "n"
                    for r in [random_() for _ in range(n)]
                )
                for _ in range(_ANSWERS)
            ]
        yield (member, year, period, answers[n][int(random_() * _ANSWERS)], at)


def _session_rows(
    activity: _Activity,
    tree: _Tree,
    organizers: list[tuple[int, str, int]],
    theme: str,
    seed: int,
) -> tuple[list[tuple], list[int | None]]:
    """The planned study sessions, and who created each (indexed by session number).

    An organizer of the cell's commune (else its district) creates a session two to ten days
    ahead, at the place the cell usually meets (sometimes the commune's hall).
    """
    random_ = random.Random(f"demo:{seed}:sessions").random
    period = activity.period
    names = {code: name for code, name, *_ in tree.units}
    organizer = {code: (member, granted) for member, code, granted in organizers}
    titles, youth_titles = _nfc(_SESSION_TITLES), _nfc(_YOUTH_TITLES)
    nfc = partial(unicodedata.normalize, "NFC")
    halls: dict[int, tuple[str, str]] = {}  # cell: (its usual place, the commune's hall)
    rows: list[tuple] = []
    markers: list[int | None] = [None]
    for number, c, index, start, _ in activity.sessions:
        cell = tree.cells[c]
        if c not in halls:
            own = names[cell.code].split(" ", 2)[2]  # "Chi bộ thôn Đông" -> "thôn Đông"
            if own.startswith(("thôn ", "khu phố ")):
                usual = "Nhà văn hóa" if random_() < 0.6 else "Hội trường"
            else:
                usual = "Phòng họp" if random_() < 0.5 else "Hội trường"
            commune = names[tree.communes[cell.commune]]
            hall = f"Hội trường Ủy ban nhân dân {commune[0].lower()}{commune[1:]}"
            halls[c] = (nfc(f"{usual} {own}"), nfc(hall))
        usual, hall = halls[c]
        day = period.start + timedelta(days=index)
        title = ""
        for month, dom, since, what in _COMMEMORATIONS:
            if 0 <= (date(day.year, month, dom) - day).days < 7 and random_() < 0.6:
                title = _COMMEMORATION.format(n=day.year - since, what=what)
        if not title:
            pool = youth_titles if cell.youth and random_() < 0.5 else titles
            title = pool[int(random_() * len(pool))].format(year=day.year, theme=theme)
        title = nfc(title)[:_TITLE_MAX]
        place = hall if random_() < 0.15 else usual
        creator, granted = (
            organizer.get(tree.communes[cell.commune])
            or organizer.get(tree.districts[cell.district])
            or (None, period.start_ts - 10 * DAY)
        )
        created = period.day_start(index - 2 - int(random_() * 9))
        created = max(created + (480 + int(random_() * 600)) * 60, granted)
        starts = period.day_start(index) + start * 60
        code = _join_code(number, _CODE_STEP, 0x0B5C6F)
        rows.append((number, code, title, cell.code, starts, place, creator, created))
        markers.append(creator)
    return rows, markers


def _attendance_rows(activity: _Activity, markers: list[int | None]) -> Iterator[tuple]:
    """The attendance rows of the log: members checked in, roster-only people were marked."""
    day_numbers = activity.day_numbers
    for number, _, index, _, attendees in activity.sessions:
        day = day_numbers[index]
        marker = markers[number]
        for at, person, unit, category, _, _ in sorted(attendees, key=_FIRST):
            yield (number, person, unit, category, None if person > 0 else marker, at, day)
