"""Durations in each form they are written: config literals, PromQL literals, words for people.

One name per form, never mixed up: `duration_literal` ("1h30m", what `parse_duration` reads
back), `promql_duration` ("15s", what Prometheus reads), `age_text` ("4 min 10 s", what the
operator reads) and `rough_age_text` ("4 min", one unit).
"""

from __future__ import annotations

import math
import re

# Largest unit first: the order both the parser insists on and the formatter writes.
_UNITS: dict[str, float] = {
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_ORDER = tuple(_UNITS)
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
# "ms" before the one-letter units so "500ms" is not read as 500 minutes and an "s";
# ASCII so `\d` does not accept other scripts' digits that nobody means here.
_PART = re.compile(rf"({_NUMBER})\s*(ms|[wdhms])", re.ASCII)
_WHOLE = re.compile(rf"\s*(?:{_NUMBER}\s*(?:ms|[wdhms])\s*)+", re.ASCII)
_BARE = re.compile(rf"\s*{_NUMBER}\s*", re.ASCII)


def _not_a_duration(text: str) -> ValueError:
    return ValueError(f"{text!r} is not a duration; write e.g. 15s, 5m, 1h30m")


def parse_duration(text: str) -> float:
    """Seconds in `text`: "15s", "1m", "1h30m", "500ms", "1d", or a bare number of seconds.

    Units: w, d, h, m, s, ms, largest first, each at most once. Zero is returned as 0.0;
    whether zero (or any bound) is acceptable is the caller's decision.
    """
    if not isinstance(text, str):
        raise _not_a_duration(str(text))
    lowered = text.casefold()
    if _BARE.fullmatch(lowered):
        seconds = float(lowered)
    elif _WHOLE.fullmatch(lowered):
        seconds = 0.0
        last = -1
        for number, unit in _PART.findall(lowered):
            rank = _ORDER.index(unit)
            if rank <= last:
                raise ValueError(
                    f"{text!r} is not a duration; write each unit once, largest first, e.g. 1h30m"
                )
            last = rank
            seconds += float(number) * _UNITS[unit]
    else:
        raise _not_a_duration(text)
    # Digits alone can still overflow a float ("9" * 400); inf is no duration.
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is too long to be a duration")
    return seconds


def duration_literal(seconds: float) -> str:
    """The config-file form of `seconds`, rounded to the millisecond: 5400 → "1h30m", 0.5 → "500ms".

    `parse_duration(duration_literal(x))` gives `x` back for any whole number of milliseconds.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{seconds!r} seconds cannot be written as a duration")
    remaining = round(seconds * 1000)  # integer milliseconds: no float drift between units
    if remaining == 0:
        return "0s"
    parts: list[str] = []
    # Weeks are left out on purpose: "14d" reads better than "2w" in a config file.
    for unit, ms in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, remaining = divmod(remaining, ms)
        if count:
            parts.append(f"{count}{unit}")
    if remaining:
        parts.append(f"{remaining}ms")
    return "".join(parts)


def promql_duration(seconds: float) -> str:
    """A PromQL duration literal (range or step): whole seconds as `15s`, finer in `ms`.

    Never in minutes: Prometheus reads "90s" the same as "1m30s", and one unit is one test.
    """
    ms = max(1, round(seconds * 1000.0))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def age_text(seconds: float, precise: bool = True) -> str:
    """An age or span for people: "0.4 s" (precise, under 10 s), "12 s", "3 min 05 s",
    "2 h 07 min", "3 d 04 h"; negative reads as 0."""
    seconds = max(0.0, seconds)
    if precise and seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes} min {secs:02d} s"
    if whole < 86_400:
        hours, rest = divmod(whole, 3600)
        return f"{hours} h {rest // 60:02d} min"
    days, rest = divmod(whole, 86_400)
    return f"{days} d {rest // 3600:02d} h"


def rough_age_text(seconds: float) -> str:
    """An age in its largest unit only: "12 s", "2 min", "3 h", "4 d" (whole units, cut)."""
    whole = max(0, int(seconds))
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if whole >= size:
            return f"{whole // size} {unit}"
    return f"{whole} s"
