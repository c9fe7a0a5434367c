"""Which version each simulated service runs, what it could roll back to, and every deploy (pure).

A service's versions in effect form a stack: a deploy pushes one, a rollback pops the running
one (it is never returned to by a later rollback) and runs the one below. A bad version fails
about 1.2 % of requests (domain.md's worked example: 0.1 % before, 1.2 % after).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from opsconsole.core.slo.model import Deploy

BAD_VERSION_ERROR_P = 0.012
_NUMBER = re.compile(r"(\d+)$")


def version_number(version: str) -> int:
    match = _NUMBER.search(version)
    return int(match.group(1)) if match else 0


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback of `service` would do now: leave `running` for `target`."""

    service: str
    running: str
    target: str


class Releases:
    def __init__(self, services: Iterable[str]) -> None:
        self._stacks: dict[str, list[str]] = {s: [] for s in services}
        self._bad: set[tuple[str, str]] = set()
        self._highest: dict[str, int] = {s: 0 for s in self._stacks}
        self.log: list[Deploy] = []  # oldest first
        self._times: list[float] = []  # the log's times, for `since`
        self.pending: set[str] = set()  # services with a rollback accepted, not yet done

    def running(self, service: str) -> str | None:
        stack = self._stacks.get(service)
        return stack[-1] if stack else None

    def is_bad(self, service: str) -> bool:
        running = self.running(service)
        return running is not None and (service, running) in self._bad

    def next_version(self, service: str) -> str:
        return f"v{self._highest[service] + 1}"

    def deploy(
        self, service: str, version: str, ts: float, by: str, *, bad: bool = False
    ) -> Deploy:
        """`version` goes live on `service` at `ts`."""
        stack = self._stacks[service]
        deploy = Deploy(
            id=f"{service}-{version}-{ts:.3f}",
            service=service,
            version=version,
            prev_version=stack[-1] if stack else None,
            ts=ts,
            by=by,
        )
        stack.append(version)
        self._highest[service] = max(self._highest[service], version_number(version))
        if bad:
            self._bad.add((service, version))
        self._record(deploy)
        return deploy

    def rollback_plan(self, service: str) -> RollbackPlan | None:
        """None when only one version has ever been in effect: nothing to roll back to."""
        stack = self._stacks[service]
        if len(stack) < 2:
            return None
        return RollbackPlan(service, stack[-1], stack[-2])

    def roll_back(self, plan: RollbackPlan, ts: float, by: str) -> Deploy:
        """Carry out `plan` (the caller checked it still holds); the rollback is a deploy too."""
        stack = self._stacks[plan.service]
        stack.pop()
        deploy = Deploy(
            id=f"{plan.service}-{plan.target}-{ts:.3f}",
            service=plan.service,
            version=plan.target,
            prev_version=plan.running,
            ts=ts,
            by=by,
        )
        self._record(deploy)
        return deploy

    def _record(self, deploy: Deploy) -> None:
        # Seeded history arrives in order per service, services one after the other.
        at = bisect.bisect_right(self._times, deploy.ts)
        self._times.insert(at, deploy.ts)
        self.log.insert(at, deploy)

    def since(self, ts: float) -> list[Deploy]:
        """Deploys at or after `ts`, oldest first."""
        return self.log[bisect.bisect_left(self._times, ts) :]
