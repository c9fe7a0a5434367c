"""SLO PromQL: queries per window (never per service), counts from answers, Sloth, deploys."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from opsconsole.core.config import SloConfig
from opsconsole.core.promdeploys import VersionTracker
from opsconsole.core.promql import Matrix, Sample, Series, Vector
from opsconsole.core.slo.model import BURN_WINDOWS, WHOLE, Counts, SloWindow
from opsconsole.core.slopromql import COUNT_LABEL, DEFAULT_GOOD, counts_from_vector, plan_counts
from opsconsole.core.slosloth import from_ratios, pick_per_service, read_rules

AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC).timestamp()
ALL = (*BURN_WINDOWS, WHOLE)


THIRTY_DAYS = SloWindow.rolling(30)


def slos(n: int) -> list[SloConfig]:
    return [SloConfig(f"svc-{i:03d}", 0.999, THIRTY_DAYS, "prom") for i in range(n)]


def test_queries_depend_on_windows_never_on_services() -> None:
    few, many = plan_counts(slos(8), "service", AT, ALL), plan_counts(slos(200), "service", AT, ALL)
    assert len(few) == len(many) == len(ALL)
    assert [q.promql for q in few] == [q.promql for q in many]
    assert len(many[0].services) == 200
    five = few[0]
    assert five.window == "5m" and five.span == "5m"
    assert 'increase(http_requests_total{code!~"5.."}[5m])' in five.promql
    assert f'"{COUNT_LABEL}", "good"' in five.promql and f'"{COUNT_LABEL}", "total"' in five.promql
    assert few[-1].window == WHOLE and few[-1].span == "30d"


def test_whole_windows_and_overrides_group_by_query_text() -> None:
    mixed = [
        *slos(3),
        SloConfig("m", 0.99, SloWindow.rolling(28), "prom"),
        SloConfig("cal", 0.99, SloWindow.calendar_month(), "prom"),
        SloConfig("own", 0.99, SloWindow.rolling(30), "prom", good='ok{{s="{service}"}}[{window}]'),
    ]
    plan = plan_counts(mixed, "service", AT, ALL)
    by_window = {w: [q for q in plan if q.window == w] for w in ALL}
    assert all(len(by_window[w]) == 2 for w in BURN_WINDOWS)  # the default and "own"
    spans = sorted(q.span for q in by_window[WHOLE])
    # 9 days, 12 hours since 1 March 00:00 UTC; 28d; 30d for the default and for "own".
    assert spans == ["28d", "30d", "30d", f"{9 * 86400 + 12 * 3600}s"]
    own = [q for q in plan if q.services == ("own",)]
    assert len(own) == len(ALL) and 'ok{s="own"}[5m]' in own[0].promql


def test_a_template_that_cannot_be_filled_spoils_only_its_slo() -> None:
    bad = SloConfig("bad", 0.99, SloWindow.rolling(30), "prom", total="x{nope}")
    plan = plan_counts([*slos(2), bad], "service", AT, ("5m",))
    assert [(q.services, bool(q.promql), q.error is None) for q in plan] == [
        (("svc-000", "svc-001"), True, True),
        (("bad",), False, False),
    ]


def _row(service: str | None, half: str, value: float) -> Sample:
    labels = {COUNT_LABEL: half} | ({"service": service} if service else {})
    return Sample(labels, AT, value)


def test_counts_from_an_answer() -> None:
    (query,) = plan_counts(slos(3), "service", AT, ("1h",))
    answer = Vector(
        (
            _row("svc-000", "good", 990.0),
            _row("svc-000", "total", 1000.0),
            _row("svc-001", "total", 40.0),  # no good row: every request failed
            _row("svc-002", "good", 10.000001),  # extrapolated a hair over the total
            _row("svc-002", "total", 10.0),
            _row("other", "total", 5.0),  # not an SLO of this query
            _row("svc-000", "total", float("nan")),
        )
    )
    assert counts_from_vector(answer, query, "service") == {
        "svc-000": Counts(990.0, 1000.0),
        "svc-001": Counts(0.0, 40.0),
        "svc-002": Counts(10.0, 10.0),
    }


def test_an_unlabelled_answer_belongs_to_a_single_slo_query() -> None:
    own = SloConfig("own", 0.99, SloWindow.rolling(30), "prom", good="sum(ok[{window}])")
    (query,) = [
        q for q in plan_counts([own, *slos(1)], "service", AT, ("5m",)) if q.services == ("own",)
    ]
    answer = Vector((_row(None, "good", 3.0), _row(None, "total", 4.0)))
    assert counts_from_vector(answer, query, "service") == {"own": Counts(3.0, 4.0)}
    assert DEFAULT_GOOD not in query.promql


def _sloth(
    metric: str,
    value: float,
    service: str = "orders",
    slo: str = "requests-availability",
    **labels: str,
) -> Sample:
    return Sample(
        {"__name__": metric, "sloth_service": service, "sloth_slo": slo, **labels}, AT, value
    )


def test_sloth_ratios_become_one_unit_of_traffic() -> None:
    answer = Vector(
        (
            _sloth("slo:objective:ratio", 0.999),
            _sloth("slo:time_period:days", 28),
            _sloth("slo:sli_error:ratio_rate5m", 0.002, sloth_window="5m"),
            _sloth("slo:sli_error:ratio_rate1h", 0.0005, sloth_window="1h"),
            _sloth("slo:sli_error:ratio_rate4w", 0.0001, sloth_window="4w"),
            _sloth("slo:sli_error:ratio_rate6h", float("nan"), sloth_window="6h"),  # no traffic
            _sloth("slo:objective:ratio", 0.95, slo="latency"),
        )
    )
    chosen, notes = pick_per_service(read_rules(answer))
    assert [c.name for c in chosen] == ["requests-availability"]
    assert notes == ["orders: Sloth SLO requests-availability shown (latency not)"]
    obs = from_ratios(chosen[0], AT)
    assert obs is not None
    assert obs.slo.objective == 0.999 and obs.slo.window == SloWindow.rolling(28)
    assert set(obs.windows) == {"5m", "1h", WHOLE}
    five = obs.counts("5m")
    assert five is not None and five.total == 1.0 and five.error_ratio == pytest.approx(0.002)


def test_a_sloth_slo_without_its_objective_is_left_out() -> None:
    (rule,) = read_rules(Vector((_sloth("slo:sli_error:ratio_rate5m", 0.1, sloth_window="5m"),)))
    assert from_ratios(rule, AT) is None


def _versions(*rows: tuple[str, str, list[float]]) -> Matrix:
    series = []
    for service, version, times in rows:
        ts = np.array(times)
        series.append(Series({"service": service, "version": version}, ts, np.ones(ts.size)))
    return Matrix(tuple(series))


def test_version_changes_are_deploys_and_the_first_sight_is_a_baseline() -> None:
    tracker = VersionTracker("prom", "service")
    assert tracker.feed(_versions(("orders", "v41", [0, 10, 20]))) == []
    assert tracker.current("orders") == "v41"
    # A rolling deploy: v42 runs beside v41 from 30, v41 is gone at 50.
    first = tracker.feed(_versions(("orders", "v41", [30, 40]), ("orders", "v42", [30, 40, 50])))
    assert [(d.version, d.prev_version, d.ts) for d in first] == [("v42", "v41", 30.0)]
    assert first[0].id == "prom:orders:v42:30"
    # v42 goes away while v41 comes back: a rollback is a deploy of the older version.
    back = tracker.feed(_versions(("orders", "v41", [60, 70]), ("orders", "v42", [50])))
    assert [(d.version, d.prev_version, d.ts) for d in back] == [("v41", "v42", 60.0)]
    assert tracker.feed(_versions(("orders", "v41", [60, 70]))) == []  # read before: nothing new
