"""Circuit breakers panel against the real reference backend: states, order, countdown, keys."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QToolButton

from opsconsole.backends.opsapi import new_intent_key
from opsconsole.core.commands import Command
from opsconsole.core.events import CircuitChanged, ConnectionChanged, SnapshotLoaded
from opsconsole.core.health import Health
from opsconsole.core.models import Circuit, ConnectionState, LinkStatus, Transport
from opsconsole.ui import theme
from opsconsole.ui.panels.breakers import SPARK_ROLE, STATES, BreakersPanel
from tests.support.panels import PanelHarness
from tests.support.shots import save_shot
from tests.support.waiting import wait_until

CIRCUITS = {"inventory-service", "analytics-service", "payment-service", "user-service"}
COUNTDOWN = re.compile(r"^(\d+\.\d s|\d+ s|trying now)$")
COMMAND_IDS = ("breaker.force_open", "breaker.close", "breaker.reset")


class Harness(PanelHarness):
    def __init__(self, qapp, qtbot) -> None:
        super().__init__(qapp, qtbot)
        self.panel = self.show(BreakersPanel(self.ctx), (800, 400))

    def state(self, name: str) -> str:
        return self.panel.text("sim", name, "state")

    def listed(self) -> set[str]:
        return {name for _, name in self.panel.visible_keys()}

    def cell(self, name: str, column: str, role: Qt.ItemDataRole) -> Any:
        model = self.panel.model
        return model.data(model.index(model.row_of("sim", name), model.column_of(column)), role)

    def button(self, command_id: str) -> QToolButton:
        return self.panel.findChild(QToolButton, f"button_{command_id}")


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[Harness]:
    harness = Harness(qapp, qtbot)
    yield harness
    harness.close()


def test_outage_opens_inventory_first_with_a_countdown_then_force_open(
    qloop, sim_thread, ui
) -> None:
    sim = sim_thread(time_scale=20)

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(lambda: ui.listed() == CIRCUITS, 10, "every circuit listed")
            ui.refresh()
            for name in CIRCUITS:
                assert ui.state(name) == "closed", name
                assert ui.cell(name, "state", Qt.ItemDataRole.ForegroundRole) == theme.colour(
                    Health.HEALTHY
                )
                assert ui.cell(name, "state", Qt.ItemDataRole.DecorationRole) is not None
                assert ui.panel.text("sim", name, "half_open_in") == "—"
                assert re.fullmatch(r"\d+ / [35]", ui.panel.text("sim", name, "failures"))
            assert ui.panel.text("sim", "inventory-service", "failures").endswith("/ 3")
            # Closed circuits: busiest first, then by name.
            volumes = [
                ui.store.backend("sim").circuits[n].total_requests_5min
                for _, n in ui.panel.visible_keys()
            ]
            assert volumes == sorted(volumes, reverse=True)

            await client.scenario("dependency_outage", "inventory-service")
            flashes: list[float] = []

            def open_with_countdown() -> bool:
                flashes.append(ui.panel.model.flash(("sim", "inventory-service")))
                return ui.state("inventory-service") == "open" and bool(
                    COUNTDOWN.match(ui.panel.text("sim", "inventory-service", "half_open_in"))
                )

            await wait_until(open_with_countdown, 15, "inventory open with a countdown")
            assert ui.panel.visible_keys()[0] == ("sim", "inventory-service")
            assert ui.cell(
                "inventory-service", "state", Qt.ItemDataRole.ForegroundRole
            ) == theme.colour(Health.CRITICAL)

            # The transition pulses the row for ~1.5 s, drawn by time in refresh.
            def flashed() -> bool:
                flashes.append(ui.panel.model.flash(("sim", "inventory-service")))
                return max(flashes) > 0.3

            await wait_until(flashed, 5, "the transition flash")
            assert ui.panel.transitions_seen >= 1
            # The countdown counts down on its own (scheduler ticks, no new frames needed).
            first = ui.panel.text("sim", "inventory-service", "half_open_in")
            await wait_until(
                lambda: ui.panel.text("sim", "inventory-service", "half_open_in") != first,
                5,
                "the countdown to move",
            )

            await client.circuit_action("analytics-service", "force_open", new_intent_key())
            await wait_until(
                lambda: ui.state("analytics-service") == "forced open", 10, "forced open"
            )
            assert ui.cell(
                "analytics-service", "state", Qt.ItemDataRole.ForegroundRole
            ) == theme.colour(Health.FORCED)
            assert ui.panel.text("sim", "analytics-service", "half_open_in") == "—"
            keys = ui.panel.visible_keys()
            ranks = [STATES[ui.store.backend("sim").circuits[n].state].rank for _, n in keys]
            assert ranks == sorted(ranks), "worst state first"
            assert keys.index(("sim", "analytics-service")) < keys.index(("sim", "user-service"))
            # The sparkline has something to draw for the failing circuit.
            spark = ui.cell("inventory-service", "spark", Qt.ItemDataRole.UserRole + 1)
            assert spark is not None and len(spark[0]) >= 2
            ui.refresh()
            save_shot(ui.panel, "breakers_panel.png")
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_slash_filters_rows_and_escape_clears(qloop, qtbot, sim_thread, ui) -> None:
    sim = sim_thread(time_scale=20)

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(lambda: ui.listed() == CIRCUITS, 10, "every circuit listed")
            view, bar = ui.panel.view, ui.panel.filter
            assert not bar.isVisible()
            # Window shortcuts on the same keys (wall mode's Esc, say) must not steal them.
            fired: list[str] = []
            for key in ("/", "Esc"):
                shortcut = QShortcut(QKeySequence(key), ui.panel)
                shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
                shortcut.activated.connect(lambda key=key: fired.append(key))
            view.setFocus()
            qtbot.keyClick(view, "/")
            assert bar.isVisible() and bar.hasFocus()
            qtbot.keyClicks(bar, "INV")
            assert ui.listed() == {"inventory-service"}
            qtbot.keyClick(bar, Qt.Key.Key_Return)  # keys back to the list, filter kept
            assert view.hasFocus() and ui.listed() == {"inventory-service"}
            qtbot.keyClick(view, Qt.Key.Key_Down)
            assert ui.panel.selected() == ("sim", "inventory-service")
            qtbot.keyClick(view, Qt.Key.Key_Escape)
            assert not bar.isVisible() and ui.listed() == CIRCUITS
            # The state is searched too.
            qtbot.keyClick(view, "/")
            qtbot.keyClicks(bar, "closed")
            assert ui.listed() == CIRCUITS
            bar.clear()
            qtbot.keyClicks(bar, "open")
            assert ui.listed() == set()
            qtbot.keyClick(bar, Qt.Key.Key_Escape)
            assert ui.listed() == CIRCUITS and view.hasFocus()
            assert fired == []
            # With no filter left to clear, Esc goes on to "go back" as everywhere else.
            qtbot.keyClick(view, Qt.Key.Key_Escape)
            assert fired == ["Esc"]
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_buttons_need_a_registered_command_and_pass_the_selected_target(
    qloop, qtbot, sim_thread, ui
) -> None:
    sim = sim_thread(time_scale=20)

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(lambda: ui.listed() == CIRCUITS, 10, "every circuit listed")
            for cid in COMMAND_IDS:
                button = ui.button(cid)
                assert not button.isEnabled() and button.toolTip() == "not available"

            calls: list[tuple[str, dict[str, Any]]] = []
            ui.ctx.commands.register(
                Command("breaker.close", "Close breaker", lambda **kw: calls.append(("close", kw)))
            )

            async def force_open(backend: str, name: str) -> None:
                # What the action pipeline does, minus its dialog: the real client acts.
                calls.append(("force_open", {"backend": backend, "name": name}))
                await client.circuit_action(name, "force_open", new_intent_key())

            ui.ctx.commands.register(Command("breaker.force_open", "Force open", force_open))
            ui.refresh()
            assert ui.panel.selected() is None
            assert not ui.button("breaker.close").isEnabled()
            assert ui.button("breaker.close").toolTip() == "select a circuit first"

            # Enter on a row selects it and runs nothing.
            view = ui.panel.view
            view.setFocus()
            qtbot.keyClick(view, Qt.Key.Key_Down)
            qtbot.keyClick(view, Qt.Key.Key_Return)
            target = ui.panel.selected()
            assert target is not None and target[0] == "sim" and calls == []
            assert ui.button("breaker.close").isEnabled()
            assert ui.button("breaker.force_open").isEnabled()
            reset = ui.button("breaker.reset")
            assert not reset.isEnabled() and reset.toolTip() == "not available"

            ui.panel.select("sim", "user-service")
            qtbot.mouseClick(ui.button("breaker.close"), Qt.MouseButton.LeftButton)
            assert calls == [("close", {"backend": "sim", "name": "user-service"})]

            # The context menu offers the same actions, for the row under the mouse.
            model = ui.panel.model
            row = ui.panel.proxy.mapFromSource(
                model.index(model.row_of("sim", "payment-service"), 0)
            ).row()
            pos = view.visualRect(ui.panel.proxy.index(row, 0)).center()
            view.customContextMenuRequested.emit(pos)
            menus = [m for m in ui.panel.findChildren(QMenu) if m.isVisible()]
            assert len(menus) == 1
            entries = {a.text(): a for a in menus[0].actions()}
            assert set(entries) == {"Force open…", "Close…", "Reset…"}
            assert not entries["Reset…"].isEnabled()
            entries["Force open…"].trigger()
            menus[0].close()
            # An async handler runs as a task on the loop.
            await wait_until(lambda: calls[-1][0] == "force_open", 5, "the command to run")
            assert calls[-1] == ("force_open", {"backend": "sim", "name": "payment-service"})
            await wait_until(
                lambda: ui.state("payment-service") == "forced open", 10, "forced open via command"
            )
            assert ui.panel.selected() == ("sim", "payment-service")
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_stopped_backend_greys_rows_as_stale_with_the_data_age(qloop, sim_thread, ui) -> None:
    sim = sim_thread(time_scale=20)

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(lambda: ui.listed() == CIRCUITS, 10, "every circuit listed")
            sim.stop()
            age = re.compile(r"^STALE (\d+) s$")

            def stale_text(name: str) -> str:
                return ui.panel.text("sim", name, "half_open_in")

            await wait_until(
                lambda: all(age.match(stale_text(n)) for n in CIRCUITS), 10, "STALE rows"
            )
            for name in CIRCUITS:
                assert ui.state(name) == "closed", "the last known state stays readable"
                assert ui.panel.text("sim", name, "since") == "—"
                for column in ("circuit", "state", "requests", "half_open_in"):
                    fg = ui.cell(name, column, Qt.ItemDataRole.ForegroundRole)
                    assert fg == QColor(theme.TEXT_DIM), (name, column)
            save_shot(ui.panel, "breakers_panel_stale.png")
            # The age grows with no frames arriving.
            name = next(iter(CIRCUITS))
            first = int(age.match(stale_text(name))[1])
            await wait_until(
                lambda: int(age.match(stale_text(name))[1]) > first, 5, "the age to grow"
            )
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_a_menu_key_context_menu_without_a_row_keeps_actions_disabled(qtbot, ui) -> None:
    # No data at all: the panel still builds its menu, and nothing in it can run.
    ui.ctx.commands.register(Command("breaker.reset", "Reset breaker", lambda **kw: None))
    ui.refresh()
    ui.panel.view.customContextMenuRequested.emit(QPoint(5, 5))
    menus = [m for m in ui.panel.findChildren(QMenu) if m.isVisible()]
    assert len(menus) == 1
    assert not any(a.isEnabled() for a in menus[0].actions())
    reset = next(a for a in menus[0].actions() if a.text() == "Reset…")
    assert reset.toolTip() == "select a circuit first"
    menus[0].close()


def _circuit(state: str, rate: float | None = 1.0, **fields: Any) -> Circuit:
    return Circuit(
        name="inventory-service",
        state=state,
        failure_threshold=3,
        timeout_s=30.0,
        success_rate=rate,
        total_requests_5min=100,
        last_transition_ts=time.time(),
        **fields,
    )


def test_a_transition_between_two_refreshes_still_flashes_and_fades(ui) -> None:
    store, key = ui.store, ("b", "inventory-service")
    store.apply(SnapshotLoaded("b", (), (_circuit("closed"),), (), (), ts=1.0))
    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET)))
    ui.refresh()
    assert ui.panel.model.flash(key) == 0.0
    # Open and closed again before the next refresh: the row must still tell it moved.
    store.apply(CircuitChanged("b", _circuit("open", 0.9)))
    store.apply(CircuitChanged("b", _circuit("closed", 0.95)))
    now = time.monotonic()
    ui.panel.run_refresh(now)
    assert ui.panel.wants_tick, "a flash is drawn by time: every tick while it lasts"
    ui.panel.run_refresh(now + 0.3)
    assert ui.panel.transitions_seen == 2
    assert ui.panel.model.flash(key) > 0.5
    model = ui.panel.model
    background = model.data(model.index(0, 0), Qt.ItemDataRole.BackgroundRole)
    assert isinstance(background, QColor)
    ui.panel.run_refresh(now + 2.0)
    assert ui.panel.model.flash(key) == 0.0
    assert model.data(model.index(0, 0), Qt.ItemDataRole.BackgroundRole) is None
    # The sparkline kept every rate it was sent, even those no refresh saw: 0 %, 10 %, 5 %.
    shape, _colour = model.data(model.index(0, model.column_of("spark")), SPARK_ROLE)
    assert [round(y, 2) for _, y in shape] == [0.0, 1.0, 0.5]
    assert [round(x, 2) for x, _ in shape] == [0.0, 0.5, 1.0]


def test_missing_success_rate_is_a_dash_and_the_countdown_says_trying_now(ui) -> None:
    store = ui.store
    overdue = _circuit("open", None, failure_count=3)
    overdue = msgspec.structs.replace(overdue, last_transition_ts=time.time() - 60.0)
    store.apply(SnapshotLoaded("b", (), (overdue,), (), (), ts=1.0))
    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET)))
    ui.refresh()
    assert ui.panel.text("b", "inventory-service", "success") == "—"
    assert ui.panel.text("b", "inventory-service", "failures") == "3 / 3"
    assert ui.panel.text("b", "inventory-service", "half_open_in") == "trying now"
    assert re.fullmatch(r"1 min 0\d s", ui.panel.text("b", "inventory-service", "since"))


def test_a_breaker_without_counts_shows_dashes_not_zero_of_zero(ui) -> None:
    store = ui.store
    # What the Prometheus adapter gives: state and success rate from resilience4j, no counts.
    seen = Circuit(name="payment-service", state="closed", success_rate=0.97)
    store.apply(SnapshotLoaded("prom", (), (seen,), (), (), ts=1.0))
    store.apply(ConnectionChanged("prom", LinkStatus(ConnectionState.LIVE, Transport.PROMETHEUS)))
    ui.refresh()
    assert ui.panel.text("prom", "payment-service", "failures") == "—"
    assert ui.panel.text("prom", "payment-service", "requests") == "—"
    assert ui.panel.text("prom", "payment-service", "success") == "97.0"  # the header says %
    row = ui.panel.model.row_of("prom", "payment-service")
    assert "not reported by this backend" in ui.panel.model.row_view(row).tooltip
