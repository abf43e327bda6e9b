"""A report as words and files: the chat summary, CSV, the XLSX workbook, the PNG chart."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font

from ..content.texts import Texts
from ..documents.contest_results import safe_text
from ..store.activity import KINDS
from .model import Cell, Line, Report


@dataclass(frozen=True)
class Words:
    """Texts and number formats of one locale (chat and command line alike)."""

    texts: Texts
    locale: str

    def t(self, key: str, **values: object) -> str:
        return self.texts.get(self.locale, key, **values)

    def number(self, value: float) -> str:
        return self.texts.number(self.locale, value)

    def percent(self, ratio: float | None) -> str:
        return "–" if ratio is None else self.texts.percent(self.locale, ratio, 2)

    def date(self, value) -> str:
        return self.texts.date(value)


def _kinds(report: Report) -> list[str]:
    listed = [k for k in KINDS if not report.kinds or k in report.kinds]
    return listed + sorted(k for k in report.by_kind if k not in listed)


def summary_text(report: Report, words: Words, *, limit: int = 15) -> str:
    """The chat summary, counted the province's way ('537.023 lượt …, trong đó …')."""
    w = words
    total = report.total
    lines = [
        w.t("report.heading", scope=report.scope_name),
        w.t("report.period", start=w.date(report.start), end=w.date(report.end)),
        "",
        _line_text(w, "report.total", total.all),
    ]
    parts = [
        _category_text(w, category, cell)
        for category, cell in total.by_category.items()
        if cell.count.entries or cell.expected
    ]
    if parts:
        lines.append(w.t("report.of_which", parts="; ".join(parts)))
    if not total.from_roster:
        lines.append(w.t("report.no_roster"))
    if len(report.lines) > 1:
        lines += ["", w.t("report.by_unit")]
        ranked = sorted(report.lines, key=lambda line: -(line.all.rate or 0))
        for line in ranked[:limit]:
            lines.append(
                w.t(
                    "report.unit_line",
                    unit=line.name,
                    entries=w.number(line.all.count.entries),
                    people=w.number(line.all.count.people),
                    percent=w.percent(line.all.rate),
                    mark="" if line.from_roster else "*",
                )
            )
        if len(ranked) > limit:
            lines.append(w.t("report.more_units", n=w.number(len(ranked) - limit)))
    activity = [
        w.t(
            "report.kind_line",
            kind=w.t(f"report.kinds.{kind}") if w.texts.has(f"report.kinds.{kind}") else kind,
            entries=w.number(report.by_kind[kind].entries),
            people=w.number(report.by_kind[kind].people),
        )
        for kind in _kinds(report)
        if kind in report.by_kind
    ]
    received, answered = report.feedback
    if received or answered:
        activity.append(
            w.t("report.feedback_line", received=w.number(received), answered=w.number(answered))
        )
    lines += ["", w.t("report.by_kind"), *activity] if activity else ["", w.t("report.empty")]
    if report.quota_deferred:
        lines += ["", w.t("report.quota_deferred", n=w.number(report.quota_deferred))]
    return "\n".join(lines)


def _line_text(w: Words, key: str, cell: Cell) -> str:
    return w.t(
        key,
        entries=w.number(cell.count.entries),
        people=w.number(cell.count.people),
        expected=w.number(cell.expected),
        percent=w.percent(cell.rate),
    )


def _category_text(w: Words, category: str, cell: Cell) -> str:
    return w.t(
        "report.category_part",
        category=w.t(f"categories.{category}").lower(),
        entries=w.number(cell.count.entries),
        people=w.number(cell.count.people),
        percent=w.percent(cell.rate),
    )


def _table(report: Report, w: Words) -> tuple[list[str], list[list]]:
    """The per-unit table: header and rows (numbers as numbers, rates as fractions)."""
    categories = list(report.total.by_category)
    header = [
        w.t("report.col.unit"),
        w.t("report.col.entries"),
        w.t("report.col.people"),
        w.t("report.col.expected"),
        w.t("report.col.rate"),
        w.t("report.col.source"),
    ]
    for category in categories:
        name = w.t(f"categories.{category}")
        header += [
            f"{name}: {w.t('report.col.entries')}",
            f"{name}: {w.t('report.col.people')}",
            f"{name}: {w.t('report.col.expected')}",
            f"{name}: {w.t('report.col.rate')}",
        ]

    def row(line: Line) -> list:
        values = [
            line.name,
            line.all.count.entries,
            line.all.count.people,
            line.all.expected,
            line.all.rate,
            w.t("report.source_roster") if line.from_roster else w.t("report.source_members"),
        ]
        for category in categories:
            cell = line.by_category[category]
            values += [cell.count.entries, cell.count.people, cell.expected, cell.rate]
        return values

    return header, [row(line) for line in report.lines] + [row(report.total)]


def report_csv(report: Report, words: Words) -> bytes:
    """The per-unit table as CSV (UTF-8 with BOM so Excel shows Vietnamese correctly)."""
    header, rows = _table(report, words)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                safe_text(v) if isinstance(v, str) else ("" if v is None else round(v, 4))
                for v in row
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def report_xlsx(report: Report, words: Words) -> bytes:
    """One sheet per view, Vietnamese headers, frozen header rows, text cells neutralised."""
    w = words
    book = Workbook()
    sheet = book.active
    sheet.title = w.t("report.sheet.units")[:31]
    title = w.t(
        "report.sheet_title",
        scope=report.scope_name,
        start=w.date(report.start),
        end=w.date(report.end),
    )
    header, rows = _table(report, w)
    _fill(sheet, title, header, rows, rate_columns={5} | {10 + 4 * i for i in range(99)})

    kinds = [k for k in _kinds(report) if k in report.by_kind]
    by_kind = book.create_sheet(w.t("report.sheet.kinds")[:31])
    kind_header = [w.t("report.col.unit")] + [_kind_label(w, k) for k in kinds]
    kind_rows = [
        [line.name] + [report.by_group_kind.get((line.code, k), _ZERO).entries for k in kinds]
        for line in report.lines
    ] + [[report.total.name] + [report.by_kind[k].entries for k in kinds]]
    _fill(by_kind, title, kind_header, kind_rows)

    weeks = book.create_sheet(w.t("report.sheet.weeks")[:31])
    _fill(
        weeks,
        title,
        [w.t("report.col.week"), w.t("report.col.entries"), w.t("report.col.people")],
        [[w.date(start), count.entries, count.people] for start, count in report.weeks],
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class _Zero:
    entries = 0
    people = 0


_ZERO = _Zero()


def _kind_label(w: Words, kind: str) -> str:
    key = f"report.kinds.{kind}"
    return w.t(key) if w.texts.has(key) else kind


def _fill(sheet, title: str, header: list, rows: list, rate_columns: set[int] = frozenset()):
    sheet.append([safe_text(title)])
    sheet.append([safe_text(h) for h in header])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([safe_text(v) if isinstance(v, str) else v for v in row])
    sheet.freeze_panes = "B3"
    for column in rate_columns:
        if column <= len(header):
            for cell in sheet.iter_cols(min_col=column, max_col=column, min_row=3):
                for c in cell:
                    c.number_format = "0.00%"
    sheet.column_dimensions["A"].width = 40


def report_png(
    report: Report, words: Words, *, width_px: int = 1200, height_px: int = 900
) -> bytes:
    """Participation rate per sub-unit (bars) and people per week (line), as one PNG.

    Drawn with matplotlib's object API (no pyplot and its global figure list), so charts can
    be drawn in worker threads, off the event loop: one takes 0.2–0.5 s.
    """
    from matplotlib.figure import Figure

    w = words
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    bars, trend = figure.subplots(2, 1, height_ratios=(3, 2))
    lines = sorted(report.lines, key=lambda line: line.all.rate or 0)[-20:]
    drawn = bars.barh(
        [line.name[:40] for line in lines],
        [100 * (line.all.rate or 0) for line in lines],
        color="#b71c1c",
    )
    bars.bar_label(drawn, labels=[w.percent(line.all.rate) for line in lines], padding=3)
    bars.set_xlim(0, max([100, *(105 * (line.all.rate or 0) for line in lines)]))
    bars.set_xlabel(w.t("report.chart.rate_axis"))
    bars.set_title(
        w.t(
            "report.chart.title",
            scope=report.scope_name,
            start=w.date(report.start),
            end=w.date(report.end),
        )
    )
    trend.plot(
        [w.date(start) for start, _ in report.weeks],
        [count.people for _, count in report.weeks],
        marker="o",
        color="#1565c0",
    )
    trend.set_ylabel(w.t("report.chart.people_axis"))
    trend.set_ylim(bottom=0)
    trend.yaxis.get_major_locator().set_params(integer=True)
    trend.set_xlabel(w.t("report.chart.week_axis"))
    trend.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
