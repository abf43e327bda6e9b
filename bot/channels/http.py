"""PTB's HTTP requests on aiohttp instead of httpx.

python-telegram-bot sends through a ``BaseRequest``; its default is httpx. In
``benchmarks/delivery.py`` httpx's connection pool cost more CPU per message than everything
else in the send path (it walks and polls every pooled connection on every request), which kept
paid broadcasts below 1,000 messages/s on two cores. aiohttp's client (C-accelerated HTTP parser,
a simple keep-alive pool) does the same job for less. PTB still builds the requests, parses the
answers and maps Bot API errors; this class only moves bytes and maps transport errors.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# Marks a NetworkError raised before anything was written to the connection.
NOT_SENT = "not sent"


class AiohttpRequest(BaseRequest):
    """A keep-alive pool of up to ``connections`` HTTP connections to the Bot API."""

    def __init__(
        self,
        connections: int = 64,
        *,
        read_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        pool_timeout: float = 5.0,
    ) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        """The default read timeout (PTB adds the long-poll time to it for getUpdates)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the connection pool (idempotent)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        """Close the pool (idempotent)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | DefaultValue | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | DefaultValue | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | DefaultValue | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | DefaultValue | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; transport failures become PTB's TimedOut or NetworkError."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else {}
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        # ``connect`` covers waiting for a pooled connection and connecting; ``sock_read`` is
        # the longest silence while waiting for the answer (PTB's read timeout).
        del write_timeout  # aiohttp has none; uploads here are documents of a few hundred KB
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if pool_timeout is None else pool_timeout + (connect_timeout or 0),
            sock_connect=connect_timeout,
            sock_read=read_timeout,
        )
        body: aiohttp.FormData | dict | None = fields or None
        if files:
            form = aiohttp.FormData()
            for name, value in fields.items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in _files(files):
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # No connection was made: the request cannot have reached Telegram.
            raise NetworkError(f"{NOT_SENT}: aiohttp.{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:  # sent, no answer in time: it may have arrived
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _files(files: dict) -> list[tuple[str, tuple[str, bytes, str]]]:
    """PTB's multipart parts as (field name, (file name, content, MIME type))."""
    parts = []
    for name, value in files.items():
        if isinstance(value, tuple):
            filename, content, *rest = value
            parts.append(
                (name, (filename, content, rest[0] if rest else "application/octet-stream"))
            )
        else:  # a plain value sent as a part
            parts.append((name, (name, value, "application/octet-stream")))
    return parts
