"""Participation figures: entries (lượt) and distinct people (người) by unit group.

A report shows seven levels: per group and category, per group, per category, in total, per
kind, per group and kind, and per week. Entries are plain counts; people are exact distinct
counts at every level, so a member who moved unit mid-period counts once in the total and once
in each unit where they took part.

How: SQLite reads the period's rows once, each as two integers (who, and a packed what / where
/ when), and numpy counts every level from those arrays by sorting. Asking SQLite for the
seven ``count(DISTINCT member_id)`` instead costs one sort per level inside the database
(4.8 s against ~1.2 s at 10 M rows, see benchmarks/README.md). On PostgreSQL the same figures
are one ``GROUP BY GROUPING SETS`` statement with parallel workers; the arrays here are 16
bytes per row of the period (a province's year: ~10 M rows, ~160 MB while counting).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from itertools import chain
from typing import TypeVar

import numpy as np

from .activity import KINDS, day_number

T = TypeVar("T")
# Runs a function on a connection reserved for reports, in a worker thread.
ReportRunner = Callable[[Callable[[sqlite3.Connection], T]], Awaitable[T]]

# An activity row's member_id: NULL (rows anonymised by early versions) counts as nobody.
NOBODY = 0
# A packed row is ((unit rowid × categories + category) × kinds + kind) × DAY_SPAN + day.
DAY_SPAN = 100_000_000  # days are YYYYMMDD numbers
# A report reads its period either unit by unit, seeking every (day, unit) of the scope in the
# activity index, or by scanning the period's whole index range and keeping the scope's units.
# Seeking wins while units × days stays small (10 M rows in the table: a commune's month
# 0.001 s against 0.25 s; the province's month, 8,495 units × 30 days, 0.20 s against 0.31 s);
# scanning wins for the province's year (3.5 s against 7.6 s).
SEEK_LIMIT = 1_000_000  # units × days


@dataclass(frozen=True)
class Count:
    """Entries and distinct people."""

    entries: int = 0
    people: int = 0


@dataclass
class Figures:
    """Everything a report shows, keyed by group (unit code), category, kind and week."""

    by_group_category: dict[tuple[str, str], Count] = field(default_factory=dict)
    by_group: dict[str, Count] = field(default_factory=dict)
    by_category: dict[str, Count] = field(default_factory=dict)
    total: Count = Count()
    by_kind: dict[str, Count] = field(default_factory=dict)
    by_group_kind: dict[tuple[str, str], Count] = field(default_factory=dict)
    by_week: dict[int, Count] = field(default_factory=dict)
    roster: dict[tuple[str, str], int] = field(default_factory=dict)
    members: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Scope:
    """The units of a report and the group each one counts in."""

    path: str
    groups: tuple[str, ...]  # group index -> label (a unit code)
    group_of: dict[str, int]  # unit code -> group index
    group_of_rowid: np.ndarray  # units.rowid -> group index (-1: outside the scope)


@dataclass(frozen=True)
class _Rows:
    """The period's activity as arrays, one entry per row."""

    person: np.ndarray  # 0..people-1, or -1 for nobody (see NOBODY)
    people: int
    group: np.ndarray  # index into _Scope.groups
    category: np.ndarray  # index into categories
    kind: np.ndarray  # index into kinds
    day: np.ndarray  # YYYYMMDD
    categories: tuple[str, ...]
    kinds: tuple[str, ...]


class ReportStore:
    """Report queries, on connections of their own (see ``SqliteStore.run_report``)."""

    def __init__(self, run: ReportRunner) -> None:
        self._run = run
        # Values of activity.category and activity.kind met so far, replaced (never changed
        # in place) when a report meets a new one: reports run in several threads at once.
        self._vocabulary: tuple[tuple[str, ...], tuple[str, ...]] = ((), KINDS)
        self._learning = threading.Lock()

    async def figures(
        self,
        scope_path: str,
        start: date,
        end: date,
        *,
        kinds: Sequence[str] = (),
        categories: Sequence[str] = (),
        per_unit: bool = False,
    ) -> Figures:
        """Aggregates of a subtree's activity between two local days (inclusive).

        Groups are the scope's children (a unit counts in the child it lies under; the scope's
        own members in a group named after the scope), or every unit itself (``per_unit``).
        Weeks are numbered from 0 in seven-day steps from ``start``. ``kinds`` and
        ``categories``, when given, keep only those rows.
        """
        if end < start:
            return Figures()
        return await self._run(
            partial(
                self._figures,
                path=scope_path,
                start=start,
                end=end,
                filters=(("kind", tuple(kinds)), ("category", tuple(categories))),
                per_unit=per_unit,
            )
        )

    def _figures(
        self,
        conn: sqlite3.Connection,
        *,
        path: str,
        start: date,
        end: date,
        filters: tuple[tuple[str, tuple[str, ...]], ...],
        per_unit: bool,
    ) -> Figures:
        """``figures``, on a report connection in a worker thread."""
        figures = Figures()
        scope = _read_scope(conn, path=path, per_unit=per_unit)
        self._know(categories=_count_expected(conn, scope, figures))
        days = [day_number(start + timedelta(days=n)) for n in range((end - start).days + 1)]
        rows = self._read_activity(conn, scope=scope, days=days, filters=filters)
        week_ends = np.array(
            [
                day_number(min(end, start + timedelta(days=7 * n + 6)))
                for n in range((end - start).days // 7 + 1)
            ],
            dtype=np.int64,
        )
        _count_levels(rows, scope.groups, week_ends, figures)
        return figures

    def _read_activity(
        self,
        conn: sqlite3.Connection,
        *,
        scope: _Scope,
        days: list[int],
        filters: tuple[tuple[str, tuple[str, ...]], ...],
    ) -> _Rows:
        """The period's rows, each read from SQLite as two integers straight into arrays.

        Categories and kinds are numbered by the vocabulary; a value outside it is looked up
        (one extra query, once per new value in the life of the process) and the read redone.
        """
        first, last = days[0], days[-1]
        if len(scope.group_of) * len(days) <= SEEK_LIMIT:
            source = (
                f" FROM units u CROSS JOIN activity a WHERE {_IN_SUBTREE}"
                f" AND a.day IN ({', '.join(map(str, days))}) AND a.unit_code = u.code"
            )
            params = [*_subtree(scope.path)]
        else:  # CROSS JOIN: activity first, or SQLite may index the whole table to join it
            source = (
                " FROM activity a CROSS JOIN units u ON u.code = a.unit_code"
                f" WHERE a.day BETWEEN ? AND ? AND {_IN_SUBTREE}"
            )
            params = [first, last, *_subtree(scope.path)]
        where = ""
        for column, wanted in filters:
            if wanted:
                where += f" AND a.{column} IN ({', '.join('?' * len(wanted))})"
                params += wanted
        while True:
            categories, kinds = self._vocabulary
            # Sizes leave one slot past the known values: the CASE's ELSE, "not known yet".
            c_size, k_size = len(categories) + 1, len(kinds) + 1
            sql = (
                f"SELECT coalesce(a.member_id, {NOBODY}), ((u.rowid * {c_size}"
                f" + {_index_of('a.category', categories)}) * {k_size}"
                f" + {_index_of('a.kind', kinds)}) * {DAY_SPAN} + a.day{source}{where}"
            )
            flat = np.fromiter(chain.from_iterable(conn.execute(sql, params)), dtype=np.int64)
            members, packed = flat[0::2], flat[1::2]
            rest = packed // DAY_SPAN
            kind = (rest % k_size).astype(np.int32)
            rest //= k_size
            category = (rest % c_size).astype(np.int32)
            new_kind = bool((kind == len(kinds)).any())
            new_category = bool((category == len(categories)).any())
            if not new_kind and not new_category:
                break
            self._learn(conn, first, last, new_category, new_kind)
        person, people = _dense_people(members)
        return _Rows(
            person,
            people,
            scope.group_of_rowid[rest // c_size],
            category,
            kind,
            (packed % DAY_SPAN).astype(np.int32),
            categories,
            kinds,
        )

    def _learn(
        self, conn: sqlite3.Connection, first: int, last: int, categories: bool, kinds: bool
    ) -> None:
        """Add the period's categories and/or kinds that are not in the vocabulary yet."""
        found: dict[str, list[str]] = {"category": [], "kind": []}
        for column, known, wanted in zip(
            ("category", "kind"), self._vocabulary, (categories, kinds), strict=True
        ):
            if wanted:
                rows = conn.execute(
                    f"SELECT DISTINCT {column} FROM activity WHERE day BETWEEN ? AND ?"
                    f" AND {column} NOT IN ({', '.join('?' * len(known))})",
                    [first, last, *known],
                )
                found[column] = [value for (value,) in rows]
        self._know(found["category"], found["kind"])

    def _know(self, categories: Iterable[str] = (), kinds: Iterable[str] = ()) -> None:
        """Add values to the vocabulary, after those known already."""
        with self._learning:
            old = self._vocabulary
            self._vocabulary = tuple(
                (*known, *sorted(set(values) - set(known)))
                for known, values in zip(old, (categories, kinds), strict=True)
            )


def _count_levels(
    rows: _Rows, groups: tuple[str, ...], week_ends: np.ndarray, figures: Figures
) -> None:
    """Entries and distinct people at every level of a report, into ``figures``.

    People are counted from sorted (key, person) pairs. The coarser levels are projected from
    the pairs of a finer one (group from group × category, kind from group × kind), which are
    fewer than the rows: three sorts of the period's rows instead of seven.
    """
    somebody = rows.person >= 0
    person = rows.person[somebody]
    n = max(rows.people, 1)
    c_size, k_size = len(rows.categories), len(rows.kinds)

    def pairs(keys: np.ndarray) -> np.ndarray:
        """Distinct (key, person) of the rows, as key × n + person."""
        return _distinct(keys[somebody].astype(np.int64) * n + person)

    def project(finer: np.ndarray, coarser: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        return _distinct(coarser(finer // n) * n + finer % n)

    def fill(
        target: dict,
        keys: np.ndarray,
        pairs_: np.ndarray,
        size: int,
        label: Callable[[int], object],
    ) -> None:
        entries = np.bincount(keys, minlength=size)
        people = np.bincount(pairs_ // n, minlength=size)
        for index in np.flatnonzero(entries):
            target[label(int(index))] = Count(int(entries[index]), int(people[index]))

    group, category, kind = rows.group, rows.category, rows.kind
    names, kinds = rows.categories, rows.kinds
    by_gc = group * c_size + category
    gc_pairs = pairs(by_gc)
    fill(
        figures.by_group_category,
        by_gc,
        gc_pairs,
        len(groups) * c_size,
        lambda i: (groups[i // c_size], names[i % c_size]),
    )
    fill(
        figures.by_group,
        group,
        project(gc_pairs, lambda k: k // c_size),
        len(groups),
        groups.__getitem__,
    )
    fill(
        figures.by_category,
        category,
        project(gc_pairs, lambda k: k % c_size),
        c_size,
        names.__getitem__,
    )
    figures.total = Count(len(rows.person), rows.people)
    by_gk = group * k_size + kind
    gk_pairs = pairs(by_gk)
    fill(
        figures.by_group_kind,
        by_gk,
        gk_pairs,
        len(groups) * k_size,
        lambda i: (groups[i // k_size], kinds[i % k_size]),
    )
    fill(figures.by_kind, kind, project(gk_pairs, lambda k: k % k_size), k_size, kinds.__getitem__)
    week = np.searchsorted(week_ends, rows.day)
    fill(figures.by_week, week, pairs(week), len(week_ends), int)


def _index_of(column: str, values: Sequence[str]) -> str:
    """SQL giving a value's position in ``values``, or len(values) for any other value."""
    if not values:
        return "0"
    cases = " ".join(f"WHEN {_quote(v)} THEN {n}" for n, v in enumerate(values))
    return f"(CASE {column} {cases} ELSE {len(values)} END)"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Units whose path starts with a scope's path, along the units_path index: every such path
# sorts at or after '/P/P.01/' and before '/P/P.010' ('0' follows '/' in the code points).
_IN_SUBTREE = "u.path >= ? AND u.path < ?"


def _subtree(path: str) -> tuple[str, str]:
    return path, path[:-1] + chr(ord(path[-1]) + 1)


def _read_scope(conn: sqlite3.Connection, *, path: str, per_unit: bool) -> _Scope:
    """The units under ``path`` and their groups: the child of the scope they lie under (the
    scope itself for its own unit), or each unit on its own."""
    rows = conn.execute(
        f"SELECT rowid, code, path FROM units u WHERE {_IN_SUBTREE}", _subtree(path)
    ).fetchall()
    depth = path.count("/")  # '/P/' -> 2: '/P/P.01/…'.split('/')[2] is the child, 'P.01'
    groups: dict[str, int] = {}
    group_of: dict[str, int] = {}
    size = max((rowid for rowid, _, _ in rows), default=0) + 1
    group_of_rowid = np.full(size, -1, dtype=np.int64)
    for rowid, unit, unit_path in rows:
        label = unit if per_unit or unit_path == path else unit_path.split("/")[depth]
        index = groups.setdefault(label, len(groups))
        group_of[unit] = group_of_rowid[rowid] = index
    return _Scope(path, tuple(groups), group_of, group_of_rowid)


def _count_expected(conn: sqlite3.Connection, scope: _Scope, figures: Figures) -> set[str]:
    """Denominators: roster entries and registered members per group and category, summed
    from the per-unit counts the database keeps (migrations/0007); the categories met."""
    targets = {"roster": figures.roster, "members": figures.members}
    rows = conn.execute(
        "SELECT e.source, e.unit_code, e.category, e.n FROM units u"
        " CROSS JOIN expected_counts e ON e.source IN ('roster', 'members')"
        f" AND e.unit_code = u.code WHERE {_IN_SUBTREE} AND e.n > 0",
        _subtree(scope.path),
    )
    for source, unit, category, count in rows:
        target = targets[source]
        key = (scope.groups[scope.group_of[unit]], category)
        target[key] = target.get(key, 0) + count
    return {category for _, category in (*figures.roster, *figures.members)}


def _dense_people(members: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's person numbered 0..n-1, -1 for nobody; and n, the distinct people."""
    ids, numbers = np.unique(members, return_inverse=True)  # sorts; numpy's fastest way here
    nobody = np.searchsorted(ids, NOBODY)
    if nobody < len(ids) and ids[nobody] == NOBODY:
        numbers[numbers == nobody] = -1
        numbers[numbers > nobody] -= 1
        return numbers, len(ids) - 1
    return numbers, len(ids)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (numpy's unique is slower on large integer arrays)."""
    if not len(values):
        return values
    ordered = np.sort(values)
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
