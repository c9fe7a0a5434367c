"""Alert rule evaluation (pure, time injected)."""

from __future__ import annotations

import numpy as np

from opsconsole.core.models import Service
from opsconsole.sim.alerts import AlertEngine, Signals, SignalWindow, default_rules

SERVICES = (Service(name="orders"), Service(name="payments"))


def signals(**overrides: list[float]) -> Signals:
    base = {
        "rps": [100.0, 50.0],
        "error_ratio": [0.001, 0.001],
        "p99_ms": [120.0, 90.0],
        "cpu": [0.4, 0.4],
        "memory": [0.5, 0.5],
        "baseline_rps": [100.0, 50.0],
    }
    base.update(overrides)
    return Signals(**{k: np.array(v, dtype=float) for k, v in base.items()})


def test_fires_only_after_the_for_duration_and_resolves_when_false() -> None:
    engine = AlertEngine(SERVICES, default_rules(time_scale=1.0))
    hot = signals(p99_ms=[800.0, 90.0])
    assert engine.evaluate(0.0, hot) == []
    assert engine.evaluate(299.0, hot) == []
    fired = engine.evaluate(300.0, hot)
    assert len(fired) == 1
    alert = fired[0]
    assert (alert.service, alert.rule, alert.severity, alert.state) == (
        "orders",
        "latency",
        "page",
        "firing",
    )
    assert alert.value == 800.0 and alert.threshold == 500.0 and alert.since_ts == 300.0
    assert "p99 latency 800 ms > 500 ms" in alert.summary
    assert engine.evaluate(301.0, hot) == []  # no duplicate while still firing
    resolved = engine.evaluate(302.0, signals())
    assert [a.state for a in resolved] == ["resolved"] and resolved[0].id == alert.id


def test_a_false_sample_restarts_the_pending_clock_but_no_data_holds_it() -> None:
    engine = AlertEngine(SERVICES, default_rules(time_scale=10.0))  # errors: for 12 s
    bad = signals(error_ratio=[0.2, 0.0])
    engine.evaluate(0.0, bad)
    engine.evaluate(6.0, signals())
    assert engine.evaluate(12.0, bad) == []  # restarted at 12.0
    engine.evaluate(18.0, signals(error_ratio=[np.nan, 0.0]))  # no data: holds
    fired = engine.evaluate(24.0, bad)
    assert [(a.service, a.rule, a.severity) for a in fired] == [("orders", "errors", "page")]


def test_saturation_and_traffic_rules_are_tickets() -> None:
    engine = AlertEngine(SERVICES, default_rules(time_scale=600.0))  # saturation: for 1 s
    s = signals(memory=[0.5, 0.9], rps=[300.0, 50.0])
    engine.evaluate(0.0, s)
    fired = {a.rule: a for a in engine.evaluate(1.0, s)}
    assert fired["saturation"].service == "payments" and fired["saturation"].severity == "ticket"
    assert "memory" in fired["saturation"].summary and fired["saturation"].threshold == 0.85
    assert fired["traffic"].service == "orders" and fired["traffic"].value == 2.0
    assert "200 % above" in fired["traffic"].summary


def test_ack_sets_who_and_when_first_ack_wins_unknown_is_none() -> None:
    engine = AlertEngine(SERVICES, default_rules(time_scale=1e9))
    hot = signals(error_ratio=[0.5, 0.0])
    engine.evaluate(0.0, hot)
    (alert,) = engine.evaluate(1.0, hot)
    acked, changed = engine.ack(alert.id, "alice", 2.0)  # type: ignore[misc]
    assert changed and acked.acked_by == "alice" and acked.acked_ts == 2.0
    assert engine.ack(alert.id, "bob", 3.0) == (acked, False)
    assert engine.ack("nope", "bob", 3.0) is None
    (resolved,) = engine.evaluate(4.0, signals())
    assert resolved.acked_by == "alice"
    assert engine.alerts()[0].state == "resolved"


def test_signal_window_averages_over_the_last_ticks() -> None:
    w = SignalWindow(n_services=1, length=2)
    one = np.ones(1)
    w.observe(1.0, np.array([10]), np.array([0]), 100.0 * one, 0.2 * one, 0.5 * one)
    w.observe(1.0, np.array([30]), np.array([3]), 200.0 * one, 0.4 * one, 0.5 * one)
    s = w.signals(np.array([20.0]))
    assert s.rps[0] == 20.0 and s.error_ratio[0] == 0.075
    assert s.p99_ms[0] == (100 * 10 + 200 * 30) / 40  # weighted by requests
    assert np.isclose(s.cpu[0], 0.3)
    w.observe(1.0, np.array([0]), np.array([0]), np.array([np.nan]), 0.2 * one, 0.5 * one)
    s = w.signals(np.array([20.0]))
    assert s.rps[0] == 15.0 and s.p99_ms[0] == 200.0  # the first tick left the window
