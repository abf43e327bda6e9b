"""The yearly commitment (/camket): pick 3–7 items, check in on them, compile the year-end report.

Items come from the suggestions for the member's category or are typed; they can be changed
until the unit's deadline. Check-ins ask, item by item, done / in progress / not yet; a note is
whatever the member types while an item is on screen. /tongket turns it all into the self-report
presented to the cell, in chat and as a printable DOCX. Organizers see completion per unit.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time

from ..config import parse_day_month
from ..content.commitments import ITEM_MAX
from ..core.messages import Choice, Document
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn
from ..documents.self_report import (
    LABEL_KEYS,
    CheckIn,
    ReportItem,
    SelfReport,
    self_report_docx,
    self_report_text,
)
from .units import visible_tops

MIN_ITEMS, MAX_ITEMS = 3, 7
STATUSES = ("done", "in_progress", "not_yet")
CHECKIN = "checkin"


def period_of(day: date) -> str:
    """The check-in period of a day: its month, '2026-11'."""
    return f"{day.year}-{day.month:02d}"


def period_label(period: str) -> str:
    """'2026-11' -> '11/2026'."""
    year, month = period.split("-")
    return f"{int(month)}/{year}"


def register(router: Router, services: Services) -> None:
    """Add /camket, /tongket, /camketdonvi, the check-in reminder and its monthly job."""
    store = services.store.commitments
    config = services.settings.commitments

    def deadline(turn: Turn) -> date:
        text = services.org.inherited(turn.member.unit_code, "commitment_deadline", "")
        day, month = parse_day_month(text or config.deadline)
        if (day, month) == (29, 2) and not calendar.isleap(turn.today.year):
            day = 28  # "29/2" means the end of February
        return date(turn.today.year, month, day)

    def suggestions(turn: Turn):
        return services.commitments.for_category(turn.member.category)

    # -- showing and writing --------------------------------------------------------------

    @router.command("camket", "commitment")
    async def commitment(turn: Turn, args: str) -> None:
        year = turn.today.year
        items = await store.items(turn.member.id, year)
        if items is None:
            ask_items(turn, {"picked": [], "own": [], "year": year})
            return
        latest = latest_period(await store.check_ins(turn.member.id, year))
        lines = [turn.t("commitments.heading", year=year)]
        lines += [f"{n}. {item}" for n, item in enumerate(items, 1)]
        lines.append(
            turn.t("commitments.latest", period=period_label(latest[0]), **latest[1])
            if latest
            else turn.t("commitments.no_check_in")
        )
        choices = [Choice("cmk:checkin", turn.t("commitments.check_in_now"))]
        if turn.today <= deadline(turn):
            choices.append(Choice("cmk:edit", turn.t("commitments.edit")))
        choices.append(Choice("go:tongket", turn.t("commitments.report")))
        turn.ask("\n".join(lines), choices)

    @router.choice("cmk", needs_member=True)
    async def on_menu(turn: Turn, value: str) -> None:
        items = await store.items(turn.member.id, turn.today.year) or []
        if value == "edit":
            if turn.today > deadline(turn):
                turn.say(
                    turn.t("commitments.past_deadline", date=services.texts.date(deadline(turn)))
                )
                return
            by_text = {s.text.get(turn.locale): s.id for s in suggestions(turn)}
            picked = [by_text[item] for item in items if item in by_text]
            own = [item for item in items if item not in by_text]
            data = {"picked": picked, "own": own, "editing": True, "year": turn.today.year}
            ask_items(turn, data, edit=True)
        elif value == "checkin" and items:
            ask_status(turn, {"period": period_of(turn.today), "answers": [], "notes": {}}, items)
        else:
            turn.say(turn.t("errors.stale_button"), notice=True)

    def ask_items(turn: Turn, data: dict, *, edit: bool = False) -> None:
        listed = suggestions(turn)
        lines = [
            turn.t(
                "commitments.pick",
                year=turn.today.year,
                theme=services.commitments.theme.get(turn.locale, ""),
                category=turn.t(f"categories.{turn.member.category}"),
            )
        ]
        toggles = []
        for number, suggestion in enumerate(listed, 1):
            on = suggestion.id in data["picked"]
            lines.append(f"{number}. {'✅' if on else '⬜'} {suggestion.text.get(turn.locale)}")
            toggles.append(Choice(f"cmt:s:{suggestion.id}", f"{'✅' if on else '⬜'} {number}"))
        for number, text in enumerate(data["own"], len(listed) + 1):
            lines.append(f"{number}. ✅ {text}")
            toggles.append(Choice(f"cmt:o:{number - len(listed) - 1}", f"✅ {number}"))
        count = len(data["picked"]) + len(data["own"])
        lines.append(turn.t("commitments.picked", count=count, low=MIN_ITEMS, high=MAX_ITEMS))
        turn.ask(
            "\n".join(lines),
            [
                *toggles,
                Choice("cmt:done", turn.t("commitments.done")),
                Choice("cancel:", turn.t("common.cancel")),
            ],
            state="commitment.pick",
            data=data,
            edit=edit,
        )

    @router.choice("cmt", needs_member=True)
    async def on_toggle(turn: Turn, value: str) -> None:
        data = turn.flow_data("picked", "own")
        if data is None:
            return
        kind, _, ref = value.partition(":")
        if kind == "done":
            await confirm_items(turn, data)
            return
        if kind == "s" and any(s.id == ref for s in suggestions(turn)):
            picked = list(data["picked"])
            if ref in picked:
                picked.remove(ref)
            elif len(picked) + len(data["own"]) < MAX_ITEMS:
                picked.append(ref)
            data["picked"] = picked
        elif kind == "o" and ref.isdigit() and int(ref) < len(data["own"]):
            data["own"] = [t for i, t in enumerate(data["own"]) if i != int(ref)]
        ask_items(turn, data, edit=True)

    @router.state("commitment.pick")
    async def on_own_item(turn: Turn, text: str) -> None:
        data = dict(turn.dialog.data)
        text = " ".join(text.split())  # an item is one line
        if len(text) > ITEM_MAX:
            turn.repeat_offer(turn.t("commitments.item_too_long", limit=ITEM_MAX))
        elif len(data["picked"]) + len(data["own"]) >= MAX_ITEMS:
            turn.repeat_offer(turn.t("commitments.too_many", high=MAX_ITEMS))
        elif len(text) < 10:
            turn.repeat_offer(turn.t("commitments.item_too_short"))
        else:
            ask_items(turn, {**data, "own": [*data["own"], text]})

    def chosen_items(turn: Turn, data: dict) -> list[str]:
        by_id = {s.id: s.text.get(turn.locale) for s in suggestions(turn)}
        return [by_id[i] for i in data["picked"] if i in by_id] + list(data["own"])

    async def confirm_items(turn: Turn, data: dict) -> None:
        items = chosen_items(turn, data)
        if not MIN_ITEMS <= len(items) <= MAX_ITEMS:
            turn.say(turn.t("commitments.need_items", low=MIN_ITEMS, high=MAX_ITEMS), notice=True)
            ask_items(turn, data, edit=True)
            return
        lines = [turn.t("commitments.confirm", year=turn.today.year)]
        lines += [f"{n}. {item}" for n, item in enumerate(items, 1)]
        turn.ask(
            "\n".join(lines),
            [
                Choice("cms:save", turn.t("commitments.save")),
                Choice("cms:again", turn.t("commitments.change")),
                Choice("cancel:", turn.t("common.cancel")),
            ],
            state="commitment.confirm",
            data=data,
            edit=True,
        )

    @router.choice("cms", needs_member=True)
    async def on_save(turn: Turn, value: str) -> None:
        data = turn.flow_data("picked", "own")
        if data is None:
            return
        if value == "again":
            ask_items(turn, data, edit=True)
            return
        if data.get("year", turn.today.year) != turn.today.year:  # a new year began meanwhile
            turn.finish()
            turn.say(turn.t("errors.stale_button"), edit=True)
            return
        if data.get("editing") and turn.today > deadline(turn):
            turn.say(turn.t("commitments.past_deadline", date=services.texts.date(deadline(turn))))
            return
        items = chosen_items(turn, data)
        await store.save(turn.member, turn.today.year, items, now=turn.timestamp, day=turn.today)
        turn.finish()
        turn.say(
            turn.t(
                "commitments.saved", year=turn.today.year, date=services.texts.date(deadline(turn))
            ),
            edit=True,
        )

    # -- check-ins -----------------------------------------------------------------------

    def ask_status(turn: Turn, data: dict, items: list[str]) -> None:
        index = len(data["answers"])
        note = data["notes"].get(str(index), "")
        turn.ask(
            turn.t(
                "commitments.status_question",
                period=period_label(data["period"]),
                number=index + 1,
                total=len(items),
                item=items[index],
            )
            + (f"\n{turn.t('commitments.note_kept', note=note)}" if note else ""),
            [
                Choice(f"cki:{status}", turn.t(f"commitments.status_{status}"))
                for status in STATUSES
            ]
            + [Choice("cancel:", turn.t("common.cancel"))],
            state="commitment.checkin",
            data=data,
        )

    @router.state("commitment.checkin")
    async def on_note(turn: Turn, text: str) -> None:
        data = dict(turn.dialog.data)
        items = await store.items(turn.member.id, int(data["period"][:4])) or []
        if len(data["answers"]) >= len(items):
            turn.say(turn.t("errors.stale_button"))
            return
        notes = {**data["notes"], str(len(data["answers"])): " ".join(text.split())[:ITEM_MAX]}
        ask_status(turn, {**data, "notes": notes}, items)

    @router.choice("cki", needs_member=True)
    async def on_status(turn: Turn, status: str) -> None:
        data = turn.flow_data("period", "answers", "notes")
        if data is None:
            return
        items = await store.items(turn.member.id, int(data["period"][:4])) or []
        if status not in STATUSES or len(data["answers"]) >= len(items):
            turn.say(turn.t("errors.stale_button"), notice=True)
            return
        index = len(data["answers"])
        answers = [*data["answers"], [status, data["notes"].get(str(index), "")]]
        if len(answers) < len(items):
            ask_status(turn, {**data, "answers": answers}, items)
            return
        await store.check_in(
            turn.member,
            int(data["period"][:4]),
            data["period"],
            [tuple(a) for a in answers],
            now=turn.timestamp,
            day=turn.today,
        )
        turn.finish()
        counts = {s: sum(a[0] == s for a in answers) for s in STATUSES}
        turn.say(turn.t("commitments.checked_in", period=period_label(data["period"]), **counts))

    def latest_period(rows) -> tuple[str, dict] | None:
        if not rows:
            return None
        period = rows[-1].period
        latest = [r for r in rows if r.period == period]
        return period, {s: sum(r.status == s for r in latest) for s in STATUSES}

    @router.push(CHECKIN)
    async def check_in_reminder(turn: Turn, payload: dict) -> None:
        if turn.member is None:
            return
        period = period_of(turn.today)
        if payload.get("period", period) != period:
            return  # held into the next period: its own reminder will come
        rows = await store.check_ins(turn.member.id, turn.today.year)
        if any(r.period == period for r in rows):
            return  # already done for this period
        turn.say(
            turn.t("commitments.reminder", period=period_label(period)),
            commands=[Choice("/camket", turn.t("commitments.check_in_now"))],
        )

    @router.every_minute
    async def queue_check_in_reminders() -> None:
        """On the check-in day and time (or later that month), queue this period's reminders."""
        now = services.clock.now().astimezone(services.zone)
        at = time.fromisoformat(config.checkin_time.zfill(5))
        due = datetime.combine(now.date().replace(day=config.checkin_day), at, services.zone)
        if now < due:
            return
        period = period_of(now.date())
        state = f"checkin.queued.{period}"
        if await services.store.outbox.get_state(state):
            return
        org = services.org
        units = [
            u.code
            for u in org.units.values()
            if (n := org.inherited(u.code, "checkin_months", config.checkin_months))
            and now.month % n == 0
        ]
        await store.enqueue_check_in_reminders(now.year, period, units, now=int(now.timestamp()))
        await services.store.outbox.set_state(state, "1")

    # -- the year-end report -------------------------------------------------------------

    @router.command("tongket", "selfreport")
    async def year_end(turn: Turn, args: str) -> None:
        year = turn.today.year
        items = await store.items(turn.member.id, year)
        if items is None:
            turn.say(turn.t("commitments.none_yet", year=year))
            return
        rows = await store.check_ins(turn.member.id, year)
        report = SelfReport(
            year=year,
            full_name=turn.member.full_name,
            unit=services.org.full_name(turn.member.unit_code),
            category=turn.t(f"categories.{turn.member.category}"),
            written_on=services.texts.date(turn.today),
            items=tuple(
                ReportItem(
                    text,
                    tuple(
                        CheckIn(period_label(r.period), r.status, r.note)
                        for r in rows
                        if r.item == index
                    ),
                )
                for index, text in enumerate(items)
            ),
            labels={key: turn.t(f"selfreport.{key}") for key in LABEL_KEYS},
        )
        await store.record_report(turn.member, year, now=turn.timestamp, day=turn.today)
        turn.say(self_report_text(report))
        turn.attach(
            turn.t("commitments.report_file"),
            Document(f"tu-danh-gia-cam-ket-{year}.docx", self_report_docx(report)),
        )

    # -- for organizers ------------------------------------------------------------------

    @router.command("camketdonvi", "commitmentstats", needs_member=False, for_organizers=True)
    async def completion(turn: Turn, args: str) -> None:
        tops = [t for t in await visible_tops(turn) if services.org.get(t) is not None]
        if not tops:
            turn.say(turn.t("errors.not_allowed"))
            return
        year = turn.today.year
        lines = [turn.t("commitments.stats_heading", year=year)]
        for top in tops:
            for depth, unit in [(0, services.org.get(top))] + [
                (1, child) for child in services.org.children(top)
            ]:
                written, total = await store.completion(services.org.path(unit.code), year)
                ratio = services.texts.percent(turn.locale, written / total, 1) if total else "–"
                lines.append(
                    turn.t(
                        "commitments.stats_line",
                        indent="   " * depth,
                        unit=unit.name,
                        written=turn.number(written),
                        total=turn.number(total),
                        percent=ratio,
                    )
                )
        turn.say("\n".join(lines))
