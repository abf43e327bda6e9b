"""The bot's own words per locale (``content/texts/<locale>.yaml``); number and date formats."""

from __future__ import annotations

import string
from datetime import date
from pathlib import Path

from babel.numbers import format_decimal, format_percent

from .yamlfile import ContentError, Finding, LineDict, load_yaml

LOCALES = ("vi", "en")
_BABEL_LOCALE = {"vi": "vi_VN", "en": "en_US"}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _flatten(data: object, prefix: str, out: dict[str, tuple[str, int]], line: int) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            where = data.line_of(key) if isinstance(data, LineDict) else line
            _flatten(value, f"{prefix}{key}.", out, where)
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
            _flatten(data, "", out, 1)
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
        return format_decimal(value, locale=_BABEL_LOCALE[self.locale_of(locale)])

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
    for locale, entries in flat.items():
        path = folder / f"{locale}.yaml"
        for other_locale, other in flat.items():
            if other_locale == locale:
                continue
            for key, (template, line) in entries.items():
                if key not in other:
                    findings.append(
                        Finding(path, line, f"'{key}' is missing in {other_locale}.yaml")
                    )
                    continue
                try:
                    mine, theirs = _placeholders(template), _placeholders(other[key][0])
                except ValueError as exc:
                    findings.append(Finding(path, line, f"'{key}': bad placeholder: {exc}"))
                    continue
                # Reported once, from the second locale's side.
                if mine != theirs and LOCALES.index(locale) > LOCALES.index(other_locale):
                    findings.append(
                        Finding(
                            path,
                            line,
                            f"'{key}': placeholders {sorted(mine)} differ from "
                            f"{sorted(theirs)} in {other_locale}.yaml",
                        )
                    )
    return findings
