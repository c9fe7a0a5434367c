"""The simulated e-commerce system of domain.md as pure data: services, dependencies, database.

Each service has a traffic/latency profile; dependencies sit behind circuit breakers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from opsconsole.core.models import Service, Slo

CLUSTER = "orders-db"
CLUSTER_PRIMARY = "primary-db"
CLUSTER_REPLICAS = ("replica-1", "replica-2", "replica-3")


DAY_S = 86_400.0
_SWING, _PEAK_PHASE = 0.3, 0.375  # ±30 % around the base rate, lowest at 03:00 UTC


def daily_curve(ts: float) -> float:
    """Traffic relative to the base rate by time of day (UTC): 0.7 at 03:00, 1.3 at 15:00."""
    day = (ts % DAY_S) / DAY_S
    return 1.0 + _SWING * math.sin(2.0 * math.pi * (day - _PEAK_PHASE))


def daily_curves(ts: np.ndarray) -> np.ndarray:
    """`daily_curve` of many times at once."""
    day = np.mod(ts, DAY_S) / DAY_S
    return 1.0 + _SWING * np.sin(2.0 * np.pi * (day - _PEAK_PHASE))


@dataclass(frozen=True)
class DependencySpec:
    """A downstream dependency behind its own circuit breaker."""

    name: str
    failure_threshold: int
    timeout_s: float
    # While the breaker is open callers fall back; this share of fallback answers still fails
    # (e.g. a charge cannot be served from cache), the rest is served from cache, fast.
    fallback_error_p: float


DEPENDENCIES: tuple[DependencySpec, ...] = (
    DependencySpec("inventory-service", 3, 30.0, fallback_error_p=0.3),
    DependencySpec("analytics-service", 5, 60.0, fallback_error_p=0.0),
    DependencySpec("payment-service", 5, 60.0, fallback_error_p=1.0),
    DependencySpec("user-service", 5, 60.0, fallback_error_p=0.1),
)


@dataclass(frozen=True)
class ServiceSpec:
    service: Service
    base_rps: float
    latency_median_ms: float
    latency_sigma: float  # lognormal sigma of the main mode
    slow_p: float  # share of requests in the slow mode (cache miss, GC pause): the long tail
    slow_factor: float
    error_p: float
    capacity_rps: float  # CPU is load over capacity; latency queues up above ~70 %
    memory_base: float
    # (dependency, share of this service's requests that call it)
    calls: tuple[tuple[str, float], ...] = ()
    db_write_share: float = 0.0  # share of requests that need a writable orders-db primary
    # The SLO's window as the Ops API writes it: "30d", "28d" (rolling) or "1M" (calendar
    # month); its objective is `service.slo.target`.
    slo_window: str = "30d"


# name: (display name, tier, depends_on). depends_on names services, breaker-protected
# dependencies (circuit names) and the database cluster, so a console can link them all.
_META: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "api-gateway": (
        "API Gateway",
        "edge",
        ("orders", "payments", "inventory", "users", "search", "user-service"),
    ),
    "orders": (
        "Orders",
        "critical",
        ("inventory", "payments", "inventory-service", "payment-service", CLUSTER),
    ),
    "payments": ("Payments", "critical", ("payment-service", "users")),
    "inventory": ("Inventory", "core", ("inventory-service",)),
    "users": ("Users & Auth", "core", ("user-service",)),
    "analytics": ("Analytics", "non-critical", ("analytics-service", "orders")),
    "notifications": ("Notifications", "non-critical", ("users",)),
    "search": ("Search", "core", ("inventory",)),
}
# rps, median ms, sigma, slow share, slow factor, error p, capacity rps, memory base
_PROFILES: dict[str, tuple[float, float, float, float, float, float, float, float]] = {
    "api-gateway": (400.0, 12.0, 0.35, 0.01, 8.0, 0.0003, 1_100.0, 0.40),
    "orders": (120.0, 40.0, 0.35, 0.02, 4.0, 0.0005, 400.0, 0.45),
    "payments": (60.0, 50.0, 0.30, 0.02, 3.0, 0.0005, 200.0, 0.42),
    "inventory": (150.0, 20.0, 0.30, 0.01, 5.0, 0.0003, 600.0, 0.38),
    "users": (200.0, 15.0, 0.30, 0.01, 6.0, 0.0003, 800.0, 0.33),
    "analytics": (40.0, 60.0, 0.35, 0.02, 2.2, 0.0003, 150.0, 0.45),
    "notifications": (30.0, 25.0, 0.35, 0.01, 4.0, 0.0002, 150.0, 0.30),
    "search": (180.0, 35.0, 0.40, 0.02, 4.0, 0.0005, 500.0, 0.42),
}
_CALLS: dict[str, tuple[tuple[str, float], ...]] = {
    "api-gateway": (("user-service", 0.2),),
    "orders": (("inventory-service", 0.5), ("payment-service", 0.3)),
    "payments": (("payment-service", 0.9),),
    "inventory": (("inventory-service", 0.6),),
    "users": (("user-service", 0.5),),
    "analytics": (("analytics-service", 0.8),),
}
_DB_WRITE_SHARE = {"orders": 0.4}
# Objective and window per service; a calendar month ("1M") is not "30d", and shows it.
_SLOS: dict[str, tuple[float, str]] = {
    "api-gateway": (0.999, "30d"),
    "orders": (0.999, "30d"),
    "payments": (0.999, "1M"),
    "inventory": (0.999, "28d"),
    "users": (0.9995, "30d"),
    "analytics": (0.99, "30d"),
    "notifications": (0.995, "28d"),
    "search": (0.999, "30d"),
}


def _default_spec(name: str, known: set[str]) -> ServiceSpec:
    display, tier, depends_on = _META[name]
    rps, median, sigma, slow_p, slow_x, err, capacity, memory = _PROFILES[name]
    objective, window = _SLOS[name]
    return ServiceSpec(
        service=Service(
            name=name,
            display_name=display,
            tier=tier,
            # Edges to services not simulated in a small configuration are dropped.
            depends_on=tuple(d for d in depends_on if d in known),
            # services[].slo has whole days only: a calendar month reads as 30 there.
            slo=Slo(target=objective, window_days=int(window[:-1]) if window[-1] == "d" else 30),
        ),
        base_rps=rps,
        latency_median_ms=median,
        latency_sigma=sigma,
        slow_p=slow_p,
        slow_factor=slow_x,
        error_p=err,
        capacity_rps=capacity,
        memory_base=memory,
        calls=_CALLS.get(name, ()),
        db_write_share=_DB_WRITE_SHARE.get(name, 0.0),
        slo_window=window,
    )


def _synthetic_spec(n: int, rng: np.random.Generator) -> ServiceSpec:
    rps = float(rng.uniform(5.0, 200.0))
    return ServiceSpec(
        service=Service(name=f"svc-{n:03d}", display_name=f"Synthetic {n:03d}", tier="synthetic"),
        base_rps=rps,
        latency_median_ms=float(rng.uniform(5.0, 80.0)),
        latency_sigma=float(rng.uniform(0.25, 0.5)),
        slow_p=0.01,
        slow_factor=float(rng.uniform(3.0, 6.0)),
        error_p=0.0005,
        capacity_rps=rps / float(rng.uniform(0.2, 0.6)),  # loads of 20–60 %
        memory_base=float(rng.uniform(0.2, 0.6)),
    )


def build_services(count: int, rng: np.random.Generator) -> tuple[ServiceSpec, ...]:
    """The first `count` default services; beyond 8, synthetic `svc-009`… for scale tests."""
    if count < 1:
        raise ValueError("at least one service is needed")
    names = list(_META)[:count]
    known = set(names) | {d.name for d in DEPENDENCIES} | {CLUSTER}
    specs = [_default_spec(name, known) for name in names]
    specs.extend(_synthetic_spec(n, rng) for n in range(len(specs) + 1, count + 1))
    return tuple(specs)
