"""Per-time-column minimum and maximum of many time series, kept up to date as samples arrive."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_NO_INT = np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class ColumnRuns:
    """One row's drawable columns between two column ids, split where the line must break.

    `ids` are absolute column ids (ascending), `lo`/`hi` the finite minimum and maximum of
    each, and `starts` the index in `ids` where each unbroken run begins (always 0 first).
    """

    ids: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    starts: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.size)


@dataclass(frozen=True)
class ColumnBlock:
    """Many rows' columns between two ids at once, for the common case of one unbroken run.

    `lo`/`hi` are (rows, columns); row i's drawn columns are `first[i]..last[i]` (inclusive,
    indexes into the block) when `simple[i]`; other rows (a gap inside, or nothing drawn)
    need `ColumnBins.runs`.
    """

    lo: np.ndarray
    hi: np.ndarray
    first: np.ndarray
    last: np.ndarray
    simple: np.ndarray


class ColumnBins:
    """The min and max of each time column of `width_s` seconds, for many series at once.

    A chart draws one column per pixel: two points, the column's minimum and maximum, so a
    spike survives any zoom. Column ids are absolute, `floor(t / width_s)`, not counted from
    the window's start, so as the window scrolls a sample stays in the same column and the
    curve does not shimmer (for a regularly sampled series that is the same as aligning bins
    to absolute sample indexes). Samples are folded in once, as they arrive: a refresh
    touches only the newest column of each series instead of re-binning the whole window.

    Each row keeps a ring of `capacity` columns; older ones are forgotten. A line breaks
    (truthfully, a gap is a gap) between two columns whose samples are more than `gap_s`
    apart, around any column that held a NaN sample ("no data") or a hole inside it, and
    where a column between two drawn ones held only NaN.
    """

    def __init__(self, rows: int, width_s: float, capacity: int, gap_s: float) -> None:
        if not (math.isfinite(width_s) and width_s > 0):
            raise ValueError(f"column width must be a positive number of seconds, not {width_s}")
        self.width_s = float(width_s)
        self.capacity = int(capacity)
        self.gap_s = float(gap_s)
        shape = (int(rows), self.capacity)
        self.lo = np.full(shape, np.nan, dtype=np.float64)
        self.hi = np.full(shape, np.nan, dtype=np.float64)
        self.first_t = np.full(shape, np.nan, dtype=np.float64)
        self.last_t = np.full(shape, np.nan, dtype=np.float64)
        self.broken = np.zeros(shape, dtype=bool)
        self.ids = np.full(shape, -1, dtype=np.int64)
        #: Newest sample time folded in, per row: older samples offered again are ignored.
        self.last_seen = np.full(int(rows), -np.inf, dtype=np.float64)

    @property
    def rows(self) -> int:
        return int(self.ids.shape[0])

    def column_of(self, t: float) -> int:
        return math.floor(t / self.width_s)

    def add(self, rows: np.ndarray, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Fold in samples (`rows[i]` got `values[i]` at `ts[i]`); returns the rows changed.

        Only samples newer than a row's newest are taken, so offering a whole window again
        is harmless; the caller need not track what it already gave.
        """
        rows = np.asarray(rows, dtype=np.int64)
        ts = np.asarray(ts, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        fresh = ts > self.last_seen[rows]
        if not fresh.all():
            rows, ts, values = rows[fresh], ts[fresh], values[fresh]
        if rows.size == 0:
            return _NO_INT
        order = np.lexsort((ts, rows))
        rows, ts, values = rows[order], ts[order], values[order]
        cols = np.floor(ts / self.width_s).astype(np.int64)
        # A batch spanning more than the ring (a backfill) keeps only what fits.
        newest = np.full(self.rows, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(newest, rows, cols)
        fits = cols > newest[rows] - self.capacity
        if not fits.all():
            rows, ts, values, cols = rows[fits], ts[fits], values[fits], cols[fits]
        finite = np.isfinite(values)
        values = np.where(finite, values, np.nan)
        # The sample before each one: the previous in the batch for the same row, else the
        # row's newest already folded in. A long step inside one column breaks that column.
        same_row = np.r_[False, rows[1:] == rows[:-1]]
        prev_t = np.where(same_row, np.r_[np.nan, ts[:-1]], self.last_seen[rows])
        prev_col = np.where(
            same_row,
            np.r_[-1, cols[:-1]],
            np.floor(np.where(np.isfinite(prev_t), prev_t, -1.0) / self.width_s).astype(np.int64),
        )
        hole_inside = (ts - prev_t > self.gap_s) & (prev_col == cols)
        brk = ~finite | hole_inside
        starts = np.flatnonzero(np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])])
        ends = np.r_[starts[1:], rows.size] - 1
        g_rows, g_cols = rows[starts], cols[starts]
        g_lo = np.fmin.reduceat(values, starts)
        g_hi = np.fmax.reduceat(values, starts)
        g_brk = np.logical_or.reduceat(brk, starts)
        slot = g_cols % self.capacity
        same = self.ids[g_rows, slot] == g_cols
        self.lo[g_rows, slot] = np.where(same, np.fmin(self.lo[g_rows, slot], g_lo), g_lo)
        self.hi[g_rows, slot] = np.where(same, np.fmax(self.hi[g_rows, slot], g_hi), g_hi)
        self.first_t[g_rows, slot] = np.where(same, self.first_t[g_rows, slot], ts[starts])
        self.last_t[g_rows, slot] = ts[ends]
        self.broken[g_rows, slot] = np.where(same, self.broken[g_rows, slot] | g_brk, g_brk)
        self.ids[g_rows, slot] = g_cols
        np.maximum.at(self.last_seen, rows, ts)
        return np.unique(g_rows)

    def runs(self, row: int, first_id: int, last_id: int) -> ColumnRuns:
        """Row `row`'s drawable columns with ids in [first_id, last_id], and where it breaks."""
        ids = np.arange(first_id, last_id + 1, dtype=np.int64)
        slot = ids % self.capacity
        present = self.ids[row, slot] == ids
        lo_all = self.lo[row, slot]
        drawn = present & np.isfinite(lo_all)
        keep = np.flatnonzero(drawn)
        if keep.size == 0:
            return ColumnRuns(_NO_INT, np.empty(0), np.empty(0), _NO_INT)
        s = slot[keep]
        brk = self.broken[row, s]
        # Columns that held only NaN between two drawn ones: counted so a change breaks.
        nan_only = np.cumsum(present & ~drawn)[keep]
        step_gap = self.first_t[row, s[1:]] - self.last_t[row, s[:-1]] > self.gap_s
        split = step_gap | brk[1:] | brk[:-1] | (nan_only[1:] != nan_only[:-1])
        starts = np.r_[0, np.flatnonzero(split) + 1].astype(np.int64)
        return ColumnRuns(ids[keep], lo_all[keep], self.hi[row, s], starts)

    def block(self, rows: np.ndarray, first_id: int, last_id: int) -> ColumnBlock:
        """`rows`' columns with ids in [first_id, last_id] in one pass (see ColumnBlock)."""
        ids = np.arange(first_id, last_id + 1, dtype=np.int64)
        cells = np.ix_(np.asarray(rows, dtype=np.int64), ids % self.capacity)
        lo, hi = self.lo[cells], self.hi[cells]
        drawn = (self.ids[cells] == ids) & np.isfinite(lo)
        n = ids.size
        count = drawn.sum(axis=1)
        first = np.argmax(drawn, axis=1)
        last = n - 1 - np.argmax(drawn[:, ::-1], axis=1)
        brk = self.broken[cells]
        with np.errstate(invalid="ignore"):
            step_gap = self.first_t[cells][:, 1:] - self.last_t[cells][:, :-1] > self.gap_s
        split = step_gap | brk[:, 1:] | brk[:, :-1]
        between = np.arange(n - 1)
        inside = (between >= first[:, None]) & (between < last[:, None])
        simple = (count > 0) & (count == last - first + 1) & ~(split & inside).any(axis=1)
        return ColumnBlock(lo, hi, first, last, simple)
