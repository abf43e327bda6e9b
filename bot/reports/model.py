"""A report's numbers, built from the store's aggregates: what every output format shows.

Participation rate = distinct people ÷ the people expected: the roster of the group (and of
the categories asked for) when the group has one, otherwise the registered members ("until
rosters exist"). A rate may pass 100% when people outside the roster took part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..org import Organisation
from ..store.reports import Count, Figures


@dataclass(frozen=True)
class Cell:
    """Entries, people, and the people expected (with the rate when that is known)."""

    count: Count
    expected: int

    @property
    def rate(self) -> float | None:
        """people ÷ expected, or None without a denominator."""
        return self.count.people / self.expected if self.expected else None


@dataclass(frozen=True)
class Line:
    """One unit group of the report (a sub-unit, or the scope's own members, or the total)."""

    code: str
    name: str
    all: Cell
    by_category: dict[str, Cell]
    from_roster: bool


@dataclass(frozen=True)
class Report:
    """The figures of one scope and period."""

    scope: str
    scope_name: str
    start: date
    end: date
    categories: tuple[str, ...]
    kinds: tuple[str, ...]
    lines: tuple[Line, ...]
    total: Line
    by_kind: dict[str, Count]
    by_group_kind: dict[tuple[str, str], Count]
    weeks: tuple[tuple[date, Count], ...]
    feedback: tuple[int, int] = (0, 0)  # received, answered in the period
    # Messages held for the Zalo plan's monthly quota in the months of the period.
    quota_deferred: int = 0


def report_lines(org: Organisation, scope: str) -> list[str]:
    """The groups a report shows: the scope's own members (when it has any) and each child.

    A unit without children is its own single line.
    """
    children = [u.code for u in org.children(scope)]
    return [scope, *children] if children else [scope]


def build_report(
    org: Organisation,
    figures: Figures,
    scope: str,
    start: date,
    end: date,
    *,
    categories: tuple[str, ...],
    all_categories: tuple[str, ...],
    kinds: tuple[str, ...] = (),
    feedback: tuple[int, int] = (0, 0),
    order: list[str] | None = None,
) -> Report:
    """Put the aggregates in report order, with denominators and rates.

    ``order``: the groups to show as lines (default: the scope's own and its children).
    """
    if order is None:
        order = report_lines(org, scope)
    shown = categories or all_categories
    lines = []
    for code in order:
        roster = {c: figures.roster.get((code, c), 0) for c in shown}
        members = {c: figures.members.get((code, c), 0) for c in shown}
        from_roster = any(figures.roster.get((code, c), 0) for c in all_categories)
        expected = roster if from_roster else members
        count = figures.by_group.get(code, Count())
        attached_only = code == scope and len(order) > 1
        if attached_only and not count.entries and not sum(expected.values()):
            continue  # nobody belongs to the scope unit itself: no line for it
        lines.append(
            Line(
                code,
                org.get(code).name if org.get(code) else code,
                Cell(count, sum(expected.values())),
                {
                    c: Cell(figures.by_group_category.get((code, c), Count()), expected[c])
                    for c in shown
                },
                from_roster,
            )
        )
    expected_by_category = {c: sum(line.by_category[c].expected for line in lines) for c in shown}
    total = Line(
        scope,
        org.get(scope).name if org.get(scope) else scope,
        Cell(figures.total, sum(expected_by_category.values())),
        {c: Cell(figures.by_category.get(c, Count()), expected_by_category[c]) for c in shown},
        all(line.from_roster for line in lines) if lines else False,
    )
    weeks = tuple(
        (start + timedelta(days=7 * n), figures.by_week.get(n, Count()))
        for n in range((end - start).days // 7 + 1)
    )
    return Report(
        scope,
        total.name,
        start,
        end,
        categories,
        kinds,
        tuple(lines),
        total,
        dict(figures.by_kind),
        dict(figures.by_group_kind),
        weeks,
        feedback,
    )
