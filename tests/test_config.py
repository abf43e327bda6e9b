"""Settings from config.yaml and BOT_* environment variables (bot/config.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import SHIPPED_CONTENT, ConfigError, Secret, Settings, load_settings

TOKEN = "987654321:AAH-distinctive-Zq9xTOKEN-value"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def shows_token(text: str) -> bool:
    """Whether any 10 consecutive characters of the token appear in ``text``."""
    return any(TOKEN[i : i + 10] in text for i in range(len(TOKEN) - 9))


def config_error(path: Path | None = None, environ: dict[str, str] | None = None) -> str:
    """The message of the ConfigError that loading raises."""
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ or {})
    return str(caught.value)


# -- defaults ----------------------------------------------------------------------------


def test_defaults_without_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={})

    assert settings.console_enabled()
    assert settings.admins == ("console:local",)  # the console's own user runs the demo
    assert settings.is_admin("console", "local")
    assert settings.database.path.resolve() == tmp_path / "data" / "bot.db"
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.zone.key == "Asia/Ho_Chi_Minh"
    assert settings.locale == "vi"
    assert settings.telegram.mode == "polling"
    assert not settings.telegram.token
    assert settings.content.dir == SHIPPED_CONTENT
    assert settings.source == ""


def test_demo_admin_is_not_added_when_a_file_is_given(tmp_path):
    settings = load_settings(write(tmp_path / "config.yaml", "locale: en\n"), environ={})
    assert settings.admins == ()


def test_empty_bot_admins_switches_the_demo_admin_off():
    assert load_settings(None, environ={"BOT_ADMINS": ""}).admins == ()


def test_console_is_off_in_auto_mode_once_a_telegram_token_is_set():
    settings = load_settings(None, environ={"BOT_TELEGRAM_TOKEN": TOKEN})
    assert not settings.console_enabled()
    forced = load_settings(
        None, environ={"BOT_TELEGRAM_TOKEN": TOKEN, "BOT_CONSOLE_ENABLED": "true"}
    )
    assert forced.console_enabled()


# -- the YAML file -----------------------------------------------------------------------

FULL_CONFIG = f"""\
timezone: Asia/Bangkok
locale: en
admins: [111, "console:boss"]
log_level: DEBUG
telegram:
  token: "{TOKEN}"
  mode: webhook
  base_url: http://127.0.0.1:8081/bot
  webhook_url: https://bot.example.org/tg
  webhook_port: 9000
  webhook_secret: s3cret-enough
  bot_username: hcm_study_bot
database:
  path: db/main.db
  busy_timeout_ms: 2500
content:
  dir: my-content
organisation:
  units_file: units.csv
  categories: [dang_vien, doan_vien]
console:
  enabled: false
  user: tester
"""


def test_every_section_is_read_from_the_yaml_file(tmp_path):
    config = write(tmp_path / "config.yaml", FULL_CONFIG)
    settings = load_settings(config, environ={})

    assert settings.timezone == "Asia/Bangkok"
    assert settings.locale == "en"
    assert settings.admins == ("telegram:111", "console:boss")
    assert settings.log_level == "DEBUG"
    assert settings.telegram.token.reveal() == TOKEN
    assert settings.telegram.mode == "webhook"
    assert settings.telegram.base_url == "http://127.0.0.1:8081/bot"
    assert settings.telegram.webhook_url == "https://bot.example.org/tg"
    assert settings.telegram.webhook_port == 9000
    assert settings.telegram.webhook_secret.reveal() == "s3cret-enough"
    assert settings.telegram.bot_username == "hcm_study_bot"
    assert settings.database.busy_timeout_ms == 2500
    assert settings.organisation.categories == ("dang_vien", "doan_vien")
    assert settings.console.enabled == "false"
    assert not settings.console_enabled()
    assert settings.console.user == "tester"
    assert settings.source == str(config)


def test_relative_paths_in_the_file_resolve_against_the_files_folder(tmp_path, monkeypatch):
    folder = tmp_path / "etc"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    settings = load_settings(write(folder / "config.yaml", FULL_CONFIG), environ={})

    assert settings.database.path == folder / "db" / "main.db"
    assert settings.content.dir == folder / "my-content"
    assert settings.organisation.units_file == folder / "units.csv"


def test_absolute_paths_in_the_file_are_kept(tmp_path):
    target = tmp_path / "elsewhere" / "bot.db"
    config = write(tmp_path / "config.yaml", f"database:\n  path: {target}\n")
    assert load_settings(config, environ={}).database.path == target


def test_bot_config_names_the_file(tmp_path):
    config = write(tmp_path / "config.yaml", "locale: en\n")
    settings = load_settings(None, environ={"BOT_CONFIG": str(config)})
    assert settings.locale == "en"
    assert settings.source == str(config)


def test_empty_file_gives_the_defaults(tmp_path):
    settings = load_settings(write(tmp_path / "config.yaml", ""), environ={})
    assert settings.locale == "vi"
    assert settings.telegram.mode == "polling"


# -- environment overrides ---------------------------------------------------------------


def test_environment_overrides_section_keys_over_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path / "config.yaml", FULL_CONFIG)
    environ = {
        "BOT_TELEGRAM_TOKEN": "  111:from-env  ",
        "BOT_TELEGRAM_BASE_URL": "http://fake:9999/bot",
        "BOT_TELEGRAM_MODE": "polling",
        "BOT_TELEGRAM_WEBHOOK_PORT": "8444",
        "BOT_DATABASE_PATH": "env/bot.db",
        "BOT_ORGANISATION_CATEGORIES": "cong_chuc, quan_chung",
        "BOT_CONSOLE_USER": "envuser",
    }
    settings = load_settings(config, environ=environ)

    assert settings.telegram.token.reveal() == "111:from-env"
    assert settings.telegram.base_url == "http://fake:9999/bot"
    assert settings.telegram.mode == "polling"
    assert settings.telegram.webhook_port == 8444
    assert settings.organisation.categories == ("cong_chuc", "quan_chung")
    assert settings.console.user == "envuser"
    # A relative path from the environment is relative to the working directory.
    assert settings.database.path == tmp_path / "env" / "bot.db"
    # Keys not overridden still come from the file.
    assert settings.telegram.bot_username == "hcm_study_bot"


def test_environment_overrides_top_level_keys(tmp_path):
    config = write(tmp_path / "config.yaml", FULL_CONFIG)
    environ = {"BOT_TIMEZONE": "Asia/Tokyo", "BOT_LOCALE": "vi", "BOT_LOG_LEVEL": "WARNING"}
    settings = load_settings(config, environ=environ)
    assert (settings.timezone, settings.locale, settings.log_level) == (
        "Asia/Tokyo",
        "vi",
        "WARNING",
    )


def test_bot_admins_numbers_are_telegram_ids_and_channel_ids_are_kept():
    settings = load_settings(None, environ={"BOT_ADMINS": "111, 222,console:admin,"})
    assert settings.admins == ("telegram:111", "telegram:222", "console:admin")
    assert settings.is_admin("telegram", "222")
    assert not settings.is_admin("console", "111")


# -- wrong values ------------------------------------------------------------------------


def test_unknown_mode_names_the_key_and_the_choices():
    message = config_error(environ={"BOT_TELEGRAM_MODE": "push"})
    assert "telegram.mode" in message and "BOT_TELEGRAM_MODE" in message
    assert "'push'" in message and "polling, webhook" in message


def test_unknown_locale_names_the_choices(tmp_path):
    message = config_error(write(tmp_path / "c.yaml", "locale: fr\n"))
    assert "locale" in message and "'fr'" in message and "vi, en" in message


def test_port_that_is_not_a_number():
    message = config_error(environ={"BOT_TELEGRAM_WEBHOOK_PORT": "abc"})
    assert "telegram.webhook_port" in message
    assert "whole number" in message and "'abc'" in message


def test_unknown_key_is_named_with_the_allowed_keys(tmp_path):
    message = config_error(write(tmp_path / "c.yaml", f"telegram:\n  tokn: {TOKEN}\n"))
    assert "unknown key telegram.tokn" in message
    assert "token" in message and "webhook_url" in message


def test_unknown_section_is_named(tmp_path):
    message = config_error(write(tmp_path / "c.yaml", "whatsapp:\n  token: x\n"))
    assert "unknown key whatsapp" in message and "telegram" in message and "zalo" in message


def test_section_that_is_not_a_mapping(tmp_path):
    message = config_error(write(tmp_path / "c.yaml", "database: data/bot.db\n"))
    assert "database: must be a mapping" in message


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Asia", "Asia/Ho_Chi_Minh/"])
def test_unknown_timezone(zone):
    message = config_error(environ={"BOT_TIMEZONE": zone})
    assert "timezone" in message and repr(zone) in message and "IANA" in message


def test_webhook_mode_needs_an_https_url():
    environ = {
        "BOT_TELEGRAM_TOKEN": TOKEN,
        "BOT_TELEGRAM_MODE": "webhook",
        "BOT_TELEGRAM_WEBHOOK_URL": "http://bot.example.org/tg",
        "BOT_TELEGRAM_WEBHOOK_SECRET": "long-enough-secret",
    }
    message = config_error(environ=environ)
    assert "telegram.webhook_url" in message and "https://" in message


def test_webhook_mode_needs_a_secret_of_at_least_8_characters():
    environ = {
        "BOT_TELEGRAM_TOKEN": TOKEN,
        "BOT_TELEGRAM_MODE": "webhook",
        "BOT_TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg",
        "BOT_TELEGRAM_WEBHOOK_SECRET": "1234567",
    }
    message = config_error(environ=environ)
    assert "telegram.webhook_secret" in message and "8–256" in message
    assert "1234567" not in message

    environ["BOT_TELEGRAM_WEBHOOK_SECRET"] = "12345678"
    assert load_settings(None, environ=environ).telegram.webhook_secret.reveal() == "12345678"


def test_admins_entry_that_is_neither_an_id_nor_channel_id():
    message = config_error(environ={"BOT_ADMINS": "111,bob"})
    assert "admins" in message and "'bob'" in message and "channel:id" in message


def test_admins_as_a_mapping_is_not_a_list(tmp_path):
    message = config_error(write(tmp_path / "c.yaml", "admins: {telegram: 111}\n"))
    assert "admins" in message and "expected a list" in message


def test_concurrent_updates_out_of_range():
    message = config_error(environ={"BOT_TELEGRAM_CONCURRENT_UPDATES": "0"})
    assert "telegram.concurrent_updates" in message and "1 to 1024" in message


def test_malformed_yaml_names_the_file(tmp_path):
    config = write(tmp_path / "c.yaml", "telegram:\n  mode: [polling\n")
    message = config_error(config)
    assert str(config) in message and "not valid YAML" in message


def test_top_level_list_is_refused(tmp_path):
    config = write(tmp_path / "c.yaml", "- telegram\n- database\n")
    message = config_error(config)
    assert str(config) in message and "top level must be a mapping" in message


def test_missing_config_file_is_a_config_error(tmp_path):
    message = config_error(tmp_path / "absent.yaml")
    assert "cannot read config file" in message and "absent.yaml" in message


# -- the token never shows ---------------------------------------------------------------


def test_secret_hides_its_value():
    secret = Secret(TOKEN)
    assert not shows_token(repr(secret) + str(secret) + f"{secret}")
    assert secret.reveal() == TOKEN and shows_token(secret.reveal())
    assert secret == Secret(TOKEN) and secret != Secret("other")
    assert not Secret("")


def test_token_is_not_in_repr_or_str_of_settings(tmp_path):
    from_file = load_settings(write(tmp_path / "config.yaml", FULL_CONFIG), environ={})
    from_env = load_settings(None, environ={"BOT_TELEGRAM_TOKEN": TOKEN})
    for settings in (from_file, from_env):
        assert isinstance(settings, Settings)
        assert settings.telegram.token.reveal() == TOKEN
        assert not shows_token(repr(settings))
        assert not shows_token(str(settings))


@pytest.mark.parametrize(
    "extra",
    [
        {"BOT_TELEGRAM_MODE": "push"},
        {"BOT_TELEGRAM_WEBHOOK_PORT": "abc"},
        {"BOT_ADMINS": "bob"},
        {"BOT_TIMEZONE": "Nowhere/City"},
        {"BOT_TELEGRAM_MODE": "webhook", "BOT_TELEGRAM_WEBHOOK_URL": "http://x"},
    ],
)
def test_token_is_not_in_config_errors(tmp_path, extra):
    config = write(tmp_path / "c.yaml", f"telegram:\n  token: {TOKEN}\n")
    message = config_error(config, environ={"BOT_TELEGRAM_TOKEN": TOKEN, **extra})
    assert not shows_token(message)


def test_token_is_not_in_the_unknown_key_error(tmp_path):
    config = write(tmp_path / "c.yaml", f"telegram:\n  token: {TOKEN}\n  tokn: x\n")
    message = config_error(config)
    assert "telegram.tokn" in message
    assert not shows_token(message)


def test_token_is_not_in_the_error_for_malformed_yaml_on_the_token_line(tmp_path):
    config = write(tmp_path / "c.yaml", f'telegram:\n  token: "{TOKEN}\n  mode: polling\n')
    message = config_error(config)
    assert "not valid YAML" in message
    assert not shows_token(message)


def test_the_shipped_example_config_is_valid_and_documents_every_key():
    root = Path(__file__).resolve().parent.parent
    example = root / "config.example.yaml"
    settings = load_settings(example, environ={})
    assert settings.telegram.mode == "polling" and settings.delivery.rate_per_second == 25
    text = example.read_text(encoding="utf-8")
    for section in dataclasses.fields(settings):
        value = getattr(settings, section.name)
        if dataclasses.is_dataclass(value):
            for key in dataclasses.fields(value):
                assert f"{key.name}:" in text, f"{section.name}.{key.name} is not documented"
