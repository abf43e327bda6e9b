"""The bot's own words per locale (``content/texts/<locale>.yaml``); number and date formats."""

from __future__ import annotations

import string
from datetime import date
from functools import cache
from pathlib import Path

from babel.numbers import format_decimal, format_percent, get_group_symbol

from .yamlfile import ContentError, Finding, LineDict, load_yaml

LOCALES = ("vi", "en")
_BABEL_LOCALE = {"vi": "vi_VN", "en": "en_US"}


@cache
def _group_symbol(babel_locale: str) -> str:
    return get_group_symbol(babel_locale)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _flatten(
    data: object, prefix: str, out: dict[str, tuple[str, int]], line: int, bad: list[int]
) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            where = data.line_of(key) if isinstance(data, LineDict) else line
            if not isinstance(key, str):  # YAML reads a bare on/off/yes/no key as a boolean
                bad.append(where)
                continue
            _flatten(value, f"{prefix}{key}.", out, where, bad)
    elif isinstance(data, list):
        out[prefix[:-1]] = ("\n".join(str(v) for v in data), line)
    else:
        out[prefix[:-1]] = ("" if data is None else str(data), line)


class Texts:
    """Looks up a text by key and locale and fills its placeholders."""

    def __init__(self, catalogs: dict[str, dict[str, str]], default_locale: str = "vi") -> None:
        self._catalogs = catalogs
        self.default_locale = default_locale

    @classmethod
    def load(cls, folder: Path, default_locale: str = "vi") -> Texts:
        """Load every locale; every key and placeholder must exist in every locale."""
        flat: dict[str, dict[str, tuple[str, int]]] = {}
        findings: list[Finding] = []
        for locale in LOCALES:
            path = folder / f"{locale}.yaml"
            try:
                data = load_yaml(path)
            except ContentError as exc:
                findings += exc.findings
                continue
            out: dict[str, tuple[str, int]] = {}
            bad: list[int] = []
            _flatten(data, "", out, 1, bad)
            findings += [
                Finding(
                    path,
                    line,
                    "a key is not text (YAML reads on, off, yes, no as true or "
                    "false): rename it or put it in quotes",
                )
                for line in bad
            ]
            flat[locale] = out
        if not findings:
            findings = _compare(folder, flat)
        if findings:
            raise ContentError(findings)
        catalogs = {loc: {k: v for k, (v, _) in entries.items()} for loc, entries in flat.items()}
        return cls(catalogs, default_locale)

    def locale_of(self, wanted: str) -> str:
        """``wanted`` if it is a shipped locale, else the default."""
        return wanted if wanted in self._catalogs else self.default_locale

    def get(self, locale: str, key: str, **values: object) -> str:
        """The text ``key`` in ``locale`` with placeholders filled (KeyError if unknown)."""
        template = self._catalogs[self.locale_of(locale)][key]
        return template.format(**values) if values else template

    def has(self, key: str) -> bool:
        """Whether ``key`` exists (in every locale, as loading guarantees)."""
        return key in self._catalogs[self.default_locale]

    def keys(self, prefix: str) -> list[str]:
        """Keys below ``prefix.``, in file order."""
        return [k for k in self._catalogs[self.default_locale] if k.startswith(prefix + ".")]

    def all_locales(self, key: str) -> list[str]:
        """The text ``key`` in every locale (for matching words typed in any language)."""
        return [catalog[key] for catalog in self._catalogs.values()]

    def number(self, locale: str, value: int | float) -> str:
        """537023 -> '537.023' in Vietnamese."""
        babel_locale = _BABEL_LOCALE[self.locale_of(locale)]
        if isinstance(value, int):  # the common case, on every lesson: skip Babel's parser
            return f"{value:,}".replace(",", _group_symbol(babel_locale))
        return format_decimal(value, locale=babel_locale)

    def percent(self, locale: str, ratio: float, digits: int = 2) -> str:
        """0.9311 -> '93,11%' in Vietnamese."""
        pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
        return format_percent(ratio, pattern, locale=_BABEL_LOCALE[self.locale_of(locale)])

    @staticmethod
    def date(value: date) -> str:
        """19/5/2026: day/month/year without zero padding, as Vietnamese write it."""
        return f"{value.day}/{value.month}/{value.year}"


def _compare(folder: Path, flat: dict[str, dict[str, tuple[str, int]]]) -> list[Finding]:
    findings = []
    placeholders: dict[str, dict[str, set[str]]] = {}
    for locale, entries in flat.items():
        path = folder / f"{locale}.yaml"
        placeholders[locale] = {}
        for key, (template, line) in entries.items():
            try:
                placeholders[locale][key] = _placeholders(template)
            except ValueError as exc:
                findings.append(Finding(path, line, f"'{key}': bad placeholder: {exc}"))
    reference = LOCALES[0]
    for locale, entries in flat.items():
        path = folder / f"{locale}.yaml"
        for other, other_entries in flat.items():
            for key, (_, line) in entries.items():
                if other != locale and key not in other_entries:
                    findings.append(Finding(path, line, f"'{key}' is missing in {other}.yaml"))
        if locale == reference:
            continue
        for key, (_, line) in entries.items():
            mine, theirs = placeholders[locale].get(key), placeholders[reference].get(key)
            if mine is not None and theirs is not None and mine != theirs:
                findings.append(
                    Finding(
                        path,
                        line,
                        f"'{key}': placeholders {sorted(mine)} differ from {sorted(theirs)} "
                        f"in {reference}.yaml",
                    )
                )
    return findings
