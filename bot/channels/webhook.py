"""A small HTTP endpoint for platform webhooks (Telegram now, Zalo later) on tornado.

PTB's built-in webhook server compares the secret with ``!=`` and logs a wrong one; this one
compares in constant time, logs nothing secret and hands the parsed JSON to the channel.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

log = logging.getLogger(__name__)

Receiver = Callable[[dict], Awaitable[None]]
MAX_BODY_BYTES = 1_000_000


class _Endpoint(RequestHandler):
    def initialize(self, header: str, secret: str, receive: Receiver) -> None:
        self._header, self._secret, self._receive = header, secret, receive

    async def post(self) -> None:
        given = self.request.headers.get(self._header, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning(
                "webhook call with a missing or wrong secret from %s", self.request.remote_ip
            )
            self.set_status(403)
            return
        try:
            payload = json.loads(self.request.body)
        except ValueError:
            self.set_status(400)
            return
        if not isinstance(payload, dict):
            self.set_status(400)
            return
        await self._receive(payload)
        self.set_status(200)

    def check_xsrf_cookie(self) -> None:  # webhooks carry no cookies
        return


class WebhookServer:
    """Serves one POST endpoint per platform on a single port."""

    def __init__(self, listen: str, port: int) -> None:
        self._listen, self._port = listen, port
        self._routes: list = []
        self._server: HTTPServer | None = None

    def add(self, path: str, *, header: str, secret: str, receive: Receiver) -> None:
        """Accept POSTs at ``path`` whose ``header`` equals ``secret``."""
        self._routes.append(
            (path, _Endpoint, {"header": header, "secret": secret, "receive": receive})
        )

    async def start(self) -> None:
        """Start listening."""
        self._server = HTTPServer(Application(self._routes), max_body_size=MAX_BODY_BYTES)
        self._server.listen(self._port, self._listen)
        log.info("webhook endpoint listening on %s:%d", self._listen, self._port)

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
