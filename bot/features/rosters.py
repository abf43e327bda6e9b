"""Rosters (/danhsach for organizers) and matching members to them (/xacminh).

An organizer sends a CSV or XLSX roster to the bot; it is checked (bot/rosters.py), previewed
with what would be added, updated and rejected (row numbers and reasons), and loaded on
confirmation. Only units in the organizer's subtree are accepted, and a phone number already
on another subtree's roster is not moved. A member shares their phone number (Telegram's
button; elsewhere typed), it is hashed and matched to their roster entry, and they confirm.
Organizers can link members who did not match by hand.
"""

from __future__ import annotations

import asyncio
import secrets
import time as clock
from dataclasses import replace

from ..core.messages import Choice
from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn
from ..rosters import Rejected, RosterFile, normalise_phone, phone_hash, read_roster
from ..store.participation import RosterEntry
from .units import visible_tops

PREVIEW_REJECTED = 10
PENDING_SECONDS = 30 * 60
UNMATCHED_SHOWN = 10


def register(router: Router, services: Services) -> None:
    """Add /danhsach, /xacminh, the file and contact handlers."""
    store = services.store.participation
    # A checked file waits here for the organizer's confirmation (it can hold 200,000 rows,
    # too much for the dialog). Lost on restart: the organizer is asked to send it again.
    pending: dict[str, tuple[float, list[tuple[str, str, str, str]], str]] = {}

    def category_names() -> dict[str, str]:
        names = {}
        for category in services.settings.organisation.categories:
            names[category] = category
            for locale in ("vi", "en"):
                names[services.texts.get(locale, f"categories.{category}")] = category
        return names

    async def tops(turn: Turn) -> list[str]:
        return [t for t in await visible_tops(turn) if services.org.get(t) is not None]

    def within(code: str, scope: list[str]) -> bool:
        org = services.org
        return org.get(code) is not None and any(org.is_within(code, top) for top in scope)

    # -- organizers ----------------------------------------------------------------------

    @router.command("danhsach", "roster", needs_member=False, for_organizers=True)
    async def roster(turn: Turn, args: str) -> None:
        scope = await tops(turn)
        if not scope:
            turn.say(turn.t("errors.not_allowed"))
            return
        lines = [turn.t("rosters.heading")]
        unmatched = 0
        for top in scope:
            entries, linked = await store.roster_counts(services.org.path(top))
            missing = await store.unmatched_members(services.org.path(top), 1000)
            unmatched += len(missing)
            lines.append(
                turn.t(
                    "rosters.unit_line",
                    unit=services.org.full_name(top),
                    entries=turn.number(entries),
                    linked=turn.number(linked),
                    unmatched=turn.number(len(missing)),
                )
            )
        lines.append(turn.t("rosters.send_file"))
        choices = [Choice("rsu:list", turn.t("rosters.resolve", n=unmatched))] if unmatched else []
        turn.ask("\n".join(lines), choices, state="rosters.upload", data={})

    @router.on_file
    async def on_file(turn: Turn, filename: str) -> None:
        scope = await tops(turn)
        if not scope:
            turn.say(turn.t("rosters.file_not_expected"))
            return
        file = turn.incoming.file
        if file is None:
            turn.say(turn.t("rosters.too_large"))
            return
        units = {code for code in services.org.units if within(code, scope)}
        parsed: RosterFile = await asyncio.to_thread(
            read_roster,
            file.content,
            file.filename,
            units=units,
            categories=category_names(),
            say=lambda key, **values: turn.t(f"files.{key}", **values),
        )
        if parsed.problems:
            turn.say("\n".join([turn.t("rosters.file_problems"), *parsed.problems]))
            return
        hashes = [phone_hash(row.phone, services.phone_key) for row in parsed.rows]
        existing = await store.roster_units(hashes)
        rows, rejected = [], list(parsed.rejected)
        added = updated = 0
        for row, hashed in zip(parsed.rows, hashes, strict=True):
            held = existing.get(hashed)
            if held is not None and not within(held, scope):
                rejected.append(Rejected(row.line, turn.t("rosters.elsewhere")))
                continue
            added += held is None
            updated += held is not None
            rows.append((row.unit_code, row.category, row.full_name, hashed))
        rejected.sort(key=lambda r: r.line)
        token = secrets.token_hex(8)
        now = clock.monotonic()
        for key in [k for k, (at, _, _) in pending.items() if now - at > PENDING_SECONDS]:
            del pending[key]
        pending[token] = (now, rows, ",".join(scope))
        lines = [
            turn.t(
                "rosters.preview",
                file=file.filename,
                added=turn.number(added),
                updated=turn.number(updated),
                rejected=turn.number(len(rejected)),
            )
        ]
        lines += [
            turn.t("rosters.rejected_line", line=r.line, reason=r.reason)
            for r in rejected[:PREVIEW_REJECTED]
        ]
        if len(rejected) > PREVIEW_REJECTED:
            lines.append(turn.t("rosters.more_rejected", n=len(rejected) - PREVIEW_REJECTED))
        choices = [Choice("cancel:", turn.t("common.cancel"))]
        if rows:
            choices.insert(0, Choice("rsl:load", turn.t("rosters.load", n=turn.number(len(rows)))))
        turn.ask("\n".join(lines), choices, state="rosters.confirm", data={"token": token})

    @router.choice("rsl")
    async def on_load(turn: Turn, value: str) -> None:
        data = turn.flow_data("token")
        if data is None:
            return
        held = pending.pop(data["token"], None)
        turn.finish()
        if held is None:
            turn.say(turn.t("rosters.expired"), edit=True)
            return
        _, rows, scope = held
        await store.import_roster(
            rows,
            actor=turn.actor,
            scope=scope,
            now=turn.timestamp,
        )
        turn.say(turn.t("rosters.loaded", n=turn.number(len(rows))), edit=True)

    @router.choice("rsu")
    async def on_unmatched(turn: Turn, value: str) -> None:
        scope = await tops(turn)
        members = []
        for top in scope:
            members += await store.unmatched_members(services.org.path(top), UNMATCHED_SHOWN)
        if not members:
            turn.say(turn.t("rosters.all_matched"))
            return
        turn.ask(
            turn.t("rosters.pick_member"),
            [
                Choice(f"rsm:{member_id}", f"{name} · {services.org.get(unit).name}")
                for member_id, name, unit in members[:UNMATCHED_SHOWN]
                if services.org.get(unit) is not None
            ],
            edit=True,
        )

    @router.choice("rsm")
    async def on_member(turn: Turn, value: str) -> None:
        member = await services.store.get_member(int(value)) if value.isdigit() else None
        if member is None or not within(member.unit_code, await tops(turn)):
            turn.say(turn.t("errors.not_allowed"))
            return
        entries = await store.unlinked_entries(member.unit_code)
        if not entries:
            turn.say(turn.t("rosters.no_candidates", name=member.full_name))
            return
        turn.ask(
            turn.t("rosters.pick_entry", name=member.full_name),
            [
                Choice(f"rse:{e.id}", f"{e.full_name} · {turn.t(f'categories.{e.category}')}")
                for e in entries[:12]
            ],
            data={"member": member.id},
            edit=True,
        )

    @router.choice("rse")
    async def on_entry(turn: Turn, value: str) -> None:
        data = turn.flow_data("member")
        if data is None:
            return
        entry = await store.roster_entry(int(value)) if value.isdigit() else None
        member = await services.store.get_member(data["member"])
        scope = await tops(turn)
        if entry is None or member is None or not within(entry.unit_code, scope):
            turn.say(turn.t("errors.not_allowed"))
            return
        if entry.member_id is not None:
            turn.say(turn.t("rosters.taken"))
            return
        for statement in store.link_statements(entry.id, member.id):
            turn.write(*statement)
        turn.write(
            "INSERT INTO audit_log (at, actor, action, scope) VALUES (?, ?, 'roster_link', ?)",
            (
                turn.timestamp,
                turn.actor,
                f"member:{member.id} roster:{entry.id}",
            ),
        )
        turn.say(turn.t("rosters.linked", name=member.full_name), edit=True)

    # -- members ---------------------------------------------------------------------------

    @router.command("xacminh", "verify")
    async def verify(turn: Turn, args: str) -> None:
        linked = await store.roster_of_member(turn.member.id)
        if linked is not None:
            turn.say(
                turn.t("rosters.already_linked", unit=services.org.full_name(linked.unit_code))
            )
            return
        turn.ask_contact(turn.t("rosters.ask_phone"), "rosters.phone", {})

    @router.state("rosters.phone")
    async def on_phone_typed(turn: Turn, text: str) -> None:
        await match(turn, text)

    @router.on_contact
    async def on_contact(turn: Turn, phone: str) -> None:
        if turn.member is None:
            turn.say(turn.t("errors.not_registered"))
            return
        if not phone:
            turn.say(turn.t("rosters.not_own_contact"))
            return
        await match(turn, phone)

    async def match(turn: Turn, text: str) -> None:
        phone = normalise_phone(text)
        if phone is None:
            turn.say(turn.t("rosters.bad_phone"))
            return
        entry = await store.by_phone(phone_hash(phone, services.phone_key))
        if entry is None or (entry.member_id not in (None, turn.member.id)):
            turn.finish()
            turn.say(turn.t("rosters.not_found"))
            return
        show_entry(turn, entry)

    def show_entry(turn: Turn, entry: RosterEntry) -> None:
        turn.ask(
            turn.t(
                "rosters.found",
                name=entry.full_name,
                unit=services.org.full_name(entry.unit_code),
                category=turn.t(f"categories.{entry.category}"),
            ),
            [
                Choice("rsc:yes", turn.t("rosters.confirm_yes")),
                Choice("cancel:", turn.t("rosters.confirm_no")),
            ],
            state="rosters.found",
            data={"entry": entry.id},
        )

    @router.choice("rsc", needs_member=True)
    async def on_confirm(turn: Turn, value: str) -> None:
        data = turn.flow_data("entry")
        if data is None:
            return
        entry = await store.roster_entry(data["entry"])
        turn.finish()
        if entry is None or entry.member_id not in (None, turn.member.id):
            turn.say(turn.t("rosters.not_found"), edit=True)
            return
        for statement in store.link_statements(entry.id, turn.member.id):
            turn.write(*statement)
        member = turn.member
        if services.org.get(entry.unit_code) is not None and (
            entry.unit_code != member.unit_code or entry.category != member.category
        ):
            turn.save_member(replace(member, unit_code=entry.unit_code, category=entry.category))
        turn.say(
            turn.t("rosters.confirmed", unit=services.org.full_name(entry.unit_code)), edit=True
        )
