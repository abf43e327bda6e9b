"""Composition root: settings -> content -> store -> services -> conversation -> channels."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .content import check
from .content.calendar import Commemoration, load_calendar
from .content.commitments import CommitmentContent, load_commitments
from .content.lessons import Lesson, load_lessons
from .content.quizzes import QuestionBank, load_questions
from .content.texts import Texts
from .content.yamlfile import ContentError, Finding
from .core.clock import Clock, SystemClock
from .core.conversation import Conversation
from .core.services import Services
from .features import build_router
from .org import Organisation, load_units
from .store import SqliteStore

log = logging.getLogger(__name__)


@dataclass
class App:
    """The running pieces a channel needs."""

    settings: Settings
    services: Services
    conversation: Conversation
    store: SqliteStore


def phone_key(settings: Settings) -> bytes:
    """The key roster phone numbers are hashed with: configured, or created once beside the
    database (readable by the owner only)."""
    if settings.organisation.phone_key:
        return settings.organisation.phone_key.reveal().encode()
    path = Path(settings.database.path).parent / "phone.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


@dataclass(frozen=True)
class Content:
    """Everything members read, validated together."""

    texts: Texts
    lessons: list[Lesson]
    commitments: CommitmentContent
    questions: QuestionBank
    calendar: list[Commemoration]
    plan: list[str]


def load_content(settings: Settings) -> Content:
    """Texts, lessons, suggestions, questions and dates; ContentError lists every problem.

    Every file is checked even when an earlier one fails, so one run shows all problems.
    """
    folder = settings.content.dir
    findings: list[Finding] = []

    def attempt(load, *args):
        try:
            return load(*args)
        except ContentError as exc:
            findings.extend(exc.findings)
            return None

    texts = attempt(Texts.load, folder / "texts", settings.locale)
    if texts is not None:
        findings += [
            Finding(folder / "texts" / "vi.yaml", 0, f"no text 'categories.{c}' for category {c}")
            for c in settings.organisation.categories
            if not texts.has(f"categories.{c}")
        ]
    commitments = attempt(
        load_commitments, folder / "commitments.yaml", settings.organisation.categories
    )
    lessons = attempt(load_lessons, folder / "lessons")
    questions = attempt(load_questions, settings.content.quizzes_dir)
    calendar = attempt(load_calendar, folder / "calendar.yaml")
    if lessons is not None:
        findings += check.near_duplicate_lessons(lessons, folder / "lessons")
        findings += check.check_plan(folder / "plan.yaml", lessons)
    if questions is not None:
        findings += check.near_duplicate_questions(
            list(questions.questions), settings.content.quizzes_dir
        )
    if lessons is not None and questions is not None:
        findings += check.check_tags(
            folder / "tags.yaml", lessons, list(questions.questions), folder
        )
    if findings:
        raise ContentError(findings)
    return Content(
        texts, lessons, commitments, questions, calendar, check.load_plan(folder / "plan.yaml")
    )


def check_content(settings: Settings) -> check.Report:
    """Everything ``load_content`` refuses (errors) and what editors should look at (warnings)."""
    try:
        content = load_content(settings)
    except ContentError as exc:
        return check.Report(exc.findings, [])
    folder = settings.content.dir
    questions = list(content.questions.questions)
    return check.Report(
        [],
        check.balance_warnings(questions, settings.content.quizzes_dir)
        + check.calendar_warnings(
            content.calendar, content.lessons, questions, folder / "calendar.yaml"
        ),
    )


async def with_join_codes(org: Organisation, store: SqliteStore) -> Organisation:
    """Store the units and give every unit its (stable) join code."""
    units = org.ordered()
    codes = await store.sync_units(units, {u.code: org.path(u.code) for u in units})
    return org.with_join_codes(codes)


@contextlib.asynccontextmanager
async def open_app(settings: Settings, clock: Clock | None = None) -> AsyncIterator[App]:
    """Validate content, open the store, build the conversation; close everything on exit."""
    content = load_content(settings)
    org = load_units(settings.organisation.units_file)
    store = SqliteStore(settings.database.path, settings.database.busy_timeout_ms)
    ran = await store.open()
    if ran:
        log.info("database %s migrated: %s", settings.database.path, ", ".join(ran))
    try:
        org = await with_join_codes(org, store)
        services = Services(
            settings,
            store,
            clock or SystemClock(),
            content.texts,
            content.lessons,
            content.commitments,
            org,
            questions=content.questions,
            calendar=content.calendar,
            plan=content.plan,
            phone_key=phone_key(settings),
        )

        async def reload_units() -> int:
            fresh = load_units(settings.organisation.units_file)
            services.org = await with_join_codes(fresh, store)
            return len(services.org.units)

        async def reload_content() -> Content:
            # Validated whole in a thread; only a fully valid set replaces what members see.
            fresh = await asyncio.to_thread(load_content, settings)
            services.texts = fresh.texts
            services.lessons = fresh.lessons
            services.commitments = fresh.commitments
            services.questions = fresh.questions
            services.calendar = fresh.calendar
            services.plan = fresh.plan
            return fresh

        services.reload_units = reload_units
        services.reload_content = reload_content
        conversation = Conversation(services, build_router(services))
        log.info(
            "loaded %d units, %d lessons, %d questions and %d dates",
            len(org.units),
            len(content.lessons),
            len(content.questions),
            len(content.calendar),
        )
        # Everything loaded so far lives as long as the process: keep it out of the garbage
        # collector's full scans, which otherwise paused the event loop for ~50 ms at times
        # (p99 latency in benchmarks/throughput.py went from 7–470 ms to 7–10 ms).
        gc.freeze()
        yield App(settings, services, conversation, store)
    finally:
        await store.close()


async def run(settings: Settings, *, console_user: str | None = None) -> int:
    """Start every configured channel and delivery; run until they end or a signal stops them."""
    from .channels.console import ConsoleChannel
    from .delivery.service import Delivery

    async with open_app(settings) as app:
        stop = asyncio.Event()
        _install_signals(app, stop)
        pushers, tasks = {}, []
        telegram = None
        if settings.telegram.token:
            from .channels.telegram import CHANNEL, TelegramChannel

            telegram = TelegramChannel(app)
            await telegram.start()
            pushers[CHANNEL] = telegram
        zalo = None
        if settings.zalo.token:
            from .channels.zalo import CHANNEL as ZALO
            from .channels.zalo import ZaloChannel

            zalo = ZaloChannel(app)
            await zalo.start()
            pushers[ZALO] = zalo
        if console_user is not None or settings.console_enabled():
            console = ConsoleChannel(app, console_user or settings.console.user)
            pushers["console"] = console
            tasks.append(asyncio.create_task(console.run()))
        delivery = Delivery(app, pushers)
        app.services.wake_delivery = delivery.wake
        await delivery.start()
        waiter = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            for task in tasks:
                task.cancel()
            await delivery.stop()
            if telegram is not None:
                await telegram.stop()
            if zalo is not None:
                await zalo.stop()
    return 0


_background: set[asyncio.Task] = set()


def _install_signals(app: App, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def reload() -> None:
        async def do() -> None:
            try:
                count = await app.services.reload_units()
                log.info("units reloaded: %d", count)
            except ContentError as exc:
                log.error("units file not reloaded, keeping the old one:\n%s", exc)
            try:
                content = await app.services.reload_content()
                log.info(
                    "content reloaded: %d lessons, %d questions",
                    len(content.lessons),
                    len(content.questions),
                )
            except ContentError as exc:
                log.error("content not reloaded, keeping the old one:\n%s", exc)

        task = asyncio.create_task(do())
        _background.add(task)
        task.add_done_callback(_background.discard)

    with contextlib.suppress(NotImplementedError, AttributeError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGHUP, reload)
