"""Reading a typed tie-break prediction the way a person means it.

Accepted: "1200", "1.200", "1,200", "1 200", "khoảng 1.200", "1200 người", "dự đoán: 1.200 người",
"1.200.000". Refused (None): no digits, several numbers ("1000 - 1200"), a decimal ("1,5"), a
negative number, or more than MAX.
"""

from __future__ import annotations

import re

from ..core.text import fold

MAX = 100_000_000
# Digits grouped in threes by '.', ',' or a space, or plain digits.
_NUMBER = re.compile(r"\d{1,3}(?:([.,  ])\d{3})(?:\1\d{3})*(?!\d)|\d+")
_WORDS = {
    "khoang",
    "du",
    "doan",
    "la",
    "nguoi",
    "luot",
    "chung",
    "tam",
    "co",
    "so",
    "toi",
    "minh",
    "em",
    "anh",
    "chi",
    "around",
    "about",
    "people",
    "entrants",
    "my",
    "guess",
    "is",
    "approximately",
    "approx",
    "ca",
    "nhe",
}


def parse_prediction(text: str) -> int | None:
    """The whole number in ``text``, or None when there is none or it is unclear."""
    folded = fold(text).replace("~", " ").replace(":", " ")
    numbers = list(_NUMBER.finditer(folded))
    if len(numbers) != 1:
        return None
    match = numbers[0]
    rest = (folded[: match.start()] + " " + folded[match.end() :]).replace("-", " - ")
    words = re.findall(r"[^\W\d_]+|[-+/]", rest)  # trailing "." or "!" are fine
    if any(w not in _WORDS for w in words):
        return None
    value = int(re.sub(r"\D", "", match.group(0)))
    return value if value <= MAX else None
