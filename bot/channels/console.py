"""The console chat: one line in, replies out, choices as numbered lines. Works over pipes."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import TextIO

from ..core.messages import Document, Incoming, Reply

CHANNEL = "console"


def render(reply: Reply) -> str:
    """A reply as text: choices as ``[n] label``, command buttons as ``/cmd — label``."""
    lines = [reply.text]
    for number, choice in enumerate(reply.choices, 1):
        if choice.key.startswith("/"):
            lines.append(f"{choice.key} — {choice.label}")
        else:
            lines.append(f"[{number}] {choice.label}")
    return "\n".join(lines)


class ConsoleChannel:
    """Reads stdin until end of input; each reply is flushed at once for programs on the pipe."""

    def __init__(
        self,
        app,
        user_id: str,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self._conversation = app.conversation
        self._exports = app.settings.database.path.parent / "exports"
        self._texts = app.services.texts
        self._locale = app.settings.locale
        self._user_id = user_id
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout

    def _write(self, text: str) -> None:
        self._stdout.write(text + "\n\n")
        self._stdout.flush()

    def _read_lines(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
        # A daemon thread, so that a blocked read never keeps the process alive on shutdown.
        try:
            for line in iter(self._stdin.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:  # the loop closed while we waited for input
            return

    async def push(self, external_id: str, replies: list[Reply]) -> None:
        """Print a message the bot pushes (a reminder, a report) as it falls due."""
        for reply in replies:
            self._show(reply)

    def _show(self, reply: Reply) -> None:
        self._write(render(reply))
        if reply.document is not None:
            self._write(f"📄 {self._save(reply.document)}")

    async def run(self) -> None:
        """Converse until end of input."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._read_lines, args=(loop, queue), daemon=True).start()
        self._write(self._texts.get(self._locale, "console.banner"))
        while True:
            line = await queue.get()
            if line is None:
                return
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            replies = await self._conversation.handle(
                Incoming(channel=CHANNEL, user_id=self._user_id, text=line)
            )
            for reply in replies:
                self._show(reply)

    def _save(self, document: Document) -> Path:
        # A terminal cannot show a file: it goes next to the database, and the path is printed.
        self._exports.mkdir(parents=True, exist_ok=True)
        owner = "".join(ch for ch in self._user_id if ch.isalnum()) or "local"
        path = self._exports / f"{owner}-{document.filename}"
        path.write_bytes(document.content)
        return path
