"""The chart read-out's words: one sample's time and each shown curve's value, plain and rich."""

from __future__ import annotations

import html
import math

from opsconsole.core.clocktext import clock_text
from opsconsole.core.rows.signals import CURVES, PLOTS, value_text
from opsconsole.core.series import BankSeries
from opsconsole.ui import theme
from opsconsole.ui.charts import LiveCurve


def sample_text(
    series: BankSeries, index: int, ts: float, curves: dict[str, LiveCurve]
) -> tuple[str, str]:
    """(plain, rich) read-out of one sample: its time, then each visible series per plot."""
    plain = [clock_text(ts)]
    rich = [f"<b>{clock_text(ts)}</b>"]
    for p, (_name, unit) in enumerate(PLOTS):
        plain_parts, rich_parts = [], []
        for spec in CURVES:
            if spec.plot != p or not curves[spec.field].isVisible():
                continue
            value = float(series.values(spec.field)[index]) * spec.scale
            reading = value_text(value)
            suffix = f" {unit}" if math.isfinite(value) else ""
            plain_parts.append(f"{spec.label} {reading}{suffix}")
            rich_parts.append(
                f'<span style="color:{theme.SERIES[spec.field]}">{html.escape(spec.label)}</span>'
                f" {html.escape(reading + suffix)}"
            )
        if plain_parts:
            plain.append("  ".join(plain_parts))
            rich.append("&nbsp;&nbsp;".join(rich_parts))
    return "\n".join(plain), "<br>".join(rich)
