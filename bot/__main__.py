"""Command line: ``python -m bot [run | console | grant | units]``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from telegram.error import InvalidToken

from .config import ConfigError, Settings, load_settings
from .content.yamlfile import ContentError
from .logs import setup_logging


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load settings and run the chosen command; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings)
    # PTB 22 warns that RetryAfter.retry_after becomes a timedelta; take the new form now.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    command = args.command or "run"
    try:
        return asyncio.run(COMMANDS[command](settings, args))
    except ContentError as exc:
        print(f"Content error ({len(exc.findings)}):\n{exc}", file=sys.stderr)
        return 2
    except InvalidToken:
        # PTB's message quotes the token: say what to check instead.
        print(
            "Telegram refused the token (or telegram.base_url does not point to a Bot API"
            " server): check BOT_TELEGRAM_TOKEN and BOT_TELEGRAM_BASE_URL.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--config", help="YAML settings file (default: $BOT_CONFIG, or none)")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="start every configured channel (the default)")
    console = commands.add_parser("console", help="chat in this terminal")
    console.add_argument("--user", help="which local member you are (default: console.user)")
    grant = commands.add_parser("grant", help="make a member an organizer of a unit subtree")
    grant.add_argument("--unit", required=True, help="unit code")
    who = grant.add_mutually_exclusive_group(required=True)
    who.add_argument("--member", type=int, help="member id")
    who.add_argument("--account", help="channel account, e.g. telegram:12345 or console:admin")
    grant.add_argument("--revoke", action="store_true", help="take the right away instead")
    commands.add_parser("units", help="list units with join codes and Telegram links")
    outbox = commands.add_parser("outbox", help="what the bot has pushed, by kind and status")
    outbox.add_argument(
        "--retry-unknown",
        action="store_true",
        help="send again the messages left 'unknown' by a crash (they may arrive twice)",
    )
    return parser


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from .app import run

    return await run(settings)


async def _console(settings: Settings, args: argparse.Namespace) -> int:
    from .app import run

    return await run(settings, console_user=args.user or settings.console.user)


async def _grant(settings: Settings, args: argparse.Namespace) -> int:
    from .app import open_app

    async with open_app(settings) as app:
        store, org = app.store, app.services.org
        if org.get(args.unit) is None:
            print(f"Unknown unit code {args.unit!r}; see `python -m bot units`.", file=sys.stderr)
            return 2
        if args.account:
            channel, _, user_id = args.account.partition(":")
            member = await store.find_member_by_account(channel, user_id)
        else:
            member = await store.get_member(args.member)
        if member is None:
            print("No registered member matches; they must /start first.", file=sys.stderr)
            return 2
        now, actor = int(time.time()), "cli"
        if args.revoke:
            found = await store.revoke(member.id, args.unit, actor=actor, now=now)
            print(f"Revoked member {member.id} on {args.unit}." if found else "Nothing to revoke.")
        else:
            await store.grant(member.id, args.unit, actor=actor, now=now)
            print(
                f"Member {member.id} ({member.full_name}) now organizes {args.unit} "
                f"({org.get(args.unit).name}) and every unit below it."
            )
    return 0


async def _units(settings: Settings, args: argparse.Namespace) -> int:
    from .app import open_app

    async with open_app(settings) as app:
        services = app.services
        for unit in services.org.ordered():
            depth = len(services.org.ancestors(unit.code)) - 1
            print(
                f"{'  ' * depth}{unit.code}\t{unit.name}\t{unit.join_code}\t"
                f"{services.deep_link(unit.join_code)}"
            )
    return 0


async def _outbox(settings: Settings, args: argparse.Namespace) -> int:
    from .app import open_app

    async with open_app(settings) as app:
        outbox = app.store.outbox
        if args.retry_unknown:
            count = await outbox.requeue_unknown(int(time.time()))
            print(f"{count} 'unknown' messages queued again; they go out at the next start.")
        counts = await outbox.counts()
        if not counts:
            print("The outbox is empty.")
        for (kind, status), count in sorted(counts.items()):
            print(f"{kind}\t{status}\t{count}")
    return 0


COMMANDS = {
    "run": _run,
    "console": _console,
    "grant": _grant,
    "units": _units,
    "outbox": _outbox,
}

if __name__ == "__main__":
    sys.exit(main())
