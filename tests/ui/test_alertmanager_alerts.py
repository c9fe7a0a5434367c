"""Sim latency spike → Prometheus → Alertmanager → the alerts panel; an ack by keys silences it."""

from __future__ import annotations

import time

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from opsconsole.backends.alertmanager import AlertmanagerClient
from opsconsole.core.audit import os_user
from opsconsole.core.cmdline import Arg
from opsconsole.core.events import BackendDescribed
from opsconsole.core.health import Health
from opsconsole.core.models import BackendInfo, ConnectionState
from opsconsole.core.store import Store
from opsconsole.ui import theme
from tests.support.console import (
    back_from_dialog,
    focused,
    key,
    make_console,
    open_dialog,
    show,
    type_text,
)
from tests.support.promstack import alert_rules, start_alertmanager, start_prometheus
from tests.support.shots import save_shot
from tests.support.waiting import wait_until

AM_ACTIONS = frozenset({"alert.ack", "alert.silence", "silence.expire"})


@pytest.fixture
def stack(qloop, tmp_path, sim_thread):
    """The reference backend, a real Prometheus with the alert rules, a real Alertmanager."""
    sim = sim_thread()
    am = qloop.run(start_alertmanager(tmp_path / "alertmanager"))
    # Short windows so the page fires within seconds on a loaded box: rate over 5 s, no `for`.
    rules = alert_rules(window="5s", for_latency="0s", for_errors="1h", for_saturation="1h")
    try:
        prom = qloop.run(
            start_prometheus(
                tmp_path / "prometheus",
                [sim.url.removeprefix("http://")],
                rules=rules,
                alertmanager_url=am.url,
            )
        )
    except BaseException:
        am.stop()
        raise
    yield sim, am, prom
    prom.stop()
    am.stop()


@pytest.fixture
def console(qtbot, tmp_path, stack):
    _sim, am, _prom = stack
    store = Store(capacity=600)
    client = AlertmanagerClient("am", am.url, store.apply, poll_s=0.25)
    store.apply(
        BackendDescribed("am", BackendInfo("am", "alertmanager", am.url, False, AM_ACTIONS))
    )
    built, ui = make_console(tmp_path, {"am": client}, store)
    theme.apply_theme(QApplication.instance())
    show(qtbot, built.window)
    yield built, ui
    built.close()


def focus_alerts(qtbot, window) -> None:
    """Alt+N, N the alerts dock's place in the window: keys land in its list."""
    n = window.panels.index(window.alerts) + 1
    qtbot.keyClick(
        QApplication.focusWidget() or window,
        getattr(Qt.Key, f"Key_{n}"),
        Qt.KeyboardModifier.AltModifier,
    )
    assert focused() is window.alerts.view


def test_a_fired_page_reaches_the_panel_and_an_ack_silences_it(console, stack, qloop, qtbot):
    built, ui = console
    sim, _am, _prom = stack
    store, window = built.ctx.store, built.window
    client = built.clients["am"]
    assert isinstance(client, AlertmanagerClient)
    panel = window.alerts
    line = ui.command_line

    def latency_page() -> str | None:
        return next(
            (
                a.id
                for a in store.backend("am").alerts.values()
                if a.rule == "LatencyHigh" and a.service == "orders" and a.state == "firing"
            ),
            None,
        )

    async def confirm_with_enter() -> None:
        await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
        qtbot.keyClick(open_dialog(window).ok_button, Qt.Key.Key_Return)

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
            async with httpx.AsyncClient(timeout=5) as http:
                answer = await http.post(
                    f"{sim.url}/api/v1/sim/scenario",
                    json={"name": "latency_spike", "target": "orders"},
                )
            assert answer.status_code == 202, answer.text
            await wait_until(lambda: latency_page() is not None, 60, "LatencyHigh from Prometheus")
            fired = latency_page()
            assert fired is not None
            row = ("am", fired)
            await wait_until(lambda: row in panel.visible_keys(), 5, "the page listed")
            assert panel.text(*row, "state") == "FIRING"
            assert panel.text(*row, "severity") == "page"
            assert panel.text(*row, "service") == "orders"
            assert panel.text(*row, "summary") == "p99 latency of orders above 500 ms"
            assert panel.colour(*row) == theme.STATE_COLOURS[Health.CRITICAL]
            tip = panel.model.row_view(panel.model.row_of(*row)).tooltip
            assert "labels: alertname=LatencyHigh, service=orders, severity=page" in tip

            # Acknowledge from the `:` line, keys only: a silence of exactly this alert.
            focus_alerts(qtbot, window)
            key(qtbot, ":")
            type_text(qtbot, f"ack {fired[:6]} looking at orders")
            key(qtbot, Qt.Key.Key_Return)
            await confirm_with_enter()
            result = await line.last_result
            assert result.ok, result.message
            assert result.message == f"alert {fired} acknowledged by {os_user()}"
            await wait_until(lambda: panel.text(*row, "state") == "SILENCED", 5, "SILENCED")
            acked = panel.text(*row, "acked")
            assert acked.startswith(f"by {os_user()} until "), acked
            ends = next(iter(store.backend("am").silences.values())).ends_ts
            assert acked.endswith(time.strftime("%H:%M", time.localtime(ends)))
            assert panel.colour(*row) == theme.STATE_COLOURS[Health.UNKNOWN]
            assert "1 silenced/inhibited" in panel.summary_text  # other pages may fire too
            assert panel.text(*row, "value").startswith("value ")
            save_shot(window.alerts, "alerts-silenced.png")

            # And the silence ended again from the `:` line (its id completes from live names).
            await back_from_dialog(window)
            silence_id = store.backend("am").alerts[fired].silenced_by[0]
            focus_alerts(qtbot, window)
            key(qtbot, ":")
            type_text(qtbot, f"expire {silence_id[:8]}")
            key(qtbot, Qt.Key.Key_Return)
            await confirm_with_enter()
            result = await line.last_result
            assert result.ok, result.message
            await wait_until(lambda: panel.text(*row, "state") == "FIRING", 5, "FIRING again")
            assert panel.text(*row, "acked") == "—"

            # Silence it from the palette for a typed duration (typed wins over "15m").
            await back_from_dialog(window)
            palette = ui.palette
            focus_alerts(qtbot, window)
            key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
            type_text(qtbot, "silence an")
            assert palette.rows()[0].value == "alert.silence"
            key(qtbot, Qt.Key.Key_Return)
            assert palette.step is Arg.ALERT  # one Alertmanager backend: not asked for
            type_text(qtbot, fired[:6])
            assert palette.current_row().value == fired and palette.current_row().enabled
            key(qtbot, Qt.Key.Key_Return)
            assert palette.step is Arg.DURATION
            type_text(qtbot, "5m")
            key(qtbot, Qt.Key.Key_Return)
            assert palette.step is Arg.COMMENT
            type_text(qtbot, "spike under investigation")
            key(qtbot, Qt.Key.Key_Return)
            await confirm_with_enter()
            result = await palette.last_result
            assert result.ok, result.message
            await wait_until(lambda: panel.text(*row, "state") == "SILENCED", 5, "SILENCED")
            made = store.backend("am").silences[store.backend("am").alerts[fired].silenced_by[0]]
            assert made.ends_ts - made.starts_ts == pytest.approx(300, abs=2)
            assert made.comment.startswith("opsconsole silence: spike under investigation [")
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=90)
