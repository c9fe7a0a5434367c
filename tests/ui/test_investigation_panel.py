"""The Investigation panel: findings as they arrive end in reading order, a check that could not
look never reads as ok, evidence shows the query; and `:investigate orders` against the real
reference backend names the open breaker first, copies it as Markdown, logs the run."""

from __future__ import annotations

import random
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from opsconsole.core.events import ConnectionChanged
from opsconsole.core.investigate import (
    Evidence,
    Finding,
    Inputs,
    Verdict,
    findings_markdown,
    order_findings,
    run_checks,
)
from opsconsole.core.models import ConnectionState, LinkStatus
from opsconsole.core.store import Store
from opsconsole.ui.panels.investigation import VERDICT_COLOURS, InvestigationPanel
from tests.support.panels import PanelHarness
from tests.support.shots import save_shot

NOW = 1_765_000_000.0


def breaker_open() -> Finding:
    return Finding(
        "dependencies",
        "orders",
        Verdict.INTERESTING,
        "inventory-service breaker opened at 12:20:27, 41 s before orders' errors rose",
        Evidence(
            values={"backend": "sim", "dependency": "inventory-service", "state": "open"},
            time_range=(NOW - 120, NOW),
            entry_ids=(17, 18),
        ),
        started_ts=NOW - 120,
    )


def errors_rose() -> Finding:
    return Finding(
        "golden_signals",
        "orders",
        Verdict.INTERESTING,
        "orders error ratio 8.2 % against a baseline of 0.4 % since 12:21:08",
        Evidence(
            values={"backend": "sim", "error_ratio": 0.082, "baseline": 0.004},
            thresholds={"error_ratio": 0.01},
            time_range=(NOW - 3700, NOW),
            query='sum(rate(http_requests_total{service="orders",code=~"5.."}[1m]))',
        ),
        started_ts=NOW - 79,
    )


def fine(check: str) -> Finding:
    return Finding(check, "orders", Verdict.OK, f"{check}: nothing unusual")


def blind_findings() -> tuple[Finding, ...]:
    """What the real checks say of a backend whose link went STALE: they could not look."""
    store = Store(capacity=60)
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.STALE)))
    return run_checks(Inputs(store, "sim", "orders", NOW - 600), NOW)


class Harness(PanelHarness):
    def __init__(self, qapp, qtbot) -> None:
        super().__init__(qapp, qtbot)
        self.panel = self.show(InvestigationPanel(self.ctx), (1000, 420))


@pytest.fixture
def harness(qapp, qtbot):
    h = Harness(qapp, qtbot)
    yield h
    h.close()


def test_findings_arriving_in_any_order_end_in_reading_order(harness):
    panel = harness.panel
    findings = [errors_rose(), fine("saturation"), breaker_open(), fine("database")]
    findings += [f for f in blind_findings() if f.verdict is Verdict.SKIPPED][:2]
    panel.begin("orders", NOW, 8)
    assert panel.headline.text() == "Investigating orders… 0 of 8 checks"
    shuffled = findings[:]
    random.Random(15).shuffle(shuffled)
    for n, finding in enumerate(shuffled, start=1):
        panel.add(finding)
        assert len(panel.texts()) == n  # shown at once, not at the end
        assert panel.headline.text().startswith(f"Investigating orders… {n} of 8 checks")
        assert [f.sentence for f in panel.findings] == [
            f.sentence for f in order_findings(shuffled[:n])
        ]
    rows = panel.texts()
    # The open breaker began before the errors: the likely cause is on top.
    assert rows[0] == ("▲ INTERESTING", "dependencies", breaker_open().sentence)
    assert rows[1][0] == "▲ INTERESTING" and rows[1][1] == "golden signals"
    assert [r[0] for r in rows[2:4]] == ["✓ ok", "✓ ok"]
    assert [r[0] for r in rows[4:]] == ["⊘ skipped", "⊘ skipped"]

    final = order_findings(findings)
    panel.finish(final, findings_markdown("orders", final, NOW), finished_ts=NOW + 1.24)
    assert panel.headline.text() == "orders: 2 interesting, 2 ok, 2 could not look — done in 1.2 s"
    assert panel.copy_button.isEnabled()


def test_a_check_that_could_not_look_is_never_shown_as_ok(harness):
    panel = harness.panel
    blind = blind_findings()
    assert any(f.verdict is Verdict.SKIPPED for f in blind)
    broken = Finding("alerts", "orders", Verdict.ERROR, "error: TimeoutError: no answer in 3 s")
    panel.begin("orders", NOW, len(blind) + 1)
    for finding in (*blind, broken):
        panel.add(finding)
    model = panel.model
    for row, finding in enumerate(panel.findings):
        verdict_cell = model.data(model.index(row, 0), Qt.ItemDataRole.DisplayRole)
        colour = model.data(model.index(row, 0), Qt.ItemDataRole.ForegroundRole)
        if finding.verdict in (Verdict.SKIPPED, Verdict.ERROR):
            assert "ok" not in verdict_cell and "✓" not in verdict_cell
            assert colour.name() != VERDICT_COLOURS[Verdict.OK]
            sentence = model.data(model.index(row, 2), Qt.ItemDataRole.DisplayRole)
            assert sentence.startswith(("could not look", "error:", "skipped"))
            assert model.data(model.index(row, 2), Qt.ItemDataRole.FontRole).italic()
    assert panel.texts()[-1] == ("✗ error", "alerts", broken.sentence)
    panel.finish(panel.findings, findings_markdown("orders", panel.findings, NOW), NOW + 2)
    blind_count = len(blind) - 1 + 1  # every check but telemetry could not look, plus alerts
    assert f"{blind_count} could not look" in panel.headline.text()
    assert " 0 ok" in panel.headline.text()


def test_selecting_a_finding_shows_its_evidence_with_the_query(harness, qtbot):
    panel = harness.panel
    panel.begin("orders", NOW, 3)
    for finding in (fine("saturation"), errors_rose(), breaker_open()):
        panel.add(finding)
    assert panel.selected_finding() == breaker_open()  # the likely cause, selected first
    shown = panel.evidence_shown()
    assert "dependency = inventory-service" in shown and "timeline entries: 17, 18" in shown
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Down)
    assert panel.selected_finding() == errors_rose()
    shown = panel.evidence_shown()
    assert 'sum(rate(http_requests_total{service="orders",code=~"5.."}[1m]))' in shown
    assert "thresholds: error_ratio = 0.01" in shown
    tooltip = panel.model.data(panel.model.index(1, 2), Qt.ItemDataRole.ToolTipRole)
    assert "query: sum(rate(" in tooltip
    # A finding arriving later does not take the operator's row away.
    panel.add(fine("database"))
    assert panel.selected_finding() == errors_rose()


def test_copy_waits_for_the_end_then_puts_the_markdown_on_the_clipboard(harness, qtbot):
    panel = harness.panel
    QApplication.clipboard().setText("before")
    panel.begin("orders", NOW, 2)
    panel.add(breaker_open())
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "before"
    assert not panel.copy_button.isEnabled()
    findings = order_findings([breaker_open(), errors_rose()])
    markdown = findings_markdown("orders", findings, NOW)
    panel.finish(findings, markdown, NOW + 0.8)
    qtbot.keyClick(panel.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == markdown
    QApplication.clipboard().setText("between")
    harness.ctx.commands.run("investigation.copy")
    assert QApplication.clipboard().text() == markdown
    QApplication.clipboard().setText("again")
    panel.copy_button.click()
    assert QApplication.clipboard().text() == markdown
    first_bullet = markdown.splitlines()[2]
    assert "**dependencies** (interesting)" in first_bullet


def test_a_run_that_could_not_start_says_so(harness):
    panel = harness.panel
    panel.begin("orders", time.time(), 8)
    panel.fail("could not investigate orders: no backend is connected")
    assert panel.headline.text() == "could not investigate orders: no backend is connected"
    assert not panel.copy_button.isEnabled()


def test_panel_screenshot(harness):
    panel = harness.panel
    panel.resize(900, 380)
    findings = [breaker_open(), errors_rose(), fine("saturation"), fine("database")]
    findings += [f for f in blind_findings() if f.verdict is Verdict.SKIPPED][:2]
    findings.append(Finding("alerts", "orders", Verdict.ERROR, "error: TimeoutError: no answer"))
    final = order_findings(findings)
    panel.begin("orders", NOW, len(final))
    for f in final:
        panel.add(f)
    panel.finish(final, findings_markdown("orders", final, NOW), NOW + 1.2)
    save_shot(panel, "investigation-panel-unit.png")
    assert panel.texts()[0][1] == "dependencies"
