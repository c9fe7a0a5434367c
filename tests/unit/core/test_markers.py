"""Event markers of core.markers: which events a service's chart shows, labels never overlap."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.core.markers import concerns, event_subjects, group_markers, related_names
from opsconsole.core.models import DbCluster, DbMember, Event, Service

SERVICES = {
    s.name: s
    for s in (
        Service(name="orders", depends_on=("payments", "payment-service", "orders-db")),
        Service(name="payments", depends_on=("users", "payment-service")),
        Service(name="users", depends_on=("user-service", "orders")),  # a cycle back
        Service(name="search", depends_on=("inventory",)),
        Service(name="inventory"),
    )
}
CLUSTERS = {
    "orders-db": DbCluster(
        name="orders-db",
        state="healthy",
        read_only=False,
        primary="primary-db",
        members=(
            DbMember(name="primary-db", role="primary", healthy=True),
            DbMember(name="replica-1", role="replica", healthy=True),
        ),
    )
}


def ev(kind: str = "info", message: str = "", service: str | None = None, **data: object) -> Event:
    return Event(ts=1.0, kind=kind, message=message, service=service, data=data)  # type: ignore[arg-type]


def test_related_names_follow_dependencies_through_services() -> None:
    assert related_names(SERVICES, "orders") == {
        "orders",
        "payments",
        "payment-service",
        "orders-db",
        "users",
        "user-service",
    }
    assert related_names(SERVICES, "search") == {"search", "inventory"}
    assert related_names(SERVICES, "unknown") == {"unknown"}


def test_subjects_of_the_events_a_backend_sends() -> None:
    breaker = ev("breaker", "circuit payment-service: closed → open", circuit="payment-service")
    assert event_subjects(breaker, CLUSTERS) == {"payment-service"}
    failover = ev("failover", "orders-db: primary primary-db failed 3 health checks")
    assert event_subjects(failover, CLUSTERS) == {"orders-db"}
    member = ev("scenario", "scenario db_down started on replica-1", target="replica-1")
    assert event_subjects(member, CLUSTERS) == {"replica-1", "orders-db"}
    spike = ev("scenario", "scenario latency_spike started on search", "search", target="search")
    assert event_subjects(spike, CLUSTERS) == {"search"}
    assert event_subjects(ev("info", "link lost"), CLUSTERS) == frozenset()


def test_concerns_the_service_its_dependencies_or_everything() -> None:
    related = related_names(SERVICES, "orders")
    assert concerns(ev("deploy", "v2", "orders"), related, CLUSTERS)
    assert concerns(ev("breaker", "x", circuit="payment-service"), related, CLUSTERS)
    assert concerns(ev("failover", "orders-db: promoted replica-1"), related, CLUSTERS)
    assert concerns(ev("info", "lost the link to the backend"), related, CLUSTERS)
    assert not concerns(ev("deploy", "v3", "search"), related, CLUSTERS)
    assert not concerns(ev("breaker", "x", circuit="inventory-service"), related, CLUSTERS)


def spans(xs: list[float], widths: list[float], groups) -> dict[int, list[tuple[float, float]]]:
    rows: dict[int, list[tuple[float, float]]] = {}
    for g in groups:
        x, w = xs[g.anchor], widths[g.anchor]
        rows.setdefault(g.row, []).append((x, x + w) if g.right else (x - w, x))
    return rows


def test_far_apart_events_get_a_label_each_close_ones_are_grouped() -> None:
    xs = [100.0, 400.0, 700.0]
    assert [g.members for g in group_markers(xs, [80.0] * 3, 1000, rows=1)] == [(2,), (1,), (0,)]
    # Four events within a few pixels, one row: one label standing for four.
    xs = [500.0, 502.0, 503.0, 505.0]
    groups = group_markers(xs, [120.0] * 4, 1000, rows=1)
    assert [g.members for g in groups] == [(3, 2, 1, 0)]
    assert groups[0].anchor == 3  # the newest carries the label


def test_rows_are_used_before_grouping() -> None:
    xs = [500.0, 510.0, 520.0]
    groups = group_markers(xs, [100.0] * 3, 1000, rows=3)
    assert sorted(g.row for g in groups) == [0, 1, 2]
    assert all(len(g.members) == 1 for g in groups)
    groups = group_markers([*xs, 530.0], [100.0] * 4, 1000, rows=3)
    assert len(groups) == 3 and sum(len(g.members) for g in groups) == 4


def test_lines_one_cannot_tell_apart_share_a_label_even_with_rows_free() -> None:
    groups = group_markers([500.0, 501.0, 503.0, 507.0, 520.0], [100.0] * 5, 1000, rows=3)
    assert [g.members for g in groups] == [(4,), (3, 2, 1, 0)]
    # Measured from the group's newest line, so a group never creeps wider than merge_px.
    groups = group_markers([0.0, 6.0, 12.0, 18.0], [10.0] * 4, 1000, rows=3, merge_px=8.0)
    assert [g.members for g in groups] == [(3, 2), (1, 0)]


def test_no_more_groups_than_labels_to_draw_them_with() -> None:
    xs = [100.0 * k for k in range(10)]
    groups = group_markers(xs, [50.0] * 10, 1000, rows=1, max_groups=3)
    assert [g.members for g in groups] == [(9,), (8,), (7, 6, 5, 4, 3, 2, 1, 0)]


def test_a_label_at_the_left_edge_goes_right_of_its_line() -> None:
    groups = group_markers([20.0, 600.0], [100.0, 100.0], 1000, rows=1)
    by_anchor = {g.anchor: g for g in groups}
    assert by_anchor[0].right and not by_anchor[1].right


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(0.0, 1200.0), min_size=1, max_size=60),
    st.integers(1, 4),
    st.floats(30.0, 300.0),
)
def test_labels_never_overlap_and_every_event_is_in_one_group(
    xs: list[float], rows: int, width: float
) -> None:
    xs = sorted(xs)
    widths = [width] * len(xs)
    groups = group_markers(xs, widths, 1200.0, rows, pad=6.0)
    members = sorted(i for g in groups for i in g.members)
    assert members == list(range(len(xs)))
    assert all(0 <= g.row < rows for g in groups)
    for row in spans(xs, widths, groups).values():
        row.sort()
        for (_, b), (c, _) in itertools.pairwise(row):
            assert c >= b + 6.0 - 1e-9
