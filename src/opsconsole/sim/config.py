"""Settings of one simulated backend run (re-exported by opsconsole.sim.server)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimConfig:
    tick_s: float = 1.0  # sample period
    # Divides every duration: health-check interval, breaker open timeout, alert `for`,
    # scenario length, switchover delay (and the breaker's 5-minute report window).
    time_scale: float = 1.0
    services: int = 8  # total service count; >8 adds synthetic services svc-009.. for scale tests
    token: str | None = None  # bearer token; None = no auth (demo)
    readonly_token: str | None = None  # valid for GETs/stream, 403 on mutating calls
    seed: int | None = None
    replay_capacity: int = 10_000  # state-bearing frames kept for resume/replay
    heartbeat_s: float = 1.0
    # Fallback tests: behave like a proxy in the way that refuses a transport (404 on it).
    offer_websocket: bool = True
    offer_sse: bool = True
    # A backend of the core contract only: no SLO, deploy or rollback routes, no features.
    offer_slo: bool = True
    # Added to this backend's clock (every time it stamps): a server whose clock is minutes
    # off, for the console's skew handling.
    clock_offset_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.tick_s > 0:
            raise ValueError("tick_s must be > 0")
        if not self.time_scale > 0:
            raise ValueError("time_scale must be > 0")
        if self.services < 1:
            raise ValueError("services must be >= 1")
        if self.replay_capacity < 1:
            raise ValueError("replay_capacity must be >= 1")
        if not self.heartbeat_s > 0:
            raise ValueError("heartbeat_s must be > 0")

    def __repr__(self) -> str:
        # Never let a token reach a log line through a repr.
        hidden = "'***'"
        return (
            f"SimConfig(tick_s={self.tick_s}, time_scale={self.time_scale}, "
            f"services={self.services}, token={hidden if self.token else None}, "
            f"readonly_token={hidden if self.readonly_token else None}, seed={self.seed}, "
            f"replay_capacity={self.replay_capacity}, heartbeat_s={self.heartbeat_s}, "
            f"offer_websocket={self.offer_websocket}, offer_sse={self.offer_sse}, "
            f"offer_slo={self.offer_slo})"
        )
