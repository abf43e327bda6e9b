"""Participation reports at province scale: 540,000 members, about 10 million activity rows.

1. The province-wide report (every district, every category, every kind, every week) for the
   last 30 days through the bot's own path (``make_report``: figures, denominators, feedback,
   building the report), against one hand-written SQL query computing the same entries and
   distinct people at every level, written apart from the bot's, in the same run. The two
   must agree exactly; the report must take at most 1.5× the raw query and ≤ 2 s.
2. The XLSX workbook of a report whose lines are 1,000 sub-units (cells), ≤ 5 s.

The database is filled once by ``bot.demo_data.fill_demo`` (setup, reported, not timed against
a goal) and reused from ``--db`` when it exists.

Usage:  python benchmarks/reports.py [--members 540000] [--days 365] [--db FILE]
The last output line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from contextlib import closing
from datetime import date
from pathlib import Path

from bot.app import open_app
from bot.config import load_settings
from bot.demo_data import fill_demo
from bot.org import write_units_csv
from bot.reports.model import build_report
from bot.reports.render import Words, report_xlsx
from bot.reports.service import default_period, make_report
from bot.store.activity import day_number
from bot.store.sqlite import SqliteStore

END = date(2026, 11, 29)


async def prepare(db: Path, members: int, days: int) -> float:
    """Migrate and fill the database unless it is already filled; seconds spent."""
    if await asyncio.to_thread(db.exists):
        return 0.0
    store = SqliteStore(db)
    await store.open()
    await store.close()
    started = time.perf_counter()
    # On this thread: a big fill forks a helper process only while there is one thread.
    fill_demo(db, members=members, days=days, end=END)
    return time.perf_counter() - started


def raw_sql(db: Path, root_path: str, start: date, end: date) -> dict[tuple, tuple[int, int]]:
    """Every figure the report shows, from one hand-written query written apart from the bot's.

    A unit's district is the path segment after the root's ('/P/P.01/P.01.03/' → 'P.01'); the
    week is counted from ``start`` with julianday. Members attached to the root itself count
    in the totals only (the province has none).
    """
    skip = len(root_path) + 1
    levels = [
        ("gc", "d", "c", "''"),
        ("g", "d", "''", "''"),
        ("c", "''", "c", "''"),
        ("t", "''", "''", "''"),
        ("k", "''", "''", "k"),
        ("gk", "d", "''", "k"),
        ("w", "''", "''", "w"),
    ]
    empty = "''"
    arms = " UNION ALL ".join(
        f"SELECT '{label}', {g}, {c}, {k}, count(*), count(DISTINCT m) FROM r"
        + (" GROUP BY " + ", ".join(x for x in (g, c, k) if x != empty) if label != "t" else "")
        for label, g, c, k in levels
    )
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "WITH r AS MATERIALIZED (SELECT"
            " substr(u.path, ?, instr(substr(u.path, ?), '/') - 1) AS d, a.category AS c,"
            " a.kind AS k, a.member_id AS m,"
            " CAST((julianday(printf('%04d-%02d-%02d', a.day / 10000, a.day / 100 % 100,"
            " a.day % 100)) - julianday(?)) / 7 AS INTEGER) AS w"
            " FROM activity a JOIN units u ON u.code = a.unit_code"
            " WHERE a.day BETWEEN ? AND ? AND substr(u.path, 1, ?) = ?)"
            f" {arms}",
            (
                skip,
                skip,
                start.isoformat(),
                day_number(start),
                day_number(end),
                len(root_path),
                root_path,
            ),
        ).fetchall()
    return {(label, g, c, str(k)): (e, p) for label, g, c, k, e, p in rows}


def report_figures(report) -> dict[tuple, tuple[int, int]]:
    """The same figures, read from the bot's report."""
    found = {}
    for line in report.lines:
        if line.all.count.entries:
            found[("g", line.code, "", "")] = (line.all.count.entries, line.all.count.people)
        for category, cell in line.by_category.items():
            if cell.count.entries:
                found[("gc", line.code, category, "")] = (cell.count.entries, cell.count.people)
    for category, cell in report.total.by_category.items():
        if cell.count.entries:
            found[("c", "", category, "")] = (cell.count.entries, cell.count.people)
    total = report.total.all.count
    found[("t", "", "", "")] = (total.entries, total.people)
    for kind, count in report.by_kind.items():
        found[("k", "", "", kind)] = (count.entries, count.people)
    for (group, kind), count in report.by_group_kind.items():
        found[("gk", group, "", kind)] = (count.entries, count.people)
    for number, (_, count) in enumerate(report.weeks):
        if count.entries:
            found[("w", "", "", str(number))] = (count.entries, count.people)
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=540_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--db", help="reuse (or create) this database file")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = Path(args.db) if args.db else Path(folder) / "province.db"
        fill_s = await prepare(db, args.members, args.days)
        with closing(sqlite3.connect(db)) as conn:
            activity_rows = conn.execute("SELECT count(*) FROM activity").fetchone()[0]
            member_rows = conn.execute("SELECT count(*) FROM members").fetchone()[0]
        units_file = Path(folder) / "units.csv"
        store = SqliteStore(db)
        await store.open()
        write_units_csv(await store.unit_rows(), units_file)
        await store.close()
        settings = load_settings(
            None,
            environ={
                "BOT_DATABASE_PATH": str(db),
                "BOT_ORGANISATION_UNITS_FILE": str(units_file),
                "BOT_ORGANISATION_PHONE_KEY": "benchmark",
            },
        )
        async with open_app(settings) as app:
            services = app.services
            org = services.org
            root = org.children(None)[0].code
            start, end = default_period(END)
            report_runs, raw_runs = [], []
            for _ in range(args.rounds):
                started = time.perf_counter()
                report = await make_report(services, root, start, end)
                report_runs.append(time.perf_counter() - started)
                started = time.perf_counter()
                raw = await asyncio.to_thread(raw_sql, db, org.path(root), start, end)
                raw_runs.append(time.perf_counter() - started)
            mine = report_figures(report)
            assert mine == raw, "the report and the raw query disagree"
            report_s, raw_s = statistics.median(report_runs), statistics.median(raw_runs)

            cells = [u.code for u in org.units.values() if not org.children(u.code)][:1000]
            started = time.perf_counter()
            figures = await services.store.reports.figures(
                org.path(root), start, end, per_unit=True
            )
            wide = build_report(
                org,
                figures,
                root,
                start,
                end,
                categories=(),
                all_categories=settings.organisation.categories,
                order=cells,
            )
            workbook = report_xlsx(wide, Words(services.texts, "vi"))
            xlsx_s = time.perf_counter() - started

    total = report.total.all.count
    print(
        f"database: {member_rows:,} members, {activity_rows:,} activity rows "
        f"(filled in {fill_s:.0f} s; setup, no goal)"
    )
    print(
        f"province report, last 30 days ({start:%d/%m} – {end:%d/%m}): {report_s:.2f} s "
        f"(runs: {', '.join(f'{r:.2f}' for r in report_runs)}; goal ≤ 2 s) — "
        f"{total.entries:,} entries, {total.people:,} people, {len(report.lines)} lines"
    )
    print(
        f"hand-written SQL, every figure of the report: {raw_s:.2f} s "
        f"(runs: {', '.join(f'{r:.2f}' for r in raw_runs)}); ratio {report_s / raw_s:.2f}× "
        "(goal ≤ 1.5×); figures identical"
    )
    print(
        f"XLSX of {len(cells):,} sub-units (query + workbook): {xlsx_s:.2f} s "
        f"({len(workbook) / 1e6:.1f} MB; goal ≤ 5 s)"
    )
    print(
        json.dumps(
            {
                "province_report_s": round(report_s, 3),
                "raw_sql_s": round(raw_s, 3),
                "ratio": round(report_s / raw_s, 3),
                "xlsx_1000_s": round(xlsx_s, 3),
                "xlsx_units": len(cells),
                "activity_rows": activity_rows,
                "members": member_rows,
                "period_days": (end - start).days + 1,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
