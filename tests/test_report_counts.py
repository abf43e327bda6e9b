"""The store's report figures against a plain count in Python, and the denominators the
database keeps. Unit tests on the store, below the report model and the chat."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from collections import defaultdict
from contextlib import closing
from datetime import date, timedelta

import pytest

from bot.store import reports
from bot.store.activity import day_number
from bot.store.migrate import apply_migrations
from bot.store.reports import Count
from bot.store.sqlite import SqliteStore

UNITS = ["DEMO", "DEMO.HA", "DEMO.HA.1", "DEMO.HA.2", "DEMO.BS", "DEMO.BS.1", "DEMO.BS.2"]
START, END = date(2026, 5, 1), date(2026, 5, 20)
FIELDS = (
    "by_group_category",
    "by_group",
    "by_category",
    "by_kind",
    "by_group_kind",
    "by_week",
)


def random_activity(seed: int) -> list[tuple]:
    """(member_id, unit, category, kind, day) rows: people who move unit and change category,
    roster-only people (negative ids), erased members (≤ -2^40), rows anonymised as NULL by
    early versions, a kind and a category no report has met before, days around the period."""
    rng = random.Random(seed)
    people = [*range(1, 40), -3, -9, -(2**40) - 5, -(2**41) - 1, None]
    kinds = ["lesson_read", "practice_answer", "contest_entry", "session_attendance", "new_kind"]
    categories = ["dang_vien", "doan_vien", "quan_chung", "moi_them"]
    rows = []
    for _ in range(600):
        rows.append(
            (
                rng.choice(people),
                rng.choice(UNITS),
                rng.choice(categories),
                rng.choice(kinds),
                START + timedelta(days=rng.randint(-3, 23)),
            )
        )
    return rows


def group_of(unit: str, scope: str, per_unit: bool) -> str | None:
    """The line a unit counts in, from the unit codes alone (DEMO.HA.1 lies under DEMO.HA)."""
    if unit != scope and not unit.startswith(scope + "."):
        return None
    if per_unit or unit == scope:
        return unit
    return ".".join(unit.split(".")[: scope.count(".") + 2])


def plain_count(rows, scope, start, end, *, per_unit=False, kinds=(), categories=()):
    """Every level of a report, counted row by row."""
    kept = [
        (person, group_of(unit, scope, per_unit), category, kind, (day - start).days // 7)
        for person, unit, category, kind, day in rows
        if start <= day <= end
        and group_of(unit, scope, per_unit)
        and (not kinds or kind in kinds)
        and (not categories or category in categories)
    ]
    keys = {
        "by_group_category": lambda r: (r[1], r[2]),
        "by_group": lambda r: r[1],
        "by_category": lambda r: r[2],
        "by_kind": lambda r: r[3],
        "by_group_kind": lambda r: (r[1], r[3]),
        "by_week": lambda r: r[4],
    }
    counted = {}
    for name, key in keys.items():
        entries, people = defaultdict(int), defaultdict(set)
        for row in kept:
            entries[key(row)] += 1
            if row[0] is not None:
                people[key(row)].add(row[0])
        counted[name] = {k: Count(n, len(people[k])) for k, n in entries.items()}
    total = Count(len(kept), len({r[0] for r in kept if r[0] is not None}))
    return counted, total


@pytest.fixture
async def store(tmp_path):
    async with SqliteStore(tmp_path / "bot.db") as opened:
        yield opened


def unit_path(code: str) -> str:
    """'DEMO.HA.1' -> '/DEMO/DEMO.HA/DEMO.HA.1/'."""
    parts = code.split(".")
    return "/" + "".join(".".join(parts[: n + 1]) + "/" for n in range(len(parts)))


def insert(path, rows) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT OR IGNORE INTO units (code, name, parent_code, path, join_code)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (
                    code,
                    code,
                    code.rsplit(".", 1)[0] if "." in code else None,
                    unit_path(code),
                    "J" + code,
                )
                for code in UNITS
            ],
        )
        conn.executemany(
            "INSERT INTO activity (member_id, unit_code, category, kind, ref, at, day)"
            " VALUES (?, ?, ?, ?, '', 0, ?)",
            [(p, u, c, k, day_number(d)) for p, u, c, k, d in rows],
        )


@pytest.mark.parametrize("plan", ["seek", "scan"])
@pytest.mark.parametrize("seed", range(3))
async def test_figures_equal_a_plain_count_at_every_level(store, seed, plan, monkeypatch):
    # Both ways of reading a period (unit by unit, or the whole period's range) count alike.
    monkeypatch.setattr(reports, "SEEK_LIMIT", 10**9 if plan == "seek" else 0)
    rows = random_activity(seed)
    insert(store.path, rows)
    for scope, per_unit, kinds, categories in [
        ("DEMO", False, (), ()),
        ("DEMO.HA", False, (), ()),
        ("DEMO.BS.2", False, (), ()),
        ("DEMO", True, (), ()),
        ("DEMO", False, ("lesson_read", "new_kind"), ()),
        ("DEMO.HA", False, (), ("dang_vien", "moi_them")),
    ]:
        figures = await store.reports.figures(
            unit_path(scope), START, END, per_unit=per_unit, kinds=kinds, categories=categories
        )
        counted, total = plain_count(
            rows, scope, START, END, per_unit=per_unit, kinds=kinds, categories=categories
        )
        for name in FIELDS:
            assert getattr(figures, name) == counted[name], (scope, per_unit, name)
        assert figures.total == total
        assert figures.total.entries > 0


async def test_an_empty_or_reversed_period_counts_nothing(store):
    insert(store.path, random_activity(0))
    empty = await store.reports.figures("/DEMO/", date(2025, 1, 1), date(2025, 1, 31))
    assert empty.total == Count() and not empty.by_group and not empty.by_week
    reversed_ = await store.reports.figures("/DEMO/", END, START)
    assert reversed_.total == Count()


# -- denominators kept by triggers (migrations/0007) ------------------------------------------


def recount(conn) -> dict:
    return {
        (source, unit, category): n
        for source, table in (("roster", "roster"), ("members", "members"))
        for unit, category, n in conn.execute(
            f"SELECT unit_code, category, count(*) FROM {table} GROUP BY unit_code, category"
        )
    }


def kept(conn) -> dict:
    return {
        (source, unit, category): n
        for source, unit, category, n in conn.execute(
            "SELECT source, unit_code, category, n FROM expected_counts WHERE n != 0"
        )
    }


def add_people(conn, first_id: int, count: int, rng: random.Random) -> None:
    for n in range(first_id, first_id + count):
        unit, category = rng.choice(UNITS[1:]), rng.choice(["dang_vien", "doan_vien"])
        conn.execute(
            "INSERT INTO members (id, full_name, unit_code, category, consent_at, created_at)"
            " VALUES (?, 'X Y', ?, ?, 0, 0)",
            (n, unit, category),
        )
        conn.execute(
            "INSERT INTO roster (unit_code, category, full_name, phone_hash, imported_at,"
            " updated_at) VALUES (?, ?, 'X Y', ?, 0, 0)",
            (unit, category, f"h{n}"),
        )


def test_denominators_follow_every_insert_move_and_delete(tmp_path):
    path = tmp_path / "bot.db"
    rng = random.Random(7)
    with closing(sqlite3.connect(path)) as conn, conn:
        apply_migrations(conn, target=6)
        insert(path, [])
        add_people(conn, 1, 30, rng)  # before the counts exist: the migration counts them
        apply_migrations(conn)
        assert kept(conn) == recount(conn) and sum(kept(conn).values()) == 60
        add_people(conn, 31, 20, rng)
        conn.execute("UPDATE members SET unit_code = 'DEMO.BS.1' WHERE id % 3 = 0")
        conn.execute("UPDATE members SET category = 'quan_chung' WHERE id % 4 = 0")
        conn.execute("UPDATE members SET full_name = 'Z W' WHERE id % 5 = 0")  # no move
        conn.execute("DELETE FROM members WHERE id % 7 = 0")
        # A roster re-import updating rows in place (the upsert of participation.py).
        conn.execute(
            "INSERT INTO roster (unit_code, category, full_name, phone_hash, imported_at,"
            " updated_at) VALUES ('DEMO.HA.2', 'quan_chung', 'X Y', 'h3', 1, 1)"
            " ON CONFLICT (phone_hash) DO UPDATE SET unit_code = excluded.unit_code,"
            " category = excluded.category"
        )
        conn.execute("DELETE FROM roster WHERE id % 6 = 0")
        assert kept(conn) == recount(conn)
        assert min(n for (n,) in conn.execute("SELECT n FROM expected_counts")) >= 0


# -- report connections -----------------------------------------------------------------------


async def test_a_cancelled_report_keeps_its_connection_until_its_thread_ends(store):
    release, started = threading.Event(), threading.Event()

    def slow(conn: sqlite3.Connection) -> int:
        started.set()
        release.wait(5)
        return conn.execute("SELECT 1").fetchone()[0]

    tasks = [asyncio.create_task(store.run_report(slow)) for _ in range(2)]
    await asyncio.to_thread(started.wait, 5)
    await asyncio.sleep(0.05)
    tasks[0].cancel()
    await asyncio.sleep(0.05)
    # Both connections are still in use: a third report waits rather than share one.
    third = asyncio.create_task(store.run_report(lambda conn: conn.execute("SELECT 2").fetchone()))
    await asyncio.sleep(0.1)
    assert not third.done()
    release.set()
    assert await tasks[1] == 1
    assert await third == (2,)
    with pytest.raises(asyncio.CancelledError):
        await tasks[0]


async def test_report_connections_cannot_write(store):
    with pytest.raises(sqlite3.OperationalError):
        await store.run_report(lambda conn: conn.execute("DELETE FROM units"))


async def test_a_report_sees_one_snapshot_while_others_write(store):
    """Units reloaded or rows added during a report must not mix into it: each report runs in
    one read transaction (a unit moved into the scope mid-report had crashed it)."""
    insert(store.path, random_activity(1))
    counted, go_on = threading.Event(), threading.Event()

    def twice(conn: sqlite3.Connection) -> tuple[int, int]:
        first = conn.execute("SELECT count(*) FROM activity").fetchone()[0]
        counted.set()
        go_on.wait(5)
        return first, conn.execute("SELECT count(*) FROM activity").fetchone()[0]

    running = asyncio.create_task(store.run_report(twice))
    await asyncio.to_thread(counted.wait, 5)
    insert(store.path, random_activity(2)[:10])  # committed by another connection meanwhile
    go_on.set()
    first, second = await running
    assert first == second == 600
    after = await store.run_report(
        lambda conn: conn.execute("SELECT count(*) FROM activity").fetchone()[0]
    )
    assert after == 610


async def test_closing_the_store_waits_for_a_report_in_progress(tmp_path):
    store = SqliteStore(tmp_path / "bot.db")
    await store.open()
    started, used = threading.Event(), []

    def slow(conn: sqlite3.Connection) -> int:
        used.append(conn)
        started.set()
        time.sleep(0.3)
        return conn.execute("SELECT 7").fetchone()[0]

    running = asyncio.create_task(store.run_report(slow))
    await asyncio.to_thread(started.wait, 5)
    await store.close()
    assert await running == 7
    with pytest.raises(sqlite3.ProgrammingError):  # closed after the report, not leaked
        used[0].execute("SELECT 1")
