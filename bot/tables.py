"""Reading spreadsheets people send (CSV or XLSX) as numbered rows of cells.

Shared by roster imports and question-bank imports. Rows are numbered as a spreadsheet program
shows them, so a message can say "dòng 12". Formulas are never evaluated: an XLSX is opened
with ``data_only=False`` and a formula cell comes back as its "=..." text for the caller to
refuse.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time
from functools import lru_cache

import openpyxl
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from .core.text import fold_compact

# Columns read from an XLSX row: a cell far to the right would otherwise make openpyxl build
# every row that wide. Real sheets have a handful of columns.
MAX_COLUMNS = 100


Say = Callable[..., str]


@lru_cache(maxsize=1)
def _shipped_texts():
    from .config import SHIPPED_CONTENT
    from .content.texts import Texts

    return Texts.load(SHIPPED_CONTENT / "texts")


def vietnamese(key: str, **values: object) -> str:
    """A ``files.*`` text of the shipped Vietnamese locale (callers may pass their own)."""
    return _shipped_texts().get("vi", f"files.{key}", **values)


class TableError(Exception):
    """The file cannot be read; ``key`` and ``values`` name the problem shown to the organizer."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key, self.values = key, values


def csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    """CSV records numbered from 1 as a spreadsheet shows them; the delimiter is , ; or tab,
    whichever the first non-empty line has most of."""
    if content.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # Excel's "Unicode text"
    else:
        encoding = "utf-8"
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError:
        raise TableError("csv_encoding") from None
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first_line.count)  # ties go to the comma
    return enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)


def xlsx_rows(content: bytes) -> Iterator[tuple[int, Sequence[object]]]:
    """Rows of the active sheet numbered from 1, formulas as their "=..." text.

    data_only=False on purpose: with data_only=True openpyxl returns a formula's cached result
    (or None when none was saved), so formula cells could be neither seen nor refused.
    openpyxl never evaluates formulas either way.
    """
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds of errors on damaged files
        raise TableError("xlsx_broken") from None
    try:
        sheet = workbook.active
        if not hasattr(sheet, "iter_rows"):  # a chart sheet, or no active sheet
            sheet = next(iter(workbook.worksheets), None)
        if sheet is None:
            raise TableError("xlsx_no_sheet")
        sheet.reset_dimensions()  # do not trust the size the file claims
        rows = enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception:  # damage inside the sheet surfaces while reading it
                raise TableError("xlsx_broken") from None
            yield row
    finally:
        workbook.close()


def cell_text(value: object) -> str:
    """A cell as stripped text: integral floats without ".0", dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def is_formula(value: object) -> bool:
    if isinstance(value, ArrayFormula | DataTableFormula):
        return True
    return isinstance(value, str) and value.lstrip().startswith("=")


def find_columns(
    header: Sequence[object], spellings: dict[str, tuple[str, ...]]
) -> dict[str, int]:
    """Column index per field, from header spellings compared without diacritics, case,
    spaces or punctuation ("Họ và tên" and "ho_va_ten" both read "hovaten"). The first
    spelling of a field that matches wins, so put the most specific one first."""
    compact = [fold_compact(cell_text(cell)) for cell in header]
    found = {}
    for field, names in spellings.items():
        index = next((compact.index(name) for name in names if name in compact), None)
        if index is not None:
            found[field] = index
    return found
