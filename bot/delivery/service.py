"""Delivery as one piece for the app: a sender per channel and the reminder scheduler."""

from __future__ import annotations

import asyncio
import logging

from ..store.outbox import OutboxRow
from .scheduler import ReminderScheduler
from .sender import Pusher, Sender

log = logging.getLogger(__name__)


class Delivery:
    """Starts and stops everything that pushes messages, in the right order."""

    def __init__(self, app, pushers: dict[str, Pusher]) -> None:
        self._app = app
        services = app.services
        outbox = app.store.outbox
        self.senders = {
            channel: Sender(
                channel=channel,
                pusher=pusher,
                outbox=outbox,
                render=self._render,
                clock=services.clock,
                zone=services.zone,
                settings=app.settings.delivery,
            )
            for channel, pusher in pushers.items()
        }
        self.scheduler = ReminderScheduler(
            outbox=outbox,
            clock=services.clock,
            zone=services.zone,
            settings=app.settings.delivery,
            on_queued=self.wake,
        )
        self._tasks: list[asyncio.Task] = []

    async def _render(self, row: OutboxRow):
        return await self._app.conversation.render_push(
            row.channel, row.external_id, row.kind, row.payload
        )

    def wake(self) -> None:
        """Something was queued: every sender looks at once."""
        for sender in self.senders.values():
            sender.wake()

    async def start(self) -> None:
        """Settle what a crash left in flight, catch up on missed reminders, start sending."""
        outbox = self._app.store.outbox
        now = int(self._app.services.clock.now().timestamp())
        unknown = await outbox.mark_in_flight_unknown(now)
        if unknown:
            log.warning(
                "%d messages were being sent when the bot stopped; marked 'unknown', not resent"
                " (see `python -m bot outbox`)",
                unknown,
            )
        await self.scheduler.tick()
        self.scheduler.start()
        self._tasks = [asyncio.create_task(s.run()) for s in self.senders.values()]

    async def stop(self) -> None:
        """Stop ticking, let sends in progress finish, stop the senders."""
        self.scheduler.stop()
        for sender in self.senders.values():
            await sender.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
