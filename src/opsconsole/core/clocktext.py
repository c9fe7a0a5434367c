"""Times in the operator's words: local HH:MM:SS, never a raw epoch number."""

from __future__ import annotations

from datetime import datetime, tzinfo


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


def age_text(seconds: float, precise: bool = True) -> str:
    """A compact age or span: "0.4 s" (precise, under 10 s), "12 s", "3 min 05 s", "2 h 07 min"."""
    seconds = max(0.0, seconds)
    if precise and seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes} min {secs:02d} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60:02d} min"
