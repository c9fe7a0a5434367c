"""While a cluster's ages tick, member rows whose cells did not change are skipped; a cell
that did change is still shown at the next refresh, and a rebuilt tree gets every cell."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex

from opsconsole.core.events import ClusterChanged, ConnectionChanged, SnapshotLoaded
from opsconsole.core.models import ConnectionState, DbCluster, DbMember, LinkStatus, Transport
from opsconsole.ui.panels.clusters import ClustersPanel
from tests.support.panels import PanelHarness

STALE = LinkStatus(ConnectionState.STALE, Transport.WEBSOCKET)
LIVE = LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET)


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[PanelHarness]:
    harness = PanelHarness(qapp, qtbot)
    yield harness
    harness.close()


def cluster(lag_b: int) -> DbCluster:
    members = (
        DbMember(name="pg-a", role="primary", healthy=True),
        DbMember(name="pg-b", role="replica", healthy=True, lag_bytes=lag_b),
    )
    return DbCluster(
        name="billing", state="healthy", read_only=False, primary="pg-a", members=members
    )


def drawn(panel: ClustersPanel, member: str) -> list[str]:
    """The texts in the model's items of that member's row (what the view paints)."""
    model = panel.model
    for r in range(model.rowCount()):
        head = model.item(r, 0)
        for c in range(head.rowCount()):
            first = head.child(c, 0)
            if first is not None and first.text() == member:
                return [head.child(c, k).text() for k in range(model.columnCount())]
    raise AssertionError(f"no row for {member}")


def test_a_ticking_stale_age_leaves_unchanged_member_cells_alone(ui) -> None:
    panel = ui.show(ClustersPanel(ui.ctx), (800, 400))
    ui.store.apply(SnapshotLoaded("b", (), (), (cluster(100),), (), ts=1.0))
    ui.store.apply(ConnectionChanged("b", STALE))
    ui.store.backend("b").data_mono = time.monotonic() - 20.2
    panel.run_refresh(time.monotonic())
    assert "STALE 20 s" in panel.cluster_text("b", "billing")
    changed: list[tuple[int, QModelIndex]] = []
    panel.model.dataChanged.connect(lambda tl, _br, *_: changed.append((tl.row(), tl.parent())))

    ui.store.backend("b").data_mono -= 1.0
    panel.run_refresh(time.monotonic())
    assert "STALE 21 s" in panel.cluster_text("b", "billing")
    # Only the cluster's own line said something new: no member cell was set again.
    assert changed and all(not parent.isValid() for _, parent in changed), changed


def test_a_member_cell_that_changed_is_shown_and_a_rebuild_sets_every_cell(ui) -> None:
    panel = ui.show(ClustersPanel(ui.ctx), (800, 400))
    ui.store.apply(SnapshotLoaded("b", (), (), (cluster(100),), (), ts=1.0))
    ui.store.apply(ConnectionChanged("b", LIVE))
    panel.run_refresh(time.monotonic())
    assert panel.member_texts("b", "billing", "pg-b")["lag"] == "100 B"
    ui.store.apply(ClusterChanged("b", cluster(2048)))
    panel.run_refresh(time.monotonic())
    assert panel.member_texts("b", "billing", "pg-b")["lag"] == "2.0 KiB"
    # A new member rebuilds the tree: new rows, each cell set afresh, the unchanged ones too.
    primary = drawn(panel, "pg-a")
    assert "pg-a" in primary and all(primary)
    members = (*cluster(2048).members, DbMember(name="pg-c", role="replica", healthy=True))
    grown = DbCluster(
        name="billing", state="healthy", read_only=False, primary="pg-a", members=members
    )
    ui.store.apply(ClusterChanged("b", grown))
    panel.run_refresh(time.monotonic())
    assert panel.member_texts("b", "billing", "pg-b")["lag"] == "2.0 KiB"
    assert panel.member_texts("b", "billing", "pg-c")["lag"] == "0 B"
    assert drawn(panel, "pg-a") == primary
    assert "2.0 KiB" in drawn(panel, "pg-b")
