"""Dark theme and the state colours used everywhere (never the only cue: text goes with them)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from opsconsole.core.health import Health
from opsconsole.core.words import HEALTH_WORDS

__all__ = ["STATE_COLOURS", "STATE_WORDS", "Health", "apply_theme", "colour"]


# Healthy green, warning amber, critical red, stale/unknown grey, operator-forced purple.
STATE_COLOURS: dict[Health, str] = {
    Health.HEALTHY: "#3fb950",
    Health.WARNING: "#d29922",
    Health.CRITICAL: "#f85149",
    Health.UNKNOWN: "#8b949e",
    Health.FORCED: "#a371f7",
}
STATE_WORDS: dict[Health, str] = HEALTH_WORDS  # the words live with the others, in core

BACKGROUND = "#0d1117"
SURFACE = "#161b22"
SURFACE_ALT = "#1c2128"
BORDER = "#30363d"
TEXT = "#e6edf3"
TEXT_DIM = "#8b949e"
ACCENT = "#58a6ff"

# Series colours for charts: distinguishable on dark, and p50 < p95 < p99 by brightness.
SERIES = {
    "latency_p50_ms": "#58a6ff",
    "latency_p95_ms": "#d2a8ff",
    "latency_p99_ms": "#ff7b72",
    "rps": "#3fb950",
    "error_ratio": "#f85149",
    "cpu": "#d29922",
    "memory": "#79c0ff",
}
THRESHOLD = "#f0883e"
EVENT_MARKER = "#8b949e"

MONO_FAMILY = "DejaVu Sans Mono"


def colour(health: Health) -> QColor:
    return QColor(STATE_COLOURS[health])


def mono_font(point_size: int = 10) -> QFont:
    font = QFont(MONO_FAMILY, point_size)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


STYLESHEET = f"""
QMainWindow, QWidget {{ background: {BACKGROUND}; color: {TEXT}; }}
QDockWidget {{ color: {TEXT}; font-weight: bold; }}
QDockWidget::title {{ background: {SURFACE}; padding: 4px 8px; border-bottom: 1px solid {BORDER}; }}
QTableView, QListView, QTreeView {{
    background: {SURFACE}; alternate-background-color: {SURFACE_ALT};
    gridline-color: {BORDER}; border: 1px solid {BORDER};
    selection-background-color: #1f6feb; selection-color: #ffffff;
}}
QHeaderView::section {{
    background: {SURFACE_ALT}; color: {TEXT_DIM}; border: none;
    border-bottom: 1px solid {BORDER}; padding: 3px 6px;
}}
QStatusBar {{ background: {SURFACE}; border-top: 1px solid {BORDER}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QToolTip {{ background: {SURFACE_ALT}; color: {TEXT}; border: 1px solid {BORDER}; }}
QPushButton, QComboBox {{
    background: {SURFACE_ALT}; border: 1px solid {BORDER}; padding: 3px 10px; border-radius: 3px;
}}
QPushButton:checked {{ background: #1f6feb; }}
QMenuBar, QMenu {{ background: {SURFACE}; color: {TEXT}; }}
QMenu::item:selected, QMenuBar::item:selected {{ background: #1f6feb; }}
*:focus {{ outline: 1px solid {ACCENT}; }}
QLineEdit {{
    background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 3px; padding: 3px 6px;
}}
QLineEdit:focus {{ border-color: {ACCENT}; }}
QLineEdit:disabled {{ color: {TEXT_DIM}; background: {BACKGROUND}; }}
QRadioButton, QCheckBox {{ padding: 2px 0; }}
QRadioButton::indicator, QCheckBox::indicator {{
    width: 10px; height: 10px; border: 2px solid {TEXT_DIM}; background: {SURFACE};
}}
QRadioButton::indicator {{ border-radius: 7px; }}
QCheckBox::indicator {{ border-radius: 2px; }}
QRadioButton::indicator:checked {{
    border: 2px solid {ACCENT};
    background: qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5,
        stop:0 {ACCENT}, stop:0.55 {ACCENT}, stop:0.65 {SURFACE});
}}
QCheckBox::indicator:checked {{ border: 2px solid {ACCENT}; background: {ACCENT}; }}
QPushButton:default {{ background: #1f6feb; border-color: #1f6feb; color: #ffffff; }}
QPushButton:default:disabled {{
    background: {SURFACE_ALT}; border-color: {BORDER}; color: {TEXT_DIM};
}}
"""


def apply_theme(app: QApplication) -> None:
    """Dark palette plus stylesheet: the window a NOC keeps on screen all day."""
    app.setStyle("Fusion")
    palette = QPalette()
    for role, value in (
        (QPalette.ColorRole.Window, BACKGROUND),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, SURFACE),
        (QPalette.ColorRole.AlternateBase, SURFACE_ALT),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, SURFACE_ALT),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, "#1f6feb"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, SURFACE_ALT),
        (QPalette.ColorRole.ToolTipText, TEXT),
        (QPalette.ColorRole.PlaceholderText, TEXT_DIM),
    ):
        palette.setColor(role, QColor(value))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)
