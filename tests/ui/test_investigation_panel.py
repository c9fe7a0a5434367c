"""The Investigation panel: findings as they arrive end in reading order, a check that could not
look never reads as ok, evidence shows the query; and `:investigate orders` against the real
reference backend names the open breaker first, copies it as Markdown, logs the run."""

from __future__ import annotations

import random
import re
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMenu

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
from tests.support.console import (
    back_from_dialog,
    focused,
    key,
    live_console,
    type_text,
    wait_live,
)
from tests.support.panels import PanelHarness
from tests.support.shots import save_shot
from tests.support.waiting import wait_until

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
    # A check with nothing to read (no database behind the service) is not blindness.
    no_db = Finding("database", "orders", Verdict.SKIPPED, "skipped: no data source (no cluster)")
    again = order_findings([*findings[:4], no_db])
    panel.begin("orders", NOW, 5)
    panel.finish(again, findings_markdown("orders", again, NOW), finished_ts=NOW + 0.5)
    assert panel.headline.text() == "orders: 2 interesting, 2 ok, 1 without data — done in 0.5 s"


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
    blind_count = len(blind) - 1  # every check but telemetry could not look
    assert f"{blind_count} could not look, 1 failed" in panel.headline.text()
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


# ---------------------------------------------------------------- the whole console, live

# Scenarios move twenty times faster than the wall clock.
TIME_SCALE = 20


@pytest.fixture
def console_live(qtbot, tmp_path, sim_thread):
    sim = sim_thread(time_scale=TIME_SCALE)
    console, keyboard = live_console(qtbot, tmp_path, sim.url, slo_every_s=0.5)
    yield console, keyboard
    console.close()


def investigation_entries(console) -> list:
    return console.timeline.recent(kinds=("investigation",))


def test_investigate_orders_names_the_open_breaker_first(console_live, qloop, qtbot):
    console, _keyboard = console_live
    store, client, window = console.ctx.store, console.clients["sim"], console.window
    panel = window.investigation
    dock = window.docks["investigation"]
    assert not dock.isVisible()  # hidden until the first run

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            await client.scenario("dependency_outage", "inventory-service")
            circuits = store.backend("sim").circuits
            await wait_until(
                lambda: (
                    "inventory-service" in circuits
                    and circuits["inventory-service"].state == "open"
                ),
                20,
                "orders' breaker to inventory-service open",
            )
            window.activateWindow()
            key(qtbot, ":")
            type_text(qtbot, "investigate orders")
            key(qtbot, Qt.Key.Key_Return)
            await wait_until(lambda: panel.service == "orders", 5, "the run to begin")
            assert dock.isVisible() and not dock.visibleRegion().isEmpty()
            await wait_until(lambda: panel.done, 15, "the run to finish")
            rows = panel.texts()
            checks = [check for _verdict, check, _sentence in rows]
            at = checks.index("dependencies")
            verdict, _check, sentence = rows[at]
            assert verdict == "▲ INTERESTING" and "inventory-service breaker open" in sentence
            # Interesting first: nothing ok, skipped or failed reads above the open breaker,
            # and it is above orders' own symptoms when those are interesting too.
            assert all(v == "▲ INTERESTING" for v, _c, _s in rows[:at]), rows
            if rows[checks.index("golden signals")][0] == "▲ INTERESTING":
                assert at < checks.index("golden signals"), rows
            assert re.fullmatch(
                r"orders: \d+ interesting, .* — done in \d+\.\d s", panel.headline.text()
            )
            save_shot(window, "investigation-1366x768.png")

            QApplication.clipboard().setText("")
            panel.copy_button.click()
            markdown = QApplication.clipboard().text()
            assert markdown.startswith("### Investigation: orders at ")
            bullets = [line for line in markdown.splitlines() if line.startswith("- ")]
            # The Markdown reads in the panel's order; the breaker's bullet carries it.
            assert [re.search(r"\*\*(\w+)\*\*", b)[1] for b in bullets] == [
                f.check for f in panel.findings
            ]
            assert "- ❗ **dependencies** (interesting): " in bullets[at]
            assert "inventory-service breaker open" in bullets[at]

            entries = investigation_entries(console)
            assert len(entries) == 1
            assert entries[0].service == "orders"
            assert entries[0].message.startswith("investigated orders: ")
            stored = [f["check"] for f in entries[0].data["findings"]]
            assert stored == [f.check for f in panel.findings]
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=90)


def test_second_run_refused_and_unknown_service_named(console_live, qloop, qtbot):
    console, _keyboard = console_live
    client, window, runner = console.clients["sim"], console.window, console.ctx.runner
    panel = window.investigation
    problems: list = []
    runner.on_problem(problems.append)

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            attempt = runner.attempt("investigate.run", source="test", service="nosuch")
            assert not attempt.ran
            assert problems[-1].words == "no backend knows a service named 'nosuch'"
            assert panel.service == ""  # nothing began
            first = runner.run("investigate.run", source="test", service="orders")
            assert first is not None
            again = runner.attempt("investigate.run", source="test", service="orders")
            assert not again.ran
            assert problems[-1].words.startswith("orders is already being investigated")
            await first
            assert panel.done and panel.texts()
            assert len(investigation_entries(console)) == 1
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def visible_menu() -> QMenu | None:
    menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    return menus[-1] if menus else None


def test_i_on_a_row_and_the_row_menu_investigate_its_service(console_live, qloop, qtbot):
    console, _keyboard = console_live
    store, client, window = console.ctx.store, console.clients["sim"], console.window
    panel = window.investigation

    async def finished(service: str) -> None:
        await wait_until(lambda: panel.service == service, 5, f"{service}'s run to begin")
        await wait_until(lambda: panel.done, 15, f"{service}'s run to finish")

    async def from_menu(view, row: int, service: str) -> None:
        view.scrollTo(view.model().index(row, 0))
        pos = view.visualRect(view.model().index(row, 0)).center()
        view.customContextMenuRequested.emit(pos)
        await wait_until(lambda: visible_menu() is not None, 5, "the row's menu")
        menu = visible_menu()
        entry = next(a for a in menu.actions() if a.text().startswith("Investigate "))
        assert entry.text() == f"Investigate {service}\ti" and entry.isEnabled()
        entry.trigger()
        menu.close()
        await back_from_dialog(window)  # no window manager here to give the keys back
        await finished(service)

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            # Services: the list has the keys, `i` on the payments row.
            await wait_until(
                lambda: window.services.model.row_of("sim", "payments") >= 0, 10, "rows"
            )
            window.focus_panel(window.services)
            console.ctx.selection.select("sim", "payments")
            assert focused() is window.services.view
            key(qtbot, "i")
            await finished("payments")
            assert [e.service for e in investigation_entries(console)] == ["payments"]

            # Alerts: an alert's row menu investigates the alert's service.
            await client.scenario("error_burst", "payments")
            alerts = store.backend("sim").alerts
            await wait_until(
                lambda: any(a.service == "payments" for a in alerts.values()), 30, "an alert"
            )
            window.alerts.refresh(0.0)
            alert = next(a for a in alerts.values() if a.service == "payments")
            window.focus_panel(window.alerts)
            assert window.alerts.select("sim", alert.id)
            row = window.alerts.view.currentIndex().row()
            await from_menu(window.alerts.view, row, "payments")

            # Error budgets: `i` on the selected SLO, and its row menu.
            await wait_until(lambda: "orders" in store.backend("sim").slos, 15, "SLOs")
            window.focus_panel(window.budgets)
            window.budgets.refresh(0.0)
            assert window.budgets.select("sim", "orders")
            key(qtbot, "i")
            await finished("orders")
            assert window.budgets.select("sim", "inventory")
            row = window.budgets.view.currentIndex().row()
            await from_menu(window.budgets.view, row, "inventory")
            assert [e.service for e in investigation_entries(console)] == [
                "inventory",
                "orders",
                "payments",
                "payments",
            ]
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=120)


def test_tab_completes_investigate_and_ctrl_k_offers_it(console_live, qloop, qtbot):
    console, keyboard = console_live
    client, window, line = console.clients["sim"], console.window, keyboard.command_line
    panel = window.investigation

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            window.focus_panel(window.services)
            key(qtbot, ":")
            type_text(qtbot, "investi")
            key(qtbot, Qt.Key.Key_Tab)
            assert line.edit.text() == "investigate "
            type_text(qtbot, "paym")
            key(qtbot, Qt.Key.Key_Tab)
            assert line.edit.text() == "investigate payments "
            key(qtbot, Qt.Key.Key_Return)
            await wait_until(lambda: panel.service == "payments" and panel.done, 15, "payments")

            key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
            type_text(qtbot, "investigate a service")
            row = keyboard.palette.current_row()
            assert row is not None and row.value == "investigate.run" and row.enabled
            key(qtbot, Qt.Key.Key_Return)
            await wait_until(lambda: keyboard.palette.step is not None, 5, "the service step")
            assert "orders" in {r.value for r in keyboard.palette.rows()}
            type_text(qtbot, "orders")
            key(qtbot, Qt.Key.Key_Return)
            await wait_until(lambda: panel.service == "orders" and panel.done, 15, "orders")
            services = [e.service for e in investigation_entries(console)]
            assert services == ["orders", "payments"]
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)
