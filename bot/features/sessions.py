"""Study sessions (/hoinghi for organizers, /diemdanh for members): attendance counted exactly.

An organizer creates a session (title, unit subtree, time, place) and gets a check-in code and
a deep link. Members of that subtree check in with the code during the window (an hour before
the start to five hours after). Organizers mark people without smartphones from the roster (or
registered members) by typing a name. Each attendance counts once, as one participation, by a
trigger on the attendance table (migrations/0006).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from ..core.messages import Choice
from ..core.router import Router
from ..core.services import Services
from ..core.text import fold
from ..core.turn import Turn
from ..store.participation import StudySession
from .contests import parse_start
from .units import may_organize, organized_units, visible_tops

OPENS_BEFORE_S = 3600
CLOSES_AFTER_S = 5 * 3600
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a hall
MAX_UNIT_CHOICES = 12
MATCHES = 8


def new_session_code() -> str:
    """Six characters that are easy to read out and type."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def register(router: Router, services: Services) -> None:
    """Add /hoinghi, /diemdanh and marking attendance on behalf of members."""
    store = services.store.participation

    def when(ts: int) -> str:
        moment = datetime.fromtimestamp(ts, services.zone)
        return f"{moment:%H:%M} {services.texts.date(moment.date())}"

    # -- organizers ----------------------------------------------------------------------

    @router.command("hoinghi", "sessions", needs_member=False, for_organizers=True)
    async def sessions(turn: Turn, args: str) -> None:
        tops = [t for t in await visible_tops(turn) if services.org.get(t) is not None]
        if not tops:
            turn.say(turn.t("errors.not_allowed"))
            return
        found: list[StudySession] = []
        for top in tops:
            found += await store.sessions_in(services.org.path(top), turn.timestamp - 7 * 86400)
        lines = [turn.t("sessions.heading")]
        lines += [
            turn.t("sessions.line", title=s.title, at=when(s.starts_at), code=s.code)
            for s in found
        ] or [turn.t("sessions.none")]
        choices = [Choice(f"hnv:{s.id}", f"{s.code} · {s.title[:36]}") for s in found[:10]]
        choices.append(Choice("hnn:new", turn.t("sessions.create")))
        turn.ask("\n".join(lines), choices)

    @router.choice("hnn")
    async def on_new(turn: Turn, value: str) -> None:
        turn.ask(
            turn.t("sessions.ask_title"),
            [Choice("cancel:", turn.t("common.cancel"))],
            state="sessions.title",
            data={},
            edit=True,
        )

    @router.state("sessions.title")
    async def on_title(turn: Turn, text: str) -> None:
        title = " ".join(text.split())
        if not 5 <= len(title) <= 160:
            turn.repeat_offer(turn.t("sessions.title_length"))
            return
        codes = await organized_units(turn, MAX_UNIT_CHOICES)
        turn.ask(
            turn.t("sessions.ask_unit"),
            [Choice(f"hnu:{c}", services.org.full_name(c)) for c in codes],
            state="sessions.unit",
            data={"title": title},
        )

    @router.choice("hnu")
    async def on_unit(turn: Turn, code: str) -> None:
        data = turn.flow_data("title")
        if data is None:
            return
        if not await may_organize(turn, code):
            turn.say(turn.t("errors.not_allowed"))
            return
        turn.ask(
            turn.t("sessions.ask_time"),
            [Choice("cancel:", turn.t("common.cancel"))],
            state="sessions.time",
            data={**data, "unit": code},
            edit=True,
        )

    @router.state("sessions.time")
    async def on_time(turn: Turn, text: str) -> None:
        moment = parse_start(text, turn.now.astimezone(services.zone))
        if moment is None:
            turn.repeat_offer(turn.t("sessions.bad_time", text=text[:40]))
            return
        turn.ask(
            turn.t("sessions.ask_place"),
            [Choice("cancel:", turn.t("common.cancel"))],
            state="sessions.place",
            data={**turn.dialog.data, "at": int(moment.timestamp())},
        )

    @router.state("sessions.place")
    async def on_place(turn: Turn, text: str) -> None:
        place = " ".join(text.split())
        if not 2 <= len(place) <= 200:
            turn.repeat_offer(turn.t("sessions.place_length"))
            return
        data = {**turn.dialog.data, "place": place}
        turn.ask(
            turn.t(
                "sessions.confirm",
                title=data["title"],
                unit=services.org.full_name(data["unit"]),
                at=when(data["at"]),
                place=place,
            ),
            [
                Choice("hnc:save", turn.t("sessions.save")),
                Choice("cancel:", turn.t("common.cancel")),
            ],
            state="sessions.confirm",
            data=data,
        )

    @router.choice("hnc")
    async def on_save(turn: Turn, value: str) -> None:
        data = turn.flow_data("title", "unit", "at", "place")
        if data is None:
            return
        if not await may_organize(turn, data["unit"]):
            turn.say(turn.t("errors.not_allowed"))
            return
        code = new_session_code()
        while await store.session_by_code(code) is not None:
            code = new_session_code()
        session_id = await store.create_session(
            code=code,
            title=data["title"],
            unit_code=data["unit"],
            starts_at=data["at"],
            place=data["place"],
            created_by=turn.member.id if turn.member else None,
            now=turn.timestamp,
        )
        turn.finish()
        turn.ask(
            turn.t(
                "sessions.created",
                title=data["title"],
                code=code,
                link=f"https://t.me/{services.bot_username or '<bot>'}?start=hn-{code}",
                at=when(data["at"]),
            ),
            [Choice(f"hnm:{session_id}", turn.t("sessions.mark"))],
            edit=True,
        )

    @router.choice("hnv")
    async def on_view(turn: Turn, value: str) -> None:
        session = await store.session(int(value)) if value.isdigit() else None
        if session is None or not await may_organize(turn, session.unit_code):
            turn.say(turn.t("errors.not_allowed"))
            return
        counted, marked = await store.attendance_count(session.id)
        turn.ask(
            turn.t(
                "sessions.view",
                title=session.title,
                unit=services.org.full_name(session.unit_code),
                at=when(session.starts_at),
                place=session.place,
                code=session.code,
                counted=turn.number(counted),
                marked=turn.number(marked),
            ),
            [Choice(f"hnm:{session.id}", turn.t("sessions.mark"))],
            edit=True,
        )

    @router.choice("hnm")
    async def on_mark(turn: Turn, value: str) -> None:
        session = await store.session(int(value)) if value.isdigit() else None
        if session is None or not await may_organize(turn, session.unit_code):
            turn.say(turn.t("errors.not_allowed"))
            return
        turn.ask(
            turn.t("sessions.ask_name", title=session.title),
            [Choice("cancel:", turn.t("common.cancel"))],
            state="sessions.mark",
            data={"session": session.id},
        )

    @router.state("sessions.mark")
    async def on_name(turn: Turn, text: str) -> None:
        session = await store.session(turn.dialog.data.get("session", 0))
        if session is None:
            turn.finish()
            turn.say(turn.t("errors.stale_button"))
            return
        words = fold(text).split()
        path = services.org.path(session.unit_code)
        people = {}
        for entry in await store.entries_in(path):
            if all(w in fold(entry.full_name) for w in words):
                person = entry.member_id or -entry.id
                people[person] = (entry.full_name, entry.unit_code, entry.category)
        for member_id, name, unit, category in await services.store.members_in(path, words):
            people.setdefault(member_id, (name, unit, category))
        if not words or not people:
            turn.repeat_offer(turn.t("sessions.no_match", text=text[:40]))
            return
        matches = list(people.items())[:MATCHES]
        turn.ask(
            turn.t("sessions.pick", n=len(people)),
            [
                Choice(
                    f"hnp:{person}:{unit}:{category}",
                    f"{name} · {services.org.get(unit).name if services.org.get(unit) else unit}",
                )
                for person, (name, unit, category) in matches
            ]
            + [Choice("cancel:", turn.t("common.cancel"))],
            state="sessions.mark",
            data={"session": session.id},
        )

    @router.choice("hnp")
    async def on_pick(turn: Turn, value: str) -> None:
        data = turn.flow_data("session")
        if data is None:
            return
        session = await store.session(data["session"])
        person, unit, category = [*value.split(":", 2), "", ""][:3]
        if session is None or not await may_organize(turn, session.unit_code):
            turn.say(turn.t("errors.not_allowed"))
            return
        if await store.attended(session.id, int(person)):
            turn.say(turn.t("sessions.already_marked"), notice=True)
        else:
            turn.write(
                *store.attendance_statement(
                    session.id,
                    int(person),
                    unit,
                    category,
                    marked_by=turn.member.id if turn.member else None,
                    at=turn.timestamp,
                    day=turn.today,
                )
            )
        counted, _ = await store.attendance_count(session.id)
        turn.ask(
            turn.t("sessions.marked", n=turn.number(counted + 1)),
            [Choice("cancel:", turn.t("sessions.done"))],
            state="sessions.mark",
            data={"session": session.id},
            edit=True,
        )

    # -- members ---------------------------------------------------------------------------

    @router.command("diemdanh", "checkin")
    async def check_in(turn: Turn, args: str) -> None:
        code = args.strip().upper().removeprefix("HN-")
        if not code:
            turn.enter("sessions.code", {})
            turn.say(turn.t("sessions.ask_code"))
            return
        await check_in_with(turn, code)

    @router.state("sessions.code")
    async def on_code(turn: Turn, text: str) -> None:
        await check_in_with(turn, text.strip().upper().removeprefix("HN-"))

    async def check_in_with(turn: Turn, code: str) -> None:
        session = await store.session_by_code(code[:12])
        turn.finish()
        if session is None:
            turn.say(turn.t("sessions.unknown_code", code=code[:12]))
            return
        member = turn.member
        org = services.org
        inside = org.get(member.unit_code) is not None and org.get(session.unit_code) is not None
        if not inside or not org.is_within(member.unit_code, session.unit_code):
            turn.say(turn.t("sessions.not_your_unit", title=session.title))
            return
        if turn.timestamp < session.starts_at - OPENS_BEFORE_S:
            turn.say(turn.t("sessions.too_early", title=session.title, at=when(session.starts_at)))
            return
        if turn.timestamp > session.starts_at + CLOSES_AFTER_S:
            turn.say(turn.t("sessions.too_late", title=session.title))
            return
        if await store.attended(session.id, member.id):
            turn.say(turn.t("sessions.already", title=session.title))
            return
        turn.write(
            *store.attendance_statement(
                session.id,
                member.id,
                member.unit_code,
                member.category,
                marked_by=None,
                at=turn.timestamp,
                day=turn.today,
            )
        )
        turn.say(turn.t("sessions.checked_in", title=session.title, place=session.place))
