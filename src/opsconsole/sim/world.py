"""The simulated e-commerce system: state, one `tick()` of traffic, and the frames it yields.

Each tick draws every service's requests, drives the circuit breakers and the failover manager,
counts the requests for the SLOs, evaluates alerts, and returns the stream frames that describe
what changed. Operator actions and scenarios (actions.py) change its state.

Pure with respect to I/O and time: the caller passes `now` (wall seconds) to every method and
publishes the returned frames (which carry seq 0 until the frame log numbers them).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import msgspec
import numpy as np

from opsconsole.core.models import (
    METRIC_FIELDS,
    Alert,
    Circuit,
    DbCluster,
    Service,
    ServiceMetrics,
    SystemHealth,
)
from opsconsole.core.protocol import (
    AlertFrame,
    DbFrame,
    EventFrame,
    Frame,
    MetricsFrame,
    RealtimeBody,
    SnapshotFrame,
    encode,
)
from opsconsole.core.slo.model import Deploy
from opsconsole.core.slowire import deploy_data
from opsconsole.sim.alerts import AlertEngine, SignalWindow, default_rules
from opsconsole.sim.breaker import BreakerConfig, CircuitBreaker, Transition
from opsconsole.sim.config import SimConfig
from opsconsole.sim.failover import MIB, ClusterChange, FailoverConfig, FailoverManager, Probe
from opsconsole.sim.frames import breaker_frames, event
from opsconsole.sim.history import MetricHistory, capacity_for
from opsconsole.sim.ledger import HOUR_S, RequestLedger, SimTime, count_tick
from opsconsole.sim.pastmonth import seed_releases, seed_traffic
from opsconsole.sim.releases import BAD_VERSION_ERROR_P, Releases, RollbackPlan
from opsconsole.sim.sampling import ErrorWindow, TickDraw, Workload, draw_tick
from opsconsole.sim.scenarios import ActiveScenario, ScenarioBook
from opsconsole.sim.slos import SloBook
from opsconsole.sim.topology import (
    CLUSTER,
    CLUSTER_PRIMARY,
    CLUSTER_REPLICAS,
    DEPENDENCIES,
    build_services,
    daily_curve,
)

MAX_DEP_CALLS = 20  # simulated calls per dependency per tick that drive its breaker
DEP_TIMEOUT_MS = 1_000.0  # a call to a dead dependency or primary hangs this long, then fails
ALERT_WINDOW_S = 60.0  # alert signals are averaged over this window (scaled)
ERROR_WINDOW_S = 20.0  # the reported error ratio counts this window's requests (scaled)
MAX_ERROR_TICKS = 1_000  # bounds that window's memory for very short ticks
# A healthy dependency call still fails now and then; rare enough that a quiet service's
# errors and p99 stay well inside their limits with no scenario running.
DEP_BASE_FAIL_P = 0.00002
LATENCY_HISTOGRAM_MS = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0)

# Scenario effects on the drawn signals.
SPIKE_MEDIAN_FACTOR = 6.0
SPIKE_SLOW_P = 0.15
BURST_ERROR_P = 0.15
SURGE_FACTOR = 4.0
LAGGING_BYTES = 3 * MIB
LAG_FRAME_BUCKET = 64 * 1024


class World:
    def __init__(self, config: SimConfig, now: float) -> None:
        self.config = config
        scale = config.time_scale
        self.rng = np.random.default_rng(config.seed)
        self.specs = build_services(config.services, self.rng)
        self.services: tuple[Service, ...] = tuple(s.service for s in self.specs)
        self.names = tuple(s.name for s in self.services)
        self.index = {name: i for i, name in enumerate(self.names)}
        n = len(self.specs)

        def col(attr: str) -> np.ndarray:
            return np.array([getattr(s, attr) for s in self.specs], dtype=np.float64)

        self.base_rps = col("base_rps")
        self.median_ms = col("latency_median_ms")
        self.sigma = col("latency_sigma")
        self.slow_p = col("slow_p")
        self.slow_factor = col("slow_factor")
        self.error_p = col("error_p")
        self.capacity = col("capacity_rps")
        self.memory_base = col("memory_base")
        self.db_write_share = col("db_write_share")
        self.load_ewma = self.base_rps * daily_curve(now) / self.capacity

        self.dependencies = DEPENDENCIES
        self.dep_index = {d.name: j for j, d in enumerate(DEPENDENCIES)}
        self.call_share = np.zeros((n, len(DEPENDENCIES)))
        for i, spec in enumerate(self.specs):
            for dep, share in spec.calls:
                self.call_share[i, self.dep_index[dep]] = share
        self.fallback_error_p = np.array([d.fallback_error_p for d in DEPENDENCIES])
        self.dep_base_fail_p = DEP_BASE_FAIL_P
        self.breakers = {
            d.name: CircuitBreaker(
                d.name, BreakerConfig(d.failure_threshold, d.timeout_s / scale, 300.0 / scale), now
            )
            for d in DEPENDENCIES
        }

        self.cluster = FailoverManager(
            CLUSTER,
            CLUSTER_PRIMARY,
            list(CLUSTER_REPLICAS),
            FailoverConfig(health_check_interval_s=5.0 / scale),
            now,
        )
        self.clusters = {CLUSTER: self.cluster}
        self.true_lag = {m: int(self.rng.integers(4_096, 65_536)) for m in CLUSTER_REPLICAS}
        self.next_check = now + self.cluster.config.health_check_interval_s
        self.scenarios = ScenarioBook()
        self._last_cluster = b""
        self._health_check(now)  # a first round so replicas report real lag from the start

        self.alerts = AlertEngine(self.services, default_rules(scale))
        window_ticks = round(ALERT_WINDOW_S / scale / config.tick_s)
        self.window = SignalWindow(n, window_ticks)
        served = np.rint(self.base_rps * daily_curve(now) * config.tick_s)
        error_ticks = min(MAX_ERROR_TICKS, round(ERROR_WINDOW_S / scale / config.tick_s))
        self.errors = ErrorWindow(n, error_ticks, served)
        self.history = MetricHistory(
            self.names, len(METRIC_FIELDS), capacity_for(n, len(METRIC_FIELDS), config.tick_s)
        )
        self.latest_ts: float | None = None
        self.latest = np.full((n, len(METRIC_FIELDS)), np.nan)
        self._actions: list[tuple[float, Callable[[float], list[Frame]]]] = []
        # Real requests (the shop API, sim/shop.py): they draw from the last tick's workload,
        # their rate loads the services, and each tick's draw takes them in before it counts.
        self.workload: Workload | None = None
        self.real_rps = np.zeros(n)
        self.real_requests: Callable[[TickDraw, float], TickDraw] | None = None

        # Cumulative counters for the Prometheus exposition.
        self.requests_total = np.zeros(n, dtype=np.int64)
        self.failures_total = np.zeros(n, dtype=np.int64)
        self.latency_sum_ms = np.zeros(n)
        self.latency_buckets = np.zeros((n, len(LATENCY_HISTOGRAM_MS) + 1), dtype=np.int64)

        # SLOs and deploys: a lived-in month of requests and versions, then live traffic. Their
        # own random stream, so the golden signals draw what they drew before SLOs existed.
        self.time = SimTime(now, scale)
        self._ledger_rng = np.random.default_rng(None if config.seed is None else [config.seed, 14])
        self.ledger = RequestLedger(n, self.time)
        self.releases = Releases(self.names)
        seed_releases(self.releases, self.specs, self.time, now, self._ledger_rng)
        seed_traffic(self.ledger, self.specs, now, self._ledger_rng)
        self.slos = SloBook(self.specs, self.ledger)
        self.services = tuple(
            msgspec.structs.replace(s, version=self.releases.running(s.name)) for s in self.services
        )

    # ================================================================== time

    def next_due(self) -> float:
        """Wall time of the next timer (health check, scenario end, pending action)."""
        due = [self.next_check]
        if (expiry := self.scenarios.next_expiry()) is not None:
            due.append(expiry)
        due.extend(t for t, _ in self._actions)
        return min(due)

    def schedule(self, due: float, run: Callable[[float], list[Frame]]) -> None:
        """Run `run(now)` from the clock once `due` has passed (its frames get published)."""
        self._actions.append((due, run))

    def advance(self, now: float) -> list[Frame]:
        """Run every timer due by `now`."""
        frames: list[Frame] = []
        for ended in self.scenarios.expire(now):
            frames.append(self.scenario_event(ended, now, ended_early=False))
        if now >= self.next_check:
            frames += self._health_check(now)
            interval = self.cluster.config.health_check_interval_s
            self.next_check += interval
            if self.next_check <= now:  # fell behind (a stalled loop): do not catch up in a burst
                self.next_check = now + interval
        due = [a for a in self._actions if a[0] <= now]
        if due:
            self._actions = [a for a in self._actions if a[0] > now]
            for _, run in sorted(due, key=lambda a: a[0]):
                frames += run(now)
        return frames

    def tick(self, now: float) -> list[Frame]:
        """Timers, then one sample period of traffic for every service."""
        frames = self.advance(now)
        dt = self.config.tick_s
        n = len(self.specs)
        curve = daily_curve(now)
        baseline = self.base_rps * curve

        surge = np.ones(n)
        median = self.median_ms.copy()
        slow_p = self.slow_p.copy()
        error_p = self.error_p.copy()
        for target in self.scenarios.targets("traffic_surge"):
            surge[self.index[target]] = SURGE_FACTOR
        for target in self.scenarios.targets("latency_spike"):
            i = self.index[target]
            median[i] *= SPIKE_MEDIAN_FACTOR
            slow_p[i] = max(slow_p[i], SPIKE_SLOW_P)
        for target in self.scenarios.targets("error_burst"):
            error_p[self.index[target]] = max(error_p[self.index[target]], BURST_ERROR_P)
        for i, name in enumerate(self.names):
            if self.releases.is_bad(name):
                error_p[i] = max(error_p[i], BAD_VERSION_ERROR_P)
        noise = np.exp(self.rng.normal(0.0, 0.05, n))
        rps = baseline * surge * noise
        load = (rps + self.real_rps) / self.capacity
        # Queueing: above ~70 % utilisation every request waits longer.
        median *= 1.0 + 4.0 * np.maximum(0.0, load - 0.7)

        frames_dep, allowed, dep_fail = self._drive_breakers(rps, dt, now)
        frames += frames_dep
        share = self.call_share
        p_timeout = share @ (allowed * dep_fail)
        p_fast_fail = share @ ((1.0 - allowed) * self.fallback_error_p)
        p_cached = share @ ((1.0 - allowed) * (1.0 - self.fallback_error_p))
        if not self._primary_reachable():
            p_timeout = p_timeout + self.db_write_share  # writes hang on a dead primary
        elif self.cluster.read_only:
            p_fast_fail = p_fast_fail + self.db_write_share  # writes refused at once
        total = p_timeout + p_fast_fail + p_cached
        scale = np.where(total > 1.0, 1.0 / np.maximum(total, 1e-12), 1.0)
        timeout_ms = np.full(n, DEP_TIMEOUT_MS)

        workload = Workload(
            rps=rps,
            median_ms=median,
            sigma=self.sigma,
            slow_p=slow_p,
            slow_factor=self.slow_factor,
            error_p=error_p,
            p_timeout=p_timeout * scale,
            timeout_ms=timeout_ms,
            p_fast_fail=p_fast_fail * scale,
            p_cached=p_cached * scale,
        )
        self.workload = workload
        draw = draw_tick(self.rng, dt, workload)
        if self.real_requests is not None:
            draw = self.real_requests(draw, now)
        count_tick(self.ledger, self._ledger_rng, now, dt * self.config.time_scale, workload, draw)
        metrics, changed_alerts = self._record(now, dt, draw, baseline, load)
        frames.append(metrics)
        # Alerts follow the metrics frame they were computed from.
        frames += [AlertFrame(seq=0, ts=now, alert=a) for a in changed_alerts]
        return frames

    # ================================================================== tick parts

    def _drive_breakers(
        self, rps: np.ndarray, dt: float, now: float
    ) -> tuple[list[Frame], np.ndarray, np.ndarray]:
        """A bounded number of calls per dependency through its breaker. Returns the frames,
        the share of calls the breaker let through, and each dependency's failure chance."""
        frames: list[Frame] = []
        demand = (rps * dt) @ self.call_share  # expected calls per dependency this tick
        outages = self.scenarios.targets("dependency_outage")
        allowed = np.ones(len(self.dependencies))
        fail_p = np.full(len(self.dependencies), self.dep_base_fail_p)
        for j, dep in enumerate(self.dependencies):
            breaker = self.breakers[dep.name]
            if dep.name in outages:
                fail_p[j] = 1.0
            calls = min(MAX_DEP_CALLS, int(self.rng.poisson(demand[j]))) if demand[j] > 0 else 0
            passed = 0
            outcomes = self.rng.random(calls) >= fail_p[j]
            for ok in outcomes:
                go, transition = breaker.allow(now)
                if transition is not None:
                    frames += self.breaker_frames(transition, now)
                if not go:
                    continue
                passed += 1
                if (transition := breaker.record(bool(ok), now)) is not None:
                    frames += self.breaker_frames(transition, now)
            if calls:
                allowed[j] = passed / calls
            else:
                allowed[j] = 1.0 if breaker.state in ("closed", "half_open") else 0.0
        return frames, allowed, fail_p

    def _record(
        self, now: float, dt: float, draw: TickDraw, baseline: np.ndarray, load: np.ndarray
    ) -> tuple[Frame, list[Alert]]:
        """Turn one tick's draws into the sample: metrics frame, history, alert window.
        `load` is offered traffic over capacity: CPU follows it (the drawn count of a short
        tick is too noisy to drive a utilisation gauge), and the error ratio counts the last
        few seconds of requests for the same reason."""
        n = len(self.specs)
        counts = draw.counts
        error_ratio = self.errors.observe(counts, draw.failures)
        observed_rps = counts / dt
        # Slow EWMA: memory follows load over minutes, not per tick.
        alpha = min(1.0, dt * self.config.time_scale / 120.0)
        self.load_ewma += alpha * (load - self.load_ewma)
        cpu = np.clip(0.05 + 0.85 * load + self.rng.normal(0.0, 0.015, n), 0.0, 1.0)
        memory = np.clip(
            self.memory_base + 0.2 * self.load_ewma + self.rng.normal(0.0, 0.003, n), 0.0, 1.0
        )
        values = np.column_stack(
            (draw.quantiles, observed_rps, error_ratio, cpu, memory)
        )  # order of METRIC_FIELDS
        self.latest = values
        self.latest_ts = now
        self.history.append(now, values)

        self.requests_total += counts
        self.failures_total += draw.failures
        if draw.latencies_ms.size:
            self.latency_sum_ms += np.bincount(draw.segment, draw.latencies_ms, minlength=n)
            nb = len(LATENCY_HISTOGRAM_MS) + 1
            bucket = np.searchsorted(LATENCY_HISTOGRAM_MS, draw.latencies_ms, side="left")
            self.latency_buckets += np.bincount(
                draw.segment * nb + bucket, minlength=n * nb
            ).reshape(n, nb)

        self.window.observe(dt, counts, draw.failures, draw.quantiles[:, 2], cpu, memory)
        signals = dataclasses.replace(
            self.window.signals(baseline),
            error_ratio_1h=self.ledger.error_ratio(now, HOUR_S),
            error_ratio_6h=self.ledger.error_ratio(now, 6 * HOUR_S),
        )
        changed = self.alerts.evaluate(now, signals)
        # NaN encodes as null: "no data" on the wire, never 0.
        rows = [[name, now, *row] for name, row in zip(self.names, values.tolist(), strict=True)]
        return MetricsFrame(seq=0, rows=msgspec.Raw(encode(rows))), changed

    def _primary_reachable(self) -> bool:
        primary = self.cluster.primary
        return primary is not None and primary not in self.scenarios.targets("primary_down")

    def _health_check(self, now: float) -> list[Frame]:
        down = self.scenarios.targets("primary_down")
        lagging = self.scenarios.targets("replica_lag")
        probes: dict[str, Probe] = {}
        for m in self.cluster.members:
            if m in self.true_lag:
                # Replication lag wanders between a few KiB and a few hundred KiB.
                step = int(self.rng.normal(0.0, 8_192.0))
                self.true_lag[m] = int(np.clip(self.true_lag[m] + step, 1_024, 262_144))
            lag = self.true_lag.get(m, 0)
            if m in lagging:
                lag += LAGGING_BYTES + int(self.rng.integers(0, 512 * 1024))
            probes[m] = Probe(reachable=m not in down, lag_bytes=lag)
        changes = self.cluster.check(probes, now)
        frames = self.cluster_frames(changes, now)
        frames += self._db_frame_if_changed(now)
        return frames

    # ================================================================== frames

    def breaker_frames(self, t: Transition, now: float) -> list[Frame]:
        return breaker_frames(t, self.breakers[t.name].snapshot(now))

    @staticmethod
    def _cluster_key(cluster: DbCluster) -> bytes:
        """What makes a db frame worth sending: data_age_s moving while degraded is not, nor
        is replication lag wandering within a 64 KiB bucket (REST shows it exactly)."""
        members = tuple(
            msgspec.structs.replace(m, lag_bytes=m.lag_bytes // LAG_FRAME_BUCKET)
            for m in cluster.members
        )
        return encode(msgspec.structs.replace(cluster, data_age_s=None, members=members))

    def cluster_frames(self, changes: list[ClusterChange], now: float) -> list[Frame]:
        frames: list[Frame] = []
        for change in changes:
            frames.append(DbFrame(seq=0, ts=now, cluster=change.cluster))
            frames.append(event(change.kind, change.message, now, data=change.data))
            self._last_cluster = self._cluster_key(change.cluster)
        return frames

    def _db_frame_if_changed(self, now: float) -> list[Frame]:
        cluster = self.cluster.snapshot(now)
        key = self._cluster_key(cluster)
        if key == self._last_cluster and cluster.state != "degraded":
            return []
        self._last_cluster = key
        return [DbFrame(seq=0, ts=now, cluster=cluster)]

    def deploy(self, service: str, now: float, by: str, *, bad: bool = False) -> list[Frame]:
        """A new version of `service` goes live (a bad one fails ~1.2 % of requests)."""
        deploy = self.releases.deploy(
            service, self.releases.next_version(service), now, by, bad=bad
        )
        message = f"{service} {deploy.version} deployed (was {deploy.prev_version}) by {by}"
        return [self._deployed(deploy, message)]

    def roll_back(self, plan: RollbackPlan, now: float, by: str) -> EventFrame:
        """`plan`'s service returns to its previous version; the deploy event says so."""
        deploy = self.releases.roll_back(plan, now, by)
        message = f"{plan.service} rolled back to {deploy.version} (from {plan.running}) by {by}"
        return self._deployed(deploy, message)

    def _deployed(self, deploy: Deploy, message: str) -> EventFrame:
        i = self.index[deploy.service]
        service = msgspec.structs.replace(self.services[i], version=deploy.version)
        self.services = (*self.services[:i], service, *self.services[i + 1 :])
        return event("deploy", message, deploy.ts, service=deploy.service, data=deploy_data(deploy))

    def scenario_event(self, s: ActiveScenario, now: float, *, ended_early: bool) -> Frame:
        how = "ended by recover" if ended_early else "ended"
        return event(
            "scenario",
            f"scenario {s.name} on {s.target} {how}",
            now,
            service=s.target if s.target in self.index else None,
            data={"scenario": s.name, "target": s.target, "state": "ended"},
        )

    # ================================================================== queries

    def realtime(self, now: float) -> RealtimeBody:
        services = {
            name: ServiceMetrics(
                **{
                    f: (None if math.isnan(v) else v)
                    for f, v in zip(METRIC_FIELDS, row, strict=True)
                }
            )
            for name, row in zip(self.names, self.latest.tolist(), strict=True)
        }
        return RealtimeBody(
            ts=self.latest_ts if self.latest_ts is not None else now,
            system_health=self.system_health(),
            services=services,
        )

    def system_health(self) -> SystemHealth:
        if any(c.state == "failed" for c in self.clusters.values()):
            return "failed"
        if (
            self.any_circuit_open()
            or any(c.state != "healthy" for c in self.clusters.values())
            or any(b.state == "half_open" for b in self.breakers.values())
            or any(a.state == "firing" and a.severity == "page" for a in self.alerts.alerts())
        ):
            return "degraded"
        return "healthy"

    def any_circuit_open(self) -> bool:
        return any(b.state in ("open", "forced_open") for b in self.breakers.values())

    def circuits(self, now: float) -> dict[str, Circuit]:
        return {name: b.snapshot(now) for name, b in self.breakers.items()}

    def cluster_list(self, now: float) -> tuple[DbCluster, ...]:
        return tuple(c.snapshot(now) for c in self.clusters.values())

    def alert_list(self) -> tuple[Alert, ...]:
        return self.alerts.alerts()

    def snapshot(self, now: float, seq: int, resync: bool, epoch: str) -> SnapshotFrame:
        return SnapshotFrame(
            seq=seq,
            ts=now,
            resync=resync,
            services=self.services,
            realtime=self.realtime(now),
            circuits=self.circuits(now),
            clusters=self.cluster_list(now),
            alerts=self.alert_list(),
            epoch=epoch,
        )
