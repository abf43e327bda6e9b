"""Command line: ``python -m bot [run | console | grant | units | outbox | report |
import-roster | demo-data]``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import datetime
from pathlib import Path

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
    report = commands.add_parser(
        "report", help="participation report of a unit subtree (text, csv, xlsx or png)"
    )
    report.add_argument("--unit", help="unit code (default: the whole tree)")
    report.add_argument("--from", dest="start", help="first day, d/m/yyyy (default: 30 days ago)")
    report.add_argument("--to", dest="end", help="last day, d/m/yyyy (default: today)")
    report.add_argument("--kind", action="append", default=[], help="activity kind (repeatable)")
    report.add_argument("--category", action="append", default=[], help="member category")
    report.add_argument("--format", choices=("text", "csv", "xlsx", "png"), default="text")
    report.add_argument("--out", help="write to this file (default: standard output for text/csv)")
    roster = commands.add_parser(
        "import-roster", help="add or update roster entries from a CSV or XLSX file"
    )
    roster.add_argument("file", help="columns: full name, phone, unit code, category")
    roster.add_argument("--dry-run", action="store_true", help="report what would change only")
    commands.add_parser(
        "check-content",
        help="validate lessons, questions, dates, texts and suggestions (file:line: message)",
    )
    importer = commands.add_parser(
        "import-questions", help="turn a question sheet (.xlsx or .csv) into a YAML bank"
    )
    importer.add_argument("file", help="columns: câu hỏi, A, B, C, D, đáp án, giải thích, nguồn")
    importer.add_argument("--out", required=True, help="the bank to write, e.g. quizzes/tinh.yaml")
    importer.add_argument("--prefix", help="id prefix when the sheet has no ids (default: file)")
    importer.add_argument("--strand", default="tu_tuong", help="strand when the sheet has none")
    exporter = commands.add_parser(
        "export-questions", help="write question banks as an XLSX sheet"
    )
    exporter.add_argument("--out", required=True, help="the .xlsx file to write")
    exporter.add_argument("--bank", help="only this bank file (e.g. ngay_le.yaml)")
    demo = commands.add_parser(
        "demo-data", help="fill an empty database with a synthetic province (for demos)"
    )
    demo.add_argument("--members", type=int, default=5000)
    demo.add_argument("--days", type=int, default=90)
    demo.add_argument("--seed", type=int, default=1)
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


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    if args.format in ("xlsx", "png") and not args.out:
        print("--out FILE is needed for xlsx and png.", file=sys.stderr)
        return 2
    from .app import open_app
    from .features.reports import parse_period
    from .reports.render import Words, report_csv, report_png, report_xlsx, summary_text
    from .reports.service import default_period, make_report

    async with open_app(settings) as app:
        services = app.services
        org = services.org
        scope = args.unit or org.children(None)[0].code
        if org.get(scope) is None:
            print(f"Unknown unit code {scope!r}; see `python -m bot units`.", file=sys.stderr)
            return 2
        today = datetime.now(services.zone).date()
        start, end = default_period(today)
        if args.start or args.end:
            typed = f"{args.start or _dmy(start)} - {args.end or _dmy(end)}"
            period = parse_period(typed, today)
            if period is None:
                print("Dates must be d/m/yyyy, the first not after the last.", file=sys.stderr)
                return 2
            start, end = period
        unknown = [c for c in args.category if c not in settings.organisation.categories]
        if unknown:
            print(
                f"Unknown category {unknown[0]!r}; use one of "
                f"{', '.join(settings.organisation.categories)}.",
                file=sys.stderr,
            )
            return 2
        await app.store.log_action(
            actor="cli",
            action="report",
            scope=f"{scope} {start.isoformat()}..{end.isoformat()} {args.format}",
            now=int(time.time()),
        )
        made = await make_report(
            services, scope, start, end, kinds=tuple(args.kind), categories=tuple(args.category)
        )
        words = Words(services.texts, settings.locale)
        output = {
            "text": lambda: (summary_text(made, words, limit=10_000) + "\n").encode(),
            "csv": lambda: report_csv(made, words),
            "xlsx": lambda: report_xlsx(made, words),
            "png": lambda: report_png(made, words),
        }[args.format]()
        if args.out:
            await asyncio.to_thread(Path(args.out).write_bytes, output)
            print(f"Written to {args.out}.")
        else:
            sys.stdout.buffer.write(output)
    return 0


async def _import_roster(settings: Settings, args: argparse.Namespace) -> int:
    from .app import open_app
    from .rosters import phone_hash, read_roster

    path = Path(args.file)
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        print(f"Cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    async with open_app(settings) as app:
        services = app.services
        names = {}
        for category in settings.organisation.categories:
            names[category] = category
            for locale in ("vi", "en"):
                names[services.texts.get(locale, f"categories.{category}")] = category
        parsed = await asyncio.to_thread(
            read_roster,
            content,
            path.name,
            units=set(services.org.units),
            categories=names,
            max_bytes=50_000_000,
            max_rows=1_000_000,
            say=_say(services.texts, settings.locale),
        )
        for problem in parsed.problems:
            print(problem, file=sys.stderr)
        if parsed.problems:
            return 2
        rows = [
            (row.unit_code, row.category, row.full_name, phone_hash(row.phone, services.phone_key))
            for row in parsed.rows
        ]
        existing = await app.store.participation.roster_units([r[3] for r in rows])
        added = sum(r[3] not in existing for r in rows)
        print(
            f"{path.name}: {added} new, {len(rows) - added} updated, "
            f"{len(parsed.rejected)} rejected."
        )
        for rejected in parsed.rejected:
            print(f"  row {rejected.line}: {rejected.reason}")
        if not args.dry_run and rows:
            await app.store.participation.import_roster(
                rows, actor="cli", scope="all", now=int(time.time())
            )
            print(f"Loaded {len(rows)} roster entries.")
    return 0 if not parsed.rejected else 1


async def _demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from .demo_data import fill_demo
    from .org import write_units_csv
    from .store.sqlite import SqliteStore

    db = Path(settings.database.path)
    store = SqliteStore(db)
    await store.open()
    members = await store.members_count()
    await store.close()
    if members:
        print(
            f"{db} already has {members} members: demo data goes into an empty database "
            "(set BOT_DATABASE_PATH to a new file).",
            file=sys.stderr,
        )
        return 2
    today = datetime.now(settings.zone).date()
    print(f"Filling {db} with {args.members:,} members over {args.days} days…")
    started = time.perf_counter()
    # Called on this thread, not in a worker: a big fill forks a second process for the later
    # weeks, which is only safe (and only done) while the process has one thread. Nothing
    # else runs on the loop meanwhile.
    counts = fill_demo(db, members=args.members, days=args.days, end=today, seed=args.seed)
    await store.open()
    units = await store.unit_rows()
    await store.close()
    units_file = db.parent / "demo-units.csv"
    await asyncio.to_thread(write_units_csv, units, units_file)
    print(", ".join(f"{count:,} {table}" for table, count in counts.items()))
    print(f"Done in {time.perf_counter() - started:.0f} s. The synthetic tree is {units_file};")
    print(f"use it with: BOT_ORGANISATION_UNITS_FILE={units_file} python -m bot report")
    return 0


async def _check_content(settings: Settings, args: argparse.Namespace) -> int:
    from .app import check_content

    report = await asyncio.to_thread(check_content, settings)
    for finding in report.errors:
        print(f"{finding}")
    for finding in report.warnings:
        print(f"{finding.file}:{finding.line}: warning: {finding.message}")
    print(
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)",
        file=sys.stderr,
    )
    return 1 if report.errors else 0


async def _import_questions(settings: Settings, args: argparse.Namespace) -> int:
    from .content.sheets import read_question_sheet

    source, out = Path(args.file), Path(args.out)
    try:
        content = await asyncio.to_thread(source.read_bytes)
    except OSError as exc:
        print(f"Cannot read {source}: {exc.strerror}", file=sys.stderr)
        return 2
    if await asyncio.to_thread(out.exists):
        print(f"{out} exists; choose a new file name (nothing was written).", file=sys.stderr)
        return 2
    prefix = args.prefix or "q-" + "".join(c if c.isalnum() else "-" for c in source.stem.lower())
    from .content.texts import Texts

    texts = Texts.load(settings.content.dir / "texts", settings.locale)
    result = await asyncio.to_thread(
        read_question_sheet,
        content,
        source.name,
        prefix=prefix,
        strand=args.strand,
        say=_say(texts, settings.locale),
    )
    for problem in result.problems:
        print(problem, file=sys.stderr)
    for line, reason in result.rejected:
        print(f"{source}:{line}: {reason}")
    if result.accepted:
        await asyncio.to_thread(out.write_text, result.yaml_text, encoding="utf-8")
        print(
            f"{result.accepted} questions written to {out}; {len(result.rejected)} rows refused."
        )
        print("Run `python -m bot check-content`, then reload (/napnoidung or kill -HUP).")
    return 2 if result.problems else 1 if result.rejected else 0


async def _export_questions(settings: Settings, args: argparse.Namespace) -> int:
    from .content.quizzes import load_questions
    from .content.sheets import question_sheet

    bank = await asyncio.to_thread(load_questions, settings.content.quizzes_dir)
    chosen = [q for q in bank.questions if not args.bank or q.file == args.bank]
    if not chosen:
        print(f"No questions in {args.bank or settings.content.quizzes_dir}.", file=sys.stderr)
        return 2
    await asyncio.to_thread(Path(args.out).write_bytes, question_sheet(chosen))
    print(f"{len(chosen)} questions written to {args.out}.")
    return 0


def _say(texts, locale: str):
    """The ``files.*`` texts of the configured language, for file readers' messages."""
    return lambda key, **values: texts.get(locale, f"files.{key}", **values)


def _dmy(day) -> str:
    return f"{day.day}/{day.month}/{day.year}"


COMMANDS = {
    "run": _run,
    "console": _console,
    "grant": _grant,
    "units": _units,
    "outbox": _outbox,
    "report": _report,
    "import-roster": _import_roster,
    "demo-data": _demo_data,
    "check-content": _check_content,
    "import-questions": _import_questions,
    "export-questions": _export_questions,
}

if __name__ == "__main__":
    sys.exit(main())
