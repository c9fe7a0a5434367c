"""Builders of the stream frames the sim publishes (seq 0 until the FrameLog numbers them)."""

from __future__ import annotations

from opsconsole.core.models import Circuit, CircuitStateName, EventKind
from opsconsole.core.protocol import ActionResultFrame, CircuitFrame, EventFrame, Frame
from opsconsole.sim.breaker import Transition


def event(
    kind: EventKind,
    message: str,
    ts: float,
    service: str | None = None,
    data: dict[str, object] | None = None,
) -> EventFrame:
    return EventFrame(
        seq=0, ts=ts, kind=kind, message=message, service=service, data=dict(data or {})
    )


def circuit_frame(c: Circuit, prev_state: CircuitStateName, ts: float) -> CircuitFrame:
    return CircuitFrame(
        seq=0,
        ts=ts,
        name=c.name,
        state=c.state,
        prev_state=prev_state,
        failure_count=c.failure_count,
        failure_threshold=c.failure_threshold,
        timeout_s=c.timeout_s,
        success_rate=c.success_rate,
        total_requests_5min=c.total_requests_5min,
    )


def breaker_frames(t: Transition, c: Circuit) -> list[Frame]:
    """A breaker state change: its circuit frame and the matching timeline event."""
    return [
        circuit_frame(c, t.prev_state, t.ts),
        event(
            "breaker",
            f"circuit {t.name}: {t.prev_state} → {t.state} ({t.reason})",
            t.ts,
            data={"circuit": t.name, "from": t.prev_state, "to": t.state},
        ),
    ]


def action_result(action_id: str, ok: bool, message: str, ts: float) -> ActionResultFrame:
    return ActionResultFrame(
        seq=0,
        ts=ts,
        action_id=action_id,
        status="succeeded" if ok else "failed",
        message=message,
    )
