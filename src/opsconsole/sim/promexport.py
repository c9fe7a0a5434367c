"""Prometheus exposition of the simulated system at `/metrics` (same auth as the API).

So a real Prometheus can scrape the sim: request counters, latency histograms, saturation
gauges, breaker states and database members.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from opsconsole.sim.world import LATENCY_HISTOGRAM_MS, World

CIRCUIT_STATES = ("closed", "open", "half_open", "forced_open", "disabled")


class WorldCollector(Collector):
    def __init__(self, world: World) -> None:
        self.world = world

    def collect(self) -> Iterator[Metric]:
        w = self.world
        requests = CounterMetricFamily(
            "opsconsole_sim_requests", "Requests served", labels=["service"]
        )
        failures = CounterMetricFamily(
            "opsconsole_sim_request_failures", "Requests that failed", labels=["service"]
        )
        latency = HistogramMetricFamily(
            "opsconsole_sim_request_duration_seconds", "Request latency", labels=["service"]
        )
        cpu = GaugeMetricFamily("opsconsole_sim_cpu_ratio", "CPU utilisation", labels=["service"])
        memory = GaugeMetricFamily(
            "opsconsole_sim_memory_ratio", "Memory utilisation", labels=["service"]
        )
        bounds = [f"{b / 1000.0:g}" for b in LATENCY_HISTOGRAM_MS] + ["+Inf"]
        cumulative = np.cumsum(w.latency_buckets, axis=1)
        cpu_col, mem_col = w.latest[:, 5], w.latest[:, 6]
        for i, name in enumerate(w.names):
            requests.add_metric([name], float(w.requests_total[i]))
            failures.add_metric([name], float(w.failures_total[i]))
            latency.add_metric(
                [name],
                list(zip(bounds, cumulative[i].astype(float).tolist(), strict=True)),
                float(w.latency_sum_ms[i]) / 1000.0,
            )
            if np.isfinite(cpu_col[i]):
                cpu.add_metric([name], float(cpu_col[i]))
            if np.isfinite(mem_col[i]):
                memory.add_metric([name], float(mem_col[i]))
        yield from (requests, failures, latency, cpu, memory)

        state = GaugeMetricFamily(
            "opsconsole_sim_circuit_state",
            "1 for the breaker's current state",
            labels=["circuit", "state"],
        )
        for name, breaker in w.breakers.items():
            for s in CIRCUIT_STATES:
                state.add_metric([name, s], 1.0 if breaker.state == s else 0.0)
        yield state

        member_up = GaugeMetricFamily(
            "opsconsole_sim_db_member_healthy",
            "Last health check passed",
            labels=["cluster", "member", "role"],
        )
        lag = GaugeMetricFamily(
            "opsconsole_sim_db_replication_lag_bytes",
            "Replication lag",
            labels=["cluster", "member"],
        )
        for cluster in w.clusters.values():
            for m in cluster.snapshot(0.0).members:
                member_up.add_metric([cluster.name, m.name, m.role], 1.0 if m.healthy else 0.0)
                lag.add_metric([cluster.name, m.name], float(m.lag_bytes))
        yield from (member_up, lag)


class PrometheusExport:
    def __init__(self, world: World) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(WorldCollector(world))

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/metrics", self.metrics)]

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )
