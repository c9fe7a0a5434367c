"""A Patroni cluster on the Database clusters panel and the wall: maintenance mode, its words."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest

from opsconsole.core.events import ClusterChanged, ConnectionChanged, SnapshotLoaded
from opsconsole.core.health import Health
from opsconsole.core.models import ConnectionState, DbCluster, DbMember, LinkStatus, Transport
from opsconsole.ui import theme
from opsconsole.ui.panels.clusters import ClustersPanel
from opsconsole.ui.wall import ClustersBoard, WallTheme
from tests.support.panels import PanelHarness

BACKEND = "patroni"
NAME = "pg-main"
MAINTENANCE = (
    "❚❚ maintenance mode: Patroni will not fail over by itself (:resume pg-main to end it)"
)
MEMBERS = (
    DbMember("pg1", "primary", True, timeline=2, role_words="leader", state_words="running"),
    DbMember("pg2", "replica", True, 0, 2, role_words="replica", state_words="streaming"),
    DbMember(
        "pg3",
        "replica",
        True,
        0,
        2,
        role_words="replica",
        state_words="creating replica",
        lag_known=False,
        reachable=False,
        refusal="its REST API does not answer",
    ),
)
CLUSTER = DbCluster(
    NAME, "healthy", False, "pg1", failure_threshold=0, members=MEMBERS, max_lag_bytes=1048576
)


class Harness(PanelHarness):
    def __init__(self, qapp, qtbot) -> None:
        super().__init__(qapp, qtbot)
        self.panel = self.show(ClustersPanel(self.ctx), (800, 400))
        self.board = self.show(ClustersBoard(self.ctx, WallTheme.for_size(1280, 720)), (1280, 720))
        self.store.apply(SnapshotLoaded(BACKEND, (), (), (CLUSTER,), (), ts=1.0))
        live = LinkStatus(ConnectionState.LIVE, Transport.PATRONI)
        self.store.apply(ConnectionChanged(BACKEND, live))
        self.scheduler.start()

    def lines(self) -> list[str]:
        return self.panel.cluster_text(BACKEND, NAME).splitlines()

    def shown(self) -> bool:
        return any(key[:2] == (BACKEND, NAME) for _, key in self.panel.shown_rows())

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.panel.shown_rows()]


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[Harness]:
    harness = Harness(qapp, qtbot)
    yield harness
    harness.close()


def test_pause_shows_the_maintenance_banner_and_resume_clears_it(qtbot, ui) -> None:
    qtbot.waitUntil(ui.shown, timeout=5000)
    assert ui.lines() == ["● pg-main  HEALTHY  primary: pg1  timeline 2"]
    assert ui.kinds() == ["cluster", "member", "member", "member"]

    ui.store.apply(ClusterChanged(BACKEND, msgspec.structs.replace(CLUSTER, paused=True)))
    qtbot.waitUntil(lambda: MAINTENANCE in ui.lines(), timeout=5000)
    lines = ui.lines()
    assert lines[0].endswith("timeline 2  MAINTENANCE")
    assert lines[-1].startswith("changed ") and lines[-1].endswith("ago: maintenance mode on")
    # The banner is a row of its own under the header, spanning the width, in amber.
    assert ui.kinds() == ["cluster", "banner", "note", "member", "member", "member"]
    head = ui.panel.model.item(0, 0)
    banner = head.child(0, 0)
    assert banner.text() == MAINTENANCE
    assert banner.foreground().color().name() == theme.STATE_COLOURS[Health.WARNING].lower()
    assert ui.panel.view.isFirstColumnSpanned(0, head.index())

    ui.store.apply(ClusterChanged(BACKEND, CLUSTER))
    qtbot.waitUntil(lambda: MAINTENANCE not in ui.lines(), timeout=5000)
    lines = ui.lines()
    assert lines[0] == "● pg-main  HEALTHY  primary: pg1  timeline 2"
    assert lines[1].endswith("ago: maintenance mode on → off")
    assert ui.kinds() == ["cluster", "note", "member", "member", "member"]


def test_patroni_words_fit_their_columns(qtbot, ui) -> None:
    qtbot.waitUntil(ui.shown, timeout=5000)
    assert ui.panel.member_texts(BACKEND, NAME, "pg3") == {
        "member": "pg3",
        "role": "replica",
        "healthy": "✗ unreachable",
        "lag": "unknown",
        "timeline": "2",
        "checks": "—",
        "candidate": "✗ its REST API does not answer",
    }
    red = theme.STATE_COLOURS[Health.CRITICAL]
    assert ui.panel.member_colour(BACKEND, NAME, "pg3", "healthy") == red
    # A longer state word arrives without any row change: its column widens to hold it.
    header = ui.panel.view.header()
    metrics = ui.panel.view.fontMetrics()
    healthy = 2  # the Healthy column
    reachable = msgspec.structs.replace(MEMBERS[2], reachable=True)
    cluster = msgspec.structs.replace(CLUSTER, members=(*MEMBERS[:2], reachable))
    ui.store.apply(ClusterChanged(BACKEND, cluster))
    qtbot.waitUntil(
        lambda: ui.panel.member_texts(BACKEND, NAME, "pg3")["healthy"] == "✓ creating replica",
        timeout=5000,
    )
    assert header.sectionSize(healthy) > metrics.horizontalAdvance("✓ creating replica")


def test_the_wall_tile_says_maintenance_mode(qtbot, ui) -> None:
    key = f"{BACKEND}/{NAME}"
    qtbot.waitUntil(lambda: any(t.key == key for t in ui.board.tiles), timeout=5000)
    assert ui.board.tile(key).health is Health.HEALTHY
    paused = msgspec.structs.replace(CLUSTER, paused=True, read_only=True, read_only_advisory=True)
    ui.store.apply(ClusterChanged(BACKEND, paused))
    qtbot.waitUntil(
        lambda: "MAINTENANCE MODE: no automatic failover" in ui.board.tile(key).lines,
        timeout=5000,
    )
    tile = ui.board.tile(key)
    assert tile.health is Health.WARNING
    assert "READ-ONLY (advisory): sessions can override it" in tile.lines
    member = ui.board.tile(f"{key}/pg3")
    assert member.word == "REPLICA"
    assert member.health is Health.CRITICAL
    assert member.lines[:2] == ("✗ unreachable", "lag unknown · timeline 2")
    assert member.lines[2] == "✗ its REST API does not answer"
    assert ui.board.tile(f"{key}/pg1").word == "LEADER"
