"""Feeds a LiveGrid with every service's golden signals from the store, one cell per service."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from opsconsole.core.health import Health, evaluate_series, no_traffic
from opsconsole.core.markers import ServiceMarkerTimes
from opsconsole.core.models import ConnectionState, Service, Thresholds
from opsconsole.core.store import BackendState, Store
from opsconsole.core.words import HEALTH_WORDS, stale_text
from opsconsole.ui import theme
from opsconsole.ui.charts import nice_ceiling
from opsconsole.ui.livegrid import Cell, LiveGrid, Strip

#: A cell, by the service it shows: (backend, service).
ServiceKey = tuple[str, str]

NO_TRAFFIC = "no traffic"
STALE_WORD = "STALE"
#: Health judgements per refresh at most. Judging one service costs about 50 µs (medians,
#: breach times): 200 at once would take most of a frame. The rest wait for the next
#: refreshes (the owner stays dirty while `pending`), oldest judgement first: at 25 refreshes
#: a second, 200 services changed at once are all judged again within about 0.7 s, and no
#: frame spends more than ~1 ms judging (the fleet overview bench's frame budget).
JUDGE_PER_REFRESH = 12
#: A Y axis shrinks only when its data fell below this share of the top: no breathing.
SHRINK_BELOW = 0.4
#: Headroom over the largest of the data and the limit.
HEADROOM = 1.1


@dataclass(frozen=True)
class SignalStrip:
    """One strip of every cell: which field, how it is scaled, its label and its limit."""

    field: str
    label: str
    scale: float  # ratios (0–1) are drawn as percent
    floor: float  # the smallest Y top: a flat zero line sits at the bottom, not mid-strip
    limit_field: str | None  # the Thresholds field that is its limit line

    def limit(self, thresholds: Thresholds) -> float | None:
        if self.limit_field is None:
            return None
        return float(getattr(thresholds, self.limit_field)) * self.scale


STRIPS: tuple[SignalStrip, ...] = (
    SignalStrip("latency_p99_ms", "p99 ms", 1.0, 1.0, "latency_p99_ms"),
    SignalStrip("rps", "rps", 1.0, 1.0, None),
    SignalStrip("error_ratio", "err %", 100.0, 0.1, "error_ratio"),
    SignalStrip("cpu", "CPU %", 100.0, 1.0, "cpu"),
)
PER_CELL = len(STRIPS)
FIELDS = tuple(s.field for s in STRIPS)


def service_keys(store: Store) -> list[ServiceKey]:
    """Every service of every backend, by backend then service name: cells that keep still."""
    return [
        (backend, name)
        for backend in sorted(store.backends)
        for name in sorted(store.backends[backend].services)
    ]


def watch_store(store: Store, slot: Callable[..., None]) -> None:
    """Connect `slot` to every store signal that changes what an overview shows."""
    for signal in (
        store.services_changed,
        store.snapshot_loaded,
        store.metrics_appended,
        store.connection_changed,
        store.event_added,
    ):
        signal.connect(slot)


def any_stale(store: Store) -> bool:
    """A backend with services is not live: its STALE age counts up without news."""
    return any(
        state.link.state is not ConnectionState.LIVE and state.services
        for state in store.backends.values()
    )


@dataclass(frozen=True)
class _Style:
    """What a cell's background shows besides its curves; a change repaints it."""

    title: str
    word: str
    colour: str
    dim: bool
    tops: tuple[float, ...]
    limits: tuple[float | None, ...]
    markers: tuple[float, ...]


class OverviewFeed:
    """Keeps `grid` showing `keys` (a page of services, or all): cells, samples, words.

    Per `update()`: only services whose series version changed are fed (one `bins.add` for
    all of them, only samples newer than those already given), every sample of the window
    again when the grid rebuilt its bins (`generation`); the health word and colour come
    from `core.health.evaluate_series`, the Services panel's judgement; a stale backend's
    cells are dim and say "STALE 12 s" (the store's data age, which only grows).
    """

    def __init__(self, store: Store, grid: LiveGrid, window_s: float = 900.0) -> None:
        self.store = store
        self.grid = grid
        self.window_s = window_s
        grid.set_window(window_s)
        self.keys: list[ServiceKey] = []
        self._generation = -1
        #: Per shown service, the series version fed into the bins (-2: never).
        self._fed_version = np.zeros(0, dtype=np.int64)
        #: Per backend, the positions in `keys` of its services.
        self._positions: dict[str, np.ndarray] = {}
        self._rows_cache: dict[str, tuple[object, int, np.ndarray]] = {}
        #: Cells whose words, colours, scales or markers may have changed since last shown.
        self._style_due: set[int] = set()
        self._backend_marks: dict[str, tuple[bool, int]] = {}
        self._judged_version: list[int] = []
        self._judged_stale: list[bool] = []
        self._judged_at: list[int] = []
        self._round = 0
        self._verdicts: list[tuple[str, Health]] = []
        self._styles: list[_Style | None] = []
        self._tops: np.ndarray = np.zeros((0, PER_CELL))
        #: The Y tops each cell shows now (what `_grow_tops` compares new peaks with).
        self._shown_tops: np.ndarray = np.zeros((0, PER_CELL))
        self._shown_limits: np.ndarray = np.zeros((0, PER_CELL))
        self._markers: list[tuple[float, ...]] = []
        self._markers_due = True
        self._step: float | None = None
        self._marker_times = ServiceMarkerTimes()
        self.judged = 0  # health judgements made, for tests and the bench
        #: Judgements left for the next refreshes: the owner stays dirty while any are.
        self.pending = 0
        store.event_added.connect(self._events_changed)
        store.snapshot_loaded.connect(self._events_changed)

    def _events_changed(self, *_: object) -> None:
        self._markers_due = True

    # ------------------------------------------------------------------ one refresh

    def update(self, keys: Sequence[ServiceKey]) -> int:
        """Bring the grid up to date with the store for `keys`; returns the cells rebuilt."""
        if list(keys) != self.keys:
            self._set_keys(list(keys))
        elif self._step is None and self.keys:
            self._step = self._step_s()
            if self._step is not None:
                self._relayout()
        grid = self.grid
        if grid.generation != self._generation:
            self._generation = grid.generation
            self._fed_version = np.full(len(self.keys), -2, dtype=np.int64)
        end = self._end_time()
        if math.isfinite(end):
            grid.set_end(end)
        self._feed(end)
        self._judge()
        if self._markers_due:
            self._markers_due = False
            self._update_markers(end)
            self._style_due.update(range(len(self.keys)))
        self._restyle()
        return grid.refresh()

    def _set_keys(self, keys: list[ServiceKey]) -> None:
        self.keys = keys
        n = len(keys)
        cells = [
            Cell(
                key=key,
                title=key[1],
                strips=[
                    Strip(
                        rows=(PER_CELL * i + k,),
                        colours=(theme.SERIES[s.field],),
                        label=s.label,
                    )
                    for k, s in enumerate(STRIPS)
                ],
            )
            for i, key in enumerate(keys)
        ]
        self._fed_version = np.full(n, -2, dtype=np.int64)
        positions: dict[str, list[int]] = {}
        for i, (backend, _name) in enumerate(keys):
            positions.setdefault(backend, []).append(i)
        self._positions = {b: np.array(p, dtype=np.int64) for b, p in positions.items()}
        self._rows_cache = {}
        self._style_due = set(range(n))
        self._backend_marks = {}
        self._judged_version = [-2] * n
        self._judged_stale = [False] * n
        self._judged_at = [-1] * n
        self._verdicts = [("", Health.UNKNOWN)] * n
        self._styles = [None] * n
        self._tops = np.zeros((n, PER_CELL))
        self._shown_tops = np.zeros((n, PER_CELL))
        self._shown_limits = np.zeros((n, PER_CELL))
        self._markers = [()] * n
        self._markers_due = True
        self._step = self._step_s()
        self.grid.set_cells(cells, rows=max(1, PER_CELL * n), step_s=self._step or 1.0)
        self._generation = self.grid.generation

    def set_layout(self, columns: int, fit_rows: int | None) -> None:
        """`columns` columns of cells, and `fit_rows` rows fitted to the grid's height (None:
        cells of the grid's own height, for a scroll area)."""
        grid = self.grid
        if (columns, fit_rows) != (grid.columns, grid.fit_rows):
            grid.columns, grid.fit_rows = columns, fit_rows
            self._relayout()

    def _relayout(self) -> None:
        grid = self.grid
        grid.set_cells(grid.cells, rows=max(1, PER_CELL * len(self.keys)), step_s=self._step or 1.0)

    def _step_s(self) -> float | None:
        """The usual sampling step of the services shown (1 s for the reference backend);
        None while none has data (gaps are then judged against 1 s until it is known)."""
        for backend, name in self.keys[:8]:
            state = self.store.backends.get(backend)
            series = None if state is None else state.series.get(name)
            if series is not None and len(series) > 2:
                times = series.times()[-16:]
                step = float(np.median(np.diff(times)))
                if math.isfinite(step) and step > 0:
                    return step
        return None

    def _end_time(self) -> float:
        """The window's right edge: the newest sample time plus the data's age (stale, the
        curves move left as time passes), the latest over the backends shown."""
        end = -math.inf
        for backend in {b for b, _ in self.keys}:
            state = self.store.backends.get(backend)
            if state is None or state.newest_data_ts is None:
                continue
            age = self.store.data_age(backend) or 0.0
            end = max(end, state.newest_data_ts + age)
        return end

    def _feed(self, end: float) -> None:
        """One `bins.add` with the new samples of every service whose series changed.

        Read per backend in one gather from its bank (`SeriesBank.newest`), not per service:
        at 200 services a Python call each was most of a refresh.
        """
        start = end - self.window_s if math.isfinite(end) else -math.inf
        rows: list[np.ndarray] = []
        times: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for backend, positions in self._positions.items():
            state = self.store.backends.get(backend)
            if state is None:
                continue
            bank = state.series
            bank_rows = self._bank_rows(backend, positions)
            versions = bank.versions(bank_rows)
            fed = self._fed_version[positions]
            due = (versions != fed) & (bank_rows >= 0)
            if not due.any():
                continue
            at = positions[due]
            # Never fed (or fed into bins since rebuilt): the whole ring; else what is new.
            counts = np.where(fed[due] < 0, bank.capacity, versions[due] - fed[due])
            self._fed_version[at] = versions[due]
            which, ts, vals = bank.newest(bank_rows[due], counts, FIELDS)
            keep = ts >= start
            cell = at[which[keep]]
            t = ts[keep]
            for k, strip in enumerate(STRIPS):
                rows.append(PER_CELL * cell + k)
                times.append(t)
                v = vals[k][keep].astype(np.float64)
                values.append(v * strip.scale if strip.scale != 1.0 else v)
        if not rows:
            return
        grid = self.grid
        changed = grid.bins.add(np.concatenate(rows), np.concatenate(times), np.concatenate(values))
        grid.mark_rows(changed)
        self._grow_tops(changed)

    def _bank_rows(self, backend: str, positions: np.ndarray) -> np.ndarray:
        """The bank rows of `backend`'s shown services (-1: no data yet), kept until it grows."""
        bank = self.store.backends[backend].series
        cached = self._rows_cache.get(backend)
        if cached is not None and cached[0] is bank and cached[1] == len(bank):
            return cached[2]
        found = np.array([bank.row_of(self.keys[i][1]) for i in positions], dtype=np.int64)
        self._rows_cache[backend] = (bank, len(bank), found)
        return found

    def _grow_tops(self, changed: np.ndarray) -> None:
        """Y tops of the strips whose data changed, from the columns in the window."""
        if changed.size == 0:
            return
        bins, end = self.grid.bins, self.grid.end_t
        # The grid shows `capacity - 2` columns ending at the column of its right edge.
        first_id = bins.column_of(end) - bins.capacity + 3 if math.isfinite(end) else 0
        live = bins.ids[changed] >= first_id
        hi = np.where(live, bins.hi[changed], np.nan)
        with warnings.catch_warnings():
            # A row without data in the window has no peak (NaN, here 0): no warning needed.
            warnings.simplefilter("ignore", RuntimeWarning)
            peaks = np.nanmax(hi, axis=1)
        cells, strips = np.divmod(changed, PER_CELL)
        peaks = np.where(np.isfinite(peaks), peaks, 0.0)
        self._tops[cells, strips] = peaks
        # Restyled only where the scale may have to move: data over the top grows it at once,
        # data far below may shrink it (`_top_of` decides, with the limit line).
        shown = self._shown_tops[cells, strips]
        # The limit line holds a top up as `_top_of` does: data far under its limit is no
        # reason to look again.
        wanted = np.fmax(peaks, self._shown_limits[cells, strips]) * HEADROOM
        moved = (wanted > shown) | (wanted < shown * SHRINK_BELOW)
        self._style_due.update(cells[moved].tolist())

    # ------------------------------------------------------------------ words and colours

    def _judge(self) -> None:
        """Health of the services whose data or link changed, oldest judgement first."""
        backends = self.store.backends
        due: list[int] = []
        for i, (backend, name) in enumerate(self.keys):
            state = backends.get(backend)
            if state is None:
                continue
            stale = state.link.state is not ConnectionState.LIVE
            series = state.series.get(name)
            version = -1 if series is None else series.version
            if stale:
                # Stale is said whatever the data: no judging needed, and never late.
                self._judged_stale[i] = True
                self._judged_version[i] = -2
                continue
            if self._judged_stale[i] or version != self._judged_version[i]:
                due.append(i)
        # The longest-waiting first: an index order would starve the last services.
        self._round += 1
        due.sort(key=lambda i: self._judged_at[i])
        self.pending = max(0, len(due) - JUDGE_PER_REFRESH)
        for i in due[:JUDGE_PER_REFRESH]:
            self._judged_at[i] = self._round
            backend, name = self.keys[i]
            state = backends[backend]
            series = state.series.get(name)
            service = state.services.get(name)
            thresholds = service.thresholds if service is not None else Thresholds()
            self._judged_stale[i] = False
            self._judged_version[i] = -1 if series is None else series.version
            self._style_due.add(i)
            self.judged += 1
            if series is None or len(series) == 0:
                self._verdicts[i] = (HEALTH_WORDS[Health.UNKNOWN], Health.UNKNOWN)
                continue
            if no_traffic(series.latest()):
                self._verdicts[i] = (NO_TRAFFIC, Health.UNKNOWN)
                continue
            level = evaluate_series(series, thresholds).level
            self._verdicts[i] = (HEALTH_WORDS[level], level)

    def _update_markers(self, end: float) -> None:
        start = end - self.window_s if math.isfinite(end) else -math.inf
        self._markers = self._marker_times.times(self.store, self.keys, start, end)

    def _restyle(self) -> None:
        """Titles, words, colours, limits and Y tops: `restyle(i)` only where one changed."""
        grid = self.grid
        backends = self.store.backends
        many = len({b for b, _ in self.keys}) > 1
        due = self._style_due
        for backend, positions in self._positions.items():
            state = backends.get(backend)
            if state is None:
                continue
            stale = state.link.state is not ConnectionState.LIVE
            # A change of link, thresholds or names touches every cell of the backend.
            marks = (stale, id(state.services))
            if self._backend_marks.get(backend) != marks:
                self._backend_marks[backend] = marks
                due.update(positions.tolist())
        self._style_due = set()
        for i in sorted(due):
            if i >= len(self.keys):
                continue
            backend, name = self.keys[i]
            state = backends.get(backend)
            if state is None:
                continue
            stale = state.link.state is not ConnectionState.LIVE
            if stale:
                # The word only: the age is the same for every cell of the backend and is said
                # once, over the grid (`stale_words`), so a ticking age repaints one label and
                # not every cell's title each second.
                word, colour = STALE_WORD, theme.STATE_COLOURS[Health.UNKNOWN]
            else:
                word, level = self._verdicts[i]
                colour = theme.STATE_COLOURS[level]
            service = state.services.get(name)
            thresholds = service.thresholds if service is not None else Thresholds()
            limits = tuple(s.limit(thresholds) for s in STRIPS)
            tops = self._top_of(i, limits)
            title = _title(state, name, service, many)
            style = _Style(title, word, colour, stale, tops, limits, self._markers[i])
            if style == self._styles[i]:
                continue
            old = self._styles[i]
            self._styles[i] = style
            cell = grid.cells[i]
            cell.title, cell.state, cell.colour, cell.dim = title, word, colour, stale
            cell.short_title = name if name != title else ""
            cell.markers = style.markers
            for strip, spec, top, limit in zip(cell.strips, STRIPS, tops, limits, strict=True):
                strip.y_top, strip.limit = top, limit
                # The strip's scale, so a reader knows what its height stands for.
                strip.label = f"{spec.label} 0–{top:g}"
            self._shown_tops[i] = tops
            self._shown_limits[i] = [0.0 if lim is None else lim for lim in limits]
            if old is not None and old.tops != tops:
                grid.mark_rows(np.arange(PER_CELL * i, PER_CELL * (i + 1)))  # new Y scale
            grid.restyle(i)

    def stale_words(self) -> str:
        """What the grid's line says of the shown backends that are not live: "STALE 12 s"
        (the store's data age, which only grows while nothing arrives) and which backend."""
        parts = []
        for backend in self._positions:
            state = self.store.backends.get(backend)
            if state is None or state.link.state is ConnectionState.LIVE:
                continue
            age = stale_text(self.store.data_age(backend)) or STALE_WORD
            parts.append(f"{age} · no new data from {backend}; its cells show what it sent last")
        return "   ".join(parts)

    def _top_of(self, i: int, limits: tuple[float | None, ...]) -> tuple[float, ...]:
        old = self._styles[i]
        tops: list[float] = []
        for k, (strip, limit) in enumerate(zip(STRIPS, limits, strict=True)):
            wanted = max(float(self._tops[i, k]), limit or 0.0) * HEADROOM
            top = nice_ceiling(wanted, floor=strip.floor)
            if old is not None:
                current = old.tops[k]
                # Grow at once (never clip a spike); shrink only when far below (no breathing).
                if top <= current and top >= current * SHRINK_BELOW and old.limits == limits:
                    top = current
            tops.append(top)
        return tuple(tops)


def _title(state: BackendState, name: str, service: Service | None, many: bool) -> str:
    shown = (service.display_name or service.name) if service is not None else name
    return f"{shown} · {state.name}" if many else shown
