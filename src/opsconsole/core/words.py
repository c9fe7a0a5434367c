"""The operator's words that the panels, the wall and text mode share: no data, STALE, ages."""

from __future__ import annotations

# Ages are written by core.durations; importing them from here keeps one place to look.
from opsconsole.core.durations import age_text as age_text
from opsconsole.core.durations import rough_age_text as rough_age_text
from opsconsole.core.health import Health

NO_DATA = "—"  # never 0: a missing value must not read as a healthy zero
STALE = "STALE"
STALE_NO_DATA = f"{STALE} — no data yet"

# A health level in one word, beside its colour (never the only cue).
HEALTH_WORDS: dict[Health, str] = {
    Health.HEALTHY: "OK",
    Health.WARNING: "WARN",
    Health.CRITICAL: "CRIT",
    Health.UNKNOWN: "NO DATA",
    Health.FORCED: "FORCED",
}


def stale_text(age: float | None) -> str:
    """ "STALE 12 s": the data's age in whole seconds (as in the status bar), short enough for
    a narrow column; "STALE — no data yet" when nothing ever arrived."""
    return STALE_NO_DATA if age is None else f"{STALE} {age_text(age, precise=False)}"
