"""Alerts panel: order, words, colours, keys, and an acknowledgement through the real pipeline."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QToolButton

from opsconsole.app.wiring import build_console
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.audit import os_user
from opsconsole.core.commands import Command
from opsconsole.core.events import AlertChanged, ConnectionChanged, SilenceChanged, SnapshotLoaded
from opsconsole.core.health import Health
from opsconsole.core.models import (
    Alert,
    ConnectionState,
    LinkStatus,
    Matcher,
    Service,
    Silence,
    Thresholds,
)
from opsconsole.core.store import Store
from opsconsole.ui import theme
from opsconsole.ui.confirm import ConfirmDialog
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panels.alerts import AlertsPanel, format_duration, format_value
from opsconsole.ui.repaint import RepaintScheduler
from tests.support.waiting import wait_until

LATENCY_VALUE = re.compile(r"^p99 \d+ ms > 500 ms$")
AGE = re.compile(r"^(\d+) s$|^(\d+) m (\d\d) s$")

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


def test_durations_count_in_plain_units() -> None:
    assert format_duration(4.9) == "4 s"
    assert format_duration(250) == "4 m 10 s"
    assert format_duration(7500) == "2 h 05 m"
    assert format_duration(3 * 86_400 + 4 * 3600) == "3 d 04 h"


# ------------------------------------------------------------------ panel over a fed store


@dataclass
class Harness:
    store: Store
    ctx: UiContext
    panel: AlertsPanel
    now: float

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
    theme.apply_theme(qapp)
    store = Store(capacity=600)
    now = time.time()
    # The server clock is ours here: ages are exact.
    ctx = UiContext(store, Selection(), wall_clock=lambda: now)
    panel = AlertsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1200, 400)
    panel.show()
    harness = Harness(store, ctx, panel, now)
    harness.live()
    yield harness


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
    assert ui.panel.text("sim", "old-page", "age") == "10 m 00 s"
    assert ui.panel.text("sim", "resolved-page", "age").startswith("fired ")
    assert ui.panel.text("sim", "new-page", "acked") == "—"
    # The colour goes with the word: page red, ticket amber, resolved grey.
    assert ui.panel.colour("sim", "new-page") == theme.STATE_COLOURS[Health.CRITICAL]
    assert ui.panel.colour("sim", "ticket") == theme.STATE_COLOURS[Health.WARNING]
    assert ui.panel.colour("sim", "resolved-page") == theme.STATE_COLOURS[Health.UNKNOWN]
    assert ui.panel.summary_text.startswith("4 FIRING (2 page, 1 ticket, 1 info)")


def test_ages_tick_only_while_something_fires(ui: Harness) -> None:
    ui.feed(alert(state="resolved"))
    assert not ui.panel.wants_tick
    ui.feed(alert(id="a2", since_ts=ui.now - 65, acked_by="alice", acked_ts=ui.now - 125))
    assert ui.panel.wants_tick
    assert ui.panel.text("sim", "a2", "age") == "1 m 05 s"
    assert ui.panel.text("sim", "a2", "acked") == "alice 2 m ago"


def test_a_stale_backend_greys_its_alerts_and_says_so(ui: Harness) -> None:
    ui.feed(alert())
    ui.live(state=ConnectionState.STALE)
    ui.refresh()
    assert ui.panel.colour("sim", "a1") == theme.STATE_COLOURS[Health.UNKNOWN]
    assert "STALE — sim" in ui.panel.summary_text
    assert ui.panel.wants_tick


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
