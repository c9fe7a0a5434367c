"""PromQL for SLOs: good and total request counts per window, for every service at once.

Pure functions only: `opsconsole.backends.promslo` sends what these decide and hands the
answers back.

Rules this module owns:

* **One query per window, never per service.** Each query aggregates `by ({service_label})`
  and carries good and total together: two `label_replace`d halves joined by `or`, told apart
  by the label `opsconsole_count`. A refresh of the seven burn windows is seven requests
  whether Prometheus knows 8 services or 8,000. SLOs that share their query text (the default,
  or the same override) share the request; an override that names `{service}` is its SLO's
  own and costs its own requests.
* **Counts, not ratios.** `increase()` over the window gives request counts, so a quiet hour
  weighs less than a busy one in any longer window (the core maths never averages ratios).
* **The whole window is a separate, rarer query**: `increase(...[30d])` reads a month of
  samples per series, the most expensive query the console sends, and a month's budget moves
  slowly; the adapter asks for it once a minute (`WHOLE_EVERY_S`) and keeps the last answer in
  between. A calendar month's range is "since the 1st, 00:00 UTC", recomputed each time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opsconsole.core.config import SloConfig
from opsconsole.core.durations import promql_duration
from opsconsole.core.promql import Vector
from opsconsole.core.slo.model import BURN_WINDOWS, WHOLE, Counts, WindowKind

# Requests that did not fail on the server's side are good: 4xx are the client's doing.
DEFAULT_GOOD = 'sum by ({service_label}) (increase(http_requests_total{{code!~"5.."}}[{window}]))'
DEFAULT_TOTAL = "sum by ({service_label}) (increase(http_requests_total[{window}]))"
COUNT_LABEL = "opsconsole_count"  # "good" or "total" on each answer row
GOOD, TOTAL = "good", "total"

SLO_EVERY_S = 10.0  # burn windows: the shortest (5 m) moves visibly in 10 s, not in 1 s
WHOLE_EVERY_S = 60.0  # the whole window: a month of samples per series, so once a minute


@dataclass(frozen=True)
class CountQuery:
    """One request of an SLO refresh: good and total counts of one window for some SLOs.

    `promql` is empty and `error` says why when a template cannot be filled in; the SLOs it
    serves then lack that window, the others do not.
    """

    window: str  # "5m" … "3d", or WHOLE
    span: str  # the PromQL range, e.g. "5m", "30d", "1234567s"
    promql: str
    services: tuple[str, ...]  # the SLOs (by service) its answer feeds
    error: str | None = None


def window_span(slo: SloConfig, window: str, at: float) -> str:
    """The PromQL range of `window` for this SLO when evaluated at `at` (server clock)."""
    if window != WHOLE:
        return window  # "5m" … "3d" are PromQL durations as they are written
    if slo.window.kind is WindowKind.ROLLING:
        return f"{slo.window.days}d"
    start, _end = slo.window.bounds(at)
    # Since the month began; at least a second, so the 1st at 00:00:00 is still a range.
    return promql_duration(max(1.0, math.floor(at - start)))


def count_promql(good: str, total: str) -> str:
    """Good and total in one answer, each row labelled `opsconsole_count`."""
    return (
        f'label_replace({good.strip()}, "{COUNT_LABEL}", "{GOOD}", "", "") or '
        f'label_replace({total.strip()}, "{COUNT_LABEL}", "{TOTAL}", "", "")'
    )


def _fill(template: str, service_label: str, span: str, service: str) -> str:
    return template.format(service_label=service_label, window=span, service=service)


def plan_counts(
    slos: Sequence[SloConfig],
    service_label: str,
    at: float,
    windows: Sequence[str] = (*BURN_WINDOWS, WHOLE),
) -> list[CountQuery]:
    """The count queries of one refresh: one per window and distinct query text, in order."""
    plan: list[CountQuery] = []
    for window in windows:
        groups: dict[str, list[str]] = {}
        spans: dict[str, str] = {}
        broken: list[CountQuery] = []
        for slo in slos:
            span = window_span(slo, window, at)
            try:
                good = _fill(slo.good or DEFAULT_GOOD, service_label, span, slo.service)
                total = _fill(slo.total or DEFAULT_TOTAL, service_label, span, slo.service)
            except (KeyError, IndexError, ValueError) as exc:
                why = f"the SLO query of {slo.service} cannot be filled in ({exc})"
                broken.append(CountQuery(window, span, "", (slo.service,), why))
                continue
            promql = count_promql(good, total)
            groups.setdefault(promql, []).append(slo.service)
            spans[promql] = span
        plan += [CountQuery(window, spans[q], q, tuple(s)) for q, s in groups.items()]
        plan += broken
    return plan


def counts_from_vector(vector: Vector, query: CountQuery, service_label: str) -> dict[str, Counts]:
    """Counts per service of the SLOs `query` serves, from its answer.

    Rows are summed per service and half (an override without `by` that keeps instances
    apart still counts right). A row without the service label belongs to the query's SLO
    only when it serves exactly one (an override written for one service). A service with a
    total but no good row served only failures (`code!~"5.."` matched nothing): good is 0.
    `increase()` extrapolates good and total separately, so good is capped at total.
    """
    wanted = set(query.services)
    only = query.services[0] if len(query.services) == 1 else None
    good: dict[str, float] = {}
    total: dict[str, float] = {}
    for sample in vector.samples:
        service = sample.labels.get(service_label) or only
        half = sample.labels.get(COUNT_LABEL)
        if service not in wanted or not math.isfinite(sample.value):
            continue
        into = good if half == GOOD else total if half == TOTAL else None
        if into is not None:
            into[service] = into.get(service, 0.0) + max(0.0, sample.value)
    return {service: Counts(min(good.get(service, 0.0), t), t) for service, t in total.items()}


def merge_windows(
    known: Mapping[str, Mapping[str, Counts]], fresh: Mapping[str, Mapping[str, Counts]]
) -> dict[str, dict[str, Counts]]:
    """Per service, the fresh windows over the known ones (the whole window is not re-read
    every refresh, so its last answer stays until the next)."""
    out = {service: dict(windows) for service, windows in known.items()}
    for service, windows in fresh.items():
        out.setdefault(service, {}).update(windows)
    return out
