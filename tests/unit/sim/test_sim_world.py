"""The simulated world without sockets: honest signals, determinism, frames per tick."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from opsconsole.core.protocol import (
    AlertFrame,
    CircuitFrame,
    MetricsFrame,
    decode_frame,
    decode_metric_rows,
    encode,
)
from opsconsole.sim.actions import Operator
from opsconsole.sim.config import SimConfig
from opsconsole.sim.errors import ApiError
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
