"""Which history to ask an Ops API backend for at start, and how its answers become rows."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from opsconsole.core.protocol import HistoricalBody

MAX_RANGE_POINTS = 11_000  # the contract's limit per range query (docs/ops-api.md)


@dataclass(frozen=True)
class BackfillRange:
    start: float
    end: float
    step: float


def tick_of(times: Sequence[float]) -> float | None:
    """The backend's sample period from a few consecutive live sample times (median step)."""
    distinct = np.unique(np.asarray(times, dtype=np.float64))
    if distinct.size < 3:
        return None
    step = float(np.median(np.diff(distinct)))
    return step if step > 0 else None


def backfill_range(
    grid_ts: float, before_ts: float, tick_s: float, history_s: float, max_points: int
) -> BackfillRange:
    """History at the live step up to the oldest row the console holds (`before_ts`), on the
    grid of a real live sample (`grid_ts`, a streamed tick, not a snapshot's "now"), so
    backfill and live data share one grid; the span shrinks (never the resolution) to what the
    store can hold and what one query may return.

    The buckets ([t, t + step), per the contract) are placed half a step off the live
    samples, so each sample sits in the middle of its own bucket (sampling jitter of up to
    half a step neither empties one bucket nor doubles the next), and the last bucket ends at
    or before `before_ts`: no overlap, and no hole wider than a step and a half.
    """
    points = max(1, min(max_points, MAX_RANGE_POINTS - 2, int(history_s / tick_s)))
    behind = math.ceil(max(0.0, grid_ts - before_ts) / tick_s + 0.5 - 1e-9)
    end = grid_ts - (behind + 0.5) * tick_s  # the last bucket's start
    return BackfillRange(end - (points - 1) * tick_s, end, tick_s)


def history_rows(
    bodies: Mapping[str, HistoricalBody], fields: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """One service's answers (one per metric) as (times, values[len(times), len(fields)]).

    A bucket's value is the mean over [t, t + step), so it is placed at the bucket's middle.
    A step bucket in which no metric has a sample is left out rather than stored as NaN: at
    the live step, sampling jitter leaves some buckets empty and others doubled, and an empty
    bucket is not an outage. A real outage still shows, as a stretch with no rows.
    """
    columns: list[tuple[int, np.ndarray, np.ndarray]] = []
    for metric, body in bodies.items():
        if metric not in fields or not body.points:
            continue
        n = len(body.points)
        ts = np.fromiter((p[0] for p in body.points), np.float64, n) + body.step / 2
        vals = np.fromiter((np.nan if p[1] is None else p[1] for p in body.points), np.float64, n)
        columns.append((fields.index(metric), ts, vals))
    if not columns:
        return np.empty(0), np.empty((0, len(fields)))
    times = np.unique(np.concatenate([ts for _, ts, _ in columns]))
    values = np.full((times.size, len(fields)), np.nan)
    for col, ts, vals in columns:
        values[np.searchsorted(times, ts), col] = vals
    keep = ~np.isnan(values).all(axis=1)
    return times[keep], values[keep]
