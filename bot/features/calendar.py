"""Commemorative dates: /ngayle lists the coming ones; before each, organizers get a ready contest.

The offer goes, ``quizzes.contest_offer_days`` before each date at ``contest_offer_time``, to the
organizers of every top unit and to the configured admins, through the outbox; its button opens
the contest form filled in (questions tagged for the date first), to launch with one press.
On the day itself, the daily lesson prefers a lesson tagged for it (see features/lessons.py).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from ..content.calendar import upcoming
from ..core.messages import Choice
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn
from ..store.outbox import NewMessage

CONTEST_OFFER = "contest_offer"
SHOWN = 6
DETAILED = 2
HORIZON_DAYS = 366


def register(router: Router, services: Services) -> None:
    """Add /ngayle, the daily offer job and the offer push."""
    config = services.settings.quizzes

    @router.command("ngayle", "dates", needs_member=False)
    async def dates(turn: Turn, args: str) -> None:
        coming = upcoming(services.calendar, turn.today, HORIZON_DAYS)[:SHOWN]
        lines = [turn.t("calendar.heading")]
        for number, (day, entry) in enumerate(coming):
            left = (day - turn.today).days
            lines.append(
                turn.t(
                    # The nearest ones with why they matter; the rest on one line each.
                    "calendar.line" if number < DETAILED else "calendar.short_line",
                    date=services.texts.date(day),
                    title=entry.title,
                    years=entry.years_on(day),
                    left=turn.t("calendar.today")
                    if left == 0
                    else turn.t("calendar.in_days", n=left),
                    significance=entry.significance,
                )
            )
        if not coming:
            lines.append(turn.t("calendar.none"))
        turn.say(
            "\n\n".join(lines[: DETAILED + 1]) + "\n\n" + "\n".join(lines[DETAILED + 1 :]),
            commands=[Choice("/ontap", turn.t("calendar.practice"))],
        )

    @router.every_minute
    async def offer_ready_contests() -> None:
        if not config.contest_offer_days or not services.calendar:
            return
        now = services.clock.now().astimezone(services.zone)
        at = time.fromisoformat(config.contest_offer_time.zfill(5))
        if now < datetime.combine(now.date(), at, services.zone):
            return
        target = now.date() + timedelta(days=config.contest_offer_days)
        due = [c for c in services.calendar if c.next_on_or_after(target) == target]
        if not due:
            return
        outbox = services.store.outbox
        tops = [u.code for u in services.org.children(None)]
        accounts = await services.store.quizzes.organizer_accounts(tops)
        accounts += [tuple(a.split(":", 1)) for a in services.settings.admins if ":" in a]
        stamp = int(now.timestamp())
        for entry in due:
            state = f"contest_offer.{entry.id}.{target.year}"
            if await outbox.get_state(state):
                continue
            await outbox.enqueue(
                [
                    NewMessage(
                        key=f"{CONTEST_OFFER}:{entry.id}:{target.year}:{channel}:{account}",
                        channel=channel,
                        external_id=account,
                        member_id=None,
                        kind=CONTEST_OFFER,
                        payload={"date": entry.id},
                        not_before=stamp,
                        ref=f"calendar:{entry.id}",
                    )
                    for channel, account in dict.fromkeys(accounts)
                ],
                stamp,
            )
            await outbox.set_state(state, "1")
        services.wake_delivery()

    @router.push(CONTEST_OFFER)
    async def offer(turn: Turn, payload: dict) -> None:
        entry = next((c for c in services.calendar if c.id == payload.get("date")), None)
        if entry is None:
            return
        day = entry.next_on_or_after(turn.today)
        tagged = len(services.questions.select(date=entry.key))
        turn.say(
            turn.t(
                "calendar.offer",
                date=services.texts.date(day),
                left=(day - turn.today).days,
                title=entry.title,
                contest=entry.contest_title_on(day),
                intro=entry.contest_intro,
                tagged=tagged,
                questions=config.questions_per_round,
            ),
            commands=[Choice(f"/cuocthi ngayle:{entry.id}", turn.t("calendar.prepare"))],
        )
