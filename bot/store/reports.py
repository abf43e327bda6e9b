"""SQL of participation reports: entries (lượt) and distinct people (người) by unit group.

One statement reads the period's activity once (a materialised CTE) and aggregates it at every
level a report shows: per group and category, per group, per category, in total, per kind, per
group and kind, and per week. Distinct people are exact at each level: a member who moved unit
mid-period counts once in the total and once in each unit where they took part.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from .activity import day_number

Reader = Callable[[str, Iterable], Awaitable[list]]

# Levels of the aggregate rows, as the SQL below labels them.
GROUP_CATEGORY, GROUP, CATEGORY, TOTAL = "gc", "g", "c", "t"
KIND, GROUP_KIND, WEEK = "k", "gk", "w"


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


def _values(rows: Sequence[tuple]) -> tuple[str, list]:
    """A VALUES list with its parameters (rows of equal width)."""
    width = len(rows[0])
    marks = ", ".join("(" + ", ".join("?" * width) + ")" for _ in rows)
    return marks, [value for row in rows for value in row]


class ReportStore:
    """Report queries, sharing the store's reader connection."""

    def __init__(self, read: Reader) -> None:
        self._read = read

    async def figures(
        self,
        groups: dict[str, str],
        start: date,
        end: date,
        *,
        kinds: Sequence[str] = (),
        categories: Sequence[str] = (),
    ) -> Figures:
        """Aggregates for activity of ``groups`` (unit code → group code) between two days.

        Weeks are numbered from 0 in seven-day steps from ``start``.
        """
        figures = Figures()
        if not groups or end < start:
            return figures
        unit_marks, unit_params = _values(list(groups.items()))
        days = [(start + timedelta(n), n // 7) for n in range((end - start).days + 1)]
        day_marks, day_params = _values([(day_number(d), week) for d, week in days])
        filters, filter_params = "", []
        if kinds:
            filters += f" AND a.kind IN ({', '.join('?' * len(kinds))})"
            filter_params += list(kinds)
        if categories:
            filters += f" AND a.category IN ({', '.join('?' * len(categories))})"
            filter_params += list(categories)
        levels = [
            (GROUP_CATEGORY, "grp", "category", "''", "GROUP BY grp, category"),
            (GROUP, "grp", "''", "''", "GROUP BY grp"),
            (CATEGORY, "''", "category", "''", "GROUP BY category"),
            (TOTAL, "''", "''", "''", ""),
            (KIND, "''", "''", "kind", "GROUP BY kind"),
            (GROUP_KIND, "grp", "''", "kind", "GROUP BY grp, kind"),
            (WEEK, "''", "''", "week", "GROUP BY week"),
        ]
        select = " UNION ALL ".join(
            f"SELECT '{label}', {g}, {c}, {k}, count(*), count(DISTINCT member_id) FROM f {by}"
            for label, g, c, k, by in levels
        )
        rows = await self._read(
            f"WITH map(unit_code, grp) AS (VALUES {unit_marks}),"
            f" days(day, week) AS (VALUES {day_marks}),"
            " f AS MATERIALIZED (SELECT map.grp, a.category, a.kind, a.member_id, days.week"
            " FROM activity a JOIN map ON map.unit_code = a.unit_code"
            " JOIN days ON days.day = a.day"
            f" WHERE a.day BETWEEN ? AND ?{filters}) {select}",
            [
                *unit_params,
                *day_params,
                day_number(start),
                day_number(end),
                *filter_params,
            ],
        )
        for label, grp, category, kind, entries, people in rows:
            count = Count(entries, people)
            if label == GROUP_CATEGORY:
                figures.by_group_category[(grp, category)] = count
            elif label == GROUP:
                figures.by_group[grp] = count
            elif label == CATEGORY:
                figures.by_category[category] = count
            elif label == TOTAL:
                figures.total = count
            elif label == KIND:
                figures.by_kind[kind] = count
            elif label == GROUP_KIND:
                figures.by_group_kind[(grp, kind)] = count
            else:
                figures.by_week[int(kind)] = count
        for table, target in (("roster", figures.roster), ("members", figures.members)):
            for grp, category, count in await self._read(
                f"WITH map(unit_code, grp) AS (VALUES {unit_marks})"
                f" SELECT map.grp, t.category, count(*) FROM {table} t"
                " JOIN map ON map.unit_code = t.unit_code GROUP BY map.grp, t.category",
                unit_params,
            ):
                target[(grp, category)] = count
        return figures
