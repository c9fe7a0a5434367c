"""The Investigation panel: one run's findings as they arrive, in reading order, with evidence."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.commands import Command, CommandError
from opsconsole.core.investigate import Evidence, Finding, Verdict, order_findings
from opsconsole.core.investigate.inputs import clock_text
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.listview import style_list_view
from opsconsole.ui.panel import Panel
from opsconsole.ui.tablemodel import Index, KeyedRowModel, align

FONT_POINTS = 10
COPY_COMMAND = "investigation.copy"

#: A verdict as a glyph and a word: the colour is never the only cue. Glyphs DejaVu Sans has.
VERDICT_GLYPHS: dict[Verdict, str] = {
    Verdict.INTERESTING: "▲",
    Verdict.OK: "✓",
    Verdict.SKIPPED: "⊘",
    Verdict.ERROR: "✗",
}
VERDICT_WORDS: dict[Verdict, str] = {
    Verdict.INTERESTING: "INTERESTING",
    Verdict.OK: "ok",
    Verdict.SKIPPED: "skipped",
    Verdict.ERROR: "error",
}
# Interesting is what the operator came for (red, bold); a check that could not look is grey
# (skipped) or amber (it broke) — never the green of ok.
VERDICT_COLOURS: dict[Verdict, str] = {
    Verdict.INTERESTING: theme.STATE_COLOURS[theme.Health.CRITICAL],
    Verdict.OK: theme.STATE_COLOURS[theme.Health.HEALTHY],
    Verdict.SKIPPED: theme.STATE_COLOURS[theme.Health.UNKNOWN],
    Verdict.ERROR: theme.STATE_COLOURS[theme.Health.WARNING],
}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("verdict", "Verdict", "interesting, ok, skipped (could not look) or error"),
    Column("check", "Check", "Which of the triage checks (and on which backend, if several)"),
    Column("sentence", "Finding", "What the check found; select a row for its evidence"),
)
BACKEND_COLUMN = Column("backend", "Backend", "Which backend answered")


@dataclass(frozen=True)
class FindingRow:
    """One finding as the list shows it; `key` is its arrival number, `sort_key` its place."""

    key: tuple[int]
    sort_key: int
    finding: Finding
    texts: dict[str, str]
    tooltip: str


def verdict_text(verdict: Verdict) -> str:
    """ "▲ INTERESTING", "✓ ok", "⊘ skipped", "✗ error"."""
    return f"{VERDICT_GLYPHS[verdict]} {VERDICT_WORDS[verdict]}"


def _value_text(value: float | str) -> str:
    if isinstance(value, float):
        return "not known" if math.isnan(value) else f"{value:g}"
    return str(value)


def evidence_lines(finding: Finding) -> list[tuple[str, str]]:
    """(label, text) pairs of what a finding rests on, in the order an operator checks them."""
    ev: Evidence = finding.evidence
    out: list[tuple[str, str]] = []
    if finding.started_ts is not None:
        out.append(("began", f"{clock_text(finding.started_ts)} UTC"))
    if ev.values:
        out.append(("values", ", ".join(f"{k} = {_value_text(v)}" for k, v in ev.values.items())))
    if ev.thresholds:
        out.append(
            ("thresholds", ", ".join(f"{k} = {_value_text(v)}" for k, v in ev.thresholds.items()))
        )
    if ev.time_range is not None:
        lo, hi = ev.time_range
        out.append(("time range", f"{clock_text(lo)}–{clock_text(hi)} UTC"))
    if ev.query:
        out.append(("query", ev.query))
    if ev.entry_ids:
        out.append(("timeline entries", ", ".join(map(str, ev.entry_ids))))
    return out


def evidence_text(finding: Finding) -> str:
    """The evidence as plain lines (the row's tooltip)."""
    lines = [f"{verdict_text(finding.verdict)} · {finding.check}: {finding.sentence}"]
    lines += [f"{label}: {text}" for label, text in evidence_lines(finding)]
    return "\n".join(lines)


def _backend_of(finding: Finding) -> str:
    backend = finding.evidence.values.get("backend")
    return backend if isinstance(backend, str) else ""


class FindingsModel(KeyedRowModel):
    """Findings in reading order: verdict glyph and word in its colour, interesting in bold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, BACKEND_COLUMN, parent, FONT_POINTS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row: FindingRow = self._rows[index.row()]
        col = self._columns[index.column()]
        verdict = row.finding.verdict
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[col.key]
        if role == Qt.ItemDataRole.ForegroundRole:
            if col.key == "verdict" or verdict is Verdict.INTERESTING:
                return QColor(VERDICT_COLOURS[verdict])
            return QColor(theme.TEXT_DIM) if verdict is not Verdict.OK else None
        if role == Qt.ItemDataRole.FontRole:
            if verdict is Verdict.INTERESTING:
                return self.bold_font
            if verdict in (Verdict.SKIPPED, Verdict.ERROR):
                italic = QFont(self.bold_font)
                italic.setBold(False)
                italic.setItalic(True)
                return italic
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return align(col)
        return None


class FindingsView(QTableView):
    """The findings list; Ctrl+C copies the whole run as Markdown once it is done."""

    def __init__(self, panel: InvestigationPanel) -> None:
        super().__init__(panel)
        self._panel = panel

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self._panel.copy_markdown()
            event.accept()
            return
        super().keyPressEvent(event)


class InvestigationPanel(Panel):
    """One investigation at a time: a progress line, the findings (interesting first, the
    likely cause on top), the selected finding's evidence, and Copy as Markdown."""

    panel_id = "investigation"
    title = "Investigation"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.service = ""
        self.started_ts = 0.0
        self.checks = 0
        self.findings: tuple[Finding, ...] = ()  # reading order
        self.markdown = ""  # set by finish(): what Copy puts on the clipboard
        self.done = False

        self.headline = QLabel("No investigation yet — :investigate SERVICE, or i on a row")
        self.headline.setObjectName("investigation_headline")
        self.headline.setWordWrap(True)
        font = QFont(self.headline.font())
        font.setPointSize(FONT_POINTS + 1)
        font.setBold(True)
        self.headline.setFont(font)
        self.copy_button = QPushButton("Copy as Markdown")
        self.copy_button.setObjectName("investigation_copy")
        self.copy_button.setToolTip("The findings with their evidence, for a chat channel (Ctrl+C)")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_markdown)
        top = QHBoxLayout()
        top.setContentsMargins(6, 4, 4, 4)
        top.addWidget(self.headline, 1)
        top.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)

        self.model = FindingsModel(self)
        self.view = style_list_view(FindingsView(self), self.model, name="investigation_view")
        self.detail = QTextBrowser(self)
        self.detail.setObjectName("investigation_evidence")
        self.detail.setOpenLinks(False)
        self.detail.setStyleSheet(f"QTextBrowser {{ border: 1px solid {theme.BORDER}; }}")
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        row_px = self.view.verticalHeader().defaultSectionSize()
        self.view.setMinimumHeight(self.view.horizontalHeader().sizeHint().height() + 3 * row_px)
        self.detail.setMinimumHeight(3 * row_px)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        self.setFocusProxy(self.view)
        self._arrived: list[Finding] = []
        self._headline_text = ""
        self._picked: Finding | None = None  # the row the operator chose, kept as rows arrive
        self._syncing = False  # True while the panel moves the current row itself
        self.view.selectionModel().currentRowChanged.connect(self._current_moved)
        self._show_evidence()
        if COPY_COMMAND not in ctx.commands:
            ctx.commands.register(
                Command(
                    COPY_COMMAND,
                    "Copy the investigation as Markdown",
                    self._copy_command,
                    description="the last finished run's findings and evidence",
                )
            )

    # ------------------------------------------------------------ the run, as the app feeds it

    def begin(self, service: str, started_ts: float, checks: int) -> None:
        """A new run: forget the last one, say what is being looked at."""
        self.service, self.started_ts, self.checks = service, started_ts, checks
        self.findings, self._arrived, self._picked = (), [], None
        self.markdown, self.done = "", False
        self.copy_button.setEnabled(False)
        self._show_rows()
        self._say_progress()

    def add(self, finding: Finding) -> None:
        """One finding as it arrives, put in its reading place at once."""
        self._arrived.append(finding)
        self._show_rows()
        self._say_progress()

    def finish(
        self, findings: Sequence[Finding], markdown: str, finished_ts: float | None = None
    ) -> None:
        """The run's final list (reading order) and its Markdown; Copy becomes available."""
        self._arrived = list(findings)
        self.markdown, self.done = markdown, True
        self._show_rows()
        end = self.ctx.wall_clock() if finished_ts is None else finished_ts
        took = max(0.0, end - self.started_ts)
        counts = self._counts()
        parts = [f"{counts[Verdict.INTERESTING]} interesting", f"{counts[Verdict.OK]} ok"]
        blind = sum(f.sentence.startswith("could not look") for f in self._arrived)
        if blind:
            parts.append(f"{blind} could not look")
        if counts[Verdict.SKIPPED] - blind:  # a check with nothing to read is not blindness
            parts.append(f"{counts[Verdict.SKIPPED] - blind} without data")
        if counts[Verdict.ERROR]:
            parts.append(f"{counts[Verdict.ERROR]} failed")
        self._set_headline(
            f"{self.service}: {', '.join(parts)} — done in {took:.1f} s",
            Verdict.INTERESTING if counts[Verdict.INTERESTING] else None,
        )
        self.copy_button.setEnabled(bool(markdown))

    def fail(self, message: str) -> None:
        """The run could not start (or broke): said plainly, nothing left half-shown."""
        self.done = True
        self.copy_button.setEnabled(bool(self.markdown))
        self._set_headline(message, Verdict.ERROR)

    # ------------------------------------------------------------ reading, for tests and Copy

    def texts(self) -> list[tuple[str, str, str]]:
        """(verdict, check, sentence) of each row, top to bottom."""
        return [
            (r.texts["verdict"], r.texts["check"], r.texts["sentence"]) for r in self.model.rows()
        ]

    def selected_finding(self) -> Finding | None:
        index = self.view.currentIndex()
        return self.model.row_view(index.row()).finding if index.isValid() else None

    def copy_markdown(self) -> bool:
        """Put the finished run's Markdown on the clipboard; False while there is none."""
        if not self.done or not self.markdown:
            self._set_headline_note("Copy: the run has not finished yet")
            return False
        QGuiApplication.clipboard().setText(self.markdown)
        self._set_headline_note("Copied as Markdown")
        return True

    def _copy_command(self) -> None:
        if not self.markdown:
            raise CommandError("no finished investigation to copy yet")
        self.copy_markdown()

    # ------------------------------------------------------------ drawing

    def _counts(self) -> dict[Verdict, int]:
        counts = dict.fromkeys(Verdict, 0)
        for f in self.findings:
            counts[f.verdict] += 1
        return counts

    def _current_moved(self, *_: QModelIndex) -> None:
        if not self._syncing:
            self._picked = self.selected_finding()
        self._show_evidence()

    def _show_rows(self) -> None:
        self.findings = order_findings(self._arrived)
        backends = {_backend_of(f) for f in self.findings} - {""}
        several = len(backends) > 1
        rows = []
        for place, finding in enumerate(self.findings):
            check = finding.check.replace("_", " ")
            if several and _backend_of(finding):
                check = f"{check} · {_backend_of(finding)}"
            texts = {
                "verdict": verdict_text(finding.verdict),
                "check": check,
                "sentence": finding.sentence,
                "backend": _backend_of(finding),
            }
            rows.append(FindingRow((place,), place, finding, texts, evidence_text(finding)))
        self._syncing = True
        try:
            self.model.reset_rows(rows, show_backend=False)
            self._size_columns()
            if self.findings:
                # The operator's row stays selected as others arrive; else the likely cause.
                picked = self._picked
                place = self.findings.index(picked) if picked in self.findings else 0
                self.view.setCurrentIndex(self.model.index(place, 0))
        finally:
            self._syncing = False
        self._show_evidence()

    def _size_columns(self) -> None:
        header = self.view.horizontalHeader()
        metrics = QFontMetrics(self.model.bold_font)
        widest_verdict = max(metrics.horizontalAdvance(verdict_text(v)) for v in Verdict)
        header.resizeSection(0, widest_verdict + 22)
        checks = [r.texts["check"] for r in self.model.rows()] or ["golden signals"]
        header.resizeSection(1, max(metrics.horizontalAdvance(c) for c in checks) + 22)

    def _say_progress(self) -> None:
        n = len(self._arrived)
        interesting = sum(f.verdict is Verdict.INTERESTING for f in self._arrived)
        found = f" · {interesting} interesting so far" if interesting else ""
        self._set_headline(
            f"Investigating {self.service}… {n} of {self.checks} checks{found}",
            Verdict.INTERESTING if interesting else None,
        )

    def _set_headline(self, text: str, verdict: Verdict | None) -> None:
        self._headline_text = text
        colour = theme.TEXT if verdict is None else VERDICT_COLOURS[verdict]
        self.headline.setStyleSheet(f"color: {colour};")
        self.headline.setText(text)

    def _set_headline_note(self, note: str) -> None:
        base = self._headline_text
        self.headline.setText(f"{base} · {note}" if base else note)

    def _show_evidence(self, *_: QModelIndex) -> None:
        finding = self.selected_finding()
        if finding is None:
            self.detail.setHtml(
                f"<p style='color:{theme.TEXT_DIM}'>Select a finding to see its evidence.</p>"
            )
            return
        colour = VERDICT_COLOURS[finding.verdict]
        lines = "".join(
            f"<div><span style='color:{theme.TEXT_DIM}'>{html.escape(label)}:</span> "
            + (f"<code>{html.escape(text)}</code>" if label == "query" else html.escape(text))
            + "</div>"
            for label, text in evidence_lines(finding)
        )
        if not lines:
            lines = f"<div style='color:{theme.TEXT_DIM}'>no evidence recorded</div>"
        self.detail.setHtml(
            f"<p><b style='color:{colour}'>{html.escape(verdict_text(finding.verdict))}</b> "
            f"<b>{html.escape(finding.check.replace('_', ' '))}</b>: "
            f"{html.escape(finding.sentence)}</p>{lines}"
        )

    def evidence_shown(self) -> str:
        """The evidence area's text, as the operator reads it."""
        return self.detail.toPlainText()
