"""The results workbook of a contest round (XLSX, Vietnamese headers) for organizers.

Text typed by members (names) could start with '=', '+', '-' or '@' and run as a formula when
the file is opened: every text cell is neutralised. Numbers stay numbers so organizers can sort
and sum them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

SHEET_KEYS = (
    "ranking",
    "units",
    "rank",
    "name",
    "unit",
    "category",
    "correct",
    "prediction",
    "distance",
    "duration_s",
    "submitted",
    "entrants",
    "members",
    "rate",
    "average",
    "title",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """A text cell that a spreadsheet shows as text, never evaluates."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def results_workbook(
    title: str,
    round_number: int,
    questions: int,
    rows: Sequence,
    standings: Sequence[tuple[str, object]],
    *,
    unit_name: Callable[[str], str],
    category_name: Callable[[str], str],
    labels: dict[str, str],
    submitted_text: Callable[[int], str] | None = None,
) -> bytes:
    """Two sheets: the full ranking, and the units' participation and average score."""
    book = Workbook()
    ranking = book.active
    ranking.title = labels["ranking"][:31]
    ranking.append([safe_text(f"{labels['title']}: {title} ({round_number})")])
    header = [
        labels[k]
        for k in (
            "rank",
            "name",
            "unit",
            "category",
            "correct",
            "prediction",
            "distance",
            "duration_s",
            "submitted",
        )
    ]
    ranking.append(header)
    for row in rows:
        ranking.append(
            [
                row.rank,
                safe_text(row.full_name),
                safe_text(unit_name(row.unit_code)),
                safe_text(category_name(row.category)),
                row.correct,
                row.prediction,
                row.distance,
                round(row.duration_ms / 1000, 2),
                safe_text(submitted_text(row.submitted_ms))
                if submitted_text
                else row.submitted_ms,
            ]
        )
    units = book.create_sheet(labels["units"][:31])
    units.append(
        [labels["unit"], labels["entrants"], labels["members"], labels["rate"], labels["average"]]
    )
    for name, standing in standings:
        rate = standing.entrants / standing.members if standing.members else None
        units.append(
            [
                safe_text(name),
                standing.entrants,
                standing.members,
                rate,
                round(standing.average, 2) if standing.average is not None else None,
            ]
        )
    for sheet, header_row in ((ranking, 2), (units, 1)):
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    for cell in units["D"][1:]:
        cell.number_format = "0.00%"
    for letter, width in zip("ABCDEFGHI", (8, 28, 36, 18, 10, 12, 10, 12, 20), strict=True):
        ranking.column_dimensions[letter].width = width
    units.column_dimensions["A"].width = 40
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
