"""Line numbers of TOML tables and keys, by path: tomllib gives none for values."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# --- where things are in the text ------------------------------------------------------------
#
# tomllib reports positions only for syntax errors, so semantic problems are located by reading
# the text again: table headers, `key =` lines, and enough of the value grammar (strings,
# multi-line strings, arrays and inline tables spanning lines, comments) to never mistake a line
# inside a multi-line PromQL string for a key.

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
# Paths deeper than this are never reported; building them would be quadratic in a hostile
# `a.a.a…` key of thousands of parts.
_MAX_PATH = 8


def read_key(text: str, pos: int) -> tuple[list[str], int] | None:
    """A (possibly dotted, possibly quoted) key starting at `pos`: its parts and the end."""
    parts: list[str] = []
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text):
            return None
        ch = text[pos]
        if ch in "\"'":
            end = pos + 1
            while end < len(text) and text[end] != ch:
                end += 2 if ch == '"' and text[end] == "\\" else 1
            if end >= len(text):
                return None
            raw = text[pos + 1 : end]
            parts.append(raw.replace('\\"', '"') if ch == '"' else raw)
            pos = end + 1
        else:
            match = _BARE_KEY.match(text, pos)
            if match is None:
                return None
            parts.append(match.group())
            pos = match.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return parts, pos


@dataclass
class _ValueScan:
    """Lexer state carried from one line to the next while a value is still open."""

    quote: str | None = None  # '"""' or "'''" while inside a multi-line string
    depth: int = 0  # open [ and { brackets
    peak: int = 0  # the most brackets open at once since the caller last reset it

    @property
    def open(self) -> bool:
        return self.quote is not None or self.depth > 0

    def feed(self, line: str, pos: int = 0) -> None:
        n = len(line)
        while pos < n:
            if self.quote is not None:
                end = line.find(self.quote, pos)
                if self.quote == '"""':
                    # A backslash escapes the next character, including a quote.
                    while end != -1 and _escaped(line, end):
                        end = line.find(self.quote, end + 1)
                if end == -1:
                    return
                pos = end + 3
                self.quote = None
                continue
            ch = line[pos]
            if ch == "#":
                return
            if line.startswith('"""', pos) or line.startswith("'''", pos):
                self.quote = line[pos : pos + 3]
                pos += 3
            elif ch in "\"'":
                end = pos + 1
                while end < n and line[end] != ch:
                    end += 2 if ch == '"' and line[end] == "\\" else 1
                pos = end + 1
            else:
                if ch in "[{":
                    self.depth += 1
                    self.peak = max(self.peak, self.depth)
                elif ch in "]}" and self.depth > 0:
                    self.depth -= 1
                pos += 1


def _escaped(line: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and line[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


class Locator:
    """Line numbers of tables and keys, by path: ("backend", 0, "queries", "latency")."""

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str | int, ...], int] = {}
        self._arrays: dict[tuple[str | int, ...], int] = {}  # array-of-tables path → count
        self.deepest: tuple[int, int | None] = (0, None)  # most nesting on one line, that line
        prefix: tuple[str | int, ...] = ()
        scan = _ValueScan()
        # Split on "\n" only, as TOML counts lines: splitlines() would also break at U+2028 etc.
        for number, line in enumerate(text.split("\n"), start=1):
            if scan.open:
                scan.peak = scan.depth
                scan.feed(line)
                self._nesting(scan.peak, number)
                continue
            stripped = line.lstrip(" \t")
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("["):
                array = stripped.startswith("[[")
                parsed = read_key(stripped, 2 if array else 1)
                if parsed is not None:
                    self._nesting(len(parsed[0]), number)
                    prefix = self._table(parsed[0][:_MAX_PATH], array)
                    self.lines.setdefault(prefix, number)
                    if array:  # the array as a whole sits where its first table starts
                        self.lines.setdefault(prefix[:-1], number)
                continue
            parsed = read_key(stripped, 0)
            if parsed is None:
                continue
            parts, end = parsed
            if end < len(stripped) and stripped[end] == "=":
                path = prefix
                for part in parts[:_MAX_PATH]:
                    path = (*path, part)
                    self.lines.setdefault(path, number)
                scan.peak = scan.depth
                scan.feed(stripped, end + 1)
                self._nesting(len(parts) + scan.peak, number)

    def _nesting(self, depth: int, number: int) -> None:
        if depth > self.deepest[0]:
            self.deepest = (depth, number)

    def _resolve(self, parts: Iterable[str]) -> tuple[str | int, ...]:
        """A header's path with the current index inserted after each array of tables."""
        path: tuple[str | int, ...] = ()
        for part in parts:
            path = (*path, part)
            if path in self._arrays:
                path = (*path, self._arrays[path] - 1)
        return path

    def _table(self, parts: list[str], array: bool) -> tuple[str | int, ...]:
        if not array:
            return self._resolve(parts)
        parent = self._resolve(parts[:-1])
        path = (*parent, parts[-1])
        self._arrays[path] = self._arrays.get(path, 0) + 1
        return (*path, self._arrays[path] - 1)

    def line(self, *path: str | int) -> int | None:
        """The line of `path`, else of the nearest enclosing table or key that was found."""
        while path:
            found = self.lines.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return None
