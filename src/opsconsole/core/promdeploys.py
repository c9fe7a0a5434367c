"""Deploys read off a Prometheus series whose `version` label changes (a build-info metric).

The config's `deploys` query (per prometheus backend) answers one series per service and
version that is running, e.g. `max by ({service_label}, version) (app_build_info)`. Read as a
range, a version that appears is a deploy of it (during a rolling deploy old and new run side
by side: the newcomer is the current version from its first sample). When the current version
disappears while another still runs (an aborted rollout, a rollback), the one still running is
current again, which is a deploy too. The first sighting of a service is its baseline, not a
deploy: nothing says when that version went out.

The resolution is the query's step (a deploy is stamped with the first step that saw it), and
Prometheus' 5-minute lookback keeps a vanished version "running" for up to 5 minutes; neither
matters for a marker on a month-long burn-down or an assessment hours after the deploy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from opsconsole.core.promql import Matrix
from opsconsole.core.slo.model import Deploy

VERSION_LABEL = "version"
DEPLOY_LOOKBACK_S = 31 * 86_400.0  # the first load: a calendar month and a day


@dataclass
class _Running:
    current: str
    present: frozenset[str]
    last_ts: float


@dataclass
class VersionTracker:
    """Each service's current version across range answers; turns changes into Deploys."""

    backend: str
    service_label: str
    version_label: str = VERSION_LABEL
    _running: dict[str, _Running] = field(default_factory=dict)

    def current(self, service: str) -> str | None:
        known = self._running.get(service)
        return None if known is None else known.current

    def feed(self, matrix: Matrix) -> list[Deploy]:
        """The deploys in a range answer newer than anything fed before, oldest first."""
        seen: dict[str, dict[float, set[str]]] = {}
        for series in matrix.series:
            service = series.labels.get(self.service_label)
            version = series.labels.get(self.version_label)
            if not service or not version:
                continue
            times = seen.setdefault(service, {})
            for ts, value in zip(series.ts.tolist(), series.values.tolist(), strict=True):
                if math.isfinite(value):
                    times.setdefault(ts, set()).add(version)
        deploys: list[Deploy] = []
        for service, times in sorted(seen.items()):
            deploys += self._follow(service, times)
        deploys.sort(key=lambda d: (d.ts, d.service))
        return deploys

    def _follow(self, service: str, times: dict[float, set[str]]) -> list[Deploy]:
        out: list[Deploy] = []
        known = self._running.get(service)
        for ts in sorted(times):
            if known is not None and ts <= known.last_ts:
                continue  # already read (a range that overlaps the last one)
            present = frozenset(times[ts])
            if known is None:
                # Baseline: the newest-sorting version when several run at the first sight.
                known = _Running(max(present), present, ts)
                continue
            new = present - known.present
            current = known.current
            if new:
                current = max(new)
            elif current not in present:
                current = max(present)
            if current != known.current:
                out.append(
                    Deploy(
                        id=f"{self.backend}:{service}:{current}:{ts:.0f}",
                        service=service,
                        version=current,
                        prev_version=known.current,
                        ts=ts,
                    )
                )
            known = _Running(current, present, ts)
        if known is not None:
            self._running[service] = known
        return out
