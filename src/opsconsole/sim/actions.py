"""Operator actions and scenarios: vetted, applied to the World, answered with body + frames."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import msgspec

from opsconsole.core.protocol import ActionAccepted, AlertFrame, Frame
from opsconsole.sim.errors import ApiError
from opsconsole.sim.failover import FailoverManager
from opsconsole.sim.frames import action_result, circuit_frame, event
from opsconsole.sim.scenarios import CATALOG, MAX_DURATION_S, ScenarioRequest, ScenarioStarted
from opsconsole.sim.topology import CLUSTER
from opsconsole.sim.world import World

CIRCUIT_ACTIONS = ("force_open", "close", "reset")
SWITCHOVER_DELAY_S = 1.0  # an accepted switchover/failover completes this long after (scaled)
ROLLBACK_DELAY_S = 1.0  # an accepted rollback completes this long after (scaled)


def new_action_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Outcome:
    """What an operator request produced: the answer body and the frames to publish."""

    body: msgspec.Struct
    frames: list[Frame]
    status: int = 200


class Operator:
    """Every change an API caller can ask for goes through here."""

    def __init__(self, world: World) -> None:
        self.world = world

    def circuit_action(self, name: str, action: str, now: float) -> Outcome:
        breaker = self.world.breakers.get(name)
        if breaker is None:
            raise ApiError(
                "not_found", f"no circuit named {name!r}", {"circuits": sorted(self.world.breakers)}
            )
        if action not in CIRCUIT_ACTIONS:
            raise ApiError(
                "bad_request",
                f"unknown circuit action {action!r}",
                {"valid": list(CIRCUIT_ACTIONS)},
            )
        action_id = new_action_id()
        before = breaker.state
        transition = getattr(breaker, action)(now)
        frames: list[Frame] = []
        if transition is not None:
            frames += self.world.breaker_frames(transition, now)
            message = f"circuit {name}: {transition.prev_state} → {transition.state}"
        elif action == "reset":
            # Counts were cleared without a state change: still a new circuit state to show.
            c = breaker.snapshot(now)
            frames.append(circuit_frame(c, before, now))
            message = f"circuit {name}: counts reset, stays {c.state}"
        else:
            message = f"circuit {name} already {breaker.state}; nothing to do"
        frames.append(action_result(action_id, True, message, now))
        return Outcome(
            ActionAccepted(action_id=action_id, status="succeeded", message=message), frames
        )

    def _get_cluster(self, name: str) -> FailoverManager:
        cluster = self.world.clusters.get(name)
        if cluster is None:
            raise ApiError(
                "not_found",
                f"no database cluster named {name!r}",
                {"clusters": sorted(self.world.clusters)},
            )
        return cluster

    def request_promotion(
        self, cluster_name: str, candidate: str | None, *, planned: bool, by: str, now: float
    ) -> Outcome:
        """Operator switchover (`planned`) or failover: vet now, act after a short delay."""
        cluster = self._get_cluster(cluster_name)
        verb = "switchover" if planned else "failover"
        chosen, reasons = cluster.vet(candidate, planned=planned)
        if chosen is None:
            why = "; ".join(f"{member}: {reason}" for member, reason in reasons.items())
            raise ApiError(
                "precondition_failed",
                f"{verb} of {cluster_name} refused: "
                + (f"{candidate} is not eligible" if candidate else "no eligible replica")
                + f" ({why})",
                {"reasons": reasons, "eligible": self._eligible(cluster)},
            )
        action_id = new_action_id()
        due = now + SWITCHOVER_DELAY_S / self.world.config.time_scale

        def run(at: float) -> list[Frame]:
            again, why = cluster.vet(chosen, planned=planned)
            if again is None:
                text = f"{verb} of {cluster_name} to {chosen} failed: " + "; ".join(
                    f"{m}: {r}" for m, r in why.items()
                )
                return [
                    event("action", text, at, data={"action_id": action_id}),
                    action_result(action_id, False, text, at),
                ]
            change = cluster.promote(chosen, at, planned=planned, by=by)
            frames = self.world.cluster_frames([change], at)
            return [*frames, action_result(action_id, True, change.message, at)]

        self.world.schedule(due, run)
        message = f"{verb} of {cluster_name} to {chosen} requested by {by}"
        return Outcome(
            ActionAccepted(action_id=action_id, status="accepted", message=message),
            [event("action", message, now, data={"action_id": action_id, "candidate": chosen})],
            status=202,
        )

    def _eligible(self, cluster: FailoverManager) -> list[str]:
        return [m for m in cluster.members if cluster.ineligibility(m) is None]

    def set_read_only(self, cluster_name: str, enabled: bool, by: str, now: float) -> Outcome:
        cluster = self._get_cluster(cluster_name)
        action_id = new_action_id()
        change = cluster.set_read_only(enabled, now, by)
        if change is None:
            message = f"{cluster_name} read-only already {'on' if enabled else 'off'}"
            frames: list[Frame] = []
        else:
            message = change.message
            frames = self.world.cluster_frames([change], now)
        frames.append(action_result(action_id, True, message, now))
        return Outcome(
            ActionAccepted(action_id=action_id, status="succeeded", message=message), frames
        )

    def ack_alert(self, alert_id: str, by: str, comment: str, now: float) -> Outcome:
        found = self.world.alerts.ack(alert_id, by, now)
        if found is None:
            raise ApiError("not_found", f"no alert with id {alert_id!r}")
        alert, changed = found
        action_id = new_action_id()
        frames: list[Frame] = []
        if changed:
            message = f"alert {alert_id} acknowledged by {by}" + (f": {comment}" if comment else "")
            frames.append(AlertFrame(seq=0, ts=now, alert=alert))
            frames.append(event("action", message, now, service=alert.service))
        else:
            message = f"alert {alert_id} was already acknowledged by {alert.acked_by}"
        frames.append(action_result(action_id, True, message, now))
        return Outcome(
            ActionAccepted(action_id=action_id, status="succeeded", message=message), frames
        )

    def roll_back(self, service: str, by: str, now: float) -> Outcome:
        """Return `service` to its previous version, a moment after accepting."""
        if service not in self.world.index:
            raise ApiError(
                "not_found", f"no service named {service!r}", {"services": list(self.world.names)}
            )
        releases = self.world.releases
        if service in releases.pending:
            raise ApiError("conflict", f"a rollback of {service} is already under way")
        plan = releases.rollback_plan(service)
        if plan is None:
            running = releases.running(service)
            raise ApiError(
                "precondition_failed",
                f"rollback of {service} refused: nothing to roll back to",
                {"reasons": {service: f"only {running} has run here; no previous version"}},
            )
        action_id = new_action_id()
        releases.pending.add(service)

        def run(at: float) -> list[Frame]:
            releases.pending.discard(service)
            if releases.rollback_plan(service) != plan:
                text = (
                    f"rollback of {service} to {plan.target} failed: it now runs "
                    f"{releases.running(service)}, not {plan.running}"
                )
                return [
                    event("action", text, at, service=service, data={"action_id": action_id}),
                    action_result(action_id, False, text, at),
                ]
            deployed = self.world.roll_back(plan, at, by)
            done = f"{service} rolled back to {plan.target} (from {plan.running})"
            return [action_result(action_id, True, done, at), deployed]

        self.world.schedule(now + ROLLBACK_DELAY_S / self.world.config.time_scale, run)
        message = f"rollback of {service} from {plan.running} to {plan.target} requested by {by}"
        data = {"action_id": action_id, "version": plan.target}
        return Outcome(
            ActionAccepted(action_id=action_id, status="accepted", message=message),
            [event("action", message, now, service=service, data=data)],
            status=202,
        )

    # ------------------------------------------------------------------ scenarios

    def _resolve_member(self, target: str) -> str:
        cluster_name, _, member = target.partition("/")
        if cluster_name in self.world.clusters:
            cluster = self.world.clusters[cluster_name]
            if not member:
                if cluster.primary is None:
                    raise ApiError("bad_request", f"{cluster_name} has no primary")
                return cluster.primary
            if member in cluster.members:
                return member
        elif not member and any(target in c.members for c in self.world.clusters.values()):
            return target
        valid = [f"{c}/{m}" for c, cl in self.world.clusters.items() for m in cl.members]
        raise ApiError(
            "bad_request",
            f"unknown database member {target!r}",
            {"valid": [*self.world.clusters, *valid]},
        )

    def start_scenario(self, req: ScenarioRequest, now: float) -> Outcome:
        kind = CATALOG.get(req.name)
        if kind is None:
            raise ApiError(
                "bad_request",
                f"unknown scenario {req.name!r}; valid: {', '.join(CATALOG)}",
                {"valid": list(CATALOG)},
            )
        if kind.name == "recover":
            ended = self.world.scenarios.clear()
            frames = [self.world.scenario_event(s, now, ended_early=True) for s in ended]
            frames.append(
                event(
                    "scenario",
                    f"recover: {len(ended)} scenario(s) ended",
                    now,
                    data={"scenario": "recover", "ended": [s.name for s in ended]},
                )
            )
            body = ScenarioStarted("recover", None, now, None, tuple(ended))
            return Outcome(body, frames, status=202)

        target = req.target if req.target is not None else kind.default_target
        if kind.target_kind == "service":
            if target not in self.world.index:
                raise ApiError(
                    "bad_request", f"unknown service {target!r}", {"valid": list(self.world.names)}
                )
            if kind.name == "bad_deploy":
                frames = self.world.deploy(target, now, "ci", bad=True)
                return Outcome(ScenarioStarted(kind.name, target, now, None), frames, status=202)
        elif kind.target_kind == "dependency":
            if target not in self.world.breakers:
                raise ApiError(
                    "bad_request",
                    f"unknown dependency {target!r}",
                    {"valid": list(self.world.breakers)},
                )
        elif kind.target_kind == "member":
            target = self._resolve_member(target if target is not None else CLUSTER)
        duration = req.duration_s if req.duration_s is not None else kind.default_duration_s
        if not (0 < duration <= MAX_DURATION_S) or not math.isfinite(duration):
            raise ApiError(
                "bad_request",
                f"duration_s must be in (0, {MAX_DURATION_S:.0f}]",
                {"duration_s": duration},
            )
        until = now + duration / self.world.config.time_scale
        active = self.world.scenarios.start(kind.name, target, now, until)
        frames: list[Frame] = [
            event(
                "scenario",
                f"scenario {kind.name} started on {target}: {kind.description}",
                now,
                service=target if target in self.world.index else None,
                data={
                    "scenario": kind.name,
                    "target": target,
                    "state": "started",
                    "until_ts": until,
                },
            )
        ]
        body = ScenarioStarted(active.name, active.target, active.started_ts, active.until_ts)
        return Outcome(body, frames, status=202)
