"""Per-member option order: shuffled for each member and mapped back on the server."""

from __future__ import annotations

import random


def shuffled_order(count: int, rng: random.Random) -> list[int]:
    """A permutation of ``range(count)``: position shown → option index in the bank."""
    order = list(range(count))
    rng.shuffle(order)
    return order


def option_at(order: list[int], shown: int) -> int | None:
    """The bank's option index for the ``shown``-th button, or None for a position not shown."""
    return order[shown] if 0 <= shown < len(order) else None
