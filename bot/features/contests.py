"""Contests (/cuocthi): organizers launch them, members enter, rounds close and are ranked.

An organizer fills a one-screen form (title and question pool first, then every setting as a
button showing its value) and launches; notices go out through the outbox when each round
opens. A member presses "Bắt đầu" and answers the round's questions (their own order, their own
option order); the server times each answer; a tie-break prediction closes the attempt. A
minute job closes rounds that have ended: ranking (bot/quiz/ranking.py), results to everyone,
a summary and the XLSX workbook to the organizer who launched it.
"""

from __future__ import annotations

import random
import re
import secrets
from datetime import date, datetime, time, timedelta

from ..content.quizzes import LETTERS, Question
from ..core.messages import Choice, Document
from ..core.router import Router
from ..core.services import Services
from ..core.text import fold
from ..core.turn import Turn
from ..documents.contest_results import SHEET_KEYS, results_workbook
from ..quiz.layout import option_at, shuffled_order
from ..quiz.prediction import parse_prediction
from ..quiz.ranking import ALL_CORRECT, ENTRANTS, TIEBREAKS
from ..store.quizzes import (
    CONTEST_NOTICE,
    CONTEST_RESULT,
    CONTEST_SUMMARY,
    Contest,
    NewContest,
    Round,
)
from .practice import letter_choices, question_text
from .units import organized_units, visible_tops

CONTEST_ENTRY, CONTEST_ALL_CORRECT = "contest_entry", "contest_all_correct"
QUESTION_COUNTS = (5, 10, 15, 20, 30)
ROUND_COUNTS = (1, 2, 3, 4)
LENGTHS = (3600, 86400, 3 * 86400, 7 * 86400)
TIME_LIMITS = (0, 30, 60)
ATTEMPTS = (1, 2, 3)
TOP = 10
CLOSE_GRACE_S = 2  # a submission checked just before the close still gets committed first
LIST_LIMIT = 10
MAX_UNIT_CHOICES = 12


def choose_questions(
    primary: list[Question], filler: list[Question], per_round: int, rounds: int, rng
) -> list[tuple[str, ...]] | None:
    """Distinct questions for each round: ``primary`` first, topped up from ``filler``.

    None when even together they are too few (a contest never repeats a question).
    """
    first = list(primary)
    rng.shuffle(first)
    ids = {q.id for q in first}
    rest = [q for q in filler if q.id not in ids]
    rng.shuffle(rest)
    pool = first + rest
    if len(pool) < per_round * rounds:
        return None
    return [tuple(q.id for q in pool[n * per_round : (n + 1) * per_round]) for n in range(rounds)]


_TIME = re.compile(r"(?<![\d/])(\d{1,2})\s*(?:[:h]\s*(\d{2})?|giờ|gio)(?!\d)")
_DATE = re.compile(r"(?<![\d:])(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?!\d)")


def parse_start(text: str, now: datetime) -> datetime | None:
    """'20:00 19/5', '19/5/2026 8h', '20h' (today, or tomorrow if passed) in ``now``'s zone."""
    found_time, found_date = _TIME.search(text), _DATE.search(text)
    if found_time is None:
        return None
    hour, minute = int(found_time.group(1)), int(found_time.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    local = now
    try:
        if found_date:
            day, month = int(found_date.group(1)), int(found_date.group(2))
            year = int(found_date.group(3) or local.year)
            when = datetime.combine(date(year, month, day), time(hour, minute), local.tzinfo)
            if found_date.group(3) is None and when < local - timedelta(days=1):
                when = when.replace(year=year + 1)
        else:
            when = datetime.combine(local.date(), time(hour, minute), local.tzinfo)
            if when <= local:
                when += timedelta(days=1)
    except ValueError:
        return None
    return when


def register(router: Router, services: Services) -> None:
    """Add /cuocthi, the form, the attempt, the close job and the contest pushes."""
    store = services.store.quizzes
    org = services.org
    settings = services.settings
    rng = random.Random()

    def local(ts: int) -> datetime:
        return datetime.fromtimestamp(ts, services.zone)

    def when(turn: Turn, ts: int) -> str:
        moment = local(ts)
        return f"{moment:%H:%M} {services.texts.date(moment.date())}"

    def in_audience(turn: Turn, contest: Contest) -> bool:
        member = turn.member
        return (
            member is not None
            and services.org.get(member.unit_code) is not None
            and services.org.get(contest.unit_code) is not None
            and services.org.is_within(member.unit_code, contest.unit_code)
            and (not contest.categories or member.category in contest.categories)
        )

    async def organizer_scope(turn: Turn, contest: Contest) -> str | None:
        """The unit whose results this organizer may see for the contest, if any."""
        current = services.org
        for top in await visible_tops(turn):
            if current.get(top) is None or current.get(contest.unit_code) is None:
                continue
            if current.is_within(contest.unit_code, top):
                return contest.unit_code
            if current.is_within(top, contest.unit_code):
                return top
        return None

    # -- the list --------------------------------------------------------------------------

    @router.command("cuocthi", "contest", needs_member=False)
    async def contests(turn: Turn, args: str) -> None:
        args = args.strip()
        if args.startswith("ngayle:"):
            await ready_contest(turn, args.partition(":")[2])
            return
        if args.isdigit():
            await show_contest(turn, int(args))
            return
        organizer = bool(await visible_tops(turn))
        if turn.member is None and not organizer:
            turn.say(turn.t("errors.not_registered"))
            return
        now = turn.timestamp
        recent = await store.recent(now - 30 * 86400)
        visible = [c for c in recent if in_audience(turn, c) or await organizer_scope(turn, c)][
            :LIST_LIMIT
        ]
        lines = [turn.t("contest.list_heading")]
        choices = []
        for number, contest in enumerate(visible, 1):
            lines.append(f"{number}. {contest.title} — {status_text(turn, contest)}")
            choices.append(Choice(f"ctv:{contest.id}", f"{number}. {contest.title[:40]}"))
        if not visible:
            lines.append(turn.t("contest.none"))
        if organizer:
            choices.append(Choice("ctn:new", turn.t("contest.create")))
        if choices:
            turn.ask("\n".join(lines), choices)
        else:
            turn.say("\n".join(lines))

    def status_text(turn: Turn, contest: Contest) -> str:
        now = turn.timestamp
        current = contest.current_round(now)
        if current is not None:
            return turn.t(
                "contest.status_open", round=current.number, until=when(turn, current.closes_at)
            )
        upcoming = contest.next_round(now)
        if upcoming is not None:
            return turn.t(
                "contest.status_soon", round=upcoming.number, at=when(turn, upcoming.opens_at)
            )
        return turn.t("contest.status_closed")

    @router.choice("ctv")
    async def on_view(turn: Turn, value: str) -> None:
        if value.isdigit():
            await show_contest(turn, int(value), edit=True)

    async def show_contest(turn: Turn, contest_id: int, *, edit: bool = False) -> None:
        contest = await store.get(contest_id)
        scope = await organizer_scope(turn, contest) if contest else None
        if contest is None or not (in_audience(turn, contest) or scope):
            turn.say(turn.t("contest.not_found"))
            return
        lines = [
            turn.t(
                "contest.details",
                title=contest.title,
                unit=org.full_name(contest.unit_code),
                categories=categories_text(turn, contest.categories),
                questions=contest.questions_per_round,
                limit=limit_text(turn, contest.time_limit_s or 0),
                attempts=contest.attempts,
                tiebreak=turn.t(f"contest.tiebreak_{contest.tiebreak}"),
            )
        ]
        lines += [
            turn.t(
                "contest.round_line",
                round=r.number,
                opens=when(turn, r.opens_at),
                closes=when(turn, r.closes_at),
            )
            for r in contest.rounds
        ]
        choices = []
        current = contest.current_round(turn.timestamp)
        if current is not None and in_audience(turn, contest):
            attempts = await store.attempts(contest.id, current.number, turn.member.id)
            unfinished = attempts and attempts[-1].submitted_ms is None
            if unfinished:
                choices.append(Choice(f"ctj:{contest.id}", turn.t("contest.resume")))
            elif len(attempts) < contest.attempts:
                choices.append(Choice(f"ctj:{contest.id}", turn.t("contest.enter")))
            else:
                lines.append(turn.t("contest.no_attempts_left", attempts=contest.attempts))
        choices += [
            Choice(f"ctr:{contest.id}:{r.number}", turn.t("contest.results_of", round=r.number))
            for r in contest.rounds
            if r.closed_at is not None
        ]
        if scope and current is not None:
            entrants, started = await store.entrants_so_far(contest.id, current.number)
            lines.append(
                turn.t(
                    "contest.live",
                    entrants=turn.number(entrants),
                    started=turn.number(started),
                )
            )
        if choices:
            turn.ask("\n".join(lines), choices, edit=edit)
        else:
            turn.say("\n".join(lines), edit=edit)

    # -- creating --------------------------------------------------------------------------

    @router.choice("ctn")
    async def on_new(turn: Turn, value: str) -> None:
        if not await visible_tops(turn):
            turn.say(turn.t("errors.not_allowed"))
            return
        turn.ask(
            turn.t("contest.ask_title"),
            [Choice("cancel:", turn.t("common.cancel"))],
            state="contest.title",
            data={},
            edit=True,
        )

    @router.state("contest.title")
    async def on_title(turn: Turn, text: str) -> None:
        title = " ".join(text.split())
        if not 5 <= len(title) <= 160:
            turn.repeat_offer(turn.t("contest.title_length"))
            return
        choices = [
            Choice(f"ctp:s:{s}", turn.t(f"strands.{s}"))
            for s in ("tu_tuong", "dao_duc", "phong_cach")
        ]
        choices += [
            Choice(f"ctp:d:{d}", turn.t("practice.scope_date", date=d))
            for d in sorted(services.questions.dates(), key=_day_order)
        ][:8]
        choices += [
            Choice(f"ctp:b:{b}", turn.t("contest.pool_bank", bank=b))
            for b in services.questions.banks()
        ][:6]
        choices.append(Choice("ctp:all", turn.t("practice.scope_all")))
        turn.ask(
            turn.t("contest.ask_pool"),
            choices,
            state="contest.pool",
            data={"title": title},
        )

    @router.choice("ctp")
    async def on_pool(turn: Turn, value: str) -> None:
        data = turn.flow_data("title")
        if data is None:
            return
        kind, _, ref = value.partition(":")
        names = {"s": "strand", "d": "date", "b": "bank"}
        pool = {names[kind]: ref} if kind in names else {}
        await start_form(turn, data["title"], pool)

    @router.state("contest.pool")
    async def on_pool_tag(turn: Turn, text: str) -> None:
        tag = "-".join(fold(text).replace("_", "-").split())
        if tag not in services.questions.tags():
            turn.repeat_offer(turn.t("contest.unknown_tag", tag=text[:40]))
            return
        await start_form(turn, turn.dialog.data["title"], {"tag": tag})

    async def start_form(turn: Turn, title: str, pool: dict) -> None:
        tops = [t for t in await visible_tops(turn) if org.get(t) is not None]
        if not tops:
            turn.say(turn.t("errors.not_allowed"))
            return
        await show_form(turn, new_draft(title, pool, tops[0], LENGTHS[1]), edit=True)

    async def ready_contest(turn: Turn, date_id: str) -> None:
        tops = [t for t in await visible_tops(turn) if org.get(t) is not None]
        entry = next((c for c in services.calendar if c.id == date_id), None)
        if not tops or entry is None:
            turn.say(turn.t("errors.not_allowed") if not tops else turn.t("contest.not_found"))
            return
        day = entry.next_on_or_after(turn.today)
        end = datetime.combine(day + timedelta(days=1), time(0), services.zone)
        pool = {"date": entry.key, "fill": True, "intro": entry.contest_intro}
        length = int(end.timestamp()) - turn.timestamp  # until the day is over
        draft = new_draft(entry.contest_title_on(day), pool, tops[0], length)
        await show_form(turn, draft)

    def new_draft(title: str, pool: dict, unit: str, length: int) -> dict:
        """A contest form with the usual settings; ``request`` makes launching it idempotent."""
        return {
            "title": title,
            "pool": pool,
            "n": settings.quizzes.questions_per_round,
            "rounds": 1,
            "length": length,
            "start": 0,
            "limit": 0,
            "attempts": 1,
            "tb": ALL_CORRECT,
            "unit": unit,
            "cats": [],
            "request": secrets.token_hex(8),
        }

    def pool_questions(pool: dict) -> tuple[list[Question], list[Question]]:
        bank = services.questions
        primary = bank.select(
            strand=pool.get("strand", ""),
            date=pool.get("date", ""),
            tags=[pool["tag"]] if "tag" in pool else (),
            bank=pool.get("bank", ""),
        )
        return primary, (list(bank.questions) if pool.get("fill") else [])

    def pool_text(turn: Turn, pool: dict) -> str:
        if "strand" in pool:
            return turn.t(f"strands.{pool['strand']}")
        if "date" in pool:
            return turn.t("practice.scope_date", date=pool["date"])
        if "bank" in pool:
            return turn.t("contest.pool_bank", bank=pool["bank"])
        if "tag" in pool:
            return turn.t("contest.pool_tag", tag=pool["tag"])
        return turn.t("practice.scope_all")

    async def show_form(turn: Turn, draft: dict, *, edit: bool = False) -> None:
        primary, _filler = pool_questions(draft["pool"])
        start = draft["start"] or turn.timestamp
        text = turn.t(
            "contest.form",
            title=draft["title"],
            pool=pool_text(turn, draft["pool"]),
            available=turn.number(len(primary)),
            opens=turn.t("contest.at_launch") if not draft["start"] else when(turn, start),
            closes=when(turn, start + draft["length"]),
            unit=org.full_name(draft["unit"]),
            categories=categories_text(turn, draft["cats"]),
        )
        if draft["pool"].get("fill"):
            text += "\n" + turn.t("contest.filled")
        turn.ask(
            text,
            [
                Choice("ctf:n", turn.t("contest.field_questions", n=draft["n"])),
                Choice("ctf:rounds", turn.t("contest.field_rounds", n=draft["rounds"])),
                Choice(
                    "ctf:length",
                    turn.t("contest.field_length", length=length_text(turn, draft["length"])),
                ),
                Choice("ctf:start", turn.t("contest.field_start")),
                Choice(
                    "ctf:limit",
                    turn.t("contest.field_limit", limit=limit_text(turn, draft["limit"])),
                ),
                Choice("ctf:attempts", turn.t("contest.field_attempts", n=draft["attempts"])),
                Choice(
                    "ctf:tb",
                    turn.t(
                        "contest.field_tiebreak",
                        tiebreak=turn.t(f"contest.tiebreak_{draft['tb']}"),
                    ),
                ),
                Choice("ctf:unit", turn.t("contest.field_unit")),
                Choice("ctf:cats", turn.t("contest.field_categories")),
                Choice("ctf:launch", turn.t("contest.launch")),
                Choice("cancel:", turn.t("common.cancel")),
            ],
            state="contest.form",
            data=draft,
            edit=edit,
        )

    def cycle(values: tuple, current) -> object:
        return (
            values[(values.index(current) + 1) % len(values)] if current in values else values[0]
        )

    @router.choice("ctf")
    async def on_field(turn: Turn, field: str) -> None:
        draft = turn.flow_data("title", "pool", "request")
        if draft is None:
            return
        if field == "n":
            draft["n"] = cycle(QUESTION_COUNTS, draft["n"])
        elif field == "rounds":
            draft["rounds"] = cycle(ROUND_COUNTS, draft["rounds"])
        elif field == "length":
            draft["length"] = cycle(LENGTHS, draft["length"])
        elif field == "limit":
            draft["limit"] = cycle(TIME_LIMITS, draft["limit"])
        elif field == "attempts":
            draft["attempts"] = cycle(ATTEMPTS, draft["attempts"])
        elif field == "tb":
            draft["tb"] = cycle(TIEBREAKS, draft["tb"])
        elif field == "unit":
            units = await organized_units(turn, MAX_UNIT_CHOICES)
            draft["unit"] = cycle(tuple(units), draft["unit"])
        elif field == "cats":
            categories = ((), *((c,) for c in settings.organisation.categories))
            draft["cats"] = list(cycle(categories, tuple(draft["cats"])))
        elif field == "start":
            turn.ask(
                turn.t("contest.ask_start"),
                [Choice("cts:now", turn.t("contest.at_launch"))],
                state="contest.start",
                data=draft,
                edit=True,
            )
            return
        elif field == "launch":
            await launch(turn, draft)
            return
        await show_form(turn, draft, edit=True)

    @router.choice("cts")
    async def on_start_now(turn: Turn, value: str) -> None:
        draft = turn.flow_data("title", "pool", "request")
        if draft is not None:
            await show_form(turn, {**draft, "start": 0}, edit=True)

    @router.state("contest.start")
    async def on_start_typed(turn: Turn, text: str) -> None:
        moment = parse_start(text, turn.now.astimezone(services.zone))
        if moment is None or moment.timestamp() <= turn.timestamp:
            turn.repeat_offer(turn.t("contest.bad_start", text=text[:40]))
            return
        await show_form(turn, {**turn.dialog.data, "start": int(moment.timestamp())})

    @router.state("contest.form")
    async def on_form_text(turn: Turn, text: str) -> None:
        turn.repeat_offer(turn.t("contest.use_buttons"))

    async def launch(turn: Turn, draft: dict) -> None:
        tops = await visible_tops(turn)
        unit = draft["unit"]
        if org.get(unit) is None or not any(
            org.get(t) is not None and org.is_within(unit, t) for t in tops
        ):
            turn.say(turn.t("errors.not_allowed"))
            return
        primary, filler = pool_questions(draft["pool"])
        chosen = choose_questions(primary, filler, draft["n"], draft["rounds"], rng)
        if chosen is None:
            turn.say(
                turn.t(
                    "contest.too_few",
                    available=len(primary) + len({q.id for q in filler} - {q.id for q in primary}),
                    needed=draft["n"] * draft["rounds"],
                    n=draft["n"],
                    rounds=draft["rounds"],
                )
            )
            await show_form(turn, draft)
            return
        start = draft["start"] or turn.timestamp
        if start < turn.timestamp:  # the form sat open past its start time
            turn.say(turn.t("contest.start_passed"))
            await show_form(turn, {**draft, "start": 0})
            return
        length = draft["length"]
        rounds = tuple(
            (start + n * length, start + (n + 1) * length, questions)
            for n, questions in enumerate(chosen)
        )
        contest_id = await store.create(
            NewContest(
                title=draft["title"],
                unit_code=unit,
                unit_path=org.path(unit),
                categories=tuple(draft["cats"]),
                pool=draft["pool"],
                questions_per_round=draft["n"],
                time_limit_s=draft["limit"] or None,
                attempts=draft["attempts"],
                tiebreak=draft["tb"],
                rounds=rounds,
                created_by=turn.member.id if turn.member else None,
                creator_channel=turn.incoming.channel,
                creator_account=turn.incoming.user_id,
                request_key=draft["request"],
            ),
            turn.timestamp,
        )
        await services.store.log_action(
            actor=turn.actor,
            action="contest_launch",
            scope=unit,
            now=turn.timestamp,
        )
        services.wake_delivery()
        turn.finish()
        turn.say(
            turn.t(
                "contest.launched",
                title=draft["title"],
                unit=org.full_name(unit),
                opens=when(turn, start),
                id=contest_id,
            ),
            edit=True,
        )

    # -- entering and answering ------------------------------------------------------------

    @router.choice("ctj", needs_member=True)
    async def on_enter(turn: Turn, value: str) -> None:
        contest = await store.get(int(value)) if value.isdigit() else None
        if contest is None or not in_audience(turn, contest):
            turn.say(turn.t("contest.not_found"))
            return
        current = contest.current_round(turn.timestamp)
        if current is None:
            turn.say(turn.t("contest.round_closed"))
            return
        attempts = await store.attempts(contest.id, current.number, turn.member.id)
        if attempts and attempts[-1].submitted_ms is None:
            await resume(turn, contest, current, attempts[-1].id)
            return
        if len(attempts) >= contest.attempts:
            turn.say(turn.t("contest.no_attempts_left", attempts=contest.attempts))
            return
        limit = contest.time_limit_s
        turn.ask(
            turn.t(
                "contest.ready",
                title=contest.title,
                round=current.number,
                questions=len(current.questions),
                limit=limit_text(turn, limit or 0),
                closes=when(turn, current.closes_at),
                attempt=len(attempts) + 1,
                attempts=contest.attempts,
            ),
            [
                Choice("ctb:go", turn.t("contest.begin")),
                Choice("cancel:", turn.t("common.cancel")),
            ],
            data={"c": contest.id, "r": current.number, "n": len(attempts) + 1},
            edit=True,
        )

    @router.choice("ctb", needs_member=True)
    async def on_begin(turn: Turn, value: str) -> None:
        data = turn.flow_data("c", "r", "n")
        if data is None:
            return
        contest = await store.get(data["c"])
        current = contest.current_round(turn.timestamp) if contest else None
        if current is None or current.number != data["r"]:
            turn.finish()
            turn.say(turn.t("contest.round_closed"))
            return
        questions = [services.questions.get(q) for q in current.questions]
        if any(q is None for q in questions):
            turn.finish()
            turn.say(turn.t("contest.bank_changed"))
            return
        order = list(range(len(questions)))
        rng.shuffle(order)
        layout = [(questions[i].id, shuffled_order(len(questions[i].options), rng)) for i in order]
        attempt_id = await store.start_attempt(
            contest.id, current.number, turn.member, data["n"], layout, _ms(turn.now)
        )
        if attempt_id is None:  # pressed twice: the attempt exists, carry on with it
            attempts = await store.attempts(contest.id, current.number, turn.member.id)
            await resume(turn, contest, current, attempts[-1].id, edit=True)
            return
        flow = {
            "c": contest.id,
            "r": current.number,
            "closes": current.closes_at,
            "limit": contest.time_limit_s or 0,
            "tb": contest.tiebreak,
            "att": attempt_id,
            "started": _ms(turn.now),
            "layout": [[q, order] for q, order in layout],
            "pos": 0,
        }
        show_question(turn, flow, edit=True)

    async def resume(
        turn: Turn, contest: Contest, current: Round, attempt_id: int, *, edit: bool = False
    ) -> None:
        """Carry on with an attempt from its first unanswered question (after /huy, a restart)."""
        attempts = await store.attempts(contest.id, current.number, turn.member.id)
        attempt = next(a for a in attempts if a.id == attempt_id)
        flow = {
            "c": contest.id,
            "r": current.number,
            "closes": current.closes_at,
            "limit": contest.time_limit_s or 0,
            "tb": contest.tiebreak,
            "att": attempt.id,
            "started": attempt.started_ms,
            "layout": [[q, list(order)] for q, order in attempt.layout],
            "pos": await store.answered(attempt.id),
        }
        show_question(turn, flow, edit=edit)

    def show_question(turn: Turn, flow: dict, *, edit: bool = False) -> None:
        """The question at ``flow['pos']``, or the prediction once all are answered.

        Everything an answer needs travels in the dialog, so answering reads nothing.
        """
        position, layout = flow["pos"], flow["layout"]
        if position >= len(layout):
            turn.enter("contest.predict", {k: flow[k] for k in ("c", "r", "att", "started")})
            turn.say(turn.t(f"contest.ask_prediction_{flow['tb']}"))
            return
        question_id, order = layout[position]
        question = services.questions.get(question_id)
        if question is None:
            turn.finish()
            turn.say(turn.t("contest.bank_changed"))
            return
        heading = turn.t(
            "contest.question_heading",
            number=position + 1,
            total=len(layout),
            limit=f"· ⏱ {limit_text(turn, flow['limit'])}" if flow["limit"] else "",
        )
        turn.ask(
            question_text(turn, question, order, heading),
            letter_choices(f"cta:{flow['att']}:{position}", len(order)),
            state="contest.question",
            data={**flow, "shown": _ms(turn.now)},
            edit=edit,
        )

    @router.choice("cta", needs_member=True)
    async def on_answer(turn: Turn, value: str) -> None:
        flow = turn.flow_data("att", "pos", "shown", "layout", "closes")
        if flow is None:
            return
        attempt_ref, position, shown = [*value.split(":"), "", "", ""][:3]
        if attempt_ref != str(flow["att"]) or position != str(flow["pos"]) or not shown.isdigit():
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        if turn.timestamp >= flow["closes"]:
            turn.finish()
            turn.say(turn.t("contest.closed_during", at=when(turn, flow["closes"])))
            return
        question_id, order = flow["layout"][flow["pos"]]
        question = services.questions.get(question_id)
        option = option_at(order, int(shown))
        if question is None or option is None:
            turn.finish()
            turn.say(turn.t("contest.bank_changed"))
            return
        answered_ms = _ms(turn.now)
        late = bool(flow["limit"]) and answered_ms - flow["shown"] > flow["limit"] * 1000
        turn.write(
            *store.answer_statement(
                flow["att"],
                flow["pos"],
                question_id,
                option,
                correct=question.is_correct(option) and not late,
                late=late,
                shown_ms=flow["shown"],
                answered_ms=answered_ms,
            )
        )
        if late:
            turn.say(turn.t("contest.too_late", limit=flow["limit"]))
        show_question(turn, {**flow, "pos": flow["pos"] + 1}, edit=not late)

    @router.state("contest.question")
    async def on_question_text(turn: Turn, text: str) -> None:
        # Letters and numbers typed instead of pressed were matched to the buttons already.
        count = len(turn.dialog.offer.keys) if turn.dialog.offer else 4
        turn.repeat_offer(turn.t("practice.answer_with_letter", last=LETTERS[count - 1]))

    @router.state("contest.predict")
    async def on_prediction(turn: Turn, text: str) -> None:
        data = dict(turn.dialog.data)
        value = parse_prediction(text)
        if value is None:
            turn.say(turn.t("contest.bad_prediction", text=text[:40]))
            return
        contest = await store.get(data["c"])
        current = contest.round(data["r"]) if contest else None
        submitted_ms = _ms(turn.now)
        correct = None
        if current is not None and turn.timestamp < current.closes_at:
            correct = await store.submit(data["att"], value, submitted_ms)
        turn.finish()
        if correct is None:
            at = when(turn, current.closes_at) if current else ""
            turn.say(turn.t("contest.closed_during", at=at))
            return
        turn.record(CONTEST_ENTRY, f"contest:{contest.id}")
        if correct >= len(current.questions):
            turn.record(CONTEST_ALL_CORRECT, f"contest:{contest.id}")
        turn.say(
            turn.t(
                "contest.submitted",
                correct=correct,
                total=len(current.questions),
                duration=duration_text(submitted_ms - data["started"]),
                prediction=turn.number(value),
                closes=when(turn, current.closes_at),
            )
        )

    # -- results ---------------------------------------------------------------------------

    @router.choice("ctr")
    async def on_results(turn: Turn, value: str) -> None:
        contest_ref, _, round_ref = value.partition(":")
        contest = await store.get(int(contest_ref)) if contest_ref.isdigit() else None
        current = contest.round(int(round_ref)) if contest and round_ref.isdigit() else None
        scope = await organizer_scope(turn, contest) if contest else None
        if (
            current is None
            or current.closed_at is None
            or not (scope or in_audience(turn, contest))
        ):
            turn.say(turn.t("contest.not_found"))
            return
        turn.say(await results_text(turn, contest, current, scope or contest.unit_code))
        if scope:
            turn.attach(
                turn.t("contest.workbook_caption"),
                await workbook(turn, contest, current, scope),
            )

    async def results_text(turn: Turn, contest: Contest, current: Round, scope: str) -> str:
        path = org.path(scope)
        rows = await store.results(contest.id, current.number, path, TOP)
        lines = [
            turn.t(
                "contest.results_heading",
                title=contest.title,
                round=current.number,
                unit=org.full_name(scope),
                actual=turn.number(current.actual or 0),
                tiebreak=turn.t(f"contest.actual_{contest.tiebreak}"),
            )
        ]
        lines += [result_line(turn, row, len(current.questions)) for row in rows]
        if not rows:
            lines.append(turn.t("contest.no_entries"))
        if turn.member is not None:
            own = await store.own_result(contest.id, current.number, turn.member.id, path)
            if own is not None:
                row, place, total = own
                lines.append(
                    turn.t(
                        "contest.own_rank",
                        place=turn.number(place),
                        total=turn.number(total),
                        correct=row.correct,
                        questions=len(current.questions),
                    )
                )
                lines += await unit_rank_lines(turn, contest, current, row.unit_code, scope)
        units = [scope, *(u.code for u in org.children(scope))]
        lines.append(turn.t("contest.standings_heading"))
        for code in units[: MAX_UNIT_CHOICES + 1]:
            standing = await store.standing(
                contest.id, current.number, org.path(code), contest.categories
            )
            lines.append(
                turn.t(
                    "contest.standing_line",
                    unit=org.get(code).name,
                    entrants=turn.number(standing.entrants),
                    members=turn.number(standing.members),
                    percent=services.texts.percent(
                        turn.locale, standing.entrants / standing.members, 2
                    )
                    if standing.members
                    else "–",
                    average=services.texts.number(turn.locale, round(standing.average, 2))
                    if standing.average is not None
                    else "–",
                )
            )
        return "\n".join(lines)

    async def unit_rank_lines(
        turn: Turn, contest: Contest, current: Round, unit_code: str, scope: str
    ) -> list[str]:
        """The member's place among the entrants of their own unit (when narrower than scope)."""
        if unit_code == scope or org.get(unit_code) is None:
            return []
        own = await store.own_result(
            contest.id, current.number, turn.member.id, org.path(unit_code)
        )
        if own is None:
            return []
        _, place, total = own
        return [
            turn.t(
                "contest.own_unit_rank",
                unit=org.get(unit_code).name,
                place=turn.number(place),
                total=turn.number(total),
            )
        ]

    def result_line(turn: Turn, row, questions: int) -> str:
        return turn.t(
            "contest.result_line",
            rank=row.rank,
            name=short_name(row.full_name) or turn.t("contest.erased"),
            unit=org.get(row.unit_code).name if org.get(row.unit_code) else row.unit_code,
            correct=row.correct,
            questions=questions,
            distance=turn.number(row.distance) if row.distance is not None else "–",
            duration=duration_text(row.duration_ms),
        )

    async def workbook(turn: Turn, contest: Contest, current: Round, scope: str) -> Document:
        rows = await store.results(contest.id, current.number, org.path(scope))
        standings = []
        for code in [scope, *(u.code for u in org.children(scope))]:
            standing = await store.standing(
                contest.id, current.number, org.path(code), contest.categories
            )
            standings.append((org.full_name(code), standing))
        content = results_workbook(
            contest.title,
            current.number,
            len(current.questions),
            rows,
            standings,
            unit_name=lambda code: org.full_name(code) if org.get(code) else code,
            category_name=lambda c: turn.t(f"categories.{c}"),
            labels={key: turn.t(f"contest.xlsx.{key}") for key in SHEET_KEYS},
            submitted_text=lambda ms: (
                f"{datetime.fromtimestamp(ms / 1000, services.zone):%d/%m/%Y %H:%M:%S}"
                f",{ms % 1000:03d}"
            ),
        )
        return Document(f"ket-qua-cuoc-thi-{contest.id}-vong-{current.number}.xlsx", content)

    # -- the minute job and pushes -------------------------------------------------------

    @router.every_minute
    async def close_rounds() -> None:
        """Rank rounds that have ended, then queue everyone's result (each step idempotent)."""
        now = int(services.clock.now().timestamp())
        for contest_id, round_number in await store.rounds_to_close(now - CLOSE_GRACE_S):
            await store.close_round(await store.get(contest_id), round_number, now)
        pending = await store.rounds_to_notify()
        for contest_id, round_number in pending:
            await store.queue_results(await store.get(contest_id), round_number, now)
        if pending:
            services.wake_delivery()

    @router.push(CONTEST_NOTICE)
    async def notice(turn: Turn, payload: dict) -> None:
        contest = await store.get(payload.get("contest", 0))
        current = contest.round(payload.get("round", 0)) if contest else None
        if current is None or not in_audience(turn, contest):
            return
        if turn.timestamp >= current.closes_at:
            return  # held past the close (quiet hours, an outage): nothing to enter any more
        attempts = await store.attempts(contest.id, current.number, turn.member.id)
        if len(attempts) >= contest.attempts:
            return
        turn.say(
            turn.t(
                "contest.notice",
                title=contest.title,
                round=current.number,
                questions=len(current.questions),
                closes=when(turn, current.closes_at),
                intro=contest.pool.get("intro", ""),
            ),
            commands=[Choice(f"/cuocthi {contest.id}", turn.t("contest.enter"))],
        )

    @router.push(CONTEST_RESULT)
    async def result(turn: Turn, payload: dict) -> None:
        contest = await store.get(payload.get("contest", 0))
        current = contest.round(payload.get("round", 0)) if contest else None
        if current is None or turn.member is None:
            return
        own = await store.own_result(
            contest.id, current.number, turn.member.id, org.path(contest.unit_code)
        )
        if own is None:
            return
        row, place, total = own
        in_unit = await unit_rank_lines(turn, contest, current, row.unit_code, contest.unit_code)
        turn.say(
            "\n".join(
                [
                    turn.t(
                        "contest.result_push",
                        title=contest.title,
                        round=current.number,
                        correct=row.correct,
                        questions=len(current.questions),
                        place=turn.number(place),
                        total=turn.number(total),
                        prediction=turn.number(row.prediction or 0),
                        actual=turn.number(current.actual or 0),
                        tiebreak=turn.t(f"contest.actual_{contest.tiebreak}"),
                        duration=duration_text(row.duration_ms),
                    ),
                    *in_unit,
                ]
            ),
            commands=[Choice(f"/cuocthi {contest.id}", turn.t("contest.see_results"))],
        )

    @router.push(CONTEST_SUMMARY)
    async def summary(turn: Turn, payload: dict) -> None:
        contest = await store.get(payload.get("contest", 0))
        current = contest.round(payload.get("round", 0)) if contest else None
        if current is None:
            return
        scope = await organizer_scope(turn, contest) or contest.unit_code
        turn.say(await results_text(turn, contest, current, scope))
        turn.attach(
            turn.t("contest.workbook_caption"), await workbook(turn, contest, current, scope)
        )

    def categories_text(turn: Turn, categories) -> str:
        return ", ".join(turn.t(f"categories.{c}") for c in categories) or turn.t(
            "broadcast.all_categories"
        )

    def limit_text(turn: Turn, seconds: int) -> str:
        return (
            turn.t("contest.limit_seconds", n=seconds) if seconds else turn.t("contest.no_limit")
        )

    def length_text(turn: Turn, seconds: int) -> str:
        if seconds % 86400 == 0:
            return turn.t("contest.days", n=seconds // 86400)
        if seconds % 3600 == 0:
            return turn.t("contest.hours", n=seconds // 3600)
        return turn.t("contest.minutes", n=max(1, seconds // 60))


def duration_text(ms: int) -> str:
    """Completion time as 'm:ss,cc' (minutes, seconds, hundredths): '2:05,37'."""
    minutes, rest = divmod(max(ms, 0), 60_000)
    return f"{minutes}:{rest // 1000:02d},{rest % 1000 // 10:02d}"


def short_name(full_name: str) -> str:
    """'Nguyễn Văn An' → 'Nguyễn V. An': recognisable to colleagues, less exposed to others."""
    parts = full_name.split()
    if len(parts) <= 2:
        return full_name
    return " ".join([parts[0], *(p[0] + "." for p in parts[1:-1]), parts[-1]])


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _day_order(day_month: str) -> tuple[int, int]:
    day, month = (int(p) for p in day_month.split("/"))
    return month, day


__all__ = ["ENTRANTS", "choose_questions", "duration_text", "parse_start", "short_name"]
