"""Delivery as one piece for the app: a sender per channel and the reminder scheduler."""

from __future__ import annotations

import logging
from dataclasses import replace

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ..config import DeliverySettings
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
                render=app.conversation.render_pushes,
                clock=services.clock,
                zone=services.zone,
                settings=self._settings_for(channel),
                quota=getattr(pusher, "quota", None),
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
        self._ticker: AsyncIOScheduler | None = None

    def _settings_for(self, channel: str) -> DeliverySettings:
        """Zalo has its own pace (no paid broadcasts); other channels share ``delivery``."""
        settings = self._app.settings
        if channel == "zalo":
            return replace(
                settings.delivery,
                rate_per_second=settings.zalo.rate_per_second,
                paid_rate_per_second=0.0,
            )
        return settings.delivery

    def wake(self) -> None:
        """Something was queued: every sender looks at once."""
        for sender in self.senders.values():
            sender.wake()

    async def every_minute(self) -> None:
        """Queue due reminders and run the features' minute jobs (e.g. broadcast summaries)."""
        await self.scheduler.tick()
        for job in self._app.conversation.router.minute_jobs:
            try:
                await job()
            except Exception:
                log.exception("minute job %s failed", getattr(job, "__name__", job))
        self.wake()

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
        await self.every_minute()
        self._ticker = AsyncIOScheduler(timezone=self._app.services.zone)
        self._ticker.add_job(
            self.every_minute,
            "cron",
            second=0,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=50,
        )
        self._ticker.start()
        for sender in self.senders.values():
            sender.start()

    async def stop(self) -> None:
        """Stop ticking, let sends in progress finish, stop the senders."""
        if self._ticker is not None:
            self._ticker.shutdown(wait=False)
            self._ticker = None
        for sender in self.senders.values():
            await sender.stop()
