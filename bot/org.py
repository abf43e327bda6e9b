"""The organisation tree: units of any depth from a YAML or CSV file, with join codes."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from pathlib import Path

from .config import CHECKIN_MONTHS, parse_day_month
from .content.yamlfile import Checker, ContentError, Finding, load_yaml
from .core.models import Unit
from .core.text import fold, fold_compact

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}\Z")
_JOIN = re.compile(r"^[A-Za-z0-9_-]{4,32}\Z")
# CSV headers an organizer may write, English or Vietnamese (compared folded and compact).
_HEADERS = {
    "code": ("code", "ma", "madonvi"),
    "name": ("name", "ten", "tendonvi"),
    "parent": ("parent", "parentcode", "macaptren", "captren", "donvicaptren"),
    "level": ("level", "cap", "capdonvi"),
    "join_code": ("joincode", "mathamgia"),
    "commitment_deadline": ("commitmentdeadline", "hancamket"),
    "checkin_months": ("checkinmonths", "kycapnhat"),
}
FIELDS = set(_HEADERS)


class Organisation:
    """An in-memory view of the units tree: look-ups by code and join code, subtrees, search."""

    def __init__(self, units: list[Unit]) -> None:
        self.units = {u.code: u for u in units}
        self._by_join = {fold_compact(u.join_code): u for u in units if u.join_code}
        self._children: dict[str | None, list[str]] = {}
        for unit in units:
            self._children.setdefault(unit.parent, []).append(unit.code)

    def get(self, code: str) -> Unit | None:
        """A unit by its code."""
        return self.units.get(code)

    def by_join_code(self, text: str) -> Unit | None:
        """The unit whose join code was typed (case and spaces ignored)."""
        return self._by_join.get(fold_compact(text))

    def children(self, code: str | None) -> list[Unit]:
        """Direct sub-units (roots for None), in file order."""
        return [self.units[c] for c in self._children.get(code, [])]

    def subtree(self, code: str) -> list[Unit]:
        """The unit and all units below it, depth first in file order."""
        result, stack = [], [code]
        while stack:
            current = stack.pop()
            result.append(self.units[current])
            stack.extend(reversed(self._children.get(current, [])))
        return result

    def ancestors(self, code: str) -> list[Unit]:
        """The chain from the root down to the unit itself."""
        chain = []
        current = self.units.get(code)
        while current is not None:
            chain.append(current)
            current = self.units.get(current.parent) if current.parent else None
        return list(reversed(chain))

    def is_within(self, code: str, top: str) -> bool:
        """Whether ``code`` lies in the subtree of ``top``."""
        return any(u.code == top for u in self.ancestors(code))

    def path(self, code: str) -> str:
        """'/ROOT/.../CODE/', the form the store uses for subtree queries."""
        return "/" + "/".join(u.code for u in self.ancestors(code)) + "/"

    def full_name(self, code: str) -> str:
        """'Cell A, Commune B, …' from the unit up to (not including) the root."""
        chain = self.ancestors(code)
        names = [u.name for u in reversed(chain[1:] if len(chain) > 1 else chain)]
        return ", ".join(names)

    def inherited(self, code: str, field: str, default: object) -> object:
        """A unit's own value of ``field``, else its nearest ancestor's, else ``default``."""
        for unit in reversed(self.ancestors(code)):
            value = getattr(unit, field)
            if value not in ("", None):
                return value
        return default

    def search(self, text: str, limit: int = 8) -> list[Unit]:
        """Units whose name contains every typed word, diacritics and case ignored."""
        words = fold(text).split()
        if not words:
            return []
        found = [u for u in self.units.values() if all(w in fold(u.name) for w in words)]
        return found[:limit]

    def with_join_codes(self, codes: dict[str, str]) -> Organisation:
        """The same tree with join codes assigned by the store."""
        return Organisation(
            [replace(u, join_code=codes.get(u.code, u.join_code)) for u in self.ordered()]
        )

    def ordered(self) -> list[Unit]:
        """Every unit, parents before children."""
        result = []
        for root in self.children(None):
            result += self.subtree(root.code)
        return result


def load_units(path: Path) -> Organisation:
    """Read a units file (YAML with a 'units:' list, or CSV); ContentError names each problem."""
    check = Checker(path)
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path, check)
    else:
        rows = [(item.line, item) for item in check.items(load_yaml(path), "units")]
    placed: list[tuple[Unit, int]] = []
    for line, row in rows:
        unit = _unit(check, line, row)
        if unit is not None:
            placed.append((unit, line))
    _check_tree(check, placed)
    units = [unit for unit, _ in placed]
    if check.findings:
        raise ContentError(check.findings)
    return Organisation(units)


def _csv_rows(path: Path, check: Checker) -> list[tuple[int, dict]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            columns = {}
            for index, title in enumerate(header):
                for field, names in _HEADERS.items():
                    if fold_compact(title) in names:
                        columns[index] = field
            if "code" not in columns.values() or "name" not in columns.values():
                check.add(1, "the header must name at least the 'code' and 'name' columns")
                return []
            return [
                (number, {columns[i]: v.strip() for i, v in enumerate(row) if i in columns})
                for number, row in enumerate(reader, start=2)
                if any(cell.strip() for cell in row)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ContentError([Finding(path, 0, f"cannot read CSV: {exc}")]) from None


def _unit(check: Checker, line: int, row: dict) -> Unit | None:
    code = str(row.get("code") or "").strip()
    label = f"unit '{code}'" if code else "unit"
    before = len(check.findings)
    if hasattr(row, "line_of"):
        check.unknown_keys(row, FIELDS, label)
    if not _CODE.match(code):
        check.add(line, f"{label}: 'code' must be 1–32 of A-Z, a-z, 0-9, '_', '.', '-'")
    name = str(row.get("name") or "").strip()
    if not name:
        check.add(line, f"{label}: missing 'name'")
    join = str(row.get("join_code") or "").strip()
    if join and not _JOIN.match(join):
        check.add(line, f"{label}: 'join_code' must be 4–32 of A-Z, a-z, 0-9, '_', '-'")
    deadline = str(row.get("commitment_deadline") or "").strip()
    if deadline and parse_day_month(deadline) is None:
        check.add(line, f"{label}: 'commitment_deadline' must be a day of the year like 31/3")
    months_text = str(row.get("checkin_months") if row.get("checkin_months") is not None else "")
    months = int(months_text) if months_text.strip().isdigit() else None
    if months_text.strip() and months not in CHECKIN_MONTHS:
        check.add(
            line,
            f"{label}: 'checkin_months' must be one of {', '.join(map(str, CHECKIN_MONTHS))}",
        )
    if len(check.findings) > before:
        return None
    parent = str(row.get("parent") or "").strip() or None
    level = str(row.get("level") or "").strip()
    return Unit(code, name, parent, level, join, deadline, months)


def _check_tree(check: Checker, placed: list[tuple[Unit, int]]) -> None:
    seen: set[str] = set()
    joins: set[str] = set()
    for unit, line in placed:
        if unit.code in seen:
            check.add(line, f"unit '{unit.code}': duplicate code")
        seen.add(unit.code)
        if unit.join_code:
            if fold_compact(unit.join_code) in joins:
                check.add(line, f"unit '{unit.code}': join_code '{unit.join_code}' is used twice")
            joins.add(fold_compact(unit.join_code))
    codes = {unit.code: unit for unit, _ in placed}
    for unit, line in placed:
        if unit.parent and unit.parent not in codes:
            check.add(line, f"unit '{unit.code}': unknown parent '{unit.parent}'")
            continue
        steps, current = 0, unit
        while current and current.parent and steps <= len(codes):
            current, steps = codes.get(current.parent), steps + 1
        if steps > len(codes):
            check.add(line, f"unit '{unit.code}': its parents form a cycle")
    if placed and not any(unit.parent is None for unit, _ in placed):
        check.add(1, "no top unit: exactly the top units have no parent")


def write_units_csv(units: list[tuple[str, str, str, str, str]], path: Path) -> None:
    """Write (code, name, parent, level, join_code) rows as a units file the bot can load."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "parent", "level", "join_code"])
        writer.writerows(units)
