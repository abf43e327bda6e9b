"""YAML loading that remembers line numbers, and findings that name file, line and field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import yaml


@dataclass(frozen=True)
class Finding:
    """One problem in a content file, printed as ``file:line: message``."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ContentError(Exception):
    """Content failed validation; ``findings`` lists every problem found."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("\n".join(str(f) for f in findings))


class LineDict(dict):
    """A mapping from YAML that knows the line it starts on and the line of each key."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        """The line of ``key`` if present, else the line of the mapping."""
        return self.key_lines.get(key, self.line)


# libyaml's parser when PyYAML was built with it (the wheels are): ~4× faster on the banks.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        mapping = LineDict(super().construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {
            key_node.value: key_node.start_mark.line + 1
            for key_node, _ in node.value
            if isinstance(key_node, yaml.ScalarNode)
        }
        return mapping


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)


def load_yaml(path: Path) -> object:
    """Parse one YAML file; a syntax error becomes a ContentError at the right line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError([Finding(path, 0, f"cannot read file: {exc}")]) from None
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContentError([Finding(path, line, f"not valid YAML: {problem}")]) from None


class Checker:
    """Collects findings while validating the items of one file."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.findings: list[Finding] = []

    def add(self, line: int, message: str) -> None:
        """Record one finding."""
        self.findings.append(Finding(self.file, line, message))

    def items(self, data: object, key: str) -> list[LineDict]:
        """The list under top-level ``key``, keeping only mappings (others are findings)."""
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            self.add(getattr(data, "line", 1), f"expected a top-level '{key}:' list")
            return []
        items = []
        for index, item in enumerate(data[key], start=1):
            if isinstance(item, LineDict):
                items.append(item)
            else:
                self.add(data.line_of(key), f"{key} item {index}: expected a mapping")
        return items

    def text(
        self, item: LineDict, field: str, label: str, *, limit: int, required: bool = True
    ) -> str:
        """A string field, checked for presence and length."""
        value = item.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(item.line, f"{label}: missing '{field}'")
            return ""
        if not isinstance(value, str | int | float):
            self.add(item.line_of(field), f"{label}: '{field}' must be text")
            return ""
        text = str(value).strip()
        if len(text) > limit:
            self.add(
                item.line_of(field),
                f"{label}: '{field}' has {len(text)} characters, at most {limit} allowed",
            )
        return text

    def unknown_keys(self, item: LineDict, allowed: set[str], label: str) -> None:
        """Report keys that are not part of the schema (usually typos)."""
        for key in sorted(set(item) - allowed, key=str):
            self.add(
                item.line_of(key),
                f"{label}: unknown field '{key}'; allowed: {', '.join(sorted(allowed))}",
            )


class _Identified(Protocol):
    id: str


T = TypeVar("T", bound=_Identified)


def load_folder(
    folder: Path, key: str, parse: Callable[[Checker, LineDict, Path], T | None], noun: str
) -> list[T]:
    """Items under ``key:`` of every ``*.yaml`` in ``folder``, in file then item order.

    ``parse`` returns None after adding findings; ids must be unique across files. Every file
    is read even after an error, and ContentError lists every problem found.
    """
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    items: list[T] = []
    findings: list[Finding] = []
    seen: dict[str, str] = {}
    for file in files:
        check = Checker(file)
        try:
            data = load_yaml(file)
        except ContentError as exc:
            findings += exc.findings
            continue
        for raw in check.items(data, key):
            item = parse(check, raw, file)
            if item is None:
                continue
            if item.id in seen:
                check.add(raw.line_of("id"), f"duplicate {noun} id '{item.id}' ({seen[item.id]})")
                continue
            seen[item.id] = f"{file.name}:{raw.line}"
            items.append(item)
        findings += check.findings
    if findings:
        raise ContentError(findings)
    return items
