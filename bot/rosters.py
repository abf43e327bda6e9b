"""Rosters organizers upload: the people their unit expects to take part, as CSV or XLSX.

read_roster() sorts an uploaded file into rows the caller may add or update, rows rejected with
the row number the organizer sees in the spreadsheet and a reason in Vietnamese, and file-level
problems (wrong type, too big, unreadable, missing columns). It never raises on a bad file.

Phone numbers are normalised to E.164 ("+84912345678") here; the caller stores only
phone_hash() of them, never the number in clear.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass

from .core.text import fold
from .tables import (
    Say,
    TableError,
    cell_text,
    csv_rows,
    find_columns,
    is_formula,
    vietnamese,
    xlsx_rows,
)

MAX_NAME_LENGTH = 100

# Header spellings per field, compared folded with spaces and punctuation dropped. The more
# specific spelling comes first, so "Mã đơn vị" wins over a unit-name column "Đơn vị".
_COLUMNS = {
    "full_name": ("fullname", "hovaten", "hoten", "name", "ten"),
    "phone": ("phone", "phonenumber", "sodienthoai", "dienthoai", "sdt"),
    "unit_code": ("unitcode", "madonvi", "unit", "donvi"),
    "category": ("category", "doituong", "loai"),
}
_REQUIRED = ("full_name", "phone", "unit_code", "category")

_SPACES = re.compile(r"\s+")
# What a phone number may look like before its digits are read: an optional "(" and "+",
# then digits with spaces, dots, dashes and brackets between them.
_PHONE_SHAPE = re.compile(r"\(?\+?[0-9][0-9\s.()-]*[0-9]")
_FLOAT_TEXT = re.compile(r"([0-9]+)\.0+")  # "912345678.0" from a float column
# After the country code: mobiles are 9 digits starting 3, 5, 7, 8 or 9; landlines start with 2.
_NATIONAL_NUMBER = re.compile(r"[35789][0-9]{8}|2[0-9]{8,9}")


@dataclass(frozen=True)
class RosterRow:
    """One accepted person: line is the spreadsheet row number, phone is E.164."""

    line: int
    full_name: str
    phone: str
    unit_code: str
    category: str


@dataclass(frozen=True)
class Rejected:
    """A row that was not accepted, with the reason shown to the organizer (Vietnamese)."""

    line: int
    reason: str


@dataclass(frozen=True)
class RosterFile:
    """A read roster file; when there are file-level problems, rows and rejected are empty."""

    rows: tuple[RosterRow, ...]
    rejected: tuple[Rejected, ...]
    problems: tuple[str, ...]


def normalise_phone(text: str | int | float) -> str | None:
    """A Vietnamese phone number in E.164 form ("+84912345678"), or None if it is not one.

    Accepts "0912 345 678", "0912.345.678", "+84 912 345 678", "84912345678",
    "(+84) 912-345-678", and numbers a spreadsheet stored as a number, which lost the leading
    0 (912345678 or 912345678.0). Mobile numbers have 9 digits after 84 and start with 3, 5, 7,
    8 or 9; landlines have 9 or 10 digits after 84 and start with 2.
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, float):
        if not math.isfinite(text) or not text.is_integer():
            return None
        text = int(text)
    if isinstance(text, int):
        if text <= 0:
            return None
        text = str(text)
    if not isinstance(text, str):
        return None
    text = text.strip()
    if match := _FLOAT_TEXT.fullmatch(text):
        text = match[1]
    if not _PHONE_SHAPE.fullmatch(text):
        return None
    digits = re.sub(r"[^0-9]", "", text)
    if "+" in text or (digits.startswith("84") and len(digits) >= 11):
        if not digits.startswith("84"):
            return None  # another country's number
        national = digits[2:]
        if national.startswith("0"):  # "+84 0912 345 678"
            national = national[1:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        national = digits  # the leading 0 was lost in a spreadsheet
    if not _NATIONAL_NUMBER.fullmatch(national):
        return None
    return "+84" + national


def phone_hash(phone_e164: str, key: bytes) -> str:
    """The hex HMAC-SHA256 of a normalised phone number under the given key."""
    return hmac.new(key, phone_e164.encode("utf-8"), hashlib.sha256).hexdigest()


def read_roster(
    content: bytes,
    filename: str,
    *,
    units: set[str],
    categories: dict[str, str],
    max_bytes: int = 5_000_000,
    max_rows: int = 200_000,
    say: Say = vietnamese,
) -> RosterFile:
    """Read an uploaded roster (.csv or .xlsx, decided by the file name) into rows to store,
    rejected rows and file-level problems.

    units holds the known unit codes; categories maps accepted spellings of a category (matched
    ignoring case and diacritics) to category keys. Bad files give a problem, never an exception.
    ``say(key, **values)`` words problems and reasons (``files.*`` texts; default Vietnamese).
    """
    extension = "." + filename.strip().rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in (".csv", ".xlsx"):
        return _problem(say("only_csv_xlsx"))
    if len(content) > max_bytes:
        limit = f"{max_bytes / 1_000_000:.2f}".rstrip("0").rstrip(".").replace(".", ",")
        return _problem(say("too_large", limit=limit))
    try:
        if extension == ".csv":
            return _read_table(csv_rows(content), units, categories, max_rows, say)
        with closing(xlsx_rows(content)) as table:
            return _read_table(table, units, categories, max_rows, say)
    except TableError as error:
        return _problem(say(error.key, **error.values))
    except csv.Error:
        return _problem(say("csv_invalid"))


def _problem(text: str) -> RosterFile:
    return RosterFile(rows=(), rejected=(), problems=(text,))


def _read_table(
    table: Iterable[tuple[int, Sequence[object]]],
    units: set[str],
    categories: dict[str, str],
    max_rows: int,
    say: Say,
) -> RosterFile:
    """Find the header (the first non-empty row), then check every non-empty row after it."""
    folded_categories = {fold(spelling): key for spelling, key in categories.items()}
    columns: dict[str, int] | None = None
    headers: dict[str, str] = {}
    rows: list[RosterRow] = []
    rejected: list[Rejected] = []
    first_line_of: dict[str, int] = {}  # phone -> the line it first appeared on
    count = 0
    for line, cells in table:
        if columns is None:
            if not any(cell_text(cell) for cell in cells):
                continue
            columns = find_columns(cells, _COLUMNS)
            missing = [say(f"col_{field}") for field in _REQUIRED if field not in columns]
            if missing:
                return _problem(say("missing_columns", columns=", ".join(missing), line=line))
            headers = {field: cell_text(cells[index]) for field, index in columns.items()}
            continue
        values = {
            field: cells[index] if index < len(cells) else None for field, index in columns.items()
        }
        if not any(cell_text(value) for value in values.values()):
            continue  # an empty row, or one with only columns a roster does not use
        count += 1
        if count > max_rows:
            limit = f"{max_rows:,}".replace(",", ".")
            return _problem(say("too_many_rows", limit=limit))
        checked = _check_row(line, values, headers, units, folded_categories, first_line_of, say)
        (rows if isinstance(checked, RosterRow) else rejected).append(checked)
    if columns is None:
        return _problem(say("no_data"))
    return RosterFile(rows=tuple(rows), rejected=tuple(rejected), problems=())


def _check_row(
    line: int,
    values: dict[str, object],
    headers: dict[str, str],
    units: set[str],
    categories: dict[str, str],
    first_line_of: dict[str, int],
    say: Say,
) -> RosterRow | Rejected:
    """The row as a RosterRow, or Rejected with every reason found, joined by "; "."""
    formulas = [headers[field] for field, value in values.items() if is_formula(value)]
    if formulas:
        return Rejected(line, say("formula_cells", cells=", ".join(formulas)))
    reasons = []

    full_name = _SPACES.sub(" ", unicodedata.normalize("NFC", cell_text(values["full_name"])))
    full_name = full_name.strip()
    if not full_name:
        reasons.append(say("name_missing"))
    elif len(full_name) > MAX_NAME_LENGTH:
        reasons.append(say("name_too_long", limit=MAX_NAME_LENGTH))

    raw_phone = values["phone"]
    phone_text = cell_text(raw_phone)
    phone = normalise_phone(raw_phone if isinstance(raw_phone, int | float) else phone_text)
    if not phone_text:
        reasons.append(say("phone_missing"))
    elif phone is None:
        reasons.append(say("phone_invalid", phone=phone_text))
    else:
        first_line = first_line_of.setdefault(phone, line)
        if first_line != line:
            reasons.append(say("phone_duplicate", line=first_line))

    unit_code = cell_text(values["unit_code"])
    if not unit_code:
        reasons.append(say("unit_missing"))
    elif unit_code not in units:
        if unit_code.upper() in units:
            unit_code = unit_code.upper()
        else:
            reasons.append(say("unit_unknown", unit=unit_code))

    category_text = cell_text(values["category"])
    category = categories.get(fold(category_text))
    if not category_text:
        reasons.append(say("category_missing"))
    elif category is None:
        reasons.append(say("category_invalid", category=category_text))

    if reasons or phone is None or category is None:
        return Rejected(line, "; ".join(reasons))
    return RosterRow(line, full_name, phone, unit_code, category)
