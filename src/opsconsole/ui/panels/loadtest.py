"""The Load test panel: one watch's criteria live, its stop countdown and the key that holds it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import QTableView, QVBoxLayout, QWidget

from opsconsole.core.durations import age_text
from opsconsole.core.health import Health
from opsconsole.core.loadtest.referee import CriterionState
from opsconsole.core.loadtest.spec import Signal, value_text
from opsconsole.core.loadtest.toolstats import ToolStats
from opsconsole.core.loadtest.view import WatchView
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.elided import ElidedLabel
from opsconsole.ui.listview import style_list_view
from opsconsole.ui.panel import Panel, poll_time
from opsconsole.ui.tablemodel import Index, KeyedRowModel, align

FONT_POINTS = 10
HOLD_COMMAND = "loadtest.hold"
RELEASE_COMMAND = "loadtest.release"
#: Holding is the safe direction (nothing is sent; the stop waits for the operator), so a bare
#: key is right; it works only where the panel (or the wall page) has the keys, never in a
#: text field, and is no command's default key (the window-wide bare keys stay free).
HOLD_KEY = "H"

#: A criterion's state as a glyph, a word and a colour: the colour is never the only cue.
STATE_GLYPHS: dict[str, str] = {
    "pass": "✓",
    "breaching": "▲",
    "failed": "✗",
    "no data": "?",
    "warming up": "…",
}
STATE_HEALTH: dict[str, Health] = {
    "pass": Health.HEALTHY,
    "breaching": Health.WARNING,
    "failed": Health.CRITICAL,
    "no data": Health.UNKNOWN,
    "warming up": Health.UNKNOWN,
}
TOOL_NAMES = {"locust": "Locust", "k6": "k6"}
VERDICT_WORDS = {
    "passed": "Passed: every criterion held",
    "failed": "Failed: a criterion did not hold",
    "stopped": "Stopped by a stop condition",
}
VERDICT_HEALTH = {"passed": Health.HEALTHY, "failed": Health.CRITICAL, "stopped": Health.WARNING}
LABEL_MIN_PX = 140
NO_WATCH = "No load test watched — :loadtest watch NAME"
NOT_MEASURED = "—"  # the tool does not measure this signal (CPU, memory, the pool)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("label", "Criterion", "What must hold (success) or what stops the test (stop)"),
    Column("state", "State", "pass, breaching, failed, no data or warming up"),
    Column("server", "Server", "The server's value over the criterion's window", True),
    Column("tool", "Tool", "The load tool's own figure, where it measures this signal", True),
    Column("in_state", "In state", "How long the criterion has been in this state", True),
    Column("counts_in", "Counts in", "While breaching: time left before the breach counts", True),
    Column("violation", "In violation", "Total time in violation during the test", True),
)
NO_BACKEND_COLUMN = Column("backend", "Backend", "")


def tool_figure(signal: Signal, stats: ToolStats | None) -> float | None:
    """The tool's own figure for a signal, or None where it has none."""
    if stats is None:
        return None
    return {
        "rps": stats.rps,
        "error_ratio": stats.fail_ratio,
        "latency_p50_ms": stats.p50_ms,
        "latency_p95_ms": stats.p95_ms,
        "latency_p99_ms": stats.p99_ms,
    }.get(signal)


def state_text(state: str) -> str:
    """ "✓ pass", "▲ breaching", "✗ failed", "? no data", "… warming up"."""
    return f"{STATE_GLYPHS.get(state, '')} {state}".strip()


def criterion_texts(cs: CriterionState, view: WatchView) -> dict[str, str]:
    """What one criterion's row says at this moment of the watch."""
    c = cs.criterion
    tool_has = c.signal in ("rps", "error_ratio") or c.signal.startswith("latency_")
    tool = tool_figure(c.signal, view.tool_stats)
    return {
        "label": c.label,
        "state": state_text(cs.state),
        # The label beside it says the limit ("p95 ≤ 500 ms"): the cell is the value alone.
        "server": value_text(c.signal, cs.value),
        "tool": value_text(c.signal, tool) if tool_has and tool is not None else NOT_MEASURED,
        "in_state": age_text(max(0.0, view.judged_now - cs.since), precise=False),
        "counts_in": age_text(cs.left_s, precise=False)
        if cs.state == "breaching" and cs.left_s is not None
        else "",
        "violation": age_text(cs.violation_s, precise=False) if cs.violation_s > 0 else "",
    }


def countdown_left(view: WatchView, wall_now: float) -> float | None:
    """Seconds left before the stop at `wall_now` (counted on between the watch's moments);
    while held, the time the hold kept."""
    if view.countdown_left_s is None:
        return None
    if view.phase == "counting down":
        return max(0.0, view.countdown_left_s - max(0.0, wall_now - view.now))
    return view.countdown_left_s


def banner_words(view: WatchView, wall_now: float) -> tuple[str, str, Health] | None:
    """(big line, reason line, colour) of the countdown banner, or None when there is none."""
    tool = TOOL_NAMES.get(view.tool, view.tool)
    reason = view.stop_reason.words if view.stop_reason is not None else ""
    if view.phase == "counting down":
        left = countdown_left(view, wall_now) or 0.0
        return f"Stopping {tool} in {math.ceil(left)} s — {HOLD_KEY} holds", reason, Health.CRITICAL
    if view.phase == "held":
        left = view.countdown_left_s
        kept = f" ({math.ceil(left)} s left when released)" if left is not None else ""
        return f"Stop held — {HOLD_KEY} releases{kept}", reason, Health.FORCED
    if view.phase == "stopping":
        return (view.stop_words or f"Stopping {tool}…"), reason, Health.WARNING
    if view.phase == "finished":
        verdict = view.verdict or ""
        big = VERDICT_WORDS.get(verdict, f"Finished: {verdict}" if verdict else "Finished")
        if view.exit_code is not None:
            big += f" (exit code {view.exit_code})"
        small = " · ".join(w for w in (reason, view.stop_words or "") if w)
        return big, small, VERDICT_HEALTH.get(verdict, Health.UNKNOWN)
    return None


def header_text(view: WatchView) -> str:
    """The watch in one line: its name, the tool and where it is, the phase, the time."""
    tool = TOOL_NAMES.get(view.tool, view.tool)
    parts = [view.name, view.phase_words]  # the phase words carry the time since the start
    if view.tool_error and view.tool_error not in view.phase_words:
        parts.append(f"{tool} not answering: {view.tool_error}")
    parts.append(f"{tool} at {view.tool_url}")  # last: the first to be cut on a small screen
    return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class CriterionRow:
    """One criterion as the table shows it; `key` is the criterion's, `sort_key` its place."""

    key: tuple[str]
    sort_key: int
    state: str
    texts: dict[str, str]
    tooltip: str


class CriteriaModel(KeyedRowModel):
    """Criteria in file order (success, then stop): the state word in its colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, NO_BACKEND_COLUMN, parent, FONT_POINTS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row: CriterionRow = self._rows[index.row()]
        col = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[col.key]
        if role == Qt.ItemDataRole.ForegroundRole and col.key == "state":
            return QColor(theme.STATE_COLOURS[STATE_HEALTH.get(row.state, Health.UNKNOWN)])
        if role == Qt.ItemDataRole.FontRole and row.state == "failed":
            return self.bold_font
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return align(col)
        return None

    def changed_columns(self, old: CriterionRow, new: CriterionRow) -> list[int] | None:
        if old.state != new.state:
            return None
        return [i for i, c in enumerate(self._columns) if old.texts[c.key] != new.texts[c.key]]


class LoadTestPanel(Panel):
    """One watch at a time: its line, the criteria table, warnings, and the countdown banner.

    Fed `show_view(view)` by the app about once a second; it repaints only what changed, and
    between the watch's moments it asks for a refresh (on the shared 0.5 s grid) only while a
    countdown runs, so the seconds count down on screen; otherwise it sleeps until news.
    """

    panel_id = "loadtest"
    title = "Load test"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.view_shown: WatchView | None = None
        self.headline = ElidedLabel(self)
        self.headline.setObjectName("loadtest_headline")
        font = QFont(self.headline.font())
        font.setPointSize(FONT_POINTS + 1)
        font.setBold(True)
        self.headline.setFont(font)
        self.headline.setContentsMargins(6, 4, 6, 2)
        self.warnings = ElidedLabel(self)
        self.warnings.setObjectName("loadtest_warnings")
        self.warnings.setStyleSheet(f"color: {theme.STATE_COLOURS[Health.WARNING]};")
        self.warnings.setContentsMargins(6, 0, 6, 2)
        self.warnings.hide()
        self.banner = ElidedLabel(self)
        self.banner.setObjectName("loadtest_banner")
        big = QFont(self.banner.font())
        big.setPointSize(FONT_POINTS + 8)
        big.setBold(True)
        self.banner.setFont(big)
        self.banner.setContentsMargins(10, 6, 10, 2)
        self.banner.hide()
        self.reason = ElidedLabel(self)
        self.reason.setObjectName("loadtest_reason")
        self.reason.setContentsMargins(10, 0, 10, 6)
        self.reason.hide()
        self.model = CriteriaModel(self)
        self.view = style_list_view(QTableView(self), self.model, name="loadtest_view")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for widget in (self.headline, self.banner, self.reason, self.warnings):
            layout.addWidget(widget)
        layout.addWidget(self.view, 1)
        self.setFocusProxy(self.view)
        self._banner_style = ""
        self._widths: dict[str, int] = {}  # column → the width its texts have needed
        self.hold_shortcut = QShortcut(QKeySequence(HOLD_KEY), self)
        self.hold_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.hold_shortcut.activated.connect(self.hold_key)
        self.headline.set_full_text(NO_WATCH)

    # ------------------------------------------------------------ fed by the app

    def show_view(self, view: WatchView) -> None:
        """A new moment of the watch; the same moment again costs nothing."""
        if view != self.view_shown:
            self.view_shown = view
            self.mark_dirty()

    def hold_key(self) -> object:
        """H: hold a running countdown, or release a hold, through the one runner."""
        return hold_or_release(self.ctx, self.view_shown, source="keys")

    # ------------------------------------------------------------ scheduling

    def next_tick(self, now: float) -> float:
        if self.dirty and self.needs_refresh():
            return now
        view = self.view_shown
        if view is not None and view.phase == "counting down" and self.in_sight():
            return poll_time(now)  # the seconds count down between the watch's moments
        return math.inf

    def needs_refresh(self) -> bool:
        view = self.view_shown
        counting = view is not None and view.phase == "counting down"
        return (self.dirty or counting) and self.in_sight()

    # ------------------------------------------------------------ drawing

    def refresh(self, now: float) -> None:
        view = self.view_shown
        if view is None:
            return
        self.headline.set_full_text(header_text(view))
        warnings = " · ".join(view.warnings)
        self.warnings.set_full_text(f"⚠ {warnings}" if warnings else "")
        self.warnings.setVisible(bool(warnings))
        self._show_banner(banner_words(view, self.ctx.wall_clock()))
        self._show_rows(view)

    def _show_banner(self, words: tuple[str, str, Health] | None) -> None:
        if words is None:
            self.banner.hide()
            self.reason.hide()
            return
        big, small, health = words
        colour = theme.STATE_COLOURS[health]
        style = f"background: {colour}; color: #05070a;"
        if style != self._banner_style:
            self._banner_style = style
            self.banner.setStyleSheet(style)
            self.reason.setStyleSheet(style)
        self.banner.set_full_text(big)
        self.reason.set_full_text(small)
        self.banner.show()
        self.reason.setVisible(bool(small))

    def _show_rows(self, view: WatchView) -> None:
        rows = []
        for place, cs in enumerate(view.criteria):
            texts = criterion_texts(cs, view)
            tooltip = f"{texts['label']}: {texts['state']}, server {texts['server']}"
            if cs.worst is not None:
                tooltip += f", worst {value_text(cs.criterion.signal, cs.worst)}"
            rows.append(CriterionRow((cs.criterion.key,), place, cs.state, texts, tooltip))
        if [r.key for r in rows] == [r.key for r in self.model.rows()]:
            self.model.update_rows(rows)
        else:
            self.model.reset_rows(rows, show_backend=False)
            self._widths = {}
        self._size_columns()

    def _size_columns(self) -> None:
        """Each column as wide as its widest text (bold: a failed row) has been: columns grow
        as ages lengthen and never jump back and forth; the last one takes what is left."""
        header = self.view.horizontalHeader()
        metrics = QFontMetrics(self.model.bold_font)
        rows = self.model.rows()
        for i, c in enumerate(COLUMNS[:-1]):
            texts = [c.header, *(r.texts[c.key] for r in rows)]
            px = max(metrics.horizontalAdvance(t) for t in texts) + 16
            if px > self._widths.get(c.key, 0):
                self._widths[c.key] = px
                header.resizeSection(i, px)
        # On a small screen the label gives way (elided, whole in the tooltip), not the
        # figures: every column stays in sight without scrolling sideways.
        last = max(metrics.horizontalAdvance(COLUMNS[-1].header) + 16, header.minimumSectionSize())
        others = sum(self._widths.get(c.key, 0) for c in COLUMNS[1:-1])
        room = self.view.viewport().width() - others - last
        label = max(LABEL_MIN_PX, min(self._widths.get("label", 0), room))
        if header.sectionSize(0) != label:
            header.resizeSection(0, label)

    # ------------------------------------------------------------ reading, for tests

    def texts(self) -> list[dict[str, str]]:
        """Each criterion row's texts, top to bottom."""
        return [dict(r.texts) for r in self.model.rows()]

    def banner_text(self) -> str:
        """The countdown banner's words ("" while there is none)."""
        return self.banner.full_text if self.banner.isVisibleTo(self) else ""


def hold_or_release(ctx: UiContext, view: WatchView | None, source: str) -> object:
    """The hold key's command: release while held, hold otherwise (the command says why not)."""
    command = RELEASE_COMMAND if view is not None and view.phase == "held" else HOLD_COMMAND
    if command not in ctx.commands:
        return None
    return ctx.runner.run(command, source=source)
