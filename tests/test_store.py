"""The SQLite store: migrations, connection settings, units sync and group commit."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import aiosqlite
import pytest

from bot.config import DEMO_UNITS
from bot.org import Organisation, load_units
from bot.store import SqliteStore
from bot.store.committer import GroupCommitter
from bot.store.migrate import apply_migrations, latest_version, migrations
from bot.store.sqlite import _JOIN_ALPHABET


def query(path: Path, sql: str, *params) -> list[tuple]:
    """Read the database file with the standard library, as an auditor would."""
    with closing(sqlite3.connect(path)) as conn:
        return [tuple(row) for row in conn.execute(sql, params)]


def schema(path: Path) -> list[tuple]:
    """Every table, index and trigger with its SQL, white space normalised."""
    rows = query(path, "SELECT type, name, tbl_name, sql FROM sqlite_master")
    return sorted((t, n, tbl, " ".join(sql.split()) if sql else None) for t, n, tbl, sql in rows)


def user_version(path: Path) -> int:
    return query(path, "PRAGMA user_version")[0][0]


# -- migrations --------------------------------------------------------------------------

# One row per table, each valid in the first schema version that has the table.
SEED = {
    "units": "INSERT INTO units (code, name, parent_code, level, path, join_code)"
    " VALUES ('R', 'Gốc', NULL, 'tỉnh', '/R/', 'JOIN-R')",
    "members": "INSERT INTO members (id, full_name, unit_code, category, locale, consent_at,"
    " created_at) VALUES (7, 'Nguyễn Văn An', 'R', 'dang_vien', 'vi', 100, 100)",
    "accounts": "INSERT INTO accounts (channel, external_id, member_id)"
    " VALUES ('telegram', '42', 7)",
    "dialogs": "INSERT INTO dialogs (channel, external_id, state, updated_at)"
    " VALUES ('telegram', '42', 'menu', 100)",
    "activity": "INSERT INTO activity (member_id, unit_code, category, kind, ref, at, day)"
    " VALUES (7, 'R', 'dang_vien', 'lesson_read', 'bai-mot', 100, 20260519)",
    "organizers": "INSERT INTO organizers (member_id, unit_code, granted_at) VALUES (7, 'R', 100)",
    "audit_log": "INSERT INTO audit_log (at, actor, action, scope)"
    " VALUES (100, 'console:admin', 'grant', 'unit:R')",
}


@pytest.fixture(scope="module")
def fresh_schema(tmp_path_factory) -> list[tuple]:
    path = tmp_path_factory.mktemp("fresh") / "bot.db"

    async def create() -> None:
        async with SqliteStore(path):
            pass

    asyncio.run(create())
    return schema(path)


def test_migrations_are_numbered_one_to_latest():
    found = migrations()
    assert [m.version for m in found] == list(range(1, latest_version() + 1))
    assert all(m.name.startswith(f"{m.version:04d}_") and m.sql.strip() for m in found)
    assert latest_version() >= 2


@pytest.mark.parametrize("version", range(latest_version()))
async def test_database_at_every_older_version_migrates_to_the_fresh_schema(
    tmp_path, fresh_schema, version
):
    path = tmp_path / "bot.db"
    with closing(sqlite3.connect(path)) as conn:
        ran = apply_migrations(conn, target=version)
        assert ran == [m.name for m in migrations()[:version]]
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        seeded = [table for table in SEED if table in tables]
        for table in seeded:
            conn.execute(SEED[table])
        conn.commit()
    assert user_version(path) == version
    before = {table: query(path, f"SELECT * FROM {table}") for table in seeded}
    assert all(len(rows) == 1 for rows in before.values())

    async with SqliteStore(path) as store:
        assert await store.members_count() == (1 if "members" in seeded else 0)

    assert user_version(path) == latest_version()
    assert schema(path) == fresh_schema
    assert {table: query(path, f"SELECT * FROM {table}") for table in seeded} == before


async def test_second_open_runs_no_migration(tmp_path):
    path = tmp_path / "data" / "bot.db"  # the folder is created too
    store = SqliteStore(path)
    assert await store.open() == [m.name for m in migrations()]
    await store.close()

    again = SqliteStore(path)
    assert await again.open() == []
    await again.close()
    assert user_version(path) == latest_version()


async def test_apply_migrations_to_latest_matches_the_store(tmp_path, fresh_schema):
    path = tmp_path / "bot.db"
    with closing(sqlite3.connect(path)) as conn:
        assert len(apply_migrations(conn)) == latest_version()
        assert apply_migrations(conn) == []
    assert schema(path) == fresh_schema


# -- connection settings -----------------------------------------------------------------


async def pragma(conn: aiosqlite.Connection, name: str):
    async with conn.execute(f"PRAGMA {name}") as cursor:
        return (await cursor.fetchone())[0]


async def test_pragmas_on_both_connections(tmp_path):
    async with SqliteStore(tmp_path / "bot.db", busy_timeout_ms=1234) as store:
        for conn in (store._writer, store._reader):
            assert await pragma(conn, "journal_mode") == "wal"
            assert await pragma(conn, "foreign_keys") == 1
            assert await pragma(conn, "busy_timeout") == 1234
            assert await pragma(conn, "synchronous") == 1  # NORMAL
    assert query(tmp_path / "bot.db", "PRAGMA journal_mode") == [("wal",)]


async def test_foreign_keys_are_enforced_on_writes(tmp_path):
    async with SqliteStore(tmp_path / "bot.db") as store:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await store.grant(1, "NO-SUCH-UNIT", actor="console:admin", now=100)
    assert query(tmp_path / "bot.db", "SELECT count(*) FROM audit_log") == [(0,)]


# -- units sync --------------------------------------------------------------------------

UNITS = """\
units:
  - {code: R, name: Gốc, level: tỉnh, join_code: GOC-1}
  - {code: R.A, name: Chi bộ A, parent: R}
  - {code: R.B, name: Chi bộ B, parent: R}
"""


def units_file(tmp_path: Path, text: str) -> Organisation:
    path = tmp_path / "units.yaml"
    path.write_text(text, encoding="utf-8")
    return load_units(path)


async def sync(store: SqliteStore, org: Organisation) -> dict[str, str]:
    units = org.ordered()
    return await store.sync_units(units, {u.code: org.path(u.code) for u in units})


def stored_units(path: Path) -> dict[str, tuple]:
    rows = query(path, "SELECT code, parent_code, path, join_code, active FROM units")
    return {code: rest for code, *rest in rows}


async def test_sync_honours_file_join_codes_and_generates_the_others(tmp_path):
    db = tmp_path / "bot.db"
    async with SqliteStore(db) as store:
        codes = await sync(store, units_file(tmp_path, UNITS))

    assert codes["R"] == "GOC-1"
    for generated in (codes["R.A"], codes["R.B"]):
        assert len(generated) == 6 and set(generated) <= set(_JOIN_ALPHABET)
    assert codes["R.A"] != codes["R.B"]
    assert stored_units(db) == {
        "R": [None, "/R/", "GOC-1", 1],
        "R.A": ["R", "/R/R.A/", codes["R.A"], 1],
        "R.B": ["R", "/R/R.B/", codes["R.B"], 1],
    }


async def test_generated_join_codes_stay_stable_across_syncs(tmp_path):
    db = tmp_path / "bot.db"
    org = units_file(tmp_path, UNITS)
    async with SqliteStore(db) as store:
        first = await sync(store, org)
    async with SqliteStore(db) as store:
        second = await sync(store, org)
    assert second == first
    assert {code: row[2] for code, row in stored_units(db).items()} == first


async def test_join_code_added_to_the_file_later_replaces_the_generated_one(tmp_path):
    db = tmp_path / "bot.db"
    async with SqliteStore(db) as store:
        await sync(store, units_file(tmp_path, UNITS))
        changed = UNITS.replace("name: Chi bộ A,", "name: Chi bộ A, join_code: CELL-A,")
        codes = await sync(store, units_file(tmp_path, changed))
    assert codes["R.A"] == "CELL-A"
    assert stored_units(db)["R.A"][2] == "CELL-A"


async def test_unit_dropped_from_the_file_is_deactivated_not_deleted(tmp_path):
    db = tmp_path / "bot.db"
    async with SqliteStore(db) as store:
        first = await sync(store, units_file(tmp_path, UNITS))
        without_b = "\n".join(line for line in UNITS.splitlines() if "R.B" not in line)
        second = await sync(store, units_file(tmp_path, without_b + "\n"))
        assert set(second) == {"R", "R.A"}
        assert {code: row[3] for code, row in stored_units(db).items()} == {
            "R": 1,
            "R.A": 1,
            "R.B": 0,
        }
        assert stored_units(db)["R.B"][2] == first["R.B"]

        third = await sync(store, units_file(tmp_path, UNITS))
    assert third == first  # back in the file: active again, with its old join code
    assert stored_units(db)["R.B"][3] == 1


async def test_sync_of_the_demo_units(tmp_path):
    db = tmp_path / "bot.db"
    org = load_units(DEMO_UNITS)
    async with SqliteStore(db) as store:
        codes = await sync(store, org)
    assert codes == {u.code: u.join_code for u in org.units.values()}
    assert stored_units(db)["DEMO.HA.1"][1] == "/DEMO/DEMO.HA/DEMO.HA.1/"
    assert org.with_join_codes(codes).by_join_code("ha dong").code == "DEMO.HA.1"


async def test_join_code_moved_to_another_unit_in_the_file_is_honoured(tmp_path):
    db = tmp_path / "bot.db"
    async with SqliteStore(db) as store:
        await sync(store, units_file(tmp_path, UNITS))
        moved = UNITS.replace("GOC-1", "GOC-2").replace(
            "name: Chi bộ A,", "name: Chi bộ A, join_code: GOC-1,"
        )
        codes = await sync(store, units_file(tmp_path, moved))
    assert codes == {"R": "GOC-2", "R.A": "GOC-1", "R.B": codes["R.B"]}
    assert stored_units(db)["R.A"][2] == "GOC-1"


# -- group commit ------------------------------------------------------------------------

INSERT = "INSERT INTO t (k, v) VALUES (?, ?)"
UPDATE = "UPDATE t SET v = ? WHERE k = ?"


@pytest.fixture
async def conn(tmp_path):
    conn = await aiosqlite.connect(tmp_path / "group.db", isolation_level=None)
    await conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    yield conn
    await conn.close()


async def table(conn: aiosqlite.Connection) -> dict[str, int]:
    return dict(await conn.execute_fetchall("SELECT k, v FROM t"))


async def test_concurrent_writes_share_transactions(conn):
    committer = GroupCommitter(conn)
    await asyncio.gather(*(committer.write([(INSERT, (f"k{i}", i))]) for i in range(50)))

    assert 1 <= committer.transactions < 50
    assert await table(conn) == {f"k{i}": i for i in range(50)}


async def test_sequential_writes_commit_one_by_one(conn):
    committer = GroupCommitter(conn)
    for i in range(3):
        await committer.write([(INSERT, (f"k{i}", i))])
        assert committer.transactions == i + 1
    await committer.write([])
    assert committer.transactions == 3


async def test_one_failing_write_fails_alone(conn):
    committer = GroupCommitter(conn)
    await committer.write([(INSERT, ("taken", 0))])
    writes = [[(INSERT, (f"k{i}", i))] for i in range(20)]
    writes[7] = [(INSERT, ("half", 1)), (INSERT, ("taken", 1))]  # violates the primary key

    results = await asyncio.gather(*(committer.write(w) for w in writes), return_exceptions=True)

    assert isinstance(results[7], sqlite3.IntegrityError)
    assert [r for i, r in enumerate(results) if i != 7] == [None] * 19
    expected = {f"k{i}": i for i in range(20) if i != 7} | {"taken": 0}
    assert await table(conn) == expected  # and nothing of the failed write, not even "half"


async def test_statements_of_one_write_keep_their_order(conn):
    committer = GroupCommitter(conn)
    await committer.write([(INSERT, ("x", 0))])
    await asyncio.gather(
        committer.write([(UPDATE, (5, "x"))]),
        committer.write([(INSERT, ("a", 1)), (UPDATE, (2, "a"))]),
        committer.write([(INSERT, ("b", 1)), (UPDATE, (3, "b")), (UPDATE, (4, "b"))]),
    )
    assert await table(conn) == {"x": 5, "a": 2, "b": 4}


async def test_close_waits_for_queued_writes(conn):
    committer = GroupCommitter(conn)
    tasks = [asyncio.create_task(committer.write([(INSERT, (f"k{i}", i))])) for i in range(5)]
    await asyncio.sleep(0)
    await committer.close()
    assert len(await table(conn)) == 5
    await asyncio.gather(*tasks)


async def test_locked_database_error_reaches_the_caller(tmp_path, conn):
    blocker = sqlite3.connect(tmp_path / "group.db", isolation_level=None)
    await conn.execute("PRAGMA busy_timeout = 50")
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await GroupCommitter(conn).write([(INSERT, ("k", 1))])
    finally:
        blocker.close()
