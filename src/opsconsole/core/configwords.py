"""How a config problem words what it found: an unknown key with its likely meaning, a type."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def unknown_key(key: str, allowed: Iterable[str]) -> str:
    """ "unknown key 'p59_ms' (did you mean 'p95_ms'?)", else the list of keys."""
    allowed = tuple(allowed)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r}; the keys here are: {', '.join(allowed)}"


def type_name(value: object) -> str:
    """A TOML value's kind in words: "a number", "an array", "true/false"."""
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string"}
    names.update({list: "an array", dict: "a table"})
    return names.get(type(value), type(value).__name__)
