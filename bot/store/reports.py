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

ParallelReader = Callable[[list[tuple[str, Iterable]]], Awaitable[list[list]]]

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


class ReportStore:
    """Report queries, sharing the store's reader connection."""

    def __init__(self, read: ParallelReader) -> None:
        self._read = read

    async def figures(
        self,
        scope_path: str,
        scope_code: str,
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
        Weeks are numbered from 0 in seven-day steps from ``start``. The group comes from the
        unit's path: joining a list of units instead made SQLite build an index over the whole
        activity table for every report.
        """
        figures = Figures()
        if end < start:
            return figures
        skip = len(scope_path) + 1
        group = (
            "u.code"
            if per_unit
            else "CASE WHEN u.path = ? THEN ? ELSE"
            " substr(u.path, ?, instr(substr(u.path, ?), '/') - 1) END"
        )
        group_params = [] if per_unit else [scope_path, scope_code, skip, skip]
        filters, filter_params = "", []
        if kinds:
            filters += f" AND a.kind IN ({', '.join('?' * len(kinds))})"
            filter_params += list(kinds)
        if categories:
            filters += f" AND a.category IN ({', '.join('?' * len(categories))})"
            filter_params += list(categories)
        week_ends = [
            day_number(min(end, start + timedelta(days=7 * n + 6)))
            for n in range((end - start).days // 7 + 1)
        ]
        week = "CASE " + " ".join(f"WHEN a.day <= {d} THEN {n}" for n, d in enumerate(week_ends))
        # One statement for every level over one materialised copy of the period's rows.
        # (Two halves on two connections at once measured slower: 6.4 s against 5.0 s at
        # 10 M rows; both copies compete for the same memory bandwidth.)
        levels = [
            (GROUP_CATEGORY, "grp", "category", "''", "GROUP BY grp, category"),
            (GROUP, "grp", "''", "''", "GROUP BY grp"),
            (CATEGORY, "''", "category", "''", "GROUP BY category"),
            (TOTAL, "''", "''", "''", ""),
            (KIND, "''", "''", "kind", "GROUP BY kind"),
            (GROUP_KIND, "grp", "''", "kind", "GROUP BY grp, kind"),
            (WEEK, "''", "''", "week", "GROUP BY week"),
        ]
        base = (
            f"WITH f AS MATERIALIZED (SELECT {group} AS grp, a.category, a.kind, a.member_id,"
            f" {week} END AS week FROM activity a JOIN units u ON u.code = a.unit_code"
            f" WHERE a.day BETWEEN ? AND ? AND substr(u.path, 1, ?) = ?{filters}) "
        )
        params = [
            *group_params,
            day_number(start),
            day_number(end),
            len(scope_path),
            scope_path,
            *filter_params,
        ]
        queries = [
            (
                base
                + " UNION ALL ".join(
                    f"SELECT '{label}', {g}, {c}, {k}, count(*), count(DISTINCT member_id)"
                    f" FROM f {by}"
                    for label, g, c, k, by in levels
                ),
                params,
            )
        ]
        # Denominators: counted per unit along an index (no sort), then summed per group.
        queries += [
            (
                f"SELECT {group} AS grp, t.category, t.n FROM (SELECT unit_code, category,"
                f" count(*) AS n FROM {table} GROUP BY unit_code, category) t"
                " JOIN units u ON u.code = t.unit_code WHERE substr(u.path, 1, ?) = ?",
                [*group_params, len(scope_path), scope_path],
            )
            for table in ("roster", "members")
        ]
        rows, roster, members = await self._read(queries)
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
        for rows_, target in ((roster, figures.roster), (members, figures.members)):
            for grp, category, count in rows_:
                target[(grp, category)] = target.get((grp, category), 0) + count
        return figures
