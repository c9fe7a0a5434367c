"""A service's golden-signal rows between two times, copied out of its ring buffer as Samples."""

from __future__ import annotations

import math

import numpy as np

from opsconsole.core.incident.record import SAMPLE_FIELDS, Sample
from opsconsole.core.series import BankSeries


def samples_between(backend: str, series: BankSeries, after: float, until: float) -> list[Sample]:
    """The series' own rows with times in (after, until], NaN-only rows left out."""
    times = series.times()
    lo = int(np.searchsorted(times, after, side="right"))
    hi = int(np.searchsorted(times, until, side="right"))
    if hi <= lo:
        return []
    columns = [np.asarray(series.values(f)[lo:hi], dtype=np.float64) for f in SAMPLE_FIELDS]
    out = []
    for i, ts in enumerate(times[lo:hi]):
        values = [float(c[i]) for c in columns]
        if any(math.isfinite(v) for v in values):
            out.append(Sample(backend, series.name, float(ts), *values))
    return out
