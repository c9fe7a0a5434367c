"""Prometheus exposition of the simulated system at `/metrics` (same auth as the API).

The names follow the conventions a real service would expose, so a real Prometheus scraping
the sim answers the console's default golden-signal queries unchanged: the OpenTelemetry /
client-library HTTP names (`http_request_duration_seconds`, `http_requests_total{code}`),
resilience4j's micrometer names for the breakers, and `opsconsole_*` for what has no
convention (saturation ratios, database members).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from aiohttp import web

from opsconsole.sim.world import LATENCY_HISTOGRAM_MS, World

# prometheus_client is imported on the first scrape: most runs (`opsconsole --demo`) are never
# scraped, and the backend's start is on the console's way to its first frame.
if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import Metric

# resilience4j-micrometer's state names: one gauge per state, 1 for the current one.
CIRCUIT_STATES = ("closed", "open", "half_open", "forced_open", "disabled")
# resilience4j reports a failure rate of -1 until `minimumNumberOfCalls` calls were recorded.
# Its default (100) suits sliding windows; the sim's breakers trip on 3-5 consecutive failures,
# so a rate over 10 calls already means something.
MIN_CALLS_FOR_FAILURE_RATE = 10


class WorldCollector:
    """A prometheus_client collector (by its `collect`; the registry asks nothing else)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def collect(self) -> Iterator[Metric]:
        yield from self._golden_signals()
        yield from self._breakers()
        yield from self._databases()

    def _golden_signals(self) -> Iterator[Metric]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        w = self.world
        requests = CounterMetricFamily(
            "http_requests", "HTTP requests served, by status code", labels=["service", "code"]
        )
        latency = HistogramMetricFamily(
            "http_request_duration_seconds", "HTTP request latency", labels=["service"]
        )
        cpu = GaugeMetricFamily(
            "opsconsole_cpu_utilisation_ratio", "CPU utilisation (0-1)", labels=["service"]
        )
        memory = GaugeMetricFamily(
            "opsconsole_memory_utilisation_ratio", "Memory utilisation (0-1)", labels=["service"]
        )
        bounds = [f"{b / 1000.0:g}" for b in LATENCY_HISTOGRAM_MS] + ["+Inf"]
        cumulative = np.cumsum(w.latency_buckets, axis=1)
        # The sim counts requests and failures; the status-code split is what services expose.
        succeeded = w.requests_total - w.failures_total
        cpu_col, mem_col = w.latest[:, 5], w.latest[:, 6]
        for i, name in enumerate(w.names):
            requests.add_metric([name, "200"], float(succeeded[i]))
            requests.add_metric([name, "500"], float(w.failures_total[i]))
            latency.add_metric(
                [name],
                list(zip(bounds, cumulative[i].astype(float).tolist(), strict=True)),
                float(w.latency_sum_ms[i]) / 1000.0,
            )
            if np.isfinite(cpu_col[i]):
                cpu.add_metric([name], float(cpu_col[i]))
            if np.isfinite(mem_col[i]):
                memory.add_metric([name], float(mem_col[i]))
        yield from (requests, latency, cpu, memory)

    def _breakers(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        w = self.world
        state = GaugeMetricFamily(
            "resilience4j_circuitbreaker_state",
            "The states of the circuit breaker (1 for the current one)",
            labels=["name", "state"],
        )
        failure_rate = GaugeMetricFamily(
            "resilience4j_circuitbreaker_failure_rate",
            "The failure rate of the circuit breaker in percent (-1: not enough calls)",
            labels=["name"],
        )
        for name, breaker in w.breakers.items():
            for s in CIRCUIT_STATES:
                state.add_metric([name, s], 1.0 if breaker.state == s else 0.0)
            rate = -1.0
            if w.latest_ts is not None:
                success, calls = breaker.stats(w.latest_ts)
                if success is not None and calls >= MIN_CALLS_FOR_FAILURE_RATE:
                    rate = 100.0 * (1.0 - success)
            failure_rate.add_metric([name], rate)
        yield from (state, failure_rate)

    def _databases(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        member_up = GaugeMetricFamily(
            "opsconsole_db_member_healthy",
            "Last health check passed",
            labels=["cluster", "member", "role"],
        )
        lag = GaugeMetricFamily(
            "opsconsole_db_replication_lag_bytes",
            "Replication lag",
            labels=["cluster", "member"],
        )
        for cluster in self.world.clusters.values():
            for m in cluster.snapshot(0.0).members:
                member_up.add_metric([cluster.name, m.name, m.role], 1.0 if m.healthy else 0.0)
                lag.add_metric([cluster.name, m.name], float(m.lag_bytes))
        yield from (member_up, lag)


class PrometheusExport:
    def __init__(self, world: World) -> None:
        self._world = world
        self._registry: CollectorRegistry | None = None

    @property
    def registry(self) -> CollectorRegistry:
        if self._registry is None:
            from prometheus_client import CollectorRegistry

            self._registry = CollectorRegistry(auto_describe=False)
            self._registry.register(WorldCollector(self._world))  # type: ignore[arg-type]
        return self._registry

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/metrics", self.metrics)]

    async def metrics(self, request: web.Request) -> web.Response:
        from prometheus_client import generate_latest

        return web.Response(
            body=generate_latest(self.registry),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )
