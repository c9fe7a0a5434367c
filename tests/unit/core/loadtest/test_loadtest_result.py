"""The result record (JSON both ways) and the Markdown report of a stopped load test."""

from __future__ import annotations

import msgspec
import pytest

from opsconsole.core.loadtest.report import report_markdown
from opsconsole.core.loadtest.result import result_from_json, result_json
from tests.unit.core.loadtest.feeding import T0, Run, spec, stop, success


def stopped_run() -> Run:
    p95 = success("p95_ms", "latency_p95_ms", 500.0, hold=30.0)
    errors = stop("error_ratio", 0.01, hold=120.0)
    run = Run(spec(p95, errors))
    for t in range(60):
        run.tick(t)
    for t in range(60, 181):  # errors and slow answers from +1 min: held 2 min at +3 min
        run.tick(t, error_ratio=0.05, latency_p95_ms=750.0 if t < 100 else 620.0)
    return run


def test_the_result_survives_json_and_says_how_the_test_ended() -> None:
    run = stopped_run()
    due = run.referee.stop_due
    assert due is not None
    result = run.referee.finish(
        T0 + 185, due, stop_outcome="the tool reports stopped", budget_consumed={"orders": 0.02}
    )
    again = result_from_json(result_json(result))
    assert again == result
    assert (again.verdict, again.exit_code, again.duration_s) == ("stopped", 3, 185.0)
    p95, errors = again.criteria
    assert (p95.verdict, p95.violation_s, p95.worst, p95.failed_at) == (
        "failed",
        120.0,
        750.0,
        T0 + 90,
    )
    assert (errors.verdict, errors.violation_s, errors.unit) == ("held", 120.0, "ratio")
    with pytest.raises(msgspec.DecodeError):
        result_from_json(b'{"name": "checkout", ')


def test_the_report_marks_the_failed_criterion_with_its_time_in_violation() -> None:
    run = stopped_run()
    due = run.referee.stop_due
    assert due is not None
    result = run.referee.finish(
        T0 + 185,
        due,
        stop_outcome="the tool reports stopped",
        budget_consumed={"orders": 0.02, "payments": None},
    )
    text = report_markdown(result, ["charts/latency.png", "charts/errors.png"])
    assert text.startswith("# Load test 'checkout': stopped\n")
    assert "exit code 3" in text
    assert "| p95 ≤ 500 ms | **FAILED** | 2 min 00 s | 750 ms |" in text
    assert (
        "| error rate > 1 % for 2 min (stop) | **held: stopped the test** | 2 min 00 s | 5 % |"
        in text
    )
    assert "- Why: error rate stayed above 1 % for 2 min" in text
    assert "- When: 2027-01-15 08:03:00 UTC (+3 min 00 s)" in text
    assert "- Outcome: the tool reports stopped" in text
    assert "| orders | 2 % of the budget |" in text
    assert "| payments | no SLO data |" in text
    assert "| +1 min 00 s | p95 ≤ 500 ms | pass | breaching |" in text
    assert "![latency](charts/latency.png)" in text


def test_a_clean_run_reports_a_pass_with_nothing_stopped() -> None:
    p95 = success("p95_ms", "latency_p95_ms", 500.0, hold=30.0)
    run = Run(spec(p95, stop("error_ratio", 0.01)))
    for t in range(120):
        run.tick(t)
    result = run.referee.finish(T0 + 120, run.referee.stop_due)
    assert (result.verdict, result.exit_code, result.stop) == ("passed", 0, None)
    text = report_markdown(result)
    assert "| p95 ≤ 500 ms | pass | none | 80 ms |" in text
    assert "Nothing stopped the test." in text
    assert "No SLO covers these services on this backend." in text
    assert "## Charts" not in text
