"""The store keeps each backend's SLO observations and deploys and announces them by signal."""

from __future__ import annotations

from typing import Any

import pytest

from opsconsole.core.events import DeploysSeen, SlosObserved
from opsconsole.core.slo import Counts, Deploy, Slo, SloObservation, SloWindow
from opsconsole.core.store import DEPLOY_HISTORY, Store

TS = 1_700_000_000.0


class Recorder:
    """The two SLO signals of a store, connected to plain callables; calls kept in order."""

    def __init__(self, store: Store) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        store.slo_changed.connect(lambda *a: self.calls.append(("slo_changed", a)))
        store.deploy_seen.connect(lambda *a: self.calls.append(("deploy_seen", a)))

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.calls if n == name]


@pytest.fixture
def store() -> Store:
    return Store(capacity=16, clock=lambda: 1000.0)


@pytest.fixture
def rec(store: Store) -> Recorder:
    return Recorder(store)


def observation(service: str, good: float = 999.0, total: float = 1000.0) -> SloObservation:
    slo = Slo(service, 0.999, SloWindow.rolling(30))
    return SloObservation(slo, TS, {"1h": Counts(good, total), "window": Counts(good, total)})


def deploy(id: str, ts: float, service: str = "orders") -> Deploy:
    return Deploy(id, service, f"v{id}", "v0", ts, "ci")


def test_slos_are_kept_by_service_and_announced_once_per_event(store: Store, rec: Recorder) -> None:
    store.apply(SlosObserved("sim", (observation("orders"), observation("search"))))
    assert set(store.backend("sim").slos) == {"orders", "search"}
    assert store.backend("sim").slos["orders"].windows["1h"] == Counts(999.0, 1000.0)
    assert rec.of("slo_changed") == [("sim",)]


def test_a_new_slo_set_replaces_the_old_one(store: Store, rec: Recorder) -> None:
    store.apply(SlosObserved("sim", (observation("orders"), observation("search"))))
    store.apply(SlosObserved("sim", (observation("orders", 900.0, 1000.0),)))
    slos = store.backend("sim").slos
    assert set(slos) == {"orders"}
    assert slos["orders"].windows["1h"] == Counts(900.0, 1000.0)
    assert rec.of("slo_changed") == [("sim",), ("sim",)]


def test_a_poll_bringing_the_same_observations_announces_nothing(
    store: Store, rec: Recorder
) -> None:
    """Equal by value (new objects from a new poll): no news, and the kept objects stay, so
    what was computed from them stays valid. A later `as_of` alone is news: figures use it."""
    store.apply(SlosObserved("sim", (observation("orders"), observation("search"))))
    kept = store.backend("sim").slos["orders"]
    store.apply(SlosObserved("sim", (observation("orders"), observation("search"))))
    assert rec.of("slo_changed") == [("sim",)]
    assert store.backend("sim").slos["orders"] is kept
    later = SloObservation(kept.slo, TS + 10, kept.windows)
    store.apply(SlosObserved("sim", (later, observation("search"))))
    assert rec.of("slo_changed") == [("sim",), ("sim",)]
    assert store.backend("sim").slos["orders"].as_of == TS + 10


def test_slos_of_two_backends_stay_apart(store: Store) -> None:
    store.apply(SlosObserved("sim", (observation("orders"),)))
    store.apply(SlosObserved("prom", (observation("search"),)))
    assert set(store.backend("sim").slos) == {"orders"}
    assert set(store.backend("prom").slos) == {"search"}


def test_deploys_are_kept_newest_last_and_each_is_seen_once(store: Store, rec: Recorder) -> None:
    first, second = deploy("1", TS), deploy("2", TS + 60)
    store.apply(DeploysSeen("sim", (first,)))
    # A fetched list repeats the known deploy and brings the next one.
    store.apply(DeploysSeen("sim", (second, first)))
    assert list(store.backend("sim").deploys) == [first, second]
    assert rec.of("deploy_seen") == [("sim", first), ("sim", second)]


def test_a_repeated_list_announces_nothing(store: Store, rec: Recorder) -> None:
    store.apply(DeploysSeen("sim", (deploy("1", TS),)))
    store.apply(DeploysSeen("sim", (deploy("1", TS),)))
    assert len(rec.of("deploy_seen")) == 1
    assert len(store.backend("sim").deploys) == 1


def test_a_late_older_deploy_is_put_in_time_order(store: Store, rec: Recorder) -> None:
    live = deploy("9", TS + 3600)
    older = deploy("8", TS)
    store.apply(DeploysSeen("sim", (live,)))
    store.apply(DeploysSeen("sim", (older,)))
    assert list(store.backend("sim").deploys) == [older, live]
    assert rec.of("deploy_seen") == [("sim", live), ("sim", older)]


def test_deploys_are_bounded_keeping_the_newest(store: Store, rec: Recorder) -> None:
    many = tuple(deploy(str(i), TS + i) for i in range(DEPLOY_HISTORY + 5))
    store.apply(DeploysSeen("sim", many))
    kept = store.backend("sim").deploys
    assert len(kept) == DEPLOY_HISTORY
    assert (kept[0], kept[-1]) == (many[5], many[-1])
    assert len(rec.of("deploy_seen")) == DEPLOY_HISTORY  # the five dropped are not announced
    # A deploy older than everything kept, reported when the history is full, is not news.
    store.apply(DeploysSeen("sim", (deploy("old", TS - 100),)))
    kept = store.backend("sim").deploys
    assert (len(kept), kept[0]) == (DEPLOY_HISTORY, many[5])
    assert len(rec.of("deploy_seen")) == DEPLOY_HISTORY


def test_a_service_runs_the_version_of_its_newest_deploy(store: Store) -> None:
    from opsconsole.core.events import SnapshotLoaded
    from opsconsole.core.models import Service

    store.apply(SnapshotLoaded("sim", (Service("orders", version="v41"),), (), (), (), ts=TS))
    bad = Deploy("d42", "orders", "v42", "v41", TS + 10, "ci")
    store.apply(DeploysSeen("sim", (bad,)))
    assert store.backend("sim").services["orders"].version == "v42"
    # The rollback is a deploy back to the previous version: the service says so at once.
    store.apply(DeploysSeen("sim", (Deploy("r42", "orders", "v41", "v42", TS + 20, "alice"),)))
    assert store.backend("sim").services["orders"].version == "v41"
    # A late report of the old deploy does not turn the clock back.
    store.apply(DeploysSeen("sim", (bad,)))
    assert store.backend("sim").services["orders"].version == "v41"
