"""When a scheduled action should happen, from what an operator types, as ISO 8601 with a zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from opsconsole.core.durations import parse_duration

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


def schedule_at(text: str, now: datetime) -> str:
    """ "22:00" (the next such time in `now`'s zone), "+15m" (from now), or a full ISO 8601
    time; always returned with its offset, which Patroni requires. ValueError says why not."""
    word = text.strip()
    if not word:
        raise ValueError("expected a time such as 22:00, +15m or 2026-12-07T03:00+01:00")
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    if word.startswith("+"):
        seconds = parse_duration(word[1:])
        if seconds <= 0:
            raise ValueError(f"{text!r} is not in the future")
        return (now + timedelta(seconds=seconds)).replace(microsecond=0).isoformat()
    if (clock := _CLOCK.fullmatch(word)) is not None:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise ValueError(f"{text!r} is not a time of day")
        when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if when <= now:
            when += timedelta(days=1)
        return when.isoformat()
    try:
        when = datetime.fromisoformat(word)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time; write 22:00, +15m or 2026-12-07T03:00+01:00"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=now.tzinfo)
    if when <= now:
        raise ValueError(f"{text!r} is in the past")
    return when.isoformat()
