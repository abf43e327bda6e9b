"""Showing a member that the bot is working on a slow answer ("đang nhập…" in their app)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

log = logging.getLogger(__name__)

# Most turns answer in milliseconds and show nothing; a province report or a big roster takes
# seconds. Telegram shows a chat action for about 5 seconds, so it is repeated until done.
SHOW_AFTER_S = 1.0
REPEAT_EVERY_S = 4.5
# When this many turns are under way at once, a slow answer comes from the queue, not from
# its own work: showing "typing" to all of them would only add API calls to an overloaded
# bot (at 1,000 members answering at once it added a call for every fifth update).
SHOW_WHEN_AT_MOST = 20


class Busy:
    """``async with Busy(show): ...`` calls ``show`` if the block takes longer than
    ``SHOW_AFTER_S``, and again every ``REPEAT_EVERY_S`` until it ends; not when more than
    ``SHOW_WHEN_AT_MOST`` blocks are under way. A fast block costs one timer; a failing
    ``show`` is logged and never affects the block."""

    under_way = 0  # blocks entered and not yet left, in this process

    def __init__(self, show: Callable[[], Awaitable[object]]) -> None:
        self._show = show
        self._timer: asyncio.TimerHandle | None = None
        self._showing: asyncio.Task | None = None

    async def __aenter__(self) -> Busy:
        Busy.under_way += 1
        if Busy.under_way <= SHOW_WHEN_AT_MOST:
            self._timer = asyncio.get_running_loop().call_later(SHOW_AFTER_S, self._start)
        return self

    def _start(self) -> None:
        if Busy.under_way > SHOW_WHEN_AT_MOST:
            return  # the bot got busy meanwhile
        self._showing = asyncio.get_running_loop().create_task(self._keep_showing())

    async def _keep_showing(self) -> None:
        while True:
            try:
                await self._show()
            except Exception as exc:  # a chat action is a courtesy: never fail the turn
                log.debug("busy indicator failed: %s", type(exc).__name__)
            await asyncio.sleep(REPEAT_EVERY_S)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        Busy.under_way -= 1
        if self._timer is not None:
            self._timer.cancel()
        if self._showing is not None:
            self._showing.cancel()
