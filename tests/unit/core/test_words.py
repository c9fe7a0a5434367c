"""The shared words: one STALE wording, one no-data mark, ages with "min" for minutes."""

from __future__ import annotations

from opsconsole.core import clocktext, durations
from opsconsole.core.words import NO_DATA, age_text, stale_text


def test_stale_says_the_whole_second_age_or_that_nothing_came() -> None:
    assert stale_text(12.9) == "STALE 12 s"
    assert stale_text(185) == "STALE 3 min 05 s"
    assert stale_text(None) == "STALE — no data yet"


def test_one_age_formatter_behind_every_import_path() -> None:
    assert age_text is durations.age_text is clocktext.age_text
    assert NO_DATA == "—"
