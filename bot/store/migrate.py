"""Numbered schema migrations, applied in order at start; PRAGMA user_version holds the number."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered SQL script."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """All shipped migrations, ordered by number, checked to be 1..N without gaps."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps: {found}")
    return found


def latest_version() -> int:
    """The schema version a fully migrated database has."""
    return len(migrations())


def apply_migrations(conn: sqlite3.Connection, target: int | None = None) -> list[str]:
    """Bring a synchronous connection up to ``target`` (default: latest); return what ran."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    ran = []
    for migration in migrations():
        if migration.version <= current or (target is not None and migration.version > target):
            continue
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{migration.sql}\n"
                f"PRAGMA user_version = {migration.version};\nCOMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                conn.rollback()
            raise
        ran.append(migration.name)
    return ran
