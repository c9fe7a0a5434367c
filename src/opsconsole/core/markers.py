"""Which events a service's chart marks, and how their labels share the width without overlap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opsconsole.core.models import DbCluster, Event, Service
from opsconsole.core.store import Store

# Event data keys that name what the event is about (the sim and the Ops API use these).
_SUBJECT_KEYS = ("circuit", "target", "member", "candidate", "cluster", "service")


def related_names(services: Mapping[str, Service], service: str) -> frozenset[str]:
    """`service` and everything it depends on, directly or through other services.

    `depends_on` names services, circuits and database clusters alike; a dependency's own
    dependencies count too (orders → payments → user-service), since a fault down there is
    what the shown service feels.
    """
    seen = {service}
    todo = [service]
    while todo:
        svc = services.get(todo.pop())
        if svc is None:
            continue
        for dep in svc.depends_on:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return frozenset(seen)


def event_subjects(event: Event, clusters: Mapping[str, DbCluster]) -> frozenset[str]:
    """The names an event is about: its service, the circuit, target or member in its data,
    and the database cluster a member belongs to or the message names. Empty: about
    everything (a lost link, a resync)."""
    names: set[str] = set()
    if event.service:
        names.add(event.service)
    for key in _SUBJECT_KEYS:
        value = event.data.get(key)
        if isinstance(value, str) and value:
            names.add(value)
    for cluster in clusters.values():
        # Cluster events carry no subject field, only the name in their message
        # ("orders-db: primary ... failed"); a member name means its cluster.
        named = cluster.name in names or cluster.name in event.message
        if named or any(m.name in names for m in cluster.members):
            names.add(cluster.name)
    return frozenset(names)


def concerns(event: Event, related: frozenset[str], clusters: Mapping[str, DbCluster]) -> bool:
    """True when the event is about one of `related`, or about nothing in particular."""
    subjects = event_subjects(event, clusters)
    return not subjects or not subjects.isdisjoint(related)


@dataclass(frozen=True)
class MarkerGroup:
    """Events drawn under one label: `members` index the input, newest (the anchor) first.

    The label sits in `row` (0 = top), on the left of the anchor's line unless `right`.
    """

    members: tuple[int, ...]
    row: int
    right: bool

    @property
    def anchor(self) -> int:
        return self.members[0]


def group_markers(
    xs: Sequence[float],
    widths: Sequence[float],
    view_width: float,
    rows: int,
    pad: float = 6.0,
    merge_px: float = 8.0,
    max_groups: int | None = None,
) -> list[MarkerGroup]:
    """Place one label per group so that no two labels overlap; returns the groups.

    `xs` are the events' pixel positions in time order, `widths` the pixel width of each
    event's label (with room for a "×N" count). Newest first: an event whose line would sit
    within `merge_px` of the newer group's line joins that group (separate labels for lines
    one can barely tell apart would only raise the question which is which). Otherwise its
    label goes left of its line (new events enter at the right edge), or right of it where
    the left edge would cut it, into the first row where it fits; an event whose label fits
    in no row joins the group placed just before it (the nearest one to its right). A group
    of more than one reads "×N". Past `max_groups` labels (what the chart has room to
    draw), older events join the last group too, so every event is still counted somewhere.
    """
    groups: list[list[int]] = []
    placed: list[tuple[int, bool]] = []  # (row, right) per group
    occupied: list[list[tuple[float, float]]] = [[] for _ in range(max(rows, 1))]
    for i in range(len(xs) - 1, -1, -1):
        x, w = xs[i], widths[i]
        full = max_groups is not None and len(groups) >= max_groups
        if groups and (full or abs(xs[groups[-1][0]] - x) < merge_px):
            groups[-1].append(i)
            continue
        right = x - w < 0
        lo, hi = (x, x + w) if right else (x - w, x)
        row = next(
            (
                r
                for r, spans in enumerate(occupied)
                if all(hi + pad <= a or lo >= b + pad for a, b in spans)
            ),
            None,
        )
        if row is None and groups:
            groups[-1].append(i)
            continue
        row = 0 if row is None else row
        occupied[row].append((lo, hi))
        groups.append([i])
        placed.append((row, right))
    return [
        MarkerGroup(tuple(members), row, right)
        for members, (row, right) in zip(groups, placed, strict=True)
    ]


#: Events looked at per update of many services' markers at most, newest first.
MARKER_SCAN_MAX = 500


class ServiceMarkerTimes:
    """The times of the events each of many services' charts marks (its own, its
    dependencies', the backend's), with each service's related names kept until the backend's
    services change."""

    def __init__(self) -> None:
        self._related: dict[str, dict[str, frozenset[str]]] = {}
        self._related_of: dict[str, Mapping[str, Service]] = {}

    def times(
        self, store: Store, keys: Sequence[tuple[str, str]], start: float, end: float
    ) -> list[tuple[float, ...]]:
        """For each (backend, service) of `keys`, its marked event times in [start, end]."""
        by_backend: dict[str, list[tuple[float, frozenset[str]]]] = {}
        for scanned, (backend, ev) in enumerate(reversed(store.events)):
            if scanned >= MARKER_SCAN_MAX or (ev.seq is not None and ev.ts < start):
                break
            state = store.backends.get(backend)
            if state is None or not start <= ev.ts <= end:
                continue
            by_backend.setdefault(backend, []).append((ev.ts, event_subjects(ev, state.clusters)))
        out: list[tuple[float, ...]] = []
        for backend, name in keys:
            events = by_backend.get(backend)
            if not events:
                out.append(())
                continue
            related = self._related_names(store, backend, name)
            out.append(
                tuple(sorted(t for t, subj in events if not subj or not subj.isdisjoint(related)))
            )
        return out

    def _related_names(self, store: Store, backend: str, name: str) -> frozenset[str]:
        services = store.backends[backend].services
        if self._related_of.get(backend) is not services:
            self._related_of[backend] = services
            self._related[backend] = {}
        cache = self._related[backend]
        if name not in cache:
            cache[name] = related_names(services, name)
        return cache[name]
