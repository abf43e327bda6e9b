"""Suggestions for the yearly commitment, per member category, from content/commitments.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .lessons import STRANDS
from .yamlfile import Checker, ContentError, LineDict, load_yaml

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}\Z")
ITEM_MAX = 200  # also the limit for an item a member types
FIELDS = {"id", "vi", "en", "strand"}
LANGS = ("vi", "en")


@dataclass(frozen=True)
class Suggestion:
    """One checkable commitment item a member may pick."""

    id: str
    text: dict[str, str]
    strand: str


@dataclass(frozen=True)
class CommitmentContent:
    """The year's theme and the suggestions of every category."""

    theme: dict[str, str]
    suggestions: dict[str, tuple[Suggestion, ...]]

    def for_category(self, category: str) -> tuple[Suggestion, ...]:
        """The suggestions for one member category (none for an unknown one)."""
        return self.suggestions.get(category, ())


def load_commitments(path: Path, categories: tuple[str, ...]) -> CommitmentContent:
    """Load and check the file; every configured category needs at least three suggestions."""
    check = Checker(path)
    data = load_yaml(path)
    if not isinstance(data, LineDict):
        check.add(1, "expected 'theme:' and 'categories:'")
        raise ContentError(check.findings)
    theme = _texts(check, data.get("theme"), data.line_of("theme"), "theme")
    suggestions: dict[str, tuple[Suggestion, ...]] = {}
    seen: set[str] = set()
    groups = data.get("categories")
    if not isinstance(groups, LineDict):
        check.add(data.line_of("categories"), "expected a 'categories:' mapping")
        groups = LineDict()
    for category in categories:
        items = groups.get(category)
        if not isinstance(items, list) or len(items) < 3:
            check.add(
                groups.line_of(category) if category in groups else data.line,
                f"category '{category}' needs a list of at least 3 suggestions",
            )
            continue
        parsed = []
        for item in items:
            suggestion = _suggestion(check, item, seen)
            if suggestion is not None:
                parsed.append(suggestion)
        suggestions[category] = tuple(parsed)
    if check.findings:
        raise ContentError(check.findings)
    return CommitmentContent(theme, suggestions)


def _texts(check: Checker, value: object, line: int, label: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        str(value.get(k) or "").strip() for k in ("vi", "en")
    ):
        check.add(line, f"{label}: needs 'vi' and 'en' texts")
        return {}
    return {k: str(value[k]).strip() for k in LANGS}


def _suggestion(check: Checker, item: object, seen: set[str]) -> Suggestion | None:
    if not isinstance(item, LineDict):
        check.add(0, "a suggestion must be a mapping with id, vi, en and strand")
        return None
    label = f"suggestion '{item.get('id')}'"
    before = len(check.findings)
    check.unknown_keys(item, FIELDS, label)
    suggestion_id = str(item.get("id") or "")
    if not _ID.match(suggestion_id):
        check.add(item.line_of("id"), f"{label}: 'id' must be 2–64 of a-z, 0-9 and '-'")
    elif suggestion_id in seen:
        check.add(item.line_of("id"), f"{label}: duplicate id")
    seen.add(suggestion_id)
    texts = {k: check.text(item, k, label, limit=ITEM_MAX) for k in LANGS}
    strand = str(item.get("strand") or "")
    if strand not in STRANDS:
        check.add(item.line_of("strand"), f"{label}: 'strand' must be one of {', '.join(STRANDS)}")
    if len(check.findings) > before:
        return None
    return Suggestion(suggestion_id, texts, strand)
