"""Logging that never shows tokens: httpx's URL logs are silenced and secrets are masked."""

from __future__ import annotations

import logging

from .config import Settings


class RedactSecrets(logging.Filter):
    """Replaces every configured secret in a log record's final text with asterisks."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg, record.args = self._redact(record.getMessage()), None
            if record.exc_info:  # tracebacks quote exception messages, which may hold a token
                record.exc_text = self._redact(
                    logging.Formatter().formatException(record.exc_info)
                )
                record.exc_info = None
        return True

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "**********")
        return text


def setup_logging(settings: Settings) -> None:
    """Configure the root logger; library loggers that would print tokens or texts stay quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(
        RedactSecrets(
            [
                settings.telegram.token.reveal(),
                settings.telegram.webhook_secret.reveal(),
                settings.organisation.phone_key.reveal(),
                settings.zalo.token.reveal(),
                settings.zalo.webhook_secret.reveal(),
            ]
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # DEBUG is for the bot's own loggers only: the debug logs of PTB and aiosqlite print every
    # update, API call and SQL parameter, i.e. what members typed.
    level = logging.getLevelName(settings.log_level)
    root.setLevel(max(logging.INFO, level))
    logging.getLogger("bot").setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
