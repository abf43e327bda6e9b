"""Delivery: the limiter, the sender against the fake Bot API, the scheduler, reminders."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import itertools
import sqlite3
from datetime import UTC, datetime

import pytest

from bot.app import open_app
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel
from bot.config import load_settings
from bot.delivery.errors import Transient
from bot.delivery.limiter import RateLimiter
from bot.delivery.scheduler import minute_ranges
from bot.delivery.sender import Sender, seconds_of_quiet
from bot.delivery.service import Delivery
from bot.features.reminders import parse_time_of_day
from bot.store.outbox import NewMessage, OutboxRow

from .conftest import Chat, rows
from .fakes.telegram_api import FakeTelegram

HANOI = load_settings(None, environ={}).zone
NOTICE = {"text": "Thông báo: họp chi bộ lúc 19:00 thứ Sáu."}


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    """The most events in any half-open window [t, t + window) starting at an event."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


# -- the limiter, on a fake clock ------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize("rate", [1, 25, 1000])
async def test_limiter_never_grants_more_than_the_rate_in_any_second(rate):
    fake = FakeTime()
    limiter = RateLimiter(rate, monotonic=fake.monotonic, sleep=fake.sleep)
    grants = []
    for _ in range(rate * 3 + 7):
        await limiter.acquire()
        grants.append(fake.now)
    assert max_in_any_window(grants) <= rate
    achieved = (len(grants) - 1) / (grants[-1] - grants[0])
    assert achieved >= 0.95 * rate  # and it does not throttle far below the cap


async def test_limiter_catches_up_only_a_few_after_a_stall_and_honours_pauses():
    fake = FakeTime()
    limiter = RateLimiter(10, monotonic=fake.monotonic, sleep=fake.sleep)
    await limiter.acquire()
    fake.now += 5  # the loop was busy: only a small burst is saved up
    grants = []
    for _ in range(8):
        await limiter.acquire()
        grants.append(fake.now)
    gaps = [b - a for a, b in itertools.pairwise(grants)]
    assert sum(gap == 0 for gap in gaps) == 2  # three at once, then spaced again
    assert all(gap >= 0.1 for gap in gaps[2:])
    limiter.pause(3)
    before = fake.now
    await limiter.acquire()
    assert fake.now >= before + 3


async def test_at_high_rates_the_limiter_catches_up_ten_milliseconds_of_grants():
    fake = FakeTime()
    limiter = RateLimiter(1000, monotonic=fake.monotonic, sleep=fake.sleep)
    await limiter.acquire()
    fake.now += 0.5  # the loop rendered a batch: the grants of 10 ms are kept, not 3 or 500
    start = fake.now
    for _ in range(10):
        await limiter.acquire()
    assert fake.now == start
    await limiter.acquire()
    assert fake.now > start


def test_quiet_hours_across_midnight():
    quiet = (datetime(2000, 1, 1, 21, 30).time(), datetime(2000, 1, 1, 6, 30).time())
    at = lambda h, m: datetime(2026, 5, 10, h, m, tzinfo=HANOI)  # noqa: E731
    assert seconds_of_quiet(at(21, 29), quiet) == 0
    assert seconds_of_quiet(at(21, 30), quiet) == 9 * 3600
    assert seconds_of_quiet(at(2, 0), quiet) == 4.5 * 3600
    assert seconds_of_quiet(at(6, 30), quiet) == 0
    assert seconds_of_quiet(at(12, 0), None) == 0


def test_minute_ranges_cross_midnight():
    after = datetime(2026, 5, 10, 23, 58, 30, tzinfo=HANOI)
    until = datetime(2026, 5, 11, 0, 1, 0, tzinfo=HANOI)
    ranges = minute_ranges(after, until, HANOI)
    assert [(d.day, a, b) for d, a, b in ranges] == [(10, 1439, 1439), (11, 0, 1)]


@pytest.mark.parametrize(
    ("typed", "minute"),
    [
        ("19:30", 1170),
        ("19h30", 1170),
        ("7", None),  # a bare number picks a numbered choice, it is not a time
        ("7h", 420),
        ("7 g", 420),
        ("06.45", 405),
        ("25:00", None),
        ("abc", None),
        ("19:75", None),
    ],
)
def test_typed_times(typed, minute):
    assert parse_time_of_day(typed) == minute


# -- reminders end to end in the core, on a fake clock ---------------------------------------


class Recorder:
    """A pusher that records what it was asked to send, or fails as told."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail_with: Exception | None = None

    async def push(self, external_id, replies):
        if self.fail_with is not None:
            raise self.fail_with
        self.sent += [(external_id, r.text) for r in replies]


async def set_reminder(chat: Chat, time: str) -> None:
    await chat.send("/nhacnho")
    await chat.send(time)
    assert "bot sẽ nhắc" in chat.text, chat.text


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def delivery(app, recorder):
    return Delivery(app, {"console": recorder})


async def test_a_reminder_is_queued_once_when_due_and_sent_with_the_streak(
    app, chat, clock, delivery, recorder
):
    await chat.register()  # 08:00 in Hà Nội
    await set_reminder(chat, "08:30")
    sender = delivery.senders["console"]
    await delivery.scheduler.tick()  # first tick: remembers where it is
    clock.advance(minutes=29)
    await delivery.scheduler.tick()
    await sender.drain()
    assert recorder.sent == []  # 08:29: not yet
    clock.advance(minutes=1)
    await delivery.scheduler.tick()
    await delivery.scheduler.tick()  # a second tick at the same minute adds nothing
    await sender.drain()
    assert len(recorder.sent) == 1 and "Đến giờ học bài" in recorder.sent[0][1]
    assert "Chuỗi hiện tại: 0 ngày" in recorder.sent[0][1]
    clock.advance(minutes=5)
    await delivery.scheduler.tick()
    await sender.drain()
    assert len(recorder.sent) == 1
    assert rows(app, "SELECT status, count(*) FROM outbox GROUP BY status") == [("sent", 1)]


async def test_the_reminder_button_opens_the_lesson(app, chat, clock, delivery, recorder):
    await chat.register()
    await set_reminder(chat, "08:01")
    await delivery.scheduler.tick()
    clock.advance(minutes=1)
    await delivery.scheduler.tick()
    row = OutboxRow(1, "console", "u1", None, "lesson", {}, 0)
    replies = (await app.conversation.render_pushes([row]))[1]
    assert [c.key for c in replies[0].choices] == ["/baihoc", "/nhacnho"]
    await chat.press_token(replies[0].token(0))
    assert "Làm theo hôm nay" in chat.text
    await delivery.senders["console"].drain()
    assert recorder.sent == []  # already read today: the reminder has nothing to say
    assert rows(app, "SELECT status, error FROM outbox") == [("cancelled", "nothing to send")]


async def test_missed_reminders_within_grace_are_sent_once_older_ones_counted(
    app, chat, clock, delivery, recorder
):
    await chat.register()
    await set_reminder(chat, "09:00")
    other = Chat(app, "u2")
    await other.register(name="Trần Văn Bình")
    await set_reminder(other, "13:30")
    await delivery.scheduler.tick()  # 08:00
    clock.advance(hours=11)  # the bot was down from 08:00 to 19:00; grace is 6 hours
    await delivery.scheduler.tick()
    await delivery.senders["console"].drain()
    assert [who for who, _ in recorder.sent] == ["u2"]  # 13:30 is within 6 h of 19:00
    assert rows(app, "SELECT kind, count FROM missed_reminders") == [("lesson", 1)]
    await delivery.scheduler.tick()
    await delivery.senders["console"].drain()
    assert len(recorder.sent) == 1


async def test_quiet_hours_hold_messages_until_morning(app, chat, clock, delivery, recorder):
    await chat.register()
    now = int(clock.now().timestamp())
    await app.store.outbox.enqueue(
        [NewMessage("t:1", "console", "u1", None, "lesson", {}, now)], now
    )
    clock.set(datetime(2026, 5, 10, 15, 0, tzinfo=UTC))  # 22:00 in Hà Nội
    sender = delivery.senders["console"]
    await sender.drain()
    assert recorder.sent == []
    clock.set(datetime(2026, 5, 10, 23, 31, tzinfo=UTC))  # 06:31
    await sender.drain()
    assert len(recorder.sent) == 1


async def test_unsubscribing_wins_over_a_queued_reminder(app, chat, clock, delivery, recorder):
    await chat.register()
    await set_reminder(chat, "08:05")
    await delivery.scheduler.tick()
    clock.advance(minutes=5)
    await delivery.scheduler.tick()
    assert rows(app, "SELECT status FROM outbox") == [("pending",)]
    await chat.send("/nhacnho")
    await chat.press("Tắt nhắc")
    assert "Đã tắt nhắc" in chat.text
    await delivery.senders["console"].drain()
    assert recorder.sent == [] and rows(app, "SELECT count(*) FROM outbox") == [(0,)]
    assert rows(app, "SELECT count(*) FROM reminders") == [(0,)]


async def test_changing_the_hour_while_queued_sends_once_at_the_new_hour(
    app, chat, clock, delivery, recorder
):
    await chat.register()
    await set_reminder(chat, "08:05")
    await delivery.scheduler.tick()
    clock.advance(minutes=5)
    await delivery.scheduler.tick()  # queued for 08:05
    await set_reminder(chat, "12:00")
    clock.advance(hours=4)
    await delivery.scheduler.tick()
    await delivery.senders["console"].drain()
    assert len(recorder.sent) == 1


async def test_transient_errors_back_off_then_fail_after_max_attempts(
    app, clock, delivery, recorder
):
    now = int(clock.now().timestamp())
    await app.store.outbox.enqueue(
        [NewMessage("t:1", "console", "u1", None, "notice", NOTICE, now)], now
    )
    recorder.fail_with = Transient("connection reset")
    sender = delivery.senders["console"]
    for _ in range(app.settings.delivery.max_attempts):
        await sender.drain()
        clock.advance(minutes=10)
    assert rows(app, "SELECT status, attempts FROM outbox") == [
        ("failed", app.settings.delivery.max_attempts)
    ]


async def test_rows_in_flight_at_a_crash_become_unknown_and_are_not_resent(
    app, clock, delivery, recorder
):
    now = int(clock.now().timestamp())
    await app.store.outbox.enqueue(
        [NewMessage(f"t:{i}", "console", f"u{i}", None, "notice", NOTICE, now) for i in range(3)],
        now,
    )
    await app.store.outbox.claim([1], now)  # claimed, then the process died
    await delivery.start()
    await delivery.senders["console"].drain()
    await delivery.stop()
    assert rows(app, "SELECT id, status FROM outbox ORDER BY id") == [
        (1, "unknown"),
        (2, "sent"),
        (3, "sent"),
    ]
    assert [who for who, _ in recorder.sent] == ["u1", "u2"]  # u0's row was in flight


async def test_the_console_prints_reminders_when_due(app, chat, clock):
    out = io.StringIO()
    console = ConsoleChannel(app, "u1", stdin=io.StringIO(""), stdout=out)
    service = Delivery(app, {"console": console})
    await chat.register()
    await set_reminder(chat, "08:10")
    await service.scheduler.tick()
    clock.advance(minutes=10)
    await service.scheduler.tick()
    await service.senders["console"].drain()
    assert "Đến giờ học bài" in out.getvalue() and "/baihoc — 📖 Đọc bài ngay" in out.getvalue()


async def test_reminder_times_in_quiet_hours_or_garbage_are_refused(app, chat):
    await chat.register()
    await chat.send("/nhacnho")
    await chat.send("23:00")
    assert "giờ nghỉ" in chat.text
    await chat.send("mấy giờ cũng được")
    assert "không phải là giờ" in chat.text
    assert rows(app, "SELECT count(*) FROM reminders") == [(0,)]
    await chat.press("19:00")
    assert rows(app, "SELECT minute FROM reminders") == [(1140,)]


# -- the sender against the fake Bot API ----------------------------------------------------


@pytest.fixture
async def telegram_app(env, clock):
    async with FakeTelegram() as fake:
        settings = load_settings(
            None,
            environ={
                **env,
                "BOT_TELEGRAM_TOKEN": fake.token,
                "BOT_TELEGRAM_BASE_URL": fake.base_url,
                "BOT_DELIVERY_RATE_PER_SECOND": "20",
                "BOT_DELIVERY_QUIET_HOURS": "",
            },
        )
        async with open_app(settings, clock=clock) as app:
            channel = TelegramChannel(app)
            await channel.application.initialize()
            try:
                yield fake, app, Delivery(app, {"telegram": channel})
            finally:
                await channel.application.shutdown()


async def enqueue_notices(app, chats: list[int], clock) -> None:
    now = int(clock.now().timestamp())
    await app.store.outbox.enqueue(
        [NewMessage(f"n:{c}", "telegram", str(c), None, "notice", NOTICE, now) for c in chats],
        now,
    )


async def test_sender_keeps_to_the_rate_in_every_second_at_the_server(telegram_app, clock):
    fake, app, delivery = telegram_app
    chats = list(range(7000, 7050))
    await enqueue_notices(app, chats, clock)
    started = asyncio.get_running_loop().time()
    await delivery.senders["telegram"].drain()
    elapsed = asyncio.get_running_loop().time() - started
    arrivals = [c.at for c in fake.calls_to("sendMessage")]
    assert len(arrivals) == 50 and {c.chat_id for c in fake.calls_to("sendMessage")} == set(chats)
    assert max_in_any_window(arrivals) <= 20
    assert elapsed < 50 / 20 * 1.25  # and close to the cap, not far below it
    assert rows(app, "SELECT status, count(*) FROM outbox GROUP BY status") == [("sent", 50)]


async def test_429_pauses_and_requeues_without_losing_the_message(telegram_app, clock):
    fake, app, delivery = telegram_app
    fake.fail(
        "sendMessage", status=429, description="Too Many Requests: retry after 1", retry_after=1
    )
    await enqueue_notices(app, [7001, 7002], clock)
    sender = delivery.senders["telegram"]
    await sender.drain()
    assert rows(app, "SELECT status FROM outbox ORDER BY id") in (
        [("pending",), ("sent",)],
        [("sent",), ("pending",)],
    )
    clock.advance(seconds=2)
    await sender.drain()
    assert rows(app, "SELECT status, attempts FROM outbox") == [("sent", 1), ("sent", 1)]
    delivered = [c.chat_id for c in fake.calls_to("sendMessage") if c.status == 200]
    assert sorted(delivered) == [7001, 7002]


async def test_403_marks_the_member_unreachable_and_drops_their_queue(telegram_app, clock):
    fake, app, delivery = telegram_app
    member = Chat(app, "7003", channel="telegram")
    await member.register()
    fake.block(7003)
    now = int(clock.now().timestamp())
    await app.store.outbox.enqueue(
        [
            NewMessage(f"n:{i}", "telegram", "7003", None, "notice", NOTICE, now + i)
            for i in range(3)
        ],
        now,
    )
    await delivery.senders["telegram"].drain()
    clock.advance(seconds=5)
    await delivery.senders["telegram"].drain()
    assert rows(app, "SELECT reachable FROM accounts") == [(0,)]
    assert rows(app, "SELECT status FROM outbox") == [("blocked",)] * 3
    assert len(fake.calls_to("sendMessage", chat_id=7003)) == 1


async def test_a_timeout_is_unknown_and_never_resent(telegram_app, clock):
    fake, app, delivery = telegram_app
    fake.delay("sendMessage", 7.0)  # longer than PTB's 5 s read timeout
    await enqueue_notices(app, [7004], clock)
    await delivery.senders["telegram"].drain()
    clock.advance(minutes=30)
    await delivery.senders["telegram"].drain()
    assert rows(app, "SELECT status FROM outbox") == [("unknown",)]
    assert len(fake.calls_to("sendMessage")) == 1


async def test_server_errors_are_retried_with_backoff(telegram_app, clock):
    fake, app, delivery = telegram_app
    fake.fail("sendMessage", status=502, description="Bad Gateway", times=2)
    await enqueue_notices(app, [7005], clock)
    sender = delivery.senders["telegram"]
    for _ in range(3):
        await sender.drain()
        clock.advance(minutes=1)
    assert rows(app, "SELECT status, attempts FROM outbox") == [("sent", 3)]
    assert [c.status for c in fake.calls_to("sendMessage")] == [502, 502, 200]


async def test_a_clock_jumping_back_and_forth_sends_nothing_twice(
    app, chat, clock, delivery, recorder
):
    await chat.register()
    await set_reminder(chat, "08:30")
    await delivery.scheduler.tick()
    clock.advance(minutes=31)
    await delivery.scheduler.tick()
    await delivery.senders["console"].drain()
    clock.advance(minutes=-31)  # the clock is set back half an hour
    await delivery.scheduler.tick()
    clock.advance(minutes=35)
    await delivery.scheduler.tick()
    await delivery.senders["console"].drain()
    assert len(recorder.sent) == 1


def make_sender(app, pusher, render) -> Sender:
    settings = dataclasses.replace(app.settings.delivery, rate_per_second=200, quiet_hours="")
    return Sender(
        channel="console",
        pusher=pusher,
        outbox=app.store.outbox,
        render=render,
        clock=app.services.clock,
        zone=app.services.zone,
        settings=settings,
    )


async def queue_notices(app, clock, count: int) -> None:
    now = int(clock.now().timestamp())
    await app.store.outbox.enqueue(
        [
            NewMessage(f"t:{i}", "console", f"u{i}", None, "notice", NOTICE, now)
            for i in range(count)
        ],
        now,
    )


async def test_an_error_while_preparing_a_batch_does_not_stop_the_sender(app, clock, recorder):
    failures = []

    async def render(rows):
        if not failures:
            failures.append(len(rows))
            raise sqlite3.OperationalError("database is locked")
        return await app.conversation.render_pushes(rows)

    await queue_notices(app, clock, 30)
    sender = make_sender(app, recorder, render)
    sender.start()
    try:
        await asyncio.wait_for(_until(lambda: len(recorder.sent) == 30), 10)
    finally:
        await sender.stop()
    assert failures and rows(app, "SELECT status, count(*) FROM outbox GROUP BY status") == [
        ("sent", 30)
    ]


async def test_a_clean_stop_puts_unsent_claimed_rows_back(app, clock):
    class Slow(Recorder):
        async def push(self, external_id, replies):
            await asyncio.sleep(0.02)
            await super().push(external_id, replies)

    slow = Slow()
    await queue_notices(app, clock, 200)
    sender = make_sender(app, slow, app.conversation.render_pushes)
    sender.start()
    await asyncio.sleep(0.3)
    await sender.stop()
    counts = dict(rows(app, "SELECT status, count(*) FROM outbox GROUP BY status"))
    assert "sending" not in counts and "unknown" not in counts
    assert counts["sent"] == len(slow.sent) and counts["pending"] == 200 - len(slow.sent)
    assert rows(app, "SELECT max(attempts) FROM outbox WHERE status = 'pending'") == [(0,)]


async def _until(predicate) -> None:
    while not predicate():  # noqa: ASYNC110 - polling a plain list filled by another task
        await asyncio.sleep(0.01)


async def test_a_grace_of_zero_still_sends_reminders_on_time(env, clock):
    settings = load_settings(None, environ={**env, "BOT_DELIVERY_MISSED_GRACE": "0"})
    async with open_app(settings, clock=clock) as app:
        chat = Chat(app)
        await chat.register()
        await set_reminder(chat, "08:02")
        recorder = Recorder()
        delivery = Delivery(app, {"console": recorder})
        await delivery.scheduler.tick()
        for _ in range(3):
            clock.advance(minutes=1)
            await delivery.scheduler.tick()
        await delivery.senders["console"].drain()
        assert len(recorder.sent) == 1
        assert rows(app, "SELECT count(*) FROM missed_reminders") == [(0,)]


async def test_a_reminder_held_past_its_day_is_dropped(app, chat, clock, delivery, recorder):
    await chat.register()
    await set_reminder(chat, "21:00")
    await delivery.scheduler.tick()
    clock.set(datetime(2026, 5, 10, 14, 0, tzinfo=UTC))  # 21:00
    await delivery.scheduler.tick()
    clock.set(datetime(2026, 5, 10, 14, 31, tzinfo=UTC))  # 21:31: quiet hours hold it
    await delivery.senders["console"].drain()
    clock.set(datetime(2026, 5, 10, 23, 31, tzinfo=UTC))  # 06:31 the next day
    await delivery.senders["console"].drain()
    assert recorder.sent == []  # "today's lesson" would be wrong now
    assert rows(app, "SELECT status FROM outbox") == [("cancelled",)]


def test_ptb_errors_map_to_what_the_sender_should_do():
    from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

    from bot.channels.telegram import _delivery_error
    from bot.delivery.errors import Blocked, MaybeDelivered, Rejected

    assert isinstance(_delivery_error(Forbidden("bot was blocked by the user")), Blocked)
    assert _delivery_error(RetryAfter(3)).seconds == 3
    assert isinstance(_delivery_error(BadRequest("chat not found")), Rejected)
    assert isinstance(_delivery_error(TimedOut()), MaybeDelivered)
    assert isinstance(_delivery_error(TimedOut("Pool timeout: not sent")), Transient)
    assert isinstance(_delivery_error(NetworkError("httpx.ConnectError: refused")), Transient)
    assert isinstance(_delivery_error(NetworkError("Bad Gateway")), Transient)
    assert isinstance(_delivery_error(NetworkError("httpx.ReadError: reset")), MaybeDelivered)


async def test_a_session_evicted_while_a_batch_loads_is_still_rendered(app, chat, monkeypatch):
    await chat.register()
    other = Chat(app, "u2")
    await other.register(name="Trần Văn Hai")
    load = app.store.load_sessions

    async def evicting_load(keys, **kwargs):
        app.conversation._cache.pop(("console", "u1"), None)  # LRU eviction meanwhile
        return await load(keys, **kwargs)

    app.conversation._cache.pop(("console", "u2"), None)
    monkeypatch.setattr(app.store, "load_sessions", evicting_load)
    rendered = await app.conversation.render_pushes(
        [
            OutboxRow(1, "console", "u1", None, "notice", NOTICE, 0),
            OutboxRow(2, "console", "u2", None, "notice", NOTICE, 0),
        ]
    )
    assert all(NOTICE["text"] in replies[0].text for replies in rendered.values())
