"""Event markers on the golden-signal plots: pooled lines on every plot, grouped labels on top."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

from opsconsole.core.clocktext import clock_text
from opsconsole.core.markers import MarkerGroup, concerns, group_markers, related_names
from opsconsole.core.models import Event
from opsconsole.core.store import Store
from opsconsole.ui import theme
from opsconsole.ui.charts import LABEL_FILL, PixelLabel, dashed_pen

# Lines per plot and labels, made once and reused; every event in view gets a line while
# they last, group anchors first. Labels (on the top plot only) go in rows so they never
# overlap, one per group; there are never more groups than labels.
MARKER_POOL = 32
MARKER_LABEL_ROWS = 3
MARKER_FONT_PT = 9
MARKER_ROW_GAP_PX = 3.0
MARKER_LABEL_CHARS = 30
# Events looked at per refresh at most (a 24 h window on a busy backend), newest first.
MARKER_SCAN_MAX = 300
# Reserved after each label for a group count: " ×99".
MARKER_COUNT_ROOM = " ×99"
MARKER_TOOLTIP_LINES = 10
# The event deque is in arrival order, which follows event time to within clock noise; stop
# scanning once this far before the window.
MARKER_SCAN_SLACK_S = 120.0


def events_in_view(
    store: Store, backend: str, service: str, start: float, end: float
) -> list[Event]:
    """Events of the shown service, its dependencies and the whole backend, oldest first."""
    state = store.backends[backend]
    related = related_names(state.services, service)
    chosen: list[Event] = []
    for b, ev in reversed(store.events):
        # Only server-stamped events end the scan: a console-made one carries the local
        # clock, which may be minutes off and must not hide older server events.
        if ev.seq is not None and ev.ts < start - MARKER_SCAN_SLACK_S:
            break
        if b != backend or not start <= ev.ts <= end:
            continue
        if concerns(ev, related, state.clusters):
            chosen.append(ev)
            if len(chosen) == MARKER_SCAN_MAX:
                break
    chosen.sort(key=lambda e: e.ts)
    return chosen


def newest_server_event_ts(store: Store, backend: str) -> float:
    """Time of the newest event the backend itself stamped (-inf if none).

    Console-made events (seq None, e.g. "lost the link") carry the local clock, which may
    be minutes off the server's: they must not move the window.
    """
    for b, ev in reversed(store.events):
        if b == backend and ev.seq is not None:
            return ev.ts
    return -math.inf


class EventMarkers:
    """Pools, moved and relabelled as events come and go: vertical lines on every plot, and
    labels (one per group of events) at the top of the first plot.

    The pools grow on demand up to MARKER_POOL and never shrink: made up front they were 128
    pyqtgraph lines and 32 labels, ~20 ms of every start for a chart that may show no event.
    """

    def __init__(self, plots: Sequence[pg.PlotItem], top_view: pg.ViewBox, font: QFont) -> None:
        self._plots = list(plots)
        self._top_view = top_view
        self._font = font
        self._marker_pen = dashed_pen(theme.EVENT_MARKER)
        # Lists kept for good (callers may hold them); grown in place by `_grow`.
        self.lines: list[list[pg.InfiniteLine]] = [[] for _ in self._plots]
        self.labels: list[PixelLabel] = []
        self._label_metrics = QFontMetricsF(font)
        self._layout: tuple[object, ...] = ()
        self._texts: list[tuple[float, str]] = []

    def _grow(self, lines: int, labels: int) -> None:
        """At least `lines` lines on every plot and `labels` labels (each at most the pool)."""
        for plot, pool in zip(self._plots, self.lines, strict=True):
            while len(pool) < min(lines, MARKER_POOL):
                line = pg.InfiniteLine(pos=0.0, angle=90, pen=self._marker_pen, movable=False)
                line.setZValue(4)
                line.hide()
                plot.addItem(line, ignoreBounds=True)
                pool.append(line)
        while len(self.labels) < min(labels, MARKER_POOL):
            self.labels.append(PixelLabel(self._top_view, self._font, theme.TEXT, LABEL_FILL))

    def labelled(self) -> list[tuple[float, str]]:
        """The labels on screen now: (time of the group's newest event, label)."""
        return list(self._texts)

    def line_times(self) -> list[float]:
        """Times of every event line on screen now."""
        return [float(line.value()) for line in self.lines[0] if line.isVisible()]

    def update(self, events: list[Event], start: float, end: float) -> None:
        """Show `events` (oldest first) over the window `start`…`end`."""
        vb = self._top_view
        width = max(float(vb.width()), 1.0)
        scale = width / max(end - start, 1e-9)
        xs = [(ev.ts - start) * scale for ev in events]
        texts = [marker_text(ev) for ev in events]
        pad = 2 * PixelLabel.PAD_PX
        widths = [self._label_metrics.horizontalAdvance(t + MARKER_COUNT_ROOM) + pad for t in texts]
        groups = group_markers(xs, widths, width, MARKER_LABEL_ROWS, max_groups=MARKER_POOL)
        # Lines: every group's anchor first (newest groups first), then the other members.
        order = [g.anchor for g in groups] + [i for g in groups for i in g.members[1:]]
        shown = order[:MARKER_POOL]
        top = float(vb.viewRange()[1][1])
        # What the lines and labels would show; Qt items are touched only when it changes.
        layout: tuple[object, ...] = (top, tuple(groups), *(events[i].ts for i in shown))
        layout += tuple(texts[i] for i in shown)
        if layout == self._layout:
            return
        self._layout = layout
        self._grow(len(shown), len(groups))
        groups_of = {i: g for g in groups for i in g.members}
        for lines in self.lines:
            for slot, line in enumerate(lines):
                if slot >= len(shown):
                    if line.isVisible():
                        line.hide()
                    continue
                i = shown[slot]
                line.setValue(events[i].ts)
                line.setToolTip(group_tooltip(events, groups_of[i].members))
                line.show()
        row_px = self._label_metrics.height() + pad + MARKER_ROW_GAP_PX
        self._texts = []
        for slot, label in enumerate(self.labels):
            if slot >= len(groups):
                if label.isVisible():
                    label.hide()
                continue
            group = groups[slot]
            ev = events[group.anchor]
            text = group_text(texts, group)
            label.place(ev.ts, top, text, group.right, MARKER_ROW_GAP_PX + group.row * row_px)
            label.setToolTip(group_tooltip(events, group.members))
            self._texts.append((ev.ts, text))


def marker_text(ev: Event, limit: int = MARKER_LABEL_CHARS) -> str:
    """Short label: the message, prefixed by the kind unless the message already says it."""
    text = ev.message if ev.message.startswith(ev.kind) else f"{ev.kind}: {ev.message}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def group_text(texts: list[str], group: MarkerGroup) -> str:
    """The newest event's label, and how many events the label stands for ("×4")."""
    n = len(group.members)
    text = texts[group.anchor]
    return text if n == 1 else f"{text} ×{min(n, 99)}"


def group_tooltip(events: list[Event], members: tuple[int, ...]) -> str:
    """Every event of a group with its time, newest first (rich text, escaped)."""
    lines = [
        html.escape(f"{clock_text(events[i].ts)}  {events[i].kind}: {events[i].message}")
        for i in members[:MARKER_TOOLTIP_LINES]
    ]
    if len(members) > MARKER_TOOLTIP_LINES:
        lines.append(f"… and {len(members) - MARKER_TOOLTIP_LINES} more")
    return "<p>" + "<br>".join(lines) + "</p>"
