"""A computed number that can say how it was computed: its value, shown text, formula and inputs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from opsconsole.core.durations import age_text


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure of the budget maths as the screen shows it, and how it came about.

    `formula` names the computation in symbols ("remaining = 1 − failed ÷ allowed"),
    `inputs` the numbers that went in; the panel shows both on hover, because a budget
    figure nobody can retrace is not trusted (pyrra's users' top complaint).
    """

    value: float | None
    text: str
    formula: str
    inputs: str

    @property
    def explanation(self) -> str:
        """The hover text: the formula, then its inputs."""
        return f"{self.formula}\n{self.inputs}"


def percent_text(ratio: float | None, digits: int = 2) -> str:
    """A ratio as a percentage for people: 0.001 → "0.1 %", 0.9995 → "99.95 %", 2.4 → "240 %".

    At most `digits` decimals, trailing zeros dropped; None reads "—" (no data, never 0).
    """
    if ratio is None or math.isnan(ratio):
        return "—"
    if math.isinf(ratio):
        return "∞ %" if ratio > 0 else "−∞ %"
    text = f"{ratio * 100:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in {"-0", "−0"}:
        text = "0"
    return f"{text.replace('-', '−')} %"


def count_text(n: float) -> str:
    """A request count for people: whole numbers with thin thousands separators ("12 345");
    fractions (an averaged rate's counts) keep one decimal."""
    if math.isnan(n):
        return "—"
    sign = "−" if n < 0 else ""
    n = abs(n)
    whole = f"{round(n):,}".replace(",", "\u202f")
    if abs(n - round(n)) < 0.05:
        return f"{sign}{whole}"
    return f"{sign}{f'{n:,.1f}'.replace(',', chr(0x202F))}"


def rate_text(rate: float | None) -> str:
    """A burn rate: "14.4×", "0.25×"; None reads "—"."""
    if rate is None or math.isnan(rate):
        return "—"
    if math.isinf(rate):
        return "∞×"
    digits = 1 if rate >= 10 else 2
    text = f"{rate:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text}×"


def span_text(seconds: float) -> str:
    """A span ahead or behind, for people: "3 d 04 h", "45 min 00 s"; infinite reads "never"."""
    if math.isinf(seconds):
        return "never"
    return age_text(seconds, precise=False)
