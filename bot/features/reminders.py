"""Daily lesson reminders: the member picks the hour (or turns them off); the push itself."""

from __future__ import annotations

import re
from datetime import time

from ..config import parse_quiet_hours
from ..core.messages import Choice
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn
from ..delivery.sender import is_quiet
from .lessons import next_lesson, reading_order

LESSON = "lesson"
CHECKIN = "checkin"  # commitment check-in reminders: on by default, can be muted
# Times offered as buttons; any other time can be typed ("6:45", "19h30", "7h"). A bare number
# is not a time: on the console and Zalo it picks the numbered choice, as everywhere else.
OFFERED = ("06:30", "07:00", "12:00", "18:00", "19:00", "20:00", "21:00")
_TIME = re.compile(r"^\s*(\d{1,2})\s*[:hg.]\s*(\d{2})?\s*$", re.IGNORECASE)


def parse_time_of_day(text: str) -> int | None:
    """'19:30', '19h30', '19h' -> minute of the day; None if it is not a time."""
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return hour * 60 + minute


def format_minute(minute: int) -> str:
    """570 -> '09:30'."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def register(router: Router, services: Services) -> None:
    """Add /nhacnho and the lesson reminder push."""
    outbox = services.store.outbox
    quiet = parse_quiet_hours(services.settings.delivery.quiet_hours)

    @router.command("nhacnho", "reminders")
    async def reminders(turn: Turn, args: str) -> None:
        minute = await outbox.reminder_minute(turn.member.id, LESSON)
        status = (
            turn.t("reminders.current", time=format_minute(minute))
            if minute is not None
            else turn.t("reminders.none")
        )
        muted = await outbox.muted(turn.member.id, CHECKIN)
        checkins = turn.t("reminders.checkin_off" if muted else "reminders.checkin_on")
        turn.ask(
            f"{status}\n{checkins}\n{turn.t('reminders.ask')}",
            [
                *(Choice(f"remind:{t}", t) for t in OFFERED),
                Choice("remind:off", turn.t("reminders.turn_off")),
                Choice(
                    "remind:checkin",
                    turn.t("reminders.checkin_unmute" if muted else "reminders.checkin_mute"),
                ),
            ],
            state="reminders.time",
        )

    @router.state("reminders.time")
    async def on_typed_time(turn: Turn, text: str) -> None:
        minute = parse_time_of_day(text)
        if minute is None:
            turn.repeat_offer(turn.t("reminders.bad_time", text=text[:20]))
            return
        await choose(turn, minute)

    @router.choice("remind", needs_member=True)
    async def on_choice(turn: Turn, value: str) -> None:
        if value == "checkin":
            muted = not await outbox.muted(turn.member.id, CHECKIN)
            await outbox.set_muted(turn.member.id, CHECKIN, muted)
            turn.finish()
            key = "reminders.checkin_muted" if muted else "reminders.checkin_unmuted"
            turn.say(turn.t(key), edit=True)
            return
        await choose(turn, None if value == "off" else parse_time_of_day(value))

    async def choose(turn: Turn, minute: int | None) -> None:
        if minute is not None and is_quiet(time(minute // 60, minute % 60), quiet):
            turn.repeat_offer(
                turn.t(
                    "reminders.in_quiet_hours",
                    time=format_minute(minute),
                    quiet=services.settings.delivery.quiet_hours,
                )
            )
            return
        await outbox.set_reminder(turn.member.id, LESSON, minute)
        turn.finish()
        if minute is None:
            turn.say(turn.t("reminders.turned_off"), edit=True)
        else:
            turn.say(turn.t("reminders.saved", time=format_minute(minute)), edit=True)

    @router.push(LESSON, needs_progress=True)
    async def lesson_reminder(turn: Turn, payload: dict) -> None:
        if turn.member is None or turn.progress.last_day == turn.today:
            return  # no longer a member, or already read today: nothing to remind of
        if payload.get("day", turn.today.isoformat()) != turn.today.isoformat():
            return  # held past its day (quiet hours, a long queue): "today" would be wrong
        item = next_lesson(
            reading_order(services.lessons, services.plan), turn.progress, turn.today
        )
        turn.say(
            turn.t(
                "reminders.push",
                title=item.title,
                strand=turn.t(f"strands.{item.strand}"),
                streak=turn.number(turn.progress.streak_on(turn.today)),
            ),
            commands=[
                Choice("/baihoc", turn.t("reminders.read_now")),
                Choice("/nhacnho", turn.t("reminders.change")),
            ],
        )
