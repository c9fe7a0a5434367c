"""The load tool's own statistics at one moment, as the referee reads them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ToolStats:
    """One reading of the tool (Locust `/stats/requests`, k6 `/v1/status` + `/v1/metrics`).

    `state` is the tool's own word ("running", "spawning", "stopped", "paused", …); `running`
    and `stopped` are the adapter's reading of it. Figures the tool does not give are None.
    """

    ts: float  # wall-clock time of the reading
    state: str
    running: bool
    stopped: bool
    users: int | None = None
    rps: float | None = None  # client-side requests per second
    fail_ratio: float | None = None  # client-side failures / requests, 0..1
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
