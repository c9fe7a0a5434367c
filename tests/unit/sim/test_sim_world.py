"""The simulated world without sockets: honest signals, determinism, frames per tick."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from opsconsole.core.events import MetricsBatch
from opsconsole.core.health import Health, service_health, settled
from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.protocol import (
    AlertFrame,
    CircuitFrame,
    MetricsFrame,
    decode_frame,
    decode_metric_rows,
    encode,
)
from opsconsole.core.store import Store
from opsconsole.sim.actions import Operator
from opsconsole.sim.config import SimConfig
from opsconsole.sim.errors import ApiError
from opsconsole.sim.sampling import ErrorWindow
from opsconsole.sim.scenarios import ScenarioRequest
from opsconsole.sim.world import World

T0 = 1_700_000_000.0


def metrics_of(frames: list) -> np.ndarray:
    (m,) = [f for f in frames if isinstance(f, MetricsFrame)]
    # Through the wire format, as a client would see it.
    wire = decode_frame(encode(msgspec.structs.replace(m, seq=1)))
    rows = decode_metric_rows(wire.rows)  # type: ignore[union-attr]
    return rows.values  # type: ignore[union-attr]


def test_a_tick_without_requests_reports_no_data_not_zero() -> None:
    world = World(SimConfig(tick_s=1e-7, seed=1), T0)
    values = metrics_of(world.tick(T0))
    assert np.isnan(values[:, :3]).all()  # no latency without requests
    assert (values[:, 3] == 0.0).all()  # zero traffic is data
    assert np.isnan(values[:, 4]).all()  # no error ratio either
    rt = world.realtime(T0).services["orders"]
    assert rt.latency_p99_ms is None and rt.error_ratio is None and rt.rps == 0.0


def test_same_seed_same_world() -> None:
    a, b = World(SimConfig(seed=42), T0), World(SimConfig(seed=42), T0)
    for i in range(5):
        assert np.array_equal(
            metrics_of(a.tick(T0 + i)), metrics_of(b.tick(T0 + i)), equal_nan=True
        )


def test_latency_has_a_long_tail_and_quantiles_are_ordered() -> None:
    world = World(SimConfig(seed=3), T0)
    samples = np.array([metrics_of(world.tick(T0 + i)) for i in range(60)])
    p50, p95, p99 = samples[:, :, 0], samples[:, :, 1], samples[:, :, 2]
    assert (p50 <= p95).all() and (p95 <= p99).all()
    orders = world.index["orders"]
    assert np.median(p99[:, orders] / p50[:, orders]) > 2.0  # bimodal: p99 ≫ p50
    assert np.median(p99[:, orders]) < 500.0  # and no latency alert at rest
    cpu, memory = samples[:, :, 5], samples[:, :, 6]
    assert ((cpu >= 0) & (cpu <= 1) & (memory >= 0) & (memory <= 1)).all()


def test_dependency_outage_trips_the_breaker_through_simulated_calls() -> None:
    world = World(SimConfig(seed=5, time_scale=10.0), T0)
    Operator(world).start_scenario(ScenarioRequest("dependency_outage"), T0)
    frames = [f for i in range(5) for f in world.tick(T0 + i)]
    circuit = [f for f in frames if isinstance(f, CircuitFrame)]
    assert circuit[0].name == "inventory-service" and circuit[0].state == "open"
    assert circuit[0].failure_count == 3 and circuit[0].prev_state == "closed"
    assert world.any_circuit_open() or world.breakers["inventory-service"].state == "half_open"


def test_error_burst_fires_an_alert_frame_after_the_scaled_for() -> None:
    world = World(SimConfig(seed=9, time_scale=120.0), T0)  # errors: for 1 s
    Operator(world).start_scenario(ScenarioRequest("error_burst", duration_s=3_600), T0)
    frames = [f for i in range(4) for f in world.tick(T0 + i * 0.5)]
    alerts = [f.alert for f in frames if isinstance(f, AlertFrame)]
    assert [(a.service, a.rule, a.state) for a in alerts] == [("payments", "errors", "firing")]


def test_unknown_names_are_refused_with_the_valid_ones() -> None:
    op = Operator(World(SimConfig(seed=1), T0))
    with pytest.raises(ApiError) as unknown:
        op.circuit_action("nope", "force_open", T0)
    assert unknown.value.status == 404 and "inventory-service" in unknown.value.details["circuits"]
    with pytest.raises(ApiError) as bad_target:
        op.start_scenario(ScenarioRequest("primary_down", target="orders-db/replica-7"), T0)
    assert "orders-db/replica-1" in bad_target.value.details["valid"]
    with pytest.raises(ApiError) as bad_duration:
        op.start_scenario(ScenarioRequest("latency_spike", duration_s=-1), T0)
    assert bad_duration.value.status == 400


# ---------------------------------------------------------------- a healthy demo stays healthy

MIDNIGHT_UTC = T0 - T0 % 86_400.0
TROUGH, PEAK = MIDNIGHT_UTC + 3 * 3600.0, MIDNIGHT_UTC + 15 * 3600.0  # see daily_curve
LIMITED = ("latency_p99_ms", "error_ratio", "cpu", "memory")


def judge_every_tick(world: World, start: float, ticks: int, before_tick=None):
    """Tick the world once a second into a real Store; yield (tick, service, judged values,
    verdict) as the console judges them (core.health on the settled values)."""
    store = Store(capacity=600)
    for i in range(ticks):
        now = start + i * world.config.tick_s
        if before_tick is not None:
            before_tick(i, now)
        values = metrics_of(world.tick(now))
        ts = np.full(len(world.names), now)
        store.apply(MetricsBatch("sim", world.names, ts, values, METRIC_FIELDS))
        state = store.backend("sim")
        for service in world.services:
            judged = settled(state.series.get(service.name))
            yield i, service, judged, service_health(judged, service.thresholds)


@pytest.mark.parametrize(("seed", "start"), [(1, TROUGH), (2, PEAK), (3, T0)])
def test_with_no_scenario_no_service_is_ever_judged_warn_or_crit(seed: int, start: float) -> None:
    # The demo's own tick (1 s) for five simulated minutes, at night, at the daily peak and
    # at T0: a healthy baseline must read healthy, or operators learn to ignore CRIT.
    world = World(SimConfig(seed=seed), start)
    worst: dict[tuple[str, str], float] = {}
    for i, service, judged, verdict in judge_every_tick(world, start, 300):
        assert verdict.level is Health.HEALTHY, (i, service.name, verdict)
        for field in LIMITED:
            limit = getattr(service.thresholds, field)
            key = (service.name, field)
            worst[key] = max(worst.get(key, 0.0), judged[field] / limit)
    # Well inside, not just under: the noise has room before WARN (80 % of a limit).
    assert max(worst.values()) < 0.7, max(worst.items(), key=lambda kv: kv[1])
    assert all(worst[(s, "latency_p99_ms")] < 0.6 for s in world.names)
    assert all(worst[(s, "error_ratio")] < 0.6 for s in world.names)
    # Lively, not flat: every service's p99 and CPU move.
    assert all(worst[(s, "latency_p99_ms")] > 0.05 for s in world.names)


# scenario → the services it must make CRITICAL (replica_lag touches only the database).
SCENARIO_TARGETS = {
    "latency_spike": {"orders"},
    "error_burst": {"payments"},
    "traffic_surge": {"api-gateway"},
    "dependency_outage": {"orders", "inventory"},
    "primary_down": {"orders"},
}


@pytest.mark.parametrize("start", [TROUGH, PEAK], ids=["night", "peak"])
@pytest.mark.parametrize("scenario", sorted(SCENARIO_TARGETS))
def test_each_scenario_makes_its_target_critical_within_seconds(
    scenario: str, start: float
) -> None:
    world = World(SimConfig(seed=11), start)

    def begin(i: int, now: float) -> None:
        if i == 20:
            Operator(world).start_scenario(ScenarioRequest(scenario), now)

    critical: dict[str, int] = {}
    for i, service, _, verdict in judge_every_tick(world, start, 40, begin):
        if verdict.level is Health.CRITICAL:
            assert i >= 20, f"{service.name} CRITICAL before the scenario: {verdict.reason}"
            critical.setdefault(service.name, i - 20)
    assert SCENARIO_TARGETS[scenario] <= set(critical), critical
    assert all(critical[s] <= 10 for s in SCENARIO_TARGETS[scenario]), critical


def test_the_error_ratio_counts_a_window_of_requests_not_one_tick() -> None:
    window = ErrorWindow(1, 3, served=np.array([100]))
    # A start is not a burst: one failure among 30 requests reads against the window.
    assert window.observe(np.array([30]), np.array([1]))[0] == pytest.approx(1 / 230)
    assert window.observe(np.array([30]), np.array([0]))[0] == pytest.approx(1 / 160)
    assert window.observe(np.array([30]), np.array([3]))[0] == pytest.approx(4 / 90)
    # The first failing tick leaves the window; a window without requests is no data.
    assert window.observe(np.array([30]), np.array([0]))[0] == pytest.approx(3 / 90)
    for _ in range(3):
        last = window.observe(np.array([0]), np.array([0]))
    assert np.isnan(last[0])
