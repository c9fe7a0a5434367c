"""Where a sampled time series has no data: gap detection, and what a time on a chart points at."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from opsconsole.core.clocktext import clock_text, span_text

#: A step longer than this many usual steps is a gap. One missed sample (2 steps) is drawn
#: as a line, two missed (3 steps) as a gap; the factor also absorbs the jitter of a sampler
#: whose ticks are not exactly even.
GAP_FACTOR = 2.5
#: Steps on each side that make up a step's neighbourhood, so a coarse stretch (a backfill at
#: a multiple of the live step) is judged against its own spacing and not drawn as dots.
NEIGHBOURHOOD = 7

_NO_GAPS = np.empty(0, dtype=np.int64)


def usual_step(times: np.ndarray) -> float:
    """The median spacing of the samples in seconds; NaN with fewer than two samples."""
    if times.size < 2:
        return math.nan
    return float(np.median(np.diff(times)))


def find_gaps(
    times: np.ndarray, factor: float = GAP_FACTOR, step: float | None = None
) -> np.ndarray:
    """Indices `i` where the step from `times[i]` to `times[i + 1]` is a hole in the data.

    A step is a gap when it is longer than `factor` times the usual step of the whole series
    and also of its neighbourhood (the median of the steps around it). The second test keeps
    a stretch sampled more coarsely (history loaded at a larger step) a line, while a lone
    sample arriving in the middle of an outage still leaves gaps on both sides of it.
    `times` must be ascending (the store keeps it so); `step`, when the caller already has
    `usual_step(times)`, saves computing it again. Cost: one diff and one median, plus a
    small gather only where a step is suspicious.
    """
    n = times.size
    if n < 3:
        return _NO_GAPS
    steps = np.diff(times)
    usual = float(np.median(steps)) if step is None else step
    suspect = np.flatnonzero(steps > factor * usual)
    if suspect.size == 0:
        return _NO_GAPS
    # The neighbourhood slides inward at the ends rather than repeating the edge step, so a
    # hole right at the start is still compared with the steps after it.
    width = min(2 * NEIGHBOURHOOD + 1, steps.size)
    first = np.clip(suspect - NEIGHBOURHOOD, 0, steps.size - width)
    local = np.median(steps[first[:, None] + np.arange(width)], axis=1)
    return suspect[steps[suspect] > factor * local].astype(np.int64, copy=False)


def gap_spans(times: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(last sample before, first sample after) of each gap, as two new float64 arrays."""
    return (
        np.array(times[gaps], dtype=np.float64),
        np.array(times[gaps + 1], dtype=np.float64),
    )


@dataclass(frozen=True)
class Pointed:
    """What a time on a chart points at: a sample (its index) or a stretch without data.

    For a stretch, `start` is the last sample before it (-inf: no sample before) and `end`
    the first sample after it (+inf: none yet, i.e. no data since `start`).
    """

    index: int | None = None
    start: float = -math.inf
    end: float = math.inf

    @property
    def is_gap(self) -> bool:
        return self.index is None


def point_at(
    times: np.ndarray, starts: np.ndarray, ends: np.ndarray, t: float, step: float
) -> Pointed:
    """The sample nearest to `t`, or the stretch without data that `t` falls in.

    `starts`/`ends` are the gap spans (see `gap_spans`); `step` is the usual step: `t` up to
    half a step beyond the first or last sample still points at it.
    """
    n = times.size
    if n == 0:
        return Pointed()
    half = 0.5 * step if math.isfinite(step) and step > 0 else 0.0
    if t < times[0] - half:
        return Pointed(end=float(times[0]))
    if t > times[-1] + half:
        return Pointed(start=float(times[-1]))
    k = int(np.searchsorted(starts, t, side="right")) - 1
    if k >= 0 and starts[k] < t < ends[k]:
        return Pointed(start=float(starts[k]), end=float(ends[k]))
    i = int(np.searchsorted(times, t))
    if i >= n or (i > 0 and t - times[i - 1] <= times[i] - t):
        i -= 1
    return Pointed(index=i)


def length_text(seconds: float) -> str:
    """A length of time in plain words: "65 s", "4 min 10 s", "2 h 5 min"."""
    s = max(0, round(seconds))
    if s < 120:
        return f"{s} s"
    if s < 3600:
        m, rest = divmod(s, 60)
        return f"{m} min {rest} s" if rest else f"{m} min"
    h, rest = divmod(s, 3600)
    m = rest // 60
    return f"{h} h {m} min" if m else f"{h} h"


def gap_text(gap: Pointed, now: float) -> str:
    """How the read-out names a stretch without data, e.g. "no data 12:24:10 – 12:25:15 (65 s)".

    `now` is the chart's present (the server's now as best known) for an open-ended stretch.
    """
    if math.isinf(gap.start) and math.isinf(gap.end):
        return "no data"
    if math.isinf(gap.start):
        return f"no data before {clock_text(gap.end)}"
    if math.isinf(gap.end):
        return f"no data since {clock_text(gap.start)} ({length_text(now - gap.start)})"
    when = span_text(gap.start, gap.end, sep=" – ")  # with dates if it spans midnight
    return f"no data {when} ({length_text(gap.end - gap.start)})"
