"""Reads a service's baseline from its backend's history where the console's ring buffer ends."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np

from opsconsole.backends.errors import BackendError
from opsconsole.backends.opsapi.rest import OpsApiRest, describe_error
from opsconsole.backends.prometheus import PrometheusClient
from opsconsole.core.investigate import Inputs
from opsconsole.core.investigate.signals import BASELINE_S, DAY_S, YESTERDAY_HALF_S

FIELDS = ("latency_p99_ms", "error_ratio", "rps")
BASELINE_POINTS = 120  # one point every 30 s over the hour
PROMETHEUS_TIMEOUT_S = 3.0
YESTERDAY_STEP_S = 30.0
HISTORY_PATH = "/api/v1/metrics/historical"


@dataclass(frozen=True)
class BaselineHistory:
    """The baseline hour's values older than the console's ring, per field, and the medians
    of the same time yesterday."""

    baseline: dict[str, tuple[float, ...]] = field(default_factory=dict)  # values
    yesterday: dict[str, float] = field(default_factory=dict)
    query: str | None = None
    problem: str | None = None  # why a part could not be read


@dataclass(frozen=True)
class BaselineReading:
    """A prepared history read: the query it sends, and the read itself."""

    query: str
    read: Awaitable[BaselineHistory]


def held_from(inputs: Inputs) -> float:
    """Where the console's own series begins (+inf when it holds nothing)."""
    series = inputs.state.series.get(inputs.service)
    if series is None or len(series) == 0:
        return math.inf
    return float(series.times()[0])


def covers_baseline(inputs: Inputs) -> bool:
    """Whether the console's own series already holds the whole baseline hour."""
    return held_from(inputs) <= inputs.incident_start - BASELINE_S + 60.0


def read_baseline(client: object, inputs: Inputs, now: float) -> BaselineReading | None:
    """The history read for a backend whose ring buffer misses part of the baseline (None
    when nothing needs reading or the backend keeps no history)."""
    if covers_baseline(inputs):
        return None
    start = inputs.incident_start
    step = BASELINE_S / BASELINE_POINTS
    # Only what the ring does not hold: a coarse point over the ring's own samples would
    # count a deviation twice (and, at 30 s steps, smear its first seconds into the baseline).
    end = min(start, held_from(inputs) - step / 2)
    if isinstance(client, PrometheusClient):
        query = (
            f"GET /api/v1/query_range (p99, errors, traffic for every service; "
            f"start={start - BASELINE_S:.0f} end={end:.0f} step={step:g}s)"
        )
        reading = _read_prometheus(client, inputs.service, start, end, now, step)
        return BaselineReading(query, reading)
    if not isinstance(client, OpsApiRest):
        return None
    params = {
        "service": inputs.service,
        "metric": "{" + ",".join(FIELDS) + "}",
        "start": f"{start - BASELINE_S:.0f}",
        "end": f"{end:.0f}",
        "step": f"{step:g}",
    }
    query = f"GET {HISTORY_PATH}?{urlencode(params, safe='{},')}"
    return BaselineReading(query, _read(client, inputs.service, start, end, now, step, query))


def _medians(values: dict[str, tuple[float, ...]]) -> dict[str, float]:
    return {f: float(np.median(v)) for f, v in values.items() if v}


async def _read(
    client: OpsApiRest,
    service: str,
    start: float,
    end: float,
    now: float,
    step: float,
    query: str,
) -> BaselineHistory:
    problems: list[str] = []

    async def values(lo: float, hi: float, every: float, what: str) -> dict[str, tuple[float, ...]]:
        if hi - lo < every:
            return {}  # the ring holds (nearly) all of it

        async def one(metric: str) -> tuple[float, ...]:
            body = await client.historical(service, metric, lo, hi, every)
            return tuple(float(v) for _t, v in body.points if v is not None and math.isfinite(v))

        try:
            got = await asyncio.gather(*(one(m) for m in FIELDS))
        except (BackendError, OSError) as exc:
            problems.append(f"{what}: {describe_error(exc)}")
            return {}
        return dict(zip(FIELDS, got, strict=True))

    y = now - DAY_S
    baseline, yesterday = await asyncio.gather(
        values(start - BASELINE_S, end, step, "the hour before"),
        values(y - YESTERDAY_HALF_S, y + YESTERDAY_HALF_S, YESTERDAY_STEP_S, "yesterday"),
    )
    return BaselineHistory(baseline, _medians(yesterday), query, "; ".join(problems) or None)


async def _read_prometheus(
    client: PrometheusClient, service: str, start: float, end: float, now: float, step: float
) -> BaselineHistory:
    """The same from a Prometheus-compatible server: one range query per signal for every
    service (the console's rule), this service's rows picked from the answer."""
    problems: list[str] = []
    sent: list[str] = []

    async def values(lo: float, hi: float, every: float, what: str) -> dict[str, tuple[float, ...]]:
        if hi - lo < every:
            return {}
        merged, queries, trouble = await client.signal_history(
            FIELDS, lo, hi, every, PROMETHEUS_TIMEOUT_S
        )
        sent.extend(q for q in queries if q not in sent)
        problems.extend(f"{what}: {t}" for t in trouble)
        rows = np.array([s == service for s in merged.services], dtype=bool)
        out: dict[str, tuple[float, ...]] = {}
        for f in FIELDS:
            column = merged.values[rows, merged.fields.index(f)] if rows.size else np.empty(0)
            out[f] = tuple(float(v) for v in column[np.isfinite(column)])
        return out

    y = now - DAY_S
    baseline, yesterday = await asyncio.gather(
        values(start - BASELINE_S, end, step, "the hour before"),
        values(y - YESTERDAY_HALF_S, y + YESTERDAY_HALF_S, YESTERDAY_STEP_S, "yesterday"),
    )
    query = "; ".join(f"query_range {q}" for q in sent) or None
    return BaselineHistory(baseline, _medians(yesterday), query, "; ".join(problems) or None)
