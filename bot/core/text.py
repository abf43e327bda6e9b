"""Normalisation of what members type: NFC for storage, folded keys for matching."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_LINE_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_D_MAP = str.maketrans({"đ": "d", "Đ": "D"})


def to_nfc(text: str) -> str:
    """NFC, with runs of spaces collapsed and at most one blank line; line breaks are kept."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_LINE_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


@lru_cache(maxsize=8192)  # labels and command words repeat on every turn
def fold(text: str) -> str:
    """Fold case and Vietnamese diacritics so that 'BÀI HỌC', 'Bài học' and 'bai hoc' match."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare.casefold().translate(_D_MAP)).strip()


@lru_cache(maxsize=8192)
def fold_compact(text: str) -> str:
    """Fold and drop spaces and punctuation: 'bài học', 'baihoc' and 'Bai-hoc' give 'baihoc'."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long message at paragraph, then line, then word boundaries into parts ≤ limit."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), 0) or max(window.rfind("\n"), 0) or window.rfind(" ")
        if cut <= limit // 4:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest:
        parts.append(rest)
    return parts
