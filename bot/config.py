"""Settings: one frozen object built from config.yaml and BOT_* environment variables.

Every key of every section can be overridden by ``BOT_<SECTION>_<KEY>`` (top-level keys by
``BOT_<KEY>``). A wrong value raises ``ConfigError`` naming the key and what is allowed. Secrets
are wrapped in ``Secret`` so that they never print.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONTENT = PROJECT_ROOT / "content"
SHIPPED_QUIZZES = PROJECT_ROOT / "quizzes"
DEMO_UNITS = SHIPPED_CONTENT / "demo" / "units.yaml"
DEFAULT_CATEGORIES = ("dang_vien", "doan_vien", "hoi_vien", "cong_chuc", "quan_chung")


class ConfigError(ValueError):
    """A configuration value is missing, unknown or not allowed."""


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value, for the one place that needs it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__


def _choices(*allowed: str) -> dict:
    return {"choices": allowed}


@dataclass(frozen=True)
class TelegramSettings:
    token: Secret = Secret("")  # noqa: RUF009 - immutable
    mode: str = field(default="polling", metadata=_choices("polling", "webhook"))
    base_url: str = ""
    base_file_url: str = ""
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: Secret = Secret("")  # noqa: RUF009 - immutable
    bot_username: str = ""
    concurrent_updates: int = 64


@dataclass(frozen=True)
class ZaloSettings:
    token: Secret = Secret("")  # noqa: RUF009 - immutable
    # The Bot API host (older SDKs use https://bot-api.zapps.me); a fake server in tests.
    base_url: str = "https://bot-api.zaloplatforms.com"
    mode: str = field(default="polling", metadata=_choices("polling", "webhook"))
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8444
    webhook_secret: Secret = Secret("")  # noqa: RUF009 - immutable
    poll_timeout: int = 30
    # Outbound messages a month on the Zalo plan (the free plan: about 3,000); 0 = no limit.
    monthly_quota: int = 0
    # Zalo documents no per-second limit; stay gentle.
    rate_per_second: float = 5.0


@dataclass(frozen=True)
class DatabaseSettings:
    path: Path = Path("data/bot.db")
    busy_timeout_ms: int = 5000


@dataclass(frozen=True)
class ContentSettings:
    dir: Path = SHIPPED_CONTENT
    quizzes_dir: Path = SHIPPED_QUIZZES


@dataclass(frozen=True)
class OrganisationSettings:
    units_file: Path = DEMO_UNITS
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    # Key of the HMAC that roster phone numbers are stored as. Empty: a random key is created
    # once in phone.key next to the database (keep it with backups, apart from the database).
    phone_key: Secret = Secret("")  # noqa: RUF009 - immutable


@dataclass(frozen=True)
class DeliverySettings:
    # Telegram allows about 30 messages/s per bot; 25 stays clear of 429s.
    rate_per_second: float = 25.0
    per_chat_per_second: float = 1.0
    group_per_minute: int = 20
    # 0 = off. With Telegram's paid broadcasts (allow_paid_broadcast) up to 1,000 messages/s.
    paid_rate_per_second: float = 0.0
    # Local time range in which nothing is pushed ("" = no quiet hours); held until it ends.
    quiet_hours: str = "21:30-06:30"
    # A reminder missed while the bot was down is still sent this long after it was due.
    missed_grace: str = "6h"
    # Transient send errors are retried with exponential backoff up to this many attempts.
    max_attempts: int = 8
    # Sends waiting for Telegram's answer at once: at least rate × round-trip time (25/s with
    # up to 1 s per answer: 25–32; paid broadcasts at 1,000/s from far away: a few hundred).
    max_in_flight: int = 32


@dataclass(frozen=True)
class CommitmentSettings:
    # Until this day (d/m) of each year members may write and change their commitment; a unit
    # may set its own (commitment_deadline in the units file).
    deadline: str = "31/3"
    # Check-ins every N months (1 monthly, 3 quarterly, 0 none); a unit may set checkin_months.
    checkin_months: int = 1
    # The check-in reminder goes out on this day of the month at this local time.
    checkin_day: int = 25
    checkin_time: str = "19:00"


@dataclass(frozen=True)
class QuizSettings:
    # This many days before each date of content/calendar.yaml, the organizers of each top unit
    # are offered a ready contest for it (0 = no offers), at this local time.
    contest_offer_days: int = 10
    contest_offer_time: str = "08:00"
    # Questions in a ready contest's round (and the default for a new contest).
    questions_per_round: int = 10


@dataclass(frozen=True)
class ConsoleSettings:
    enabled: str = field(default="auto", metadata=_choices("auto", "true", "false"))
    user: str = "local"


@dataclass(frozen=True)
class Settings:
    timezone: str = "Asia/Ho_Chi_Minh"
    locale: str = field(default="vi", metadata=_choices("vi", "en"))
    admins: tuple[str, ...] = ()
    log_level: str = field(default="INFO", metadata=_choices("DEBUG", "INFO", "WARNING", "ERROR"))
    telegram: TelegramSettings = TelegramSettings()
    zalo: ZaloSettings = ZaloSettings()
    database: DatabaseSettings = DatabaseSettings()
    content: ContentSettings = ContentSettings()
    organisation: OrganisationSettings = OrganisationSettings()
    console: ConsoleSettings = ConsoleSettings()
    delivery: DeliverySettings = DeliverySettings()
    commitments: CommitmentSettings = CommitmentSettings()
    quizzes: QuizSettings = QuizSettings()
    source: str = field(default="", metadata={"internal": True})

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    def is_admin(self, channel: str, external_id: str) -> bool:
        """Whether this channel account is listed in ``admins``."""
        return f"{channel}:{external_id}" in self.admins

    def console_enabled(self) -> bool:
        """The console runs when asked to, or when no other channel is configured."""
        if self.console.enabled == "auto":
            return not self.telegram.token and not self.zalo.token
        return self.console.enabled == "true"


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build settings from an optional YAML file and the environment (BOT_CONFIG names a file)."""
    environ = os.environ if environ is None else environ
    path = path or environ.get("BOT_CONFIG") or None
    raw: dict = {}
    base_dir = Path.cwd()
    if path is not None:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {file}: {exc.strerror}") from None
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            # Only the position and the kind of problem: PyYAML's message quotes the line,
            # which may hold the token.
            mark = getattr(exc, "problem_mark", None)
            where = f"{file}:{mark.line + 1}" if mark else str(file)
            problem = getattr(exc, "problem", None) or "syntax error"
            raise ConfigError(f"{where}: not valid YAML: {problem}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{file}: the top level must be a mapping of sections")
        base_dir = file.resolve().parent
    settings = _build(Settings, raw, environ, prefix="", base_dir=base_dir)
    settings = dataclasses.replace(settings, source=str(path or ""))
    if path is None and "BOT_ADMINS" not in environ:
        # The demo without a configuration: whoever types at the console runs it, so they can
        # try the organizers' side too (reports, contests, notices).
        settings = dataclasses.replace(settings, admins=(f"console:{settings.console.user}",))
    _check_cross_field(settings)
    return settings


def _build(cls: type, raw: Mapping, environ: Mapping[str, str], *, prefix: str, base_dir: Path):
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: must be a mapping")
    known = {f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown key {prefix}{unknown[0]}; allowed: {', '.join(sorted(known))}")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        key = f"{prefix}{f.name}"
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            values[f.name] = _build(
                kind, raw.get(f.name) or {}, environ, prefix=f"{key}.", base_dir=base_dir
            )
            continue
        env_name = "BOT_" + key.replace(".", "_").upper()
        if env_name in environ:
            value, origin = environ[env_name], Path.cwd()
        elif f.name in raw and raw[f.name] is not None:
            value, origin = raw[f.name], base_dir
        else:
            continue
        values[f.name] = _coerce(key, env_name, value, kind, f.metadata, origin)
    return cls(**values)


def _coerce(key: str, env_name: str, value, kind, metadata: Mapping, origin: Path):
    where = f"{key} (or {env_name})"
    if kind is Secret:
        return Secret(str(value).strip())
    if kind is int:
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(f"{where}: expected a whole number, got {value!r}") from None
    if kind is float:
        try:
            return float(str(value).strip())
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if kind is Path:
        p = Path(str(value)).expanduser()
        return p if p.is_absolute() else origin / p
    if typing.get_origin(kind) is tuple or isinstance(kind, types.GenericAlias):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(_list_item(key, str(item).strip()) for item in items if str(item).strip())
    text = str(value).strip()
    if isinstance(value, bool):
        text = "true" if value else "false"
    allowed = metadata.get("choices")
    if allowed and text not in allowed:
        raise ConfigError(f"{where}: {text!r} is not allowed; use one of: {', '.join(allowed)}")
    return text


def _list_item(key: str, item: str) -> str:
    # A bare number in ``admins`` is a Telegram user id, as Telegram users know their id.
    if key == "admins" and ":" not in item:
        if not item.lstrip("-").isdigit():
            raise ConfigError(
                f"admins (or BOT_ADMINS): {item!r} is neither a Telegram user id nor channel:id"
            )
        return f"telegram:{item}"
    return item


def _check_webhook(section: str, platform: str, channel) -> None:
    """A channel in webhook mode needs a public https:// URL and a secret of 8–256 characters."""
    if channel.mode != "webhook" or not channel.token:
        return
    env = f"BOT_{section.upper()}_WEBHOOK"
    if not channel.webhook_url.startswith("https://"):
        raise ConfigError(
            f"{section}.webhook_url (or {env}_URL): webhook mode needs the public https:// URL "
            f"{platform} will post to"
        )
    if not 8 <= len(channel.webhook_secret.reveal()) <= 256:
        raise ConfigError(
            f"{section}.webhook_secret (or {env}_SECRET): webhook mode needs a secret of "
            "8–256 characters (A-Z, a-z, 0-9, _ and -)"
        )


def _check_cross_field(s: Settings) -> None:
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a directory of zones
        raise ConfigError(
            f"timezone (or BOT_TIMEZONE): unknown time zone {s.timezone!r}; "
            "use an IANA name such as Asia/Ho_Chi_Minh"
        ) from None
    tg, z = s.telegram, s.zalo
    _check_webhook("telegram", "Telegram", tg)
    if not 1 <= tg.concurrent_updates <= 1024:
        raise ConfigError("telegram.concurrent_updates: use a number from 1 to 1024")
    _check_webhook("zalo", "Zalo", z)
    if z.monthly_quota < 0 or z.rate_per_second <= 0 or not 1 <= z.poll_timeout <= 60:
        raise ConfigError(
            "zalo: monthly_quota 0 (no limit) or more, rate_per_second above 0, poll_timeout "
            "1 to 60 seconds"
        )
    d = s.delivery
    if d.rate_per_second <= 0 or d.per_chat_per_second <= 0 or d.group_per_minute <= 0:
        raise ConfigError("delivery: rates must be greater than 0")
    if d.paid_rate_per_second < 0 or d.max_attempts < 1 or d.max_in_flight < 1:
        raise ConfigError(
            "delivery.paid_rate_per_second must be 0 (off) or more; max_attempts and "
            "max_in_flight at least 1"
        )
    try:
        parse_quiet_hours(d.quiet_hours)
    except ValueError:
        raise ConfigError(
            f"delivery.quiet_hours (or BOT_DELIVERY_QUIET_HOURS): {d.quiet_hours!r} is not a "
            "range like 21:30-06:30 (empty for none)"
        ) from None
    try:
        parse_duration(d.missed_grace)
    except ValueError:
        raise ConfigError(
            f"delivery.missed_grace (or BOT_DELIVERY_MISSED_GRACE): {d.missed_grace!r} is not "
            "a duration like 6h, 90m or 0"
        ) from None
    c = s.commitments
    if parse_day_month(c.deadline) is None:
        raise ConfigError(
            f"commitments.deadline (or BOT_COMMITMENTS_DEADLINE): {c.deadline!r} is not a day "
            "of the year like 31/3"
        )
    if c.checkin_months not in CHECKIN_MONTHS:
        raise ConfigError(
            "commitments.checkin_months (or BOT_COMMITMENTS_CHECKIN_MONTHS): use one of "
            + ", ".join(map(str, CHECKIN_MONTHS))
        )
    if not 1 <= c.checkin_day <= 28:
        raise ConfigError("commitments.checkin_day: use a day from 1 to 28 (every month has it)")
    try:
        time.fromisoformat(c.checkin_time.zfill(5))
    except ValueError:
        raise ConfigError(
            f"commitments.checkin_time: {c.checkin_time!r} is not a time like 19:00"
        ) from None
    q = s.quizzes
    if not 0 <= q.contest_offer_days <= 60 or not 1 <= q.questions_per_round <= 50:
        raise ConfigError(
            "quizzes.contest_offer_days must be 0 (no offers) to 60; questions_per_round 1 to 50"
        )
    try:
        time.fromisoformat(q.contest_offer_time.zfill(5))
    except ValueError:
        raise ConfigError(
            f"quizzes.contest_offer_time: {q.contest_offer_time!r} is not a time like 08:00"
        ) from None
    if not s.organisation.categories:
        raise ConfigError("organisation.categories: list at least one member category")


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """'21:30-06:30' -> (21:30, 06:30); '' -> None (no quiet hours)."""
    if not text.strip():
        return None
    start, end = (part.strip() for part in text.split("-"))
    begin, finish = time.fromisoformat(start.zfill(5)), time.fromisoformat(end.zfill(5))
    if begin == finish:
        raise ValueError("empty range")
    return begin, finish


def parse_duration(text: str) -> timedelta:
    """'6h', '90m', '45s', '0' -> a timedelta."""
    text = text.strip().lower()
    if text == "0":
        return timedelta(0)
    units = {"h": "hours", "m": "minutes", "s": "seconds", "d": "days"}
    if len(text) < 2 or text[-1] not in units:
        raise ValueError(text)
    duration = timedelta(**{units[text[-1]]: float(text[:-1])})
    if duration < timedelta(0):
        raise ValueError(text)
    return duration


# Every N months that divides the year into equal periods; 0 turns check-ins off.
CHECKIN_MONTHS = (0, 1, 2, 3, 4, 6, 12)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def parse_day_month(text: str) -> tuple[int, int] | None:
    """'19/5' -> (19, 5); None when it is not a real day of the year."""
    parts = str(text).strip().split("/")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    day, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return None
    return day, month
