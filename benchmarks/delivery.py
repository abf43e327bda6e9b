"""Delivery at province scale: queueing a broadcast to 540,000 members, the achieved send rate
against a local Bot API stand-in at a cap of 25/s and of 1,000/s, and the sender's memory.

The stand-in runs in its own process (so it does not share the sender's CPU) and records the
arrival time of every sendMessage; rates and one-second windows are measured there, where
Telegram would count them.

Usage:  python benchmarks/delivery.py [--members 540000] [--seconds-25 10] [--seconds-1000 20]
The last output line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing
import os
import resource
import socket
import sqlite3
import tempfile
import time
from pathlib import Path

from bot.app import open_app
from bot.channels.telegram import TelegramChannel
from bot.config import load_settings
from bot.delivery.sender import Sender

TOKEN = "123456:DELIVERY-BENCH"
BOT = {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
CATEGORIES = ("dang_vien", "doan_vien", "hoi_vien", "cong_chuc", "quan_chung")


def serve_stand_in(port: int) -> None:
    """A minimal Bot API: getMe and sendMessage, recording each sendMessage's arrival."""
    from aiohttp import web

    arrivals: list[float] = []

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if name == "getMe":
            return web.json_response({"ok": True, "result": BOT})
        if name == "sendMessage":
            arrivals.append(time.monotonic())
            form = await request.post()
            chat = int(form["chat_id"])
            return web.json_response(
                {
                    "ok": True,
                    "result": {
                        "message_id": len(arrivals),
                        "date": int(time.time()),
                        "from": BOT,
                        "chat": {"id": chat, "type": "private", "first_name": "M"},
                        "text": form.get("text", ""),
                    },
                }
            )
        return web.json_response({"ok": True, "result": True})

    async def stats(request: web.Request) -> web.Response:
        since = float(request.query.get("since", "0"))
        return web.json_response([t for t in arrivals if t >= since])

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_route("*", "/bot{token}/{method}", method)
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fill_members(db: Path, members: int) -> None:
    """Members spread over the demo units, each with a Telegram account."""
    units = [code for (code,) in sqlite3.connect(db).execute("SELECT code FROM units")]
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO members (id, full_name, unit_code, category, locale, consent_at,"
            " created_at) VALUES (?, ?, ?, ?, 'vi', 0, 0)",
            (
                (i, f"Thành viên {i}", units[i % len(units)], CATEGORIES[i % 5])
                for i in range(1, members + 1)
            ),
        )
        conn.executemany(
            "INSERT INTO accounts (channel, external_id, member_id) VALUES ('telegram', ?, ?)",
            ((str(10_000_000 + i), i) for i in range(1, members + 1)),
        )


def windows_over(arrivals: list[float], cap: float) -> int:
    """How many one-second windows (one starting at each arrival) hold more than ``cap``."""
    over, j = 0, 0
    for i, moment in enumerate(arrivals):
        while j < len(arrivals) and arrivals[j] < moment + 1.0:
            j += 1
        if j - i > cap:
            over += 1
    return over


async def stats(port: int, since: float) -> list[float]:
    import aiohttp

    url = f"http://127.0.0.1:{port}/stats"
    async with aiohttp.ClientSession() as session, session.get(url, params={"since": since}) as r:
        return sorted(await r.json())


def rss_mb() -> float:
    """Current resident memory of this process in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def push_ceiling(channel: TelegramChannel, seconds: float, port: int) -> float:
    """Sends/s of the Telegram channel's own push path alone: no outbox, no limiter."""
    from bot.core.messages import Reply

    since = time.monotonic()
    stop = since + seconds

    async def worker(chat: int) -> None:
        while time.monotonic() < stop:
            await channel.push(str(chat), [Reply("Đo trần tốc độ gửi.")])

    await asyncio.gather(*(worker(20_000_000 + i) for i in range(4)))
    arrivals = await stats(port, since)
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])


async def send_for(
    app,
    overrides: dict,
    channel: TelegramChannel,
    rate: float,
    seconds: float,
    port: int,
    samples: list[float],
) -> dict:
    settings = dataclasses.replace(
        app.settings.delivery, rate_per_second=rate, quiet_hours="", **overrides
    )
    sender = Sender(
        channel="telegram",
        pusher=channel,
        outbox=app.store.outbox,
        render=app.conversation.render_pushes,
        clock=app.services.clock,
        zone=app.services.zone,
        settings=settings,
    )
    since = time.monotonic()
    sender.start()
    deadline = since + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        samples.append(rss_mb())
    await sender.stop()
    arrivals = await stats(port, since)
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0
    return {
        "sent": len(arrivals),
        "achieved": achieved,
        "ratio": achieved / rate,
        "windows_over_cap": windows_over(arrivals, rate),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=540_000)
    parser.add_argument("--seconds-25", type=float, default=10.0)
    parser.add_argument("--seconds-1000", type=float, default=20.0)
    parser.add_argument(
        "--max-in-flight", type=int, default=0, help="override delivery.max_in_flight (default 32)"
    )
    args = parser.parse_args()

    port = free_port()
    stand_in = multiprocessing.get_context("spawn").Process(
        target=serve_stand_in, args=(port,), daemon=True
    )
    stand_in.start()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            "BOT_DATABASE_PATH": str(Path(folder) / "bench.db"),
            "BOT_TELEGRAM_TOKEN": TOKEN,
            "BOT_TELEGRAM_BASE_URL": f"http://127.0.0.1:{port}/bot",
        }
        settings = load_settings(None, environ=env)
        async with open_app(settings):
            pass  # creates and migrates the database, stores the units
        started = time.perf_counter()
        fill_members(settings.database.path, args.members)
        fill_s = time.perf_counter() - started
        async with open_app(settings) as app:
            org = app.services.org
            root = org.children(None)[0].code
            started = time.perf_counter()
            _, queued = await app.store.outbox.create_broadcast(
                request_key="benchmark",
                unit_code=root,
                path=org.path(root),
                categories=[],
                text="Thông báo kiểm thử tốc độ gửi.",
                created_by=None,
                now=int(time.time()),
            )
            enqueue_s = time.perf_counter() - started
            channel = TelegramChannel(app)
            for _ in range(50):  # wait for the stand-in to listen
                try:
                    await channel.application.initialize()
                    break
                except Exception:
                    await asyncio.sleep(0.2)
            ceiling = await push_ceiling(channel, 5.0, port)
            rss_before = rss_mb()
            samples: list[float] = []
            overrides = {"max_in_flight": args.max_in_flight} if args.max_in_flight else {}
            slow = await send_for(app, overrides, channel, 25, args.seconds_25, port, samples)
            fast = await send_for(app, overrides, channel, 1000, args.seconds_1000, port, samples)
            await channel.application.shutdown()
    stand_in.terminate()

    peak = max(samples)
    print(f"members filled in {fill_s:.1f} s (setup, not measured against a goal)")
    print(f"enqueue broadcast to {queued:,} members: {enqueue_s:.2f} s   (goal ≤ 3 s)")
    print(
        f"ceiling: the channel's push path alone (PTB + aiohttp, 4 at a time, no outbox or "
        f"limiter) sends {ceiling:.0f}/s to the stand-in on this machine"
    )
    for cap, run in ((25, slow), (1000, fast)):
        print(
            f"cap {cap:>4}/s: sent {run['sent']:,}, achieved {run['achieved']:.1f}/s = "
            f"{run['ratio']:.1%} of the cap (goal ≥ 95%; {run['achieved'] / ceiling:.0%} of the "
            f"ceiling), one-second windows above the cap: {run['windows_over_cap']} (goal 0)"
        )
    print(
        f"sender RSS: {rss_before:.0f} MB before sending, peak {peak:.0f} MB while sending "
        f"{slow['sent'] + fast['sent']:,} rows from the {queued:,}-row queue   (goal ≤ 150 MB; "
        "memory does not grow with the queue: rows are read a batch at a time)"
    )
    print(
        json.dumps(
            {
                "enqueue_540k_s": round(enqueue_s, 2),
                "queued": queued,
                "rate_ratio_25": round(slow["ratio"], 3),
                "rate_ratio_1000": round(fast["ratio"], 3),
                "windows_over_cap": slow["windows_over_cap"] + fast["windows_over_cap"],
                "rss_mb": round(peak, 1),
                "push_ceiling_per_s": round(ceiling),
                "sent_25": slow["sent"],
                "sent_1000": fast["sent"],
            }
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    asyncio.run(main())
