"""Request counts per service in minute and hour buckets: the raw material of every SLO window.

Counts, never ratios: a window's error ratio is (its failures) ÷ (its requests), so a quiet
hour weighs what it served. Buckets are in simulated time: with `time_scale` s, a minute bucket
spans 60/s wall seconds and holds a simulated minute's requests.

Minute buckets are kept for the last 3 days and an hour (the windows 5 m to 3 d), hour buckets
for 35 days (any SLO window up to a calendar month); the hour index is the minute index // 60, so
both always agree. A window is the bucket holding `now` (partial) and the whole buckets before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from opsconsole.sim.sampling import TickDraw, Workload

MINUTE_S = 60.0  # simulated seconds per fine bucket
HOUR_S = 3_600.0
PER_HOUR = 60  # fine buckets per coarse bucket
FINE_KEEP = (72 + 1) * PER_HOUR  # 3 days, plus the hour the oldest of them starts in
COARSE_KEEP = 35 * 24 + 1  # 35 days and the current hour


@dataclass(frozen=True)
class SimTime:
    """Simulated time against the wall clock: `scale` simulated seconds per wall second, both
    clocks agreeing at `anchor` (the sim's start)."""

    anchor: float
    scale: float = 1.0

    def sim(self, wall: float) -> float:
        return self.anchor + (wall - self.anchor) * self.scale

    def wall(self, sim: float) -> float:
        return self.anchor + (sim - self.anchor) / self.scale

    def span(self, sim_seconds: float) -> float:
        """Wall seconds a simulated span takes."""
        return sim_seconds / self.scale


class BucketRing:
    """(requests, failures) per service in the newest `length` buckets of one width.

    Slot `k % length` holds bucket `k` (the absolute index, `stamp`); a slot whose stamp is
    older is stale and reads as not held.
    """

    def __init__(self, n_services: int, length: int) -> None:
        self.length = length
        self.stamp = np.full(length, -1, dtype=np.int64)
        # int32 is exact up to 2.1 G requests per bucket and halves the memory of int64.
        self.total = np.zeros((length, n_services), dtype=np.int32)
        self.bad = np.zeros((length, n_services), dtype=np.int32)

    def _slot(self, k: int) -> int:
        slot = k % self.length
        if self.stamp[slot] != k:
            self.stamp[slot] = k
            self.total[slot] = 0
            self.bad[slot] = 0
        return slot

    def add(self, k: int, total: np.ndarray, bad: np.ndarray) -> None:
        slot = self._slot(k)
        self.total[slot] += total.astype(np.int32)
        self.bad[slot] += bad.astype(np.int32)

    def put(self, ks: np.ndarray, total: np.ndarray, bad: np.ndarray) -> None:
        """Set whole buckets `ks` (distinct, at most `length` of them) to these counts."""
        slots = ks % self.length
        self.stamp[slots] = ks
        self.total[slots] = total
        self.bad[slots] = bad

    def held(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        """(bucket indexes, slots) of the held buckets in [first, last], oldest first."""
        first = max(first, last - self.length + 1)
        if last < first:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        ks = np.arange(first, last + 1, dtype=np.int64)
        slots = ks % self.length
        valid = self.stamp[slots] == ks
        return ks[valid], slots[valid]

    def sums(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        """Requests and failures per service over the buckets [first, last] (int64)."""
        _, slots = self.held(first, last)
        return (
            self.total[slots].sum(axis=0, dtype=np.int64),
            self.bad[slots].sum(axis=0, dtype=np.int64),
        )


class RequestLedger:
    """Every service's requests and failures over the last 35 simulated days."""

    def __init__(self, n_services: int, time: SimTime) -> None:
        self.time = time
        self.minute_s = time.span(MINUTE_S)  # wall seconds per fine bucket
        self.hour_s = self.minute_s * PER_HOUR
        self.fine = BucketRing(n_services, FINE_KEEP)
        self.coarse = BucketRing(n_services, COARSE_KEEP)

    # ------------------------------------------------------------------ indexes

    def minute(self, wall: float) -> int:
        """Index of the minute bucket holding wall time `wall`."""
        return math.floor(wall / self.minute_s)

    def hour(self, wall: float) -> int:
        return self.minute(wall) // PER_HOUR

    def minute_start(self, k: int) -> float:
        return k * self.minute_s

    def hour_start(self, k: int) -> float:
        return k * self.hour_s

    # ------------------------------------------------------------------ writing

    def add(self, wall: float, total: np.ndarray, bad: np.ndarray) -> None:
        """Requests served at `wall` (failures among them), one entry per service."""
        k = self.minute(wall)
        self.fine.add(k, total, bad)
        self.coarse.add(k // PER_HOUR, total, bad)

    def seed_minutes(self, first: int, total: np.ndarray, bad: np.ndarray) -> None:
        """Past minutes from bucket `first` on, arrays of (minutes, services), written over
        whatever those buckets held; their hours are set to their sums."""
        ks = first + np.arange(total.shape[0], dtype=np.int64)
        self.fine.put(ks, total, bad)
        hours = ks // PER_HOUR
        starts = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]])
        self.coarse.put(
            hours[starts],
            np.add.reduceat(total, starts, axis=0),
            np.add.reduceat(bad, starts, axis=0),
        )

    def seed_hours(self, first: int, total: np.ndarray, bad: np.ndarray) -> None:
        """Past hours (older than the minutes kept) from hour bucket `first` on."""
        self.coarse.put(first + np.arange(total.shape[0], dtype=np.int64), total, bad)

    # ------------------------------------------------------------------ reading

    def window(self, now: float, sim_seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """Requests and failures per service over the last `sim_seconds` simulated seconds."""
        minutes = max(1, round(sim_seconds / MINUTE_S))
        last = self.minute(now)
        if minutes <= FINE_KEEP - PER_HOUR:
            return self.fine.sums(last - minutes + 1, last)
        hours = max(1, round(sim_seconds / HOUR_S))
        return self.coarse.sums(last // PER_HOUR - hours + 1, last // PER_HOUR)

    def error_ratio(self, now: float, sim_seconds: float) -> np.ndarray:
        """Failures ÷ requests per service over the window; NaN where no request came."""
        total, bad = self.window(now, sim_seconds)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, bad / np.maximum(total, 1), np.nan)

    def points(
        self, service: int, start: float, end: float, step: float, count: int
    ) -> list[tuple[float, int | None, int | None]]:
        """`count` points at start, start+step, …: (time, good, total) of the buckets that
        begin in [t, t+step); None where no bucket of that span is held.

        Minute buckets when the step is finer than an hour and the range is still held in
        them, hour buckets otherwise.
        """
        hour_s = self.hour_s
        fine_oldest = self.fine.held(self.minute(end) - FINE_KEEP + 1, self.minute(end))[0]
        use_fine = step < hour_s and fine_oldest.size and self.minute(start) >= fine_oldest[0]
        if use_fine:
            ring, width = self.fine, self.minute_s
        else:
            ring, width = self.coarse, hour_s
        first = math.floor(start / width)
        ks, slots = ring.held(first, math.floor(end / width))
        begins = ks * width
        # A millionth of a step of slack: bucket starts on the points' grid are rounded.
        index = np.floor((begins - start) / step + 1e-6).astype(np.int64)
        keep = (index >= 0) & (index < count)
        index, slots = index[keep], slots[keep]
        totals = np.bincount(index, ring.total[slots, service].astype(np.float64), minlength=count)
        bads = np.bincount(index, ring.bad[slots, service].astype(np.float64), minlength=count)
        held = np.bincount(index, minlength=count) > 0
        times = start + step * np.arange(count)
        return [
            (float(t), int(tot - b), int(tot)) if h else (float(t), None, None)
            for t, tot, b, h in zip(
                times.tolist(), totals.tolist(), bads.tolist(), held.tolist(), strict=True
            )
        ]


def count_tick(
    ledger: RequestLedger,
    rng: np.random.Generator,
    now: float,
    sim_dt: float,
    w: Workload,
    draw: TickDraw,
) -> None:
    """One tick's requests into the ledger, in simulated volume (`sim_dt` simulated seconds).

    At time scale 1 these are the requests drawn for the golden signals, exactly. A tick at
    scale s stands for s times as long: its simulated requests are drawn from the same failure
    chances (the service's own, and its dependencies' timeouts and refusals).
    """
    if ledger.time.scale == 1.0:
        ledger.add(now, draw.counts, draw.failures)
        return
    routed = w.p_timeout + w.p_fast_fail
    fail_p = np.clip(routed + (1.0 - routed - w.p_cached) * w.error_p, 0.0, 1.0)
    total = rng.poisson(np.maximum(w.rps, 0.0) * sim_dt)
    ledger.add(now, total, rng.binomial(total, fail_p))
