"""Alt+1…7 put the keys in their panel's list: `/` filters it, arrows move, Enter selects."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.store import Store
from tests.support.console import focused, key, make_console, show, type_text
from tests.support.waiting import wait_until


@pytest.fixture
def live(qtbot, qloop, tmp_path, sim_thread):
    sim = sim_thread(time_scale=20)
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply)
    console, _ui = make_console(tmp_path, {"sim": client}, store)
    show(qtbot, console.window)

    async def up() -> None:
        client.start()
        await wait_until(
            lambda: (
                len(store.backend("sim").services) >= 8
                and store.backend("sim").circuits
                and store.backend("sim").clusters
            ),
            10,
            "services, circuits and clusters live",
        )

    qloop.run(up())
    yield console
    qloop.run(client.aclose())
    console.close()


def alt(qtbot, n: int) -> None:
    qtbot.keyClick(
        QApplication.focusWidget() or QApplication.activeWindow(),
        getattr(Qt.Key, f"Key_{n % 10}"),  # Alt+0 is the tenth panel
        Qt.KeyboardModifier.AltModifier,
    )


def main_list(panel) -> QAbstractItemView | None:
    view = getattr(panel, "view", None)
    return view if isinstance(view, QAbstractItemView) else None


def test_alt_n_puts_the_keys_in_each_panels_list_even_behind_a_tab(live, qtbot) -> None:
    window = live.window
    # Twice round: the second time every panel starts from another panel's list.
    for _round in range(2):
        # Alt+1..Alt+0 reach the first ten; later ones (Load test) by the View menu or Ctrl+K.
        for n, panel in enumerate(window.panels[:10], start=1):
            alt(qtbot, n)
            dock = window.docks[panel.panel_id]
            assert dock.isVisible() and panel.isVisible(), panel.panel_id
            has = focused()
            view = main_list(panel)
            if view is not None:
                assert has is view, (panel.panel_id, has)
            else:
                # A panel without a list still takes the keys: they leave the previous list.
                assert panel is has or panel.isAncestorOf(has), (panel.panel_id, has)


def test_alt_n_after_the_operator_closed_the_dock_brings_it_back(live, qtbot) -> None:
    window = live.window
    dock = window.docks["breakers"]
    dock.close()
    assert not dock.isVisible()
    alt(qtbot, window.panels.index(window.breakers) + 1)
    assert dock.isVisible() and focused() is window.breakers.view


def test_services_alt_1_slash_name_enter_selects_it_and_the_chart_follows(live, qtbot) -> None:
    window = live.window
    selection = live.ctx.selection
    alt(qtbot, window.panels.index(window.services) + 1)
    view = window.services.view
    assert focused() is view
    key(qtbot, "/")
    assert focused() is window.services.filter
    wanted = "payments" if selection.service != "payments" else "orders"
    type_text(qtbot, wanted)
    key(qtbot, Qt.Key.Key_Return)
    # The keys are back in the list, on the one row left, and the selection followed it.
    assert focused() is view
    assert view.currentIndex().isValid()
    assert window.services.model.key_at(view.currentIndex().row()) == ("sim", wanted)
    assert (selection.backend, selection.service) == ("sim", wanted)
    # The charts follow: their heading names the service now.
    assert wanted in window.signals._heading.text()


@pytest.mark.parametrize("panel_id", ["breakers", "clusters"])
def test_slash_filter_then_enter_lands_on_the_remaining_row(live, qtbot, panel_id) -> None:
    window = live.window
    panel = next(p for p in window.panels if p.panel_id == panel_id)
    store = live.ctx.store
    names = (
        sorted(store.backend("sim").circuits)
        if panel_id == "breakers"
        else sorted(store.backend("sim").clusters)
    )
    alt(qtbot, window.panels.index(panel) + 1)
    view = panel.view
    assert focused() is view
    # Put the current row on another row first, so a filter that hides it is the case tested.
    key(qtbot, Qt.Key.Key_Home)
    key(qtbot, "/")
    assert focused() is panel.filter
    wanted = names[-1]
    type_text(qtbot, wanted)
    key(qtbot, Qt.Key.Key_Return)
    assert focused() is view
    assert view.currentIndex().isValid(), panel_id
    selected = panel.selected()
    assert selected is not None and wanted in selected, (panel_id, selected)
