"""Console health: the console's own golden signals (loop lag, frame time, ingest, memory)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from opsconsole.core.health import Health
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.panel import Panel
from opsconsole.ui.probes import LoopLagProbe, memory_rss_bytes

NO_DATA = "—"
REFRESH_S = 1.0  # numbers that change 25 times a second cannot be read
VALUE_POINTS = 15

# targets.md: the UI thread never blocked > 100 ms; a frame fits the display's 16.7 ms.
LOOP_LAG_LIMITS = (50.0, 100.0)  # warn above, critical above (ms)
FRAME_LIMITS = (16.0, 33.0)


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    tooltip: str
    limits: tuple[float, float] | None = None  # (warn above, critical above)


METRICS: tuple[Metric, ...] = (
    Metric("loop_lag_ms", "Event-loop lag", "ms", "How late a 250 ms timer fired", LOOP_LAG_LIMITS),
    Metric(
        "loop_lag_max_ms",
        "Loop lag, max 1 min",
        "ms",
        "Worst lag of the last minute",
        LOOP_LAG_LIMITS,
    ),
    Metric("frame_ms", "Frame time", "ms", "Last repaint (all panels)", FRAME_LIMITS),
    Metric(
        "frame_p95_ms", "Frame time p95", "ms", "95th percentile of recent repaints", FRAME_LIMITS
    ),
    Metric("frames_per_s", "Frames painted", "/s", "Chart paints that drew something"),
    Metric("samples_per_s", "Samples ingested", "/s", "Metric values stored, all backends"),
    Metric("invalid_frames", "Invalid frames", "", "Frames dropped by validation, total"),
    Metric("resyncs", "Resyncs", "", "Snapshots reloaded after lost frames, total"),
    Metric("memory_mib", "Memory in use", "MiB", "Resident set size of the console"),
)


def level(value: float | None, limits: tuple[float, float] | None) -> Health | None:
    """Health of a value against (warn, crit) limits; None when there is no target."""
    if limits is None:
        return None
    if value is None:
        return Health.UNKNOWN
    warn, crit = limits
    if value > crit:
        return Health.CRITICAL
    if value > warn:
        return Health.WARNING
    return Health.HEALTHY


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; fine for the few hundred frame times kept."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
    return ordered[rank]


class _MetricRow:
    """Label, big value, unit and state word of one metric, in one row of the grid."""

    def __init__(self, metric: Metric, grid: QGridLayout, row: int, parent: QWidget) -> None:
        self.metric = metric
        self._health: Health | None = None
        self.label = QLabel(metric.label, parent)
        self.label.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.value = QLabel(NO_DATA, parent)
        self.value.setFont(theme.mono_font(VALUE_POINTS))
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Room for "100,000" so the column does not jump as numbers grow.
        self.value.setMinimumWidth(self.value.fontMetrics().horizontalAdvance("8888888"))
        self.unit = QLabel(metric.unit, parent)
        self.unit.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.state = QLabel("", parent)
        self.state.setFont(theme.mono_font(10))
        for w in (self.label, self.value, self.unit, self.state):
            w.setToolTip(metric.tooltip)
        grid.addWidget(self.label, row, 0)
        grid.addWidget(self.value, row, 1)
        grid.addWidget(self.unit, row, 2)
        grid.addWidget(self.state, row, 3)

    def show(self, text: str, health: Health | None, tooltip: str | None = None) -> None:
        if text != self.value.text():
            self.value.setText(text)
        if health != self._health:
            # Style sheets are re-parsed on every set: only touch them when the level changes.
            self._health = health
            colour = theme.TEXT if health is None else theme.STATE_COLOURS[health]
            self.value.setStyleSheet(f"color: {colour};")
            self.state.setText("" if health is None else f"● {theme.STATE_WORDS[health]}")
            self.state.setStyleSheet(f"color: {colour};")
        if tooltip is not None:
            for w in (self.label, self.value):
                w.setToolTip(tooltip)


class ConsoleHealthPanel(Panel):
    """A grid of the console's own numbers, updated once a second."""

    panel_id = "console_health"
    title = "Console health"
    wants_tick = True  # rates need regular samples even when the store is quiet

    def __init__(
        self, ctx: UiContext, parent: QWidget | None = None, *, probe: LoopLagProbe | None = None
    ) -> None:
        super().__init__(ctx, parent)
        if probe is None:
            # No shared probe given: measure for ourselves (the timer costs ~nothing at 4 Hz).
            probe = LoopLagProbe(ctx.stats, parent=self)
            probe.start()
        self.probe = probe
        self.values: dict[str, str] = {m.key: NO_DATA for m in METRICS}
        self.levels: dict[str, Health | None] = {m.key: None for m in METRICS}
        self._last_at: float | None = None
        self._last_frames = 0
        self._last_samples = 0
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 8, 10, 8)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        # Keep label, value, unit and state together at the left; spare width goes after them.
        grid.setColumnStretch(4, 1)
        self._rows = {m.key: _MetricRow(m, grid, i, self) for i, m in enumerate(METRICS)}
        outer.addLayout(grid)
        outer.addStretch(1)

    def refresh(self, now: float) -> None:
        if self._last_at is not None and now - self._last_at < REFRESH_S:
            return
        stats = self.ctx.stats
        backends = self.ctx.store.backends.values()
        samples = sum(b.samples_ingested for b in backends)
        invalid: dict[str, int] = {}
        for b in backends:
            for kind, n in b.invalid_frames.items():
                invalid[kind] = invalid.get(kind, 0) + n
        frames_rate = samples_rate = None
        if self._last_at is not None:
            dt = now - self._last_at
            frames_rate = (stats.frames_painted - self._last_frames) / dt
            samples_rate = (samples - self._last_samples) / dt
        self._last_at, self._last_frames, self._last_samples = now, stats.frames_painted, samples

        rss = memory_rss_bytes()
        numbers: dict[str, tuple[float | None, str]] = {
            "loop_lag_ms": (self.probe.latest_ms, "{:.1f}"),
            "loop_lag_max_ms": (self.probe.max_ms(), "{:.1f}"),
            "frame_ms": (stats.last_frame_ms if stats.frame_ms_history else None, "{:.2f}"),
            "frame_p95_ms": (percentile(stats.frame_ms_history, 95), "{:.2f}"),
            "frames_per_s": (frames_rate, "{:.0f}"),
            "samples_per_s": (samples_rate, "{:,.0f}"),
            "invalid_frames": (float(sum(invalid.values())), "{:.0f}"),
            "resyncs": (float(sum(b.resyncs for b in backends)), "{:.0f}"),
            "memory_mib": (None if rss is None else rss / 2**20, "{:.0f}"),
        }
        for key, (value, fmt) in numbers.items():
            row = self._rows[key]
            text = NO_DATA if value is None else fmt.format(value)
            health = level(value, row.metric.limits)
            tooltip = None
            if key == "invalid_frames":
                tooltip = _invalid_tooltip(invalid)
            self.values[key] = text
            self.levels[key] = health
            row.show(text, health, tooltip)


def _invalid_tooltip(by_kind: dict[str, int]) -> str:
    if not by_kind:
        return "No invalid frames"
    lines = [f"{kind}: {n}" for kind, n in sorted(by_kind.items(), key=lambda kv: -kv[1])]
    return "Invalid frames by kind\n" + "\n".join(lines)
