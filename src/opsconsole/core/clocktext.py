"""Times in the operator's words: local HH:MM:SS, never a raw epoch number."""

from __future__ import annotations

from datetime import datetime, tzinfo

# Ages are durations: written once, in core.durations; imported from here by older callers.
from opsconsole.core.durations import age_text as age_text


def _local(ts: float, tz: tzinfo | None) -> datetime:
    # No tz: the workstation's local time zone (what the operator's wall clock says).
    return datetime.fromtimestamp(ts, tz)


def clock_text(ts: float, tz: tzinfo | None = None) -> str:
    """ "12:24:10": the time of day in `tz` (local time when None)."""
    return _local(ts, tz).strftime("%H:%M:%S")


def span_text(start: float, end: float, tz: tzinfo | None = None, sep: str = "–") -> str:
    """ "12:01:10–12:03:40"; both with their date when the span crosses midnight."""
    a, b = _local(start, tz), _local(end, tz)
    fmt = "%H:%M:%S" if a.date() == b.date() else "%Y-%m-%d %H:%M:%S"
    return f"{a.strftime(fmt)}{sep}{b.strftime(fmt)}"
