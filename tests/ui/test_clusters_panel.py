"""Database clusters panel against the real reference backend: failover, lag, commands, keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QToolButton

from opsconsole.backends.opsapi import new_intent_key
from opsconsole.core.commands import Command
from opsconsole.core.events import ConnectionChanged, SnapshotLoaded
from opsconsole.core.health import Health
from opsconsole.core.models import (
    ConnectionState,
    DbCluster,
    DbMember,
    LinkStatus,
    Transport,
)
from opsconsole.ui import theme
from opsconsole.ui.panels.clusters import ClustersPanel
from tests.support.panels import PanelHarness
from tests.support.shots import save_shot
from tests.support.waiting import wait_until

CLUSTER = "orders-db"
MEMBERS = ("primary-db", "replica-1", "replica-2", "replica-3")
REPLICAS = MEMBERS[1:]
LAG = re.compile(r"^(\d+ B|\d+\.\d KiB|\d+\.\d MiB)$")
COMMAND_IDS = ("db.switchover", "db.failover", "db.read_only")


class Harness(PanelHarness):
    def __init__(self, qapp, qtbot) -> None:
        super().__init__(qapp, qtbot)
        self.panel = self.show(ClustersPanel(self.ctx), (800, 400))

    def shown(self) -> bool:
        return any(key[:2] == ("sim", CLUSTER) for _, key in self.panel.shown_rows())

    def header(self) -> str:
        return self.panel.cluster_text("sim", CLUSTER).splitlines()[0]

    def member(self, name: str) -> dict[str, str]:
        return self.panel.member_texts("sim", CLUSTER, name)

    def members_shown(self) -> list[str]:
        return [key[2] for kind, key in self.panel.shown_rows() if kind == "member"]

    def button(self, command_id: str) -> QToolButton:
        return self.panel.findChild(QToolButton, f"button_{command_id}")


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[Harness]:
    harness = Harness(qapp, qtbot)
    yield harness
    harness.close()


def test_healthy_cluster_reads_like_patronictl_list(qloop, sim_thread, ui) -> None:
    sim = sim_thread(time_scale=20)

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(ui.shown, 10, "orders-db listed")
            ui.refresh()
            assert ui.header() == "● orders-db  HEALTHY  primary: primary-db  timeline 1"
            assert ui.panel.cluster_state("sim", CLUSTER) == "HEALTHY"
            assert ui.members_shown() == list(MEMBERS)
            primary = ui.member("primary-db")
            assert primary == {
                "member": "primary-db",
                "role": "primary",
                "healthy": "✓ healthy",
                "lag": "—",
                "timeline": "1",
                "checks": "0 / 3",
                "candidate": "— current primary",
            }
            for name in REPLICAS:
                texts = ui.member(name)
                assert texts["role"] == "replica"
                assert texts["healthy"] == "✓ healthy"
                assert LAG.match(texts["lag"]), texts["lag"]
                assert texts["checks"] == "0 / 3"
                # Replication lag wanders in KiB: every replica may take over, said up front.
                assert texts["candidate"] == "switchover ✓ / failover ✓", name
            green = theme.STATE_COLOURS[Health.HEALTHY]
            assert ui.panel.member_colour("sim", CLUSTER, "replica-1", "healthy") == green
            # Tree rows: the cluster's header, then its members; the header spans the width.
            kinds = [kind for kind, _ in ui.panel.shown_rows()]
            assert kinds == ["cluster", "member", "member", "member", "member"]
            assert ui.panel.view.isFirstColumnSpanned(0, ui.panel.view.rootIndex())
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_primary_down_fails_over_to_a_replica_on_timeline_2(qloop, sim_thread, ui) -> None:
    sim = sim_thread(time_scale=20)
    told: list[tuple[str, ...]] = []  # the states the header told, refresh by refresh

    def record() -> None:
        if ui.shown():
            states = ui.panel.header_states("sim", CLUSTER)
            if not told or told[-1] != states:
                told.append(states)

    ui.panel.refreshed.connect(record)

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(ui.shown, 10, "orders-db listed")
            await client.scenario("primary_down")
            await wait_until(
                lambda: (
                    ui.panel.cluster_state("sim", CLUSTER) == "HEALTHY"
                    and "primary: replica-" in ui.header()
                ),
                15,
                "a replica promoted",
            )
            header = ui.header()
            assert re.fullmatch(r"● orders-db  HEALTHY  primary: replica-\d  timeline 2", header), (
                header
            )
            new_primary = header.split("primary: ")[1].split()[0]
            assert ui.member(new_primary)["role"] == "primary"
            assert ui.member(new_primary)["timeline"] == "2"
            # The old primary is still down: a replica now, unhealthy, no candidate.
            old = ui.member("primary-db")
            assert old["role"] == "replica" and old["healthy"] == "✗ unhealthy"
            assert old["candidate"] == "✗ unhealthy"
            # On the wire the failed state and the promotion came in one batch; the header
            # still told the whole story, in order.
            assert told[0] == ("HEALTHY",)
            assert told[-1] == ("HEALTHY", "FAILED", "HEALTHY"), told
            note = ui.panel.cluster_text("sim", CLUSTER).splitlines()[1]
            assert re.fullmatch(
                r"changed \d+ s ago: HEALTHY → FAILED → HEALTHY · primary primary-db → "
                r"replica-\d · timeline 1 → 2",
                note,
            ), note
            kinds = [kind for kind, _ in ui.panel.shown_rows()]
            assert kinds[:2] == ["cluster", "note"]
            save_shot(ui.panel, "clusters_panel_failover.png")
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_lagging_replica_is_no_candidate_and_says_why(qloop, sim_thread, ui) -> None:
    sim = sim_thread(time_scale=20)
    lagging = re.compile(r"^✗ lagging (\d+\.\d) MiB > 1\.0 MiB limit$")

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(ui.shown, 10, "orders-db listed")
            await client.scenario("replica_lag", "replica-2")
            await wait_until(
                lambda: lagging.match(ui.member("replica-2")["candidate"]), 15, "replica-2 lag"
            )
            texts = ui.member("replica-2")
            shown_lag = lagging.match(texts["candidate"])[1]
            assert texts["lag"] == f"{shown_lag} MiB"
            amber = theme.STATE_COLOURS[Health.WARNING]
            assert ui.panel.member_colour("sim", CLUSTER, "replica-2", "lag") == amber
            assert ui.panel.member_colour("sim", CLUSTER, "replica-2", "candidate") == amber
            assert ui.member("replica-1")["candidate"] == "switchover ✓ / failover ✓"
            # The data for the screenshot: a selected row, the read-only badge and banner off.
            ui.panel.select("sim", CLUSTER, "replica-2")
            ui.refresh()
            save_shot(ui.panel, "clusters_panel.png")
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_no_eligible_replica_degrades_to_read_only_with_a_banner(qloop, sim_thread, ui) -> None:
    sim = sim_thread(time_scale=20)

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(ui.shown, 10, "orders-db listed")
            for name in REPLICAS:
                await client.scenario("replica_lag", name)
            await wait_until(
                lambda: all(ui.member(n)["candidate"].startswith("✗ lagging") for n in REPLICAS),
                15,
                "every replica lagging",
            )
            await client.scenario("primary_down")
            await wait_until(
                lambda: ui.panel.cluster_state("sim", CLUSTER) == "DEGRADED", 15, "DEGRADED"
            )
            lines = ui.panel.cluster_text("sim", CLUSTER).splitlines()
            assert lines[0] == (
                "▲ orders-db  DEGRADED  primary: primary-db  timeline 1  READ-ONLY"
            ), lines
            banner = re.compile(
                r"^⚠ Real-time data temporarily unavailable — serving data (\d+) s old$"
            )
            assert banner.match(lines[1]), lines
            assert lines[2].startswith("changed "), lines
            assert "HEALTHY → FAILED → DEGRADED" in lines[2] and "read-only on" in lines[2]
            kinds = [kind for kind, _ in ui.panel.shown_rows()]
            assert kinds[:3] == ["cluster", "banner", "note"]
            assert ui.member("primary-db")["healthy"] == "✗ unhealthy"
            # The served data ages on screen between frames.
            await wait_until(
                lambda: (
                    int(banner.match(ui.panel.cluster_text("sim", CLUSTER).splitlines()[1])[1]) >= 1
                ),
                10,
                "the data age to grow",
            )
            ui.panel.select("sim", CLUSTER, "replica-1")
            ui.refresh()
            save_shot(ui.panel, "clusters_panel_degraded.png")
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_slash_filters_members_and_escape_clears(qloop, qtbot, sim_thread, ui) -> None:
    sim = sim_thread(time_scale=20)

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(ui.shown, 10, "orders-db listed")
            view, bar = ui.panel.view, ui.panel.filter
            view.setFocus()
            qtbot.keyClick(view, "/")
            assert bar.isVisible() and bar.hasFocus()
            qtbot.keyClicks(bar, "replica-3")
            ui.refresh()
            assert ui.members_shown() == ["replica-3"]
            assert [kind for kind, _ in ui.panel.shown_rows()] == ["cluster", "member"]
            bar.clear()
            qtbot.keyClicks(bar, "REPLICA")  # by role too, any case
            ui.refresh()
            assert ui.members_shown() == list(REPLICAS)
            bar.clear()
            qtbot.keyClicks(bar, "orders")  # the cluster matches: all its members
            ui.refresh()
            assert ui.members_shown() == list(MEMBERS)
            bar.clear()
            qtbot.keyClicks(bar, "nothing-like-this")
            ui.refresh()
            assert ui.panel.shown_rows() == []
            qtbot.keyClick(bar, Qt.Key.Key_Escape)
            ui.refresh()
            assert not bar.isVisible() and view.hasFocus()
            assert ui.members_shown() == list(MEMBERS)
            # Arrows walk the tree; the selection names backend, cluster and member.
            view.setCurrentIndex(ui.panel.model.index(0, 0))
            assert ui.panel.selected() == ("sim", CLUSTER, None)
            qtbot.keyClick(view, Qt.Key.Key_Down)
            qtbot.keyClick(view, Qt.Key.Key_Down)
            qtbot.keyClick(view, Qt.Key.Key_Return)
            assert ui.panel.selected() == ("sim", CLUSTER, "replica-1")
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_commands_need_registering_and_get_the_selected_target(
    qloop, qtbot, sim_thread, ui
) -> None:
    sim = sim_thread(time_scale=20)

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(ui.shown, 10, "orders-db listed")
            ui.panel.select("sim", CLUSTER, "replica-2")
            ui.refresh()
            for cid in COMMAND_IDS:
                button = ui.button(cid)
                assert not button.isEnabled() and button.toolTip() == "not available", cid

            calls: list[tuple[str, dict[str, Any]]] = []
            for cid in COMMAND_IDS:
                ui.ctx.commands.register(
                    Command(cid, cid, lambda cid=cid, **kw: calls.append((cid, kw)))
                )
            ui.refresh()
            assert all(ui.button(cid).isEnabled() for cid in COMMAND_IDS)
            assert ui.button("db.read_only").text() == "Read-only on…"

            qtbot.mouseClick(ui.button("db.switchover"), Qt.MouseButton.LeftButton)
            qtbot.mouseClick(ui.button("db.failover"), Qt.MouseButton.LeftButton)
            qtbot.mouseClick(ui.button("db.read_only"), Qt.MouseButton.LeftButton)
            target = {"backend": "sim", "cluster": CLUSTER}
            assert calls == [
                ("db.switchover", {**target, "member": "replica-2"}),
                ("db.failover", {**target, "member": "replica-2"}),
                ("db.read_only", {**target, "enabled": True}),
            ]

            # The primary is no candidate: with it selected, the dialog chooses one.
            calls.clear()
            ui.panel.select("sim", CLUSTER, "primary-db")
            view = ui.panel.view
            rect = view.visualRect(view.currentIndex())
            view.customContextMenuRequested.emit(rect.center())
            menus = [m for m in ui.panel.findChildren(QMenu) if m.isVisible()]
            assert len(menus) == 1
            entries = {a.text(): a for a in menus[0].actions()}
            assert set(entries) == {"Switchover to…", "Failover to…", "Read-only on…"}
            entries["Switchover to…"].trigger()
            menus[0].close()
            assert calls == [("db.switchover", {**target, "member": None})]

            # The operator's read-only flag flips the button to "off".
            await client.read_only(CLUSTER, True, new_intent_key())
            await wait_until(lambda: "READ-ONLY" in ui.header(), 10, "the READ-ONLY badge")
            assert ui.button("db.read_only").text() == "Read-only off…"
            qtbot.mouseClick(ui.button("db.read_only"), Qt.MouseButton.LeftButton)
            assert calls[-1] == ("db.read_only", {**target, "enabled": False})
            save_shot(ui.panel, "clusters_panel_read_only.png")
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_stopped_backend_greys_the_cluster_as_stale(qloop, sim_thread, ui) -> None:
    sim = sim_thread(time_scale=20)

    async def scenario() -> None:
        client = ui.connect(sim.url)
        ui.scheduler.start()
        try:
            await wait_until(ui.shown, 10, "orders-db listed")
            sim.stop()
            stale = re.compile(r"^\? orders-db  STALE (\d+) s \(was HEALTHY\)  primary: primary-db")
            await wait_until(lambda: stale.match(ui.header()), 10, "a STALE header")
            assert ui.panel.cluster_state("sim", CLUSTER) == "STALE"
            dim = theme.TEXT_DIM
            for name in MEMBERS:
                for column in ("member", "healthy", "lag", "candidate"):
                    colour = ui.panel.member_colour("sim", CLUSTER, name, column)
                    assert colour == dim, (name, column)
            first = int(stale.match(ui.header())[1])
            await wait_until(lambda: int(stale.match(ui.header())[1]) > first, 5, "the age to grow")
            save_shot(ui.panel, "clusters_panel_stale.png")
        finally:
            await client.aclose()

    qloop.run(scenario())


def test_a_failing_primary_shows_before_failover_and_only_failover_is_offered(ui) -> None:
    members = (
        DbMember(name="pg-a", role="primary", healthy=False, consecutive_failures=2),
        DbMember(name="pg-b", role="replica", healthy=True, lag_bytes=12_600),
        DbMember(name="pg-c", role="replica", healthy=False, lag_bytes=0),
    )
    cluster = DbCluster(
        name="billing", state="healthy", read_only=False, primary="pg-a", members=members
    )
    ui.store.apply(SnapshotLoaded("b", (), (), (cluster,), (), ts=1.0))
    ui.store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET)))
    ui.refresh()
    assert ui.panel.cluster_text("b", "billing") == (
        "● billing  HEALTHY  primary: pg-a  timeline 1  primary failing checks 2 / 3"
    )
    texts = ui.panel.member_texts("b", "billing", "pg-b")
    assert texts["candidate"] == "primary is down: use failover"
    assert texts["lag"] == "12.3 KiB"
    assert ui.panel.member_texts("b", "billing", "pg-c")["candidate"] == "✗ unhealthy"
    assert ui.panel.member_texts("b", "billing", "pg-a")["checks"] == "2 / 3"
    amber = theme.STATE_COLOURS[Health.WARNING]
    assert ui.panel.member_colour("b", "billing", "pg-a", "checks") == amber
    # Nothing changed yet, so there is no change note and no per-tick work.
    assert [kind for kind, _ in ui.panel.shown_rows()] == ["cluster", "member", "member", "member"]
    assert not ui.panel.wants_tick


def test_backends_without_clusters_say_so_instead_of_an_empty_table(ui) -> None:
    ui.refresh()
    assert ui.panel.empty_note.isHidden()  # no backend at all: nothing to say yet
    ui.store.apply(ConnectionChanged("prom", LinkStatus(ConnectionState.CONNECTING)))
    ui.panel.mark_dirty()
    ui.refresh()
    assert "waiting for a live backend" in ui.panel.empty_note.text()
    ui.store.apply(
        ConnectionChanged("prom", LinkStatus(ConnectionState.LIVE, Transport.PROMETHEUS))
    )
    ui.refresh()
    assert ui.panel.empty_note.isVisibleTo(ui.panel)
    assert ui.panel.empty_note.text() == (
        "No database clusters: none of the connected backends reports any."
    )
