"""One member, two apps (/lienket): a one-time code links a Zalo and a Telegram account.

A registered member asks for a code in one app and sends it from the other, where they have
not registered; that account then belongs to the same member, so reports count one person.
Codes are six characters, work once, and expire after ten minutes.
"""

from __future__ import annotations

import secrets

from ..core.router import Router
from ..core.services import Services
from ..core.turn import Turn

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
VALID_SECONDS = 600


def register(router: Router, services: Services) -> None:
    """Add /lienket."""
    outbox = services.store.outbox

    @router.command("lienket", "link", needs_member=False)
    async def link(turn: Turn, args: str) -> None:
        code = "".join(ch for ch in args.upper() if ch.isalnum())
        if not code:
            if turn.member is None:
                turn.say(turn.t("linking.how"))
                return
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
            until = turn.timestamp + VALID_SECONDS
            await outbox.set_state(f"link.{code}", f"{turn.member.id}:{until}")
            turn.say(turn.t("linking.code", code=code, minutes=VALID_SECONDS // 60))
            return
        if turn.member is not None:
            turn.say(turn.t("linking.already_member"))
            return
        held = await outbox.get_state(f"link.{code[:12]}")
        member_id, _, until = (held or "").partition(":")
        member = await services.store.get_member(int(member_id)) if member_id else None
        if member is None or not until or int(until) < turn.timestamp:
            turn.say(turn.t("linking.bad_code"))
            return
        await outbox.set_state(f"link.{code}", "")  # once only
        turn.write(
            "INSERT INTO accounts (channel, external_id, member_id) VALUES (?, ?, ?)",
            (turn.incoming.channel, turn.incoming.user_id, member.id),
        )
        turn.save_member(member)
        turn.say(turn.t("linking.linked", name=member.full_name))
