"""Fixed-capacity numpy ring buffers of golden-signal samples, one per service."""

from __future__ import annotations

import numpy as np

from opsconsole.core.models import METRIC_FIELDS

DEFAULT_CAPACITY = 3600  # one hour at 1 Hz


class RingSeries:
    """Time and field values of one service in a preallocated ring.

    Every sample is written twice, at `i` and `i + capacity` (the "mirrored ring"), so the
    newest `len` samples are always one contiguous slice: plotting gets zero-copy views and
    appends stay O(1) per sample with no per-point Python objects.
    """

    __slots__ = ("_head", "_len", "_ts", "_values", "capacity", "dropped", "fields", "version")

    def __init__(self, capacity: int = DEFAULT_CAPACITY, fields: tuple[str, ...] = METRIC_FIELDS):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.fields = fields
        self._ts = np.full(2 * capacity, np.nan, dtype=np.float64)
        # Field-major so that each field's view is contiguous; float32 halves memory and still
        # holds seven significant digits, plenty for milliseconds and ratios.
        self._values = np.full((len(fields), 2 * capacity), np.nan, dtype=np.float32)
        self._head = 0  # index of the next write in [0, capacity)
        self._len = 0
        self.version = 0  # bumps on every append; views compare it to know what changed
        self.dropped = 0  # samples refused as duplicate or out of order

    def __len__(self) -> int:
        return self._len

    @property
    def last_ts(self) -> float | None:
        if self._len == 0:
            return None
        return float(self._ts[self._head - 1 + self.capacity])

    def append_batch(self, ts: np.ndarray, values: np.ndarray) -> int:
        """Append samples in time order; returns how many were kept.

        `values` has shape (n, len(fields)). Samples not newer than the last one kept are
        dropped and counted: the chart must never go back in time or repeat a point.
        """
        ts = np.asarray(ts, dtype=np.float64)
        if ts.size == 0:
            return 0
        values = np.asarray(values)
        if values.shape != (ts.size, len(self.fields)):
            raise ValueError(f"values shape {values.shape} != ({ts.size}, {len(self.fields)})")
        last = self.last_ts
        keep = np.ones(ts.size, dtype=bool)
        if last is not None:
            keep &= ts > last
        # Within a batch too: each sample must be newer than every one before it (fmax skips
        # NaN, so one bad time does not drop everything after it).
        if ts.size > 1:
            running = np.fmax.accumulate(np.concatenate(([-np.inf], ts[:-1])))
            keep &= ts > running
        n_kept = int(keep.sum())
        self.dropped += ts.size - n_kept
        if n_kept == 0:
            return 0
        if n_kept != ts.size:
            ts, values = ts[keep], values[keep]
        if n_kept > self.capacity:
            ts, values = ts[-self.capacity :], values[-self.capacity :]
        self._write(ts, values.T)
        self.version += 1
        return n_kept

    def _write(self, ts: np.ndarray, cols: np.ndarray) -> None:
        cap, n = self.capacity, ts.size
        first = min(n, cap - self._head)
        for off, start, count in ((0, self._head, first), (first, 0, n - first)):
            if count == 0:
                continue
            sl = slice(start, start + count)
            mirror = slice(start + cap, start + cap + count)
            src = slice(off, off + count)
            self._ts[sl] = ts[src]
            self._ts[mirror] = ts[src]
            self._values[:, sl] = cols[:, src]
            self._values[:, mirror] = cols[:, src]
        self._head = (self._head + n) % cap
        self._len = min(self._len + n, cap)

    def _window(self) -> slice:
        end = self._head + self.capacity
        return slice(end - self._len, end)

    def times(self) -> np.ndarray:
        """Contiguous read-only view of the kept sample times, oldest first."""
        view = self._ts[self._window()]
        view.flags.writeable = False
        return view

    def values(self, field: str) -> np.ndarray:
        """Contiguous read-only view of one field, aligned with `times()`; NaN means no data."""
        view = self._values[self.fields.index(field), self._window()]
        view.flags.writeable = False
        return view

    def latest(self) -> dict[str, float] | None:
        """The newest sample as a field → value map (NaN for no data), or None when empty."""
        if self._len == 0:
            return None
        i = self._head - 1 + self.capacity
        return {f: float(self._values[k, i]) for k, f in enumerate(self.fields)}


class BankSeries:
    """Read handle on one service's rows of a SeriesBank; the same API as RingSeries reads.

    Views (`times()`, `values()`) are into the bank's current buffers: fetch them again on
    every repaint, since the bank reallocates when it grows past its rows.
    """

    __slots__ = ("_bank", "_row", "name")

    def __init__(self, bank: SeriesBank, row: int, name: str) -> None:
        self._bank, self._row, self.name = bank, row, name

    def __len__(self) -> int:
        return int(self._bank._len[self._row])

    @property
    def fields(self) -> tuple[str, ...]:
        return self._bank.fields

    @property
    def capacity(self) -> int:
        return self._bank.capacity

    @property
    def version(self) -> int:
        return int(self._bank._version[self._row])

    @property
    def dropped(self) -> int:
        return int(self._bank._dropped[self._row])

    @property
    def last_ts(self) -> float | None:
        return None if len(self) == 0 else float(self._bank._last[self._row])

    def _window(self) -> slice:
        bank = self._bank
        end = int(bank._head[self._row]) + bank.capacity
        return slice(end - int(bank._len[self._row]), end)

    def times(self) -> np.ndarray:
        """Contiguous read-only view of the kept sample times, oldest first."""
        view = self._bank._ts[self._row, self._window()]
        view.flags.writeable = False
        return view

    def values(self, field: str) -> np.ndarray:
        """Contiguous read-only view of one field, aligned with `times()`; NaN means no data."""
        bank = self._bank
        view = bank._values[bank.fields.index(field), self._row, self._window()]
        view.flags.writeable = False
        return view

    def latest(self) -> dict[str, float] | None:
        if len(self) == 0:
            return None
        bank = self._bank
        i = int(bank._head[self._row]) - 1 + bank.capacity
        return {f: float(bank._values[k, self._row, i]) for k, f in enumerate(bank.fields)}


class SeriesBank:
    """The ring series of every service of one backend, stored as one matrix per field.

    Rows are services, each a mirrored ring like RingSeries. Keeping all services in one
    matrix lets a metrics frame (one row per service) land in a handful of vectorised writes
    instead of a Python call per service: the ingest hot path.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY, fields: tuple[str, ...] = METRIC_FIELDS):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.fields = fields
        self._index: dict[str, int] = {}
        self._handles: list[BankSeries] = []
        self._alloc(8)

    def _alloc(self, rows: int) -> None:
        cap2 = 2 * self.capacity
        n_old = len(self._index)
        ts = np.full((rows, cap2), np.nan, dtype=np.float64)
        values = np.full((len(self.fields), rows, cap2), np.nan, dtype=np.float32)
        head = np.zeros(rows, dtype=np.int64)
        length = np.zeros(rows, dtype=np.int64)
        last = np.full(rows, -np.inf, dtype=np.float64)
        version = np.zeros(rows, dtype=np.int64)
        dropped = np.zeros(rows, dtype=np.int64)
        if n_old:
            ts[:n_old] = self._ts[:n_old]
            values[:, :n_old] = self._values[:, :n_old]
            for new, old in (
                (head, self._head),
                (length, self._len),
                (last, self._last),
                (version, self._version),
                (dropped, self._dropped),
            ):
                new[:n_old] = old[:n_old]
        self._ts, self._values = ts, values
        self._head, self._len, self._last = head, length, last
        self._version, self._dropped = version, dropped

    def __contains__(self, service: str) -> bool:
        return service in self._index

    def __iter__(self):
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def get(self, service: str) -> BankSeries | None:
        row = self._index.get(service)
        return None if row is None else self._handles[row]

    def series(self, service: str) -> BankSeries:
        row = self._index.get(service)
        if row is None:
            row = len(self._index)
            if row >= self._ts.shape[0]:
                self._alloc(2 * self._ts.shape[0])
            self._index[service] = row
            self._handles.append(BankSeries(self, row, service))
        return self._handles[row]

    def append_rows(
        self, services: tuple[str, ...], ts: np.ndarray, values: np.ndarray
    ) -> tuple[set[str], int]:
        """Append a decoded metrics batch (rows of many services); returns (touched, kept).

        A row is kept only if it is newer than everything its service already holds, so
        duplicates and reordered rows never bend a chart back in time.
        """
        n = len(services)
        if values.shape != (n, len(self.fields)):
            raise ValueError(f"batch shape {values.shape} != ({n}, {len(self.fields)})")
        if n == 0:
            return set(), 0
        rows = np.fromiter((self.series(s)._row for s in services), dtype=np.int64, count=n)
        ts = np.asarray(ts, dtype=np.float64)
        if np.unique(rows).size == n:
            kept_rows = self._append_unique(rows, ts, values)
        else:
            # Several rows per service: apply in rounds of one row per service, oldest first.
            order = np.lexsort((ts, rows))
            rows, ts, values = rows[order], ts[order], values[order]
            starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
            rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
            kept_rows = np.empty(0, dtype=np.int64)
            for r in range(int(rank.max()) + 1):
                sel = rank == r
                kept_rows = np.concatenate(
                    (kept_rows, self._append_unique(rows[sel], ts[sel], values[sel]))
                )
        names = self._handles
        return {names[r].name for r in np.unique(kept_rows)}, int(kept_rows.size)

    def _append_unique(self, rows: np.ndarray, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
        keep = ts > self._last[rows]
        if not keep.all():
            np.add.at(self._dropped, rows[~keep], 1)
            rows, ts, values = rows[keep], ts[keep], values[keep]
        if rows.size == 0:
            return rows
        cap = self.capacity
        head = self._head[rows]
        self._ts[rows, head] = ts
        self._ts[rows, head + cap] = ts
        cols = values.T.astype(np.float32, copy=False)
        self._values[:, rows, head] = cols
        self._values[:, rows, head + cap] = cols
        self._head[rows] = (head + 1) % cap
        self._len[rows] = np.minimum(self._len[rows] + 1, cap)
        self._last[rows] = ts
        self._version[rows] += 1
        return rows

    def prepend(self, service: str, ts: np.ndarray, values: np.ndarray) -> int:
        """Put history before what a service holds (a backfill that lands after live rows).

        Only rows older than the service's oldest kept sample are taken, so live data is never
        overwritten and the series stays in time order; when the ring is full the oldest
        history gives way. Returns the number of rows taken. One rewrite of one row: called
        once per service at start, never on the live path.
        """
        if values.shape != (ts.shape[0], len(self.fields)):
            raise ValueError(f"history shape {values.shape} != ({ts.shape[0]}, {len(self.fields)})")
        handle = self.series(service)
        row, cap = handle._row, self.capacity
        have_ts = handle.times().copy()
        have_vals = self._values[:, row, handle._window()].copy()
        ts = np.asarray(ts, dtype=np.float64)
        order = np.argsort(ts, kind="stable")
        ts, values = ts[order], values[order]
        if have_ts.size:
            older = ts < have_ts[0]
            ts, values = ts[older], values[older]
        if ts.size:
            # Duplicate times in the history itself: keep the last answer for each.
            last_of_each = np.r_[ts[1:] != ts[:-1], True]
            ts, values = ts[last_of_each], values[last_of_each]
        room = cap - have_ts.size
        if room <= 0 or ts.size == 0:
            return 0
        ts, values = ts[-room:], values[-room:]
        all_ts = np.concatenate((ts, have_ts))
        all_vals = np.concatenate((values.T.astype(np.float32), have_vals), axis=1)
        n = all_ts.size
        self._ts[row, :n] = all_ts
        self._ts[row, cap : cap + n] = all_ts
        self._values[:, row, :n] = all_vals
        self._values[:, row, cap : cap + n] = all_vals
        self._head[row] = n % cap
        self._len[row] = n
        self._last[row] = all_ts[-1]
        self._version[row] += 1
        return int(ts.size)

    def row_of(self, service: str) -> int:
        """The service's row in the bank's matrices, -1 while it has none."""
        return self._index.get(service, -1)

    def versions(self, rows: np.ndarray) -> np.ndarray:
        """Each row's version (bumped by every change), -1 for row -1."""
        rows = np.asarray(rows, dtype=np.int64)
        return np.where(rows >= 0, self._version[np.maximum(rows, 0)], -1)

    def newest(
        self, rows: np.ndarray, counts: np.ndarray, fields: tuple[str, ...]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The newest `counts[i]` samples of each row `rows[i]`, oldest first, in one gather.

        Returns (i, times, values): `i` the position in `rows` each sample belongs to, and
        `values` one row per field of `fields`. A count larger than what a row holds gives
        what it holds. What a view of many services (the fleet overview) reads per refresh
        instead of a Python call per service.
        """
        rows = np.asarray(rows, dtype=np.int64)
        counts = np.minimum(np.asarray(counts, dtype=np.int64), self._len[rows])
        counts = np.maximum(counts, 0)
        total = int(counts.sum())
        which = np.repeat(np.arange(rows.size), counts)
        starts = np.cumsum(counts) - counts
        back = counts[which] - 1 - (np.arange(total) - starts[which])
        r = rows[which]
        idx = self._head[r] - 1 - back + self.capacity
        k = np.array([self.fields.index(f) for f in fields], dtype=np.int64)
        return which, self._ts[r, idx], self._values[k[:, None], r[None, :], idx[None, :]]

    @property
    def dropped(self) -> int:
        return int(self._dropped.sum())
