"""The "typing…" indicator of slow turns (bot/channels/busy.py), on its own."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels import busy
from bot.channels.busy import Busy


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(busy, "SHOW_AFTER_S", 0.05)
    monkeypatch.setattr(busy, "REPEAT_EVERY_S", 0.1)
    monkeypatch.setattr(busy, "SHOW_WHEN_AT_MOST", 3)


async def work(shown: list, seconds: float, label: str = "x") -> None:
    async def show() -> None:
        shown.append(label)

    async with Busy(show):
        await asyncio.sleep(seconds)


async def test_a_quick_block_shows_nothing_and_a_slow_one_until_it_ends():
    shown: list = []
    await work(shown, 0.01)
    assert shown == []
    await work(shown, 0.28)
    assert 2 <= len(shown) <= 4
    count = len(shown)
    await asyncio.sleep(0.25)
    assert len(shown) == count and Busy.under_way == 0


async def test_when_many_turns_are_under_way_none_shows_typing():
    shown: list = []
    await asyncio.gather(*(work(shown, 0.2, str(n)) for n in range(5)))
    assert shown == []  # five at once: the queue is slow, not the work
    await asyncio.gather(*(work(shown, 0.2, str(n)) for n in range(3)))
    assert sorted(set(shown)) == ["0", "1", "2"]


async def test_a_failing_indicator_never_fails_the_turn():
    async def broken() -> None:
        raise RuntimeError("blocked by the member")

    async with Busy(broken):
        await asyncio.sleep(0.12)
    assert Busy.under_way == 0
