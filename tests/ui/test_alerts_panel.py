"""Alerts panel: order, words, colours, keys, and an acknowledgement through the real pipeline."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMenu, QToolButton

from opsconsole.app.wiring import build_console
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.audit import os_user
from opsconsole.core.commands import Command
from opsconsole.core.events import (
    AlertChanged,
    BackendDescribed,
    ConnectionChanged,
    SilenceChanged,
    SnapshotLoaded,
)
from opsconsole.core.health import Health
from opsconsole.core.models import (
    Alert,
    BackendInfo,
    ConnectionState,
    LinkStatus,
    Matcher,
    Service,
    Silence,
    Thresholds,
)
from opsconsole.core.store import Store
from opsconsole.core.words import age_text
from opsconsole.ui import theme
from opsconsole.ui.confirm import ConfirmDialog
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panels.alerts import AlertsPanel, format_value
from opsconsole.ui.repaint import RepaintScheduler
from tests.support.panels import PanelHarness
from tests.support.tcpproxy import FaultProxy
from tests.support.waiting import wait_until

LATENCY_VALUE = re.compile(r"^p99 \d+ ms > 500 ms$")
AGE = re.compile(r"^(\d+) s$|^(\d+) min (\d\d) s$")

# ------------------------------------------------------------------ words (pure)


def alert(**kw: Any) -> Alert:
    base: dict[str, Any] = {
        "id": "a1",
        "service": "orders",
        "rule": "latency",
        "severity": "page",
        "state": "firing",
        "since_ts": 1_800_000_000.0,
        "value": 612.0,
        "threshold": 500.0,
    }
    return Alert(**{**base, **kw})


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, "p99 612 ms > 500 ms"),
        ({"rule": "errors", "value": 0.034, "threshold": 0.01}, "errors 3.4 % > 1 %"),
        ({"rule": "errors", "value": 0.0025, "threshold": 0.01}, "errors 0.25 % ≤ 1 %"),
        ({"rule": "saturation", "value": 0.91, "threshold": 0.80}, "CPU 91 % > 80 %"),
        (
            {"rule": "saturation", "value": 0.9, "threshold": 0.85, "summary": "memory at 90 %"},
            "memory 90 % > 85 %",
        ),
        ({"rule": "traffic", "value": 0.62, "threshold": 0.5}, "+62 % vs baseline"),
        ({"rule": "traffic", "value": -0.55, "threshold": 0.5}, "−55 % vs baseline"),
        ({"value": None}, "p99 — (limit 500 ms)"),
        ({"value": 320.0, "state": "resolved"}, "p99 320 ms ≤ 500 ms"),
        (
            {"rule": "error_budget_burn", "value": 0.0112, "threshold": 0.004},
            "errors 1 h 1.1 % > 0.4 %",
        ),
        (
            {"rule": "error_budget_exhaustion", "value": 0.006, "threshold": 0.005},
            "errors 6 h 0.6 % > 0.5 %",
        ),
    ],
)
def test_value_is_told_in_the_rules_units(kw: dict[str, Any], expected: str) -> None:
    assert format_value(alert(**kw)) == expected


def test_memory_is_told_apart_from_cpu_by_the_services_thresholds() -> None:
    service = Service(name="orders", thresholds=Thresholds(cpu=0.8, memory=0.85))
    assert format_value(alert(rule="saturation", value=0.9, threshold=0.85), service) == (
        "memory 90 % > 85 %"
    )
    assert format_value(alert(rule="saturation", value=0.9, threshold=0.8), service) == (
        "CPU 90 % > 80 %"
    )


def test_ages_count_in_the_shared_words() -> None:
    # The Age column says minutes as everywhere else: "4 min", never "4 m".
    assert age_text(4.9, precise=False) == "4 s"
    assert age_text(250, precise=False) == "4 min 10 s"
    assert age_text(7500, precise=False) == "2 h 05 min"
    assert age_text(3 * 86_400 + 4 * 3600, precise=False) == "3 d 04 h"


# ------------------------------------------------------------------ panel over a fed store


class Harness(PanelHarness):
    """The alerts panel over a store the test feeds, on a frozen wall clock."""

    def __init__(self, qapp, qtbot) -> None:
        now = time.time()
        # The server clock is ours here: ages are exact.
        super().__init__(qapp, qtbot, wall_clock=lambda: now)
        self.now = now
        self.panel = self.show(AlertsPanel(self.ctx), (1200, 400))
        self.live()

    def feed(self, *alerts: Alert, backend: str = "sim") -> None:
        for a in alerts:
            self.store.apply(AlertChanged(backend, a))
        self.refresh()

    def live(self, backend: str = "sim", state: ConnectionState = ConnectionState.LIVE) -> None:
        self.store.apply(ConnectionChanged(backend, LinkStatus(state)))

    def refresh(self) -> None:
        self.panel.mark_dirty()  # as a store signal would: never rate-limited
        self.panel.run_refresh(time.monotonic())

    def button(self) -> QToolButton:
        return self.panel.findChild(QToolButton, "button_alert.ack")


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[Harness]:
    harness = Harness(qapp, qtbot)
    yield harness
    harness.close()


def test_firing_first_then_severity_then_newest(ui: Harness) -> None:
    now = ui.now
    ui.feed(
        alert(id="resolved-page", state="resolved", since_ts=now - 10),
        alert(id="info", severity="info", rule="custom", since_ts=now - 5),
        alert(id="ticket", severity="ticket", rule="saturation", value=0.9, threshold=0.8),
        alert(id="old-page", since_ts=now - 600),
        alert(id="new-page", since_ts=now - 30),
    )
    ids = [i for _, i in ui.panel.visible_keys()]
    assert ids == ["new-page", "old-page", "ticket", "info", "resolved-page"]
    assert ui.panel.text("sim", "new-page", "state") == "FIRING"
    assert ui.panel.text("sim", "resolved-page", "state") == "RESOLVED"
    assert ui.panel.text("sim", "old-page", "age") == "10 min 00 s"
    assert ui.panel.text("sim", "resolved-page", "age") == "10 s"  # since it started firing
    assert ui.panel.text("sim", "new-page", "acked") == "—"
    # The colour goes with the word: page red, ticket amber, resolved grey.
    assert ui.panel.colour("sim", "new-page") == theme.STATE_COLOURS[Health.CRITICAL]
    assert ui.panel.colour("sim", "ticket") == theme.STATE_COLOURS[Health.WARNING]
    assert ui.panel.colour("sim", "resolved-page") == theme.STATE_COLOURS[Health.UNKNOWN]
    assert ui.panel.summary_text.startswith("4 FIRING (2 page, 1 ticket, 1 info)")


def test_the_age_column_means_time_since_it_started_firing(ui: Harness) -> None:
    # Resolved or firing, the age is one thing: how long ago the alert started firing.
    ui.feed(
        alert(id="done", state="resolved", since_ts=ui.now - 125),
        alert(id="a2", since_ts=ui.now - 65, acked_by="alice", acked_ts=ui.now - 125),
    )
    now = time.monotonic()
    assert ui.panel.next_tick(now) - now <= 1.01  # ages count up without news
    assert ui.panel.text("sim", "a2", "age") == "1 min 05 s"
    assert ui.panel.text("sim", "done", "age") == "2 min 05 s"
    assert ui.panel.text("sim", "a2", "acked") == "alice 2 min ago"
    # The header says so, and a resolved row's tooltip keeps the clock time it fired.
    column = ui.panel.model.column_of("age")
    tip = ui.panel.model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Time since the alert started firing")
    fired = time.strftime("%H:%M:%S", time.localtime(ui.now - 125))
    row = ui.panel.model.row_of("sim", "done")
    assert f"fired {fired}" in ui.panel.model.row_view(row).tooltip


def test_a_stale_backend_greys_its_alerts_and_says_so(ui: Harness) -> None:
    ui.feed(alert())
    ui.live(state=ConnectionState.STALE)
    ui.refresh()
    assert ui.panel.colour("sim", "a1") == theme.STATE_COLOURS[Health.UNKNOWN]
    assert ui.panel.summary_text == ("1 FIRING (1 page) · alerts unknown — sim STALE, no data yet")
    now = time.monotonic()
    assert ui.panel.next_tick(now) - now <= 1.01  # its age counts up


def test_a_stale_backend_with_nothing_firing_never_reads_no_alert_firing(ui: Harness) -> None:
    ui.refresh()
    assert ui.panel.summary_text == "No alert firing"
    ui.live(state=ConnectionState.STALE)
    ui.refresh()
    # An empty list from a backend nobody hears proves nothing: unknown, not green.
    assert ui.panel.summary_text == "Alerts unknown — sim STALE, no data yet"
    assert theme.STATE_COLOURS[Health.HEALTHY] not in ui.panel.summary.text()
    assert "alerts unknown: sim STALE" in ui.panel.summary.toolTip()
    # A Prometheus backend reads metrics only: its link says nothing about alerts.
    ui.live()
    ui.store.apply(BackendDescribed("prom", BackendInfo("prom", "prometheus", "http://p")))
    ui.live("prom", ConnectionState.STALE)
    ui.refresh()
    assert ui.panel.summary_text == "No alert firing"


def test_picking_an_alert_selects_its_service(ui: Harness, qtbot) -> None:
    # Alertmanager reports the alert, Prometheus measures the service: the chart goes to
    # the backend that has the service.
    ui.store.apply(SnapshotLoaded("prom", (Service(name="orders"),), (), (), (), ts=ui.now))
    ui.store.apply(
        SnapshotLoaded(
            "sim", (Service(name="payments"), Service(name="search")), (), (), (), ts=ui.now
        )
    )
    ui.feed(alert(id="lat", service="orders"), backend="am")
    ui.feed(alert(id="err", service="payments", rule="errors", since_ts=ui.now - 5))
    ui.ctx.selection.select("sim", "search")
    ui.ctx.selection.follow_worst()  # the charts follow the worst service: nobody picked one
    seen: list[tuple[str, str]] = []
    ui.ctx.selection.changed.connect(lambda b, s: seen.append((b, s)))
    view = ui.panel.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert ui.panel.selected() == ("am", "lat")
    assert (ui.ctx.selection.backend, ui.ctx.selection.service) == ("prom", "orders")
    assert ui.ctx.selection.picked  # an alert picked is the operator's pick: the charts stay
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert (ui.ctx.selection.backend, ui.ctx.selection.service) == ("sim", "payments")
    assert seen == [("prom", "orders"), ("sim", "payments")]
    # The operator looks elsewhere; a new alert rebuilds the list and puts the current row
    # back, which is not a new pick: the charts stay where the operator put them.
    ui.ctx.selection.select("sim", "search")
    ui.feed(alert(id="new", service="search", rule="saturation", severity="ticket"))
    assert ui.panel.selected() == ("sim", "err")
    assert (ui.ctx.selection.backend, ui.ctx.selection.service) == ("sim", "search")


def test_runbook_and_dashboard_links_open_in_the_browser(ui: Harness, qtbot, monkeypatch) -> None:
    opened: list[str] = []
    # The browser is outside the console: record what would be opened instead.
    monkeypatch.setattr(
        QDesktopServices, "openUrl", lambda url: opened.append(url.toString()) or True
    )
    notes = {
        "runbook_url": "https://runbooks.example/orders/latency",
        "dashboard": "http://grafana.example/d/orders?var=1&x=2",
        "summary": "p99 high",
        "grafana_panel": "file:///etc/passwd",  # never a link: http(s) only
        "runbook_extra": "javascript:alert(1)",
    }
    ui.feed(alert(id="linked", annotations=notes), alert(id="bare", since_ts=ui.now - 60))
    links = ui.panel.links
    assert not links.isVisible()  # nothing selected
    assert ui.panel.select("sim", "bare")
    assert not links.isVisible()
    assert ui.panel.select("sim", "linked")
    assert links.isVisible()
    assert ui.panel.link_targets == (
        ("Runbook", "https://runbooks.example/orders/latency"),
        ("Dashboard", "http://grafana.example/d/orders?var=1&x=2"),
    )
    assert "Runbook" in links.text() and "Dashboard" in links.text()
    assert "file:" not in links.text() and "javascript" not in links.text()
    # A click on the first link opens it.
    qtbot.mouseClick(links, Qt.MouseButton.LeftButton, pos=QPoint(4, links.height() // 2))
    assert opened == ["https://runbooks.example/orders/latency"]
    # Whatever a label might hand over, only http(s) is ever opened.
    links.linkActivated.emit("http://grafana.example/d/orders?var=1&x=2")
    links.linkActivated.emit("file:///etc/passwd")
    assert opened[1:] == ["http://grafana.example/d/orders?var=1&x=2"]


def test_a_snapshot_replaces_the_list(ui: Harness) -> None:
    ui.feed(alert(id="gone"))
    ui.store.apply(SnapshotLoaded("sim", (), (), (), (alert(id="kept"),), ts=ui.now))
    ui.refresh()
    assert ui.panel.visible_keys() == [("sim", "kept")]


def test_keys_filter_and_select(ui: Harness, qtbot) -> None:
    ui.feed(
        alert(id="lat", since_ts=ui.now - 1),
        alert(id="err", rule="errors", value=0.05, threshold=0.01, since_ts=ui.now - 2),
        alert(id="cpu", rule="saturation", severity="ticket", value=0.9, threshold=0.8),
    )
    view = ui.panel.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert ui.panel.selected() == ("sim", "lat")
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Return)  # Enter selects; nothing is run
    assert ui.panel.selected() == ("sim", "err")
    qtbot.keyClick(view, Qt.Key.Key_Slash)
    assert ui.panel.filter.isVisible()
    qtbot.keyClicks(ui.panel.filter, "saturation")
    assert ui.panel.visible_keys() == [("sim", "cpu")]
    qtbot.keyClick(ui.panel.filter, Qt.Key.Key_Escape)
    assert len(ui.panel.visible_keys()) == 3


def test_acknowledge_is_offered_only_when_it_can_run(ui: Harness, qtbot) -> None:
    ui.feed(alert(id="mine"), alert(id="taken", acked_by="bob", acked_ts=ui.now, since_ts=0))
    button = ui.button()
    assert button.text() == "Acknowledge…"
    assert not button.isEnabled() and button.toolTip() == "not available"
    calls: list[dict[str, Any]] = []
    ui.ctx.commands.register(
        Command("alert.ack", "Acknowledge an alert", lambda **kw: calls.append(kw), mutating=True)
    )
    ui.refresh()
    assert not button.isEnabled() and button.toolTip() == "select an alert first"
    assert ui.panel.select("sim", "taken")
    assert not button.isEnabled() and "already acknowledged by bob" in button.toolTip()
    assert ui.panel.select("sim", "mine")
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert calls == [{"backend": "sim", "alert": "mine"}]

    # The same action in the context menu of the row.
    view = ui.panel.view
    rect = view.visualRect(ui.panel.proxy.index(0, 0))
    view.customContextMenuRequested.emit(rect.center())
    menus = [m for m in ui.panel.findChildren(QMenu) if m.isVisible()]
    assert [a.text() for a in menus[-1].actions()] == ["Acknowledge…"]
    menus[-1].actions()[0].trigger()
    menus[-1].close()
    assert calls[-1] == {"backend": "sim", "alert": "mine"}


def test_silenced_and_inhibited_alerts_are_muted_and_say_by_whom(ui: Harness) -> None:
    until = ui.now + 2 * 3600
    ui.store.apply(
        SilenceChanged(
            "sim",
            Silence(
                id="s-1",
                matchers=(Matcher("alertname", "LatencyHigh"),),
                starts_ts=ui.now - 60,
                ends_ts=until,
                created_by="alice",
                comment="opsconsole ack: on it [intent k]",
                state="active",
            ),
        )
    )
    labels = {"alertname": "LatencyHigh", "service": "orders", "severity": "page"}
    notes = {"summary": "p99 high", "runbook": "https://runbooks/latency"}
    ui.feed(
        alert(id="loud", since_ts=ui.now - 10),
        alert(
            id="muted",
            since_ts=ui.now - 5,
            labels=labels,
            annotations=notes,
            silenced_by=("s-1",),
            acked_by="alice",
            acked_ts=ui.now - 60,
        ),
        alert(id="held", since_ts=ui.now - 1, inhibited_by=("f00d",)),
        alert(id="done", state="resolved", since_ts=ui.now - 900),
    )
    # Still firing, but handled: after the loud ones (newest first), before the resolved.
    assert [i for _, i in ui.panel.visible_keys()] == ["loud", "held", "muted", "done"]
    assert ui.panel.text("sim", "muted", "state") == "SILENCED"
    assert ui.panel.text("sim", "held", "state") == "INHIBITED"
    hm = time.strftime("%H:%M", time.localtime(until))
    assert ui.panel.text("sim", "muted", "acked") == f"by alice until {hm}"
    for muted in ("muted", "held"):
        assert ui.panel.colour("sim", muted) == theme.STATE_COLOURS[Health.UNKNOWN]
    assert ui.panel.colour("sim", "loud") == theme.STATE_COLOURS[Health.CRITICAL]
    # Nobody is paged for the muted ones: the headline counts them apart.
    assert ui.panel.summary_text == "1 FIRING (1 page) · 2 silenced/inhibited · 1 resolved"
    tip = ui.panel.model.row_view(ui.panel.model.row_of("sim", "muted")).tooltip
    assert "silenced by alice until" in tip and "on it" in tip and "[silence s-1]" in tip
    assert "labels: alertname=LatencyHigh, service=orders, severity=page" in tip
    assert "runbook: https://runbooks/latency" in tip
    held_tip = ui.panel.model.row_view(ui.panel.model.row_of("sim", "held")).tooltip
    assert "inhibited by f00d" in held_tip
    # The filter finds them by the word.
    ui.panel.proxy.setFilterFixedString("silenced")
    assert ui.panel.visible_keys() == [("sim", "muted")]
    # Once the loud one resolves, the muted ones still fire: never a green "No alert firing".
    ui.feed(alert(id="loud", state="resolved", since_ts=ui.now - 10))
    assert ui.panel.summary_text == "Nothing firing unmuted · 2 silenced/inhibited · 2 resolved"


def test_a_silence_that_changes_updates_its_row(ui: Harness) -> None:
    def silence(ends: float) -> SilenceChanged:
        return SilenceChanged(
            "sim",
            Silence(
                id="s-1",
                matchers=(Matcher("service", "orders"),),
                starts_ts=ui.now,
                ends_ts=ends,
                created_by="bob",
                comment="",
                state="active",
            ),
        )

    ui.feed(alert(id="a", silenced_by=("s-1",)))
    assert ui.panel.text("sim", "a", "acked") == "silenced"  # the silence is not known yet
    ui.store.apply(silence(ui.now + 3600))
    ui.refresh()
    hm = time.strftime("%H:%M", time.localtime(ui.now + 3600))
    assert ui.panel.text("sim", "a", "acked") == f"by bob until {hm}"
    ui.ctx.commands.register(
        Command("alert.ack", "Acknowledge an alert", lambda **kw: None, mutating=True)
    )
    ui.refresh()
    assert ui.panel.select("sim", "a")
    assert not ui.button().isEnabled() and ui.button().toolTip() == "already silenced"


# ------------------------------------------------------------------ the real thing


@pytest.fixture
def console(qtbot, tmp_path, sim_thread):
    # time_scale 60: the latency rule's 5 min `for` is 5 s of real time.
    sim = sim_thread(time_scale=60)
    store = Store(capacity=600)
    ctx = UiContext(store, Selection())
    client = OpsApiClient("sim", sim.url, store.apply)
    built = build_console(
        ctx,
        {"sim": client},
        audit_path=tmp_path / "audit.jsonl",
        timeline_path=tmp_path / "timeline.sqlite3",
        outcome_timeout_s=15,
    )
    qtbot.addWidget(built.window)
    built.window.show()
    built.window.start()
    yield built
    built.close()


def alerts_panel(console, qtbot) -> AlertsPanel:
    """The window's alerts dock once the lead wires it; a panel on the same scheduler until then."""
    panel = getattr(console.window, "alerts", None)
    if isinstance(panel, AlertsPanel):
        console.window.focus_panel(panel)
        return panel
    panel = AlertsPanel(console.ctx)
    qtbot.addWidget(panel)
    panel.resize(1300, 300)
    panel.show()
    scheduler: RepaintScheduler = console.window.scheduler
    scheduler.add([panel])
    return panel


def open_dialog(window) -> ConfirmDialog | None:
    dialogs = [d for d in window.findChildren(ConfirmDialog) if d.isVisible()]
    return dialogs[-1] if dialogs else None


def test_latency_spike_pages_and_is_acknowledged_by_the_operator(console, qloop, qtbot):
    store, ctx, window = console.ctx.store, console.ctx, console.window
    client = console.clients["sim"]
    panel = alerts_panel(console, qtbot)

    def orders_latency() -> Alert | None:
        return next(
            (
                a
                for a in store.backend("sim").alerts.values()
                if a.service == "orders" and a.rule == "latency" and a.state == "firing"
            ),
            None,
        )

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
            # Long enough (simulated) to still fire when the test acknowledges it.
            await client.scenario("latency_spike", "orders", duration_s=3600)
            await wait_until(lambda: orders_latency() is not None, 30, "the latency page")
            fired = orders_latency()
            assert fired is not None and fired.severity == "page"
            key = ("sim", fired.id)
            await wait_until(lambda: key in panel.visible_keys(), 5, "the alert listed")
            # Firing pages lead the list, newest first: the spike's page is the first row.
            assert panel.visible_keys()[0] == key, panel.visible_keys()
            assert panel.text(*key, "state") == "FIRING"
            assert LATENCY_VALUE.match(panel.text(*key, "value")), panel.text(*key, "value")
            assert panel.colour(*key) == theme.STATE_COLOURS[Health.CRITICAL]
            assert panel.text(*key, "acked") == "—"
            # The age counts up on its own.
            first_age = panel.text(*key, "age")
            assert AGE.match(first_age), first_age
            await wait_until(lambda: panel.text(*key, "age") != first_age, 5, "the age to count")

            # The operator looks at another service, then picks the alert: its service is
            # selected, the services list and the charts go there.
            ctx.selection.select("sim", "search")
            panel.view.setFocus()
            qtbot.keyClick(panel.view, Qt.Key.Key_Home)
            assert panel.selected() == key
            assert (ctx.selection.backend, ctx.selection.service) == ("sim", "orders")
            services = window.services
            current = services.view.currentIndex()
            assert services.model.key_at(current.row()) == ("sim", "orders")
            await wait_until(lambda: window.signals.chart.has_data, 5, "the charts showing orders")

            task = ctx.commands.run("alert.ack", backend="sim", alert=fired.id)
            await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
            qtbot.keyClick(open_dialog(window).ok_button, Qt.Key.Key_Return)
            result = await task
            assert result.ok, result.message
            user = os_user()
            await wait_until(
                lambda: panel.text(*key, "acked").startswith(f"{user} "), 5, "acked by the user"
            )
            assert panel.text(*key, "acked").endswith(" ago")
            assert panel.select(*key)
            button = panel.findChild(QToolButton, "button_alert.ack")
            assert not button.isEnabled()
            assert button.toolTip() == f"already acknowledged by {user}"
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def make_console(qtbot, tmp_path, url: str):
    store = Store(capacity=600)
    ctx = UiContext(store, Selection())
    client = OpsApiClient("sim", url, store.apply)
    built = build_console(
        ctx,
        {"sim": client},
        audit_path=tmp_path / "audit.jsonl",
        timeline_path=tmp_path / "timeline.sqlite3",
        outcome_timeout_s=15,
    )
    qtbot.addWidget(built.window)
    built.window.show()
    built.window.start()
    return built, client


UNKNOWN = re.compile(r"^Alerts unknown — sim STALE, data (\d+) s old$")


def test_a_silent_backend_makes_the_alerts_unknown_with_the_data_age(
    qtbot, tmp_path, sim_thread, qloop
):
    sim = sim_thread()
    proxy = FaultProxy("127.0.0.1", int(sim.url.rsplit(":", 1)[1]))
    qloop.run(proxy.start())
    built, client = make_console(qtbot, tmp_path, proxy.url)
    panel = built.window.alerts

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
            await wait_until(lambda: panel.summary_text != "", 5, "a headline")
            assert "unknown" not in panel.summary_text
            # The link hangs: no FIN, no bytes. Nothing new arrives, and the empty list of
            # alerts is no longer news.
            proxy.silence_existing()
            await wait_until(lambda: UNKNOWN.match(panel.summary_text), 10, "alerts unknown")
            match = UNKNOWN.match(panel.summary_text)
            assert match is not None and int(match.group(1)) >= 2, panel.summary_text
            assert "No alert firing" not in panel.summary_text
        finally:
            await client.aclose()
            await proxy.stop()
            built.close()

    qloop.run(scenario(), timeout=60)


BREACHING = re.compile(r"^\d+ services? breaching, no alert yet")
TITLE_COUNT = re.compile(r"^(\d+) FIRING · opsconsole$")


def test_a_breach_is_said_before_its_alert_fires_then_the_page_is_counted(
    qtbot, tmp_path, sim_thread, qloop
):
    # time_scale 20: the latency rule's 5 min `for` is 15 s, long enough to see the breach
    # before the page, short enough to wait for the page.
    sim = sim_thread(time_scale=20)
    built, client = make_console(qtbot, tmp_path, sim.url)
    window, store = built.window, built.ctx.store
    panel = window.alerts

    def orders_page() -> Alert | None:
        alerts = store.backend("sim").alerts.values()
        return next(
            (a for a in alerts if a.service == "orders" and a.state == "firing"),
            None,
        )

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
            await wait_until(lambda: panel.summary_text == "No alert firing", 10, "calm")
            assert window.windowTitle() == "opsconsole"
            await client.scenario("latency_spike", "orders", duration_s=3600)
            await wait_until(
                lambda: (
                    BREACHING.match(panel.summary_text)
                    and "orders on sim: p99" in panel.summary.toolTip()
                ),
                10,
                "the breach said",
            )
            assert orders_page() is None, panel.summary_text  # before the rule's `for` elapsed
            assert "FIRING" not in window.windowTitle()

            await wait_until(lambda: orders_page() is not None, 40, "the orders page")
            await wait_until(
                lambda: "orders on sim" not in panel.summary.toolTip(), 5, "breach now an alert"
            )

            def counted() -> bool:
                # Window title, dock title and headline give the same number of pages (the
                # headline counts tickets too: the spike may cause one).
                match = TITLE_COUNT.match(window.windowTitle())
                if match is None:
                    return False
                pages = match.group(1)
                return (
                    window.docks["alerts"].windowTitle() == f"Alerts · {pages} FIRING"
                    and re.match(rf"^\d+ FIRING \({pages} page", panel.summary_text) is not None
                )

            await wait_until(counted, 5, "the pages counted in the titles")
        finally:
            await client.aclose()
            built.close()

    qloop.run(scenario(), timeout=90)
