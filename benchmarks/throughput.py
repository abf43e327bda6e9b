"""Updates per second through the full Telegram stack, beside a bare PTB echo bot.

Both bots run PTB's ``Application.process_update`` against the same no-network request stub and
the same harness: simulated members each play a realistic script (registration steps, a lesson,
the next lesson, the profile), pressing the buttons the bot really sent. The full stack includes
the conversation core, SQLite writes (group-committed) and reply rendering.

Usage:  python benchmarks/throughput.py [--members 400] [--paced-seconds 5]
The last output line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import Update
from telegram.ext import Application, MessageHandler, filters
from telegram.request import BaseRequest, RequestData

from bot.app import open_app
from bot.channels.telegram import TelegramChannel
from bot.config import load_settings

TOKEN = "123456:BENCHMARK"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
SCRIPT = [
    ("text", "/start"),
    ("button", "đồng ý"),
    ("text", "Nguyễn Văn An"),
    ("text", "HA-DONG"),
    ("button", "Đảng viên"),
    ("button", "hoàn tất"),
    ("text", "/baihoc"),
    ("button", "Bài tiếp"),
    ("text", "/hoso"),
]


class StubRequest(BaseRequest):
    """Answers Bot API calls locally and remembers the last keyboard sent to each chat."""

    def __init__(self) -> None:
        self.keyboards: dict[int, tuple[int, list]] = {}
        self.message_ids: dict[int, int] = {}
        self.calls = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **timeouts: object
    ) -> tuple[int, bytes]:
        self.calls += 1
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        if name == "getMe":
            result: object = BOT_USER
        elif name in ("sendMessage", "editMessageText"):
            result = self._message(params)
        else:
            result = True
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _message(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        if "message_id" in params:
            message_id = int(params["message_id"])
        else:
            message_id = self.message_ids.get(chat_id, 0) + 1
            self.message_ids[chat_id] = message_id
        markup = params.get("reply_markup")
        if markup:
            self.keyboards[chat_id] = (message_id, markup["inline_keyboard"])
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "M"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        if markup:
            message["reply_markup"] = markup
        return message


class Updates:
    """Builds Telegram updates the way the Bot API would send them."""

    def __init__(self, stub: StubRequest) -> None:
        self._stub = stub
        self._next_id = 0

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def text(self, user: int, text: str) -> dict:
        message = {
            "message_id": self._id(),
            "date": int(time.time()),
            "chat": {"id": user, "type": "private", "first_name": "M"},
            "from": {"id": user, "is_bot": False, "first_name": "M"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return {"update_id": self._id(), "message": message}

    def button(self, user: int, label: str) -> dict:
        message_id, rows = self._stub.keyboards[user]
        data = next(b["callback_data"] for row in rows for b in row if label in b["text"])
        return {
            "update_id": self._id(),
            "callback_query": {
                "id": str(self._id()),
                "from": {"id": user, "is_bot": False, "first_name": "M"},
                "chat_instance": str(user),
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": {"id": user, "type": "private", "first_name": "M"},
                    "from": BOT_USER,
                    "text": "…",
                },
            },
        }


Step = Callable[[int, int], Awaitable[None]]


async def closed_loop(step: Step, members: int, steps: int) -> tuple[float, float, int]:
    """Every member runs its script as fast as replies come back; returns (seconds, CPU
    seconds of the whole process, its worker threads included, updates)."""
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(_play(step, 10_000 + m, steps) for m in range(members)))
    return time.perf_counter() - started, time.process_time() - cpu, members * steps


def stolen_ticks() -> int:
    """The machine's CPU time taken by its hypervisor for other guests ("steal"), in ticks;
    0 where /proc/stat does not tell."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
        return int(fields[8])
    except (OSError, IndexError, ValueError):
        return 0


async def _play(step: Step, user: int, steps: int) -> None:
    for index in range(steps):
        await step(user, index)


async def paced(
    step: Step, rate: float, seconds: float, steps: int, first_user: int
) -> list[float]:
    """Inject updates at a fixed rate from a pool of members; return each update's latency (s).

    The pool is just large enough for every member to play the whole script in the time, so
    the paced load has the same mix as the closed-loop one.
    """
    ready: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    total = int(rate * seconds)
    members = max(50, total // steps + 1)
    for m in range(members):
        ready.put_nowait((first_user + m, 0))
    latencies: list[float] = []
    tasks: set[asyncio.Task] = set()

    async def one(user: int, index: int, due: float) -> None:
        await step(user, index)
        latencies.append(time.perf_counter() - due)
        if index + 1 < steps:
            ready.put_nowait((user, index + 1))

    start = time.perf_counter()
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        user, index = await ready.get()
        task = asyncio.create_task(one(user, index, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure_echo(members: int) -> tuple[float, float]:
    """(updates per second, CPU microseconds per update) of the bare echo bot."""
    stub = StubRequest()
    application = Application.builder().token(TOKEN).request(stub).updater(None).build()

    async def echo(update: Update, context: object) -> None:
        await update.message.reply_text(update.message.text)

    application.add_handler(MessageHandler(filters.TEXT, echo))
    updates = Updates(stub)
    await application.initialize()

    async def step(user: int, index: int) -> None:
        data = updates.text(user, SCRIPT[index % len(SCRIPT)][1].lstrip("/") or "x")
        await application.process_update(Update.de_json(data, application.bot))

    seconds, cpu, count = await closed_loop(step, members, len(SCRIPT))
    await application.shutdown()
    return count / seconds, cpu / count * 1e6


async def measure_full(members: int, paced_seconds: float = 0.0) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            None,
            environ={
                "BOT_DATABASE_PATH": str(Path(folder) / "bench.db"),
                "BOT_TELEGRAM_TOKEN": TOKEN,
            },
        )
        async with open_app(settings) as app:
            stub = StubRequest()
            channel = TelegramChannel(app, request=stub)
            application = channel.application
            await application.initialize()
            updates = Updates(stub)

            async def step(user: int, index: int) -> None:
                kind, value = SCRIPT[index]
                data = updates.text(user, value) if kind == "text" else updates.button(user, value)
                await application.process_update(Update.de_json(data, application.bot))

            seconds, cpu, count = await closed_loop(step, members, len(SCRIPT))
            transactions = app.store.transactions
            latencies = [0.0]
            if paced_seconds:
                latencies = await paced(step, 1000, paced_seconds, len(SCRIPT), 1_000_000)
            await application.shutdown()
            return {
                "updates": count,
                "seconds": seconds,
                "updates_per_s": count / seconds,
                "cpu_us_per_update": cpu / count * 1e6,
                "transactions": transactions,
                "p50_ms_at_1000": percentile(latencies, 0.50) * 1000,
                "p99_ms_at_1000": percentile(latencies, 0.99) * 1000,
                "paced_updates": len(latencies),
            }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000, help="members playing at once")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each bot")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    args = parser.parse_args()

    # The two bots alternate so that both see the same machine; each figure is the median.
    ceilings, fulls, echo_cpus, full_cpus = [], [], [], []
    ticks, wall = stolen_ticks(), time.perf_counter()
    for _ in range(args.rounds):
        rate, cpu = await measure_echo(args.members)
        ceilings.append(rate)
        echo_cpus.append(cpu)
        run = await measure_full(args.members)
        fulls.append(run["updates_per_s"])
        full_cpus.append(run["cpu_us_per_update"])
    stolen = (stolen_ticks() - ticks) / os.sysconf("SC_CLK_TCK")
    stolen_share = stolen / ((time.perf_counter() - wall) * (os.cpu_count() or 1))
    ceiling, throughput = statistics.median(ceilings), statistics.median(fulls)
    echo_cpu, full_cpu = statistics.median(echo_cpus), statistics.median(full_cpus)
    paced_run = await measure_full(50, args.paced_seconds)
    ratio = throughput / ceiling
    updates = args.members * len(SCRIPT)
    print(
        f"bare PTB echo bot (ceiling): {ceiling:7.0f} updates/s  "
        f"(runs: {', '.join(f'{c:.0f}' for c in ceilings)})"
    )
    print(
        f"full stack:                  {throughput:7.0f} updates/s  "
        f"(runs: {', '.join(f'{f:.0f}' for f in fulls)}; {updates} updates by "
        f"{args.members} members per run)"
    )
    print(f"ratio:                       {ratio:7.1%}   (goal ≥ 60%)")
    print(
        f"CPU per update:              {full_cpu:7.0f} µs against the echo's {echo_cpu:.0f} µs: "
        f"ratio {echo_cpu / full_cpu:.1%} (not affected by time other guests take, "
        f"{stolen_share:.0%} of the machine during these rounds)"
    )
    print(
        f"paced at 1000 updates/s:     p50 {paced_run['p50_ms_at_1000']:.2f} ms, "
        f"p99 {paced_run['p99_ms_at_1000']:.2f} ms over {paced_run['paced_updates']} updates "
        "(goal p99 < 20 ms)"
    )
    print(
        json.dumps(
            {
                "updates_per_s": round(throughput),
                "ceiling_updates_per_s": round(ceiling),
                "ratio": round(ratio, 3),
                "cpu_us_per_update": round(full_cpu),
                "ceiling_cpu_us_per_update": round(echo_cpu),
                "cpu_ratio": round(echo_cpu / full_cpu, 3),
                "stolen_share": round(stolen_share, 3),
                "p99_ms_at_1000": round(paced_run["p99_ms_at_1000"], 2),
                "p50_ms_at_1000": round(paced_run["p50_ms_at_1000"], 2),
                "members": args.members,
                "updates_per_run": updates,
                "rounds": args.rounds,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
