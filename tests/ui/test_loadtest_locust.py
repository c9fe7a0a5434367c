"""The window referees a real Locust run against the reference backend and stops it on a fault.

`:loadtest watch` with real Locust (from PyPI, its web UI on a loopback port) loading the
reference backend's shop; an error_burst on payments makes the error-rate stop condition hold;
the console counts down and stops Locust through its API. Locust itself reports stopped, the
audit log has the stop (intent, then its outcome), the timeline has the criteria transitions,
and `:loadtest report` marks the condition that held with its time in violation.
"""

from __future__ import annotations

import httpx
import pytest

from opsconsole.core.audit import read_records
from opsconsole.core.loadtest.spec import Criterion, LoadTestSpec
from tests.support.console import command_line, live_console
from tests.support.waiting import wait_until


def checkout_spec(url: str) -> LoadTestSpec:
    """The issue's shape with short times: error rate > 3 % over 2 s, held 3 s, stops it."""
    return LoadTestSpec(
        name="checkout",
        tool="locust",
        url=url,
        services=("orders", "payments"),
        backend="sim",
        countdown_s=2.0,
        success=(
            Criterion("p99_ms", "latency_p99_ms", 5000, True, 3, 4, "success"),
            Criterion("max_error_ratio", "error_ratio", 0.05, True, 3, 4, "success"),
        ),
        stops=(Criterion("stop:error_ratio>0.03/3s", "error_ratio", 0.03, True, 2, 3, "stop"),),
    )


@pytest.fixture
def console_live(qtbot, tmp_path, sim_thread):
    sim = sim_thread()
    console, _keyboard = live_console(qtbot, tmp_path, sim.url)
    yield console, sim
    console.close()


def test_an_error_burst_is_counted_down_and_locust_is_stopped_from_the_window(
    console_live, qloop, qtbot, tmp_path, locust_factory
):
    console, sim = console_live
    window, client = console.window, console.clients["sim"]
    tests = console.loadtests
    panel = window.loadtest
    states: list[str] = []

    def phase() -> str:
        view = panel.view_shown
        if view is not None and (not states or states[-1] != view.phase):
            states.append(view.phase)
        return view.phase if view is not None else ""

    def judged() -> bool:
        view = panel.view_shown
        return view is not None and all(c.state == "pass" for c in view.criteria)

    async def scenario() -> None:
        locust = await locust_factory.astart(sim.url, users=10)
        tests.specs = lambda: (checkout_spec(locust.url),)
        tests.records, tests.reports = tmp_path / "records", tmp_path / "reports"
        client.start()
        try:
            await wait_until(
                lambda: "orders" in console.ctx.store.backend("sim").series, 20, "orders' data"
            )
            command_line(qtbot, window, "loadtest watch checkout")
            await wait_until(lambda: phase() == "running" and judged(), 20, "every criterion ok")
            async with httpx.AsyncClient() as http:
                answer = await http.post(
                    f"{sim.url}/api/v1/sim/scenario",
                    json={"name": "error_burst", "target": "payments", "duration_s": 120},
                )
                answer.raise_for_status()
            await wait_until(lambda: phase() == "counting down", 30, "the countdown")
            # The banner follows at the panel's next refresh (the shared 0.5 s grid).
            await wait_until(
                lambda: panel.banner_text().startswith("Stopping Locust in "), 5, "the banner"
            )
            await wait_until(lambda: phase() in ("stopping", "finished"), 10, "the stop")
            await wait_until(lambda: phase() == "finished", 45, "the end")
            # Locust itself says the test is stopped.
            assert (await locust.astats())["state"] == "stopped"
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=150)
    assert states[:4] == ["running", "counting down", "stopping", "finished"], states
    result = tests.last_result
    assert result is not None and result.verdict == "stopped" and result.exit_code == 3
    assert result.stop is not None and result.stop.outcome is not None
    assert result.stop.outcome.startswith(
        "Locust reports stopped; traffic of orders, payments fell"
    )
    # The audit log: the stop's intent before the request, then what came of it; once.
    records = [r for _n, r in read_records(console.audit.path) if r is not None]
    stops = [r for r in records if r.get("command") == "loadtest.stop"]
    assert [r["phase"] for r in stops] == ["intent", "result"], stops
    assert stops[1]["outcome"] == "succeeded"
    # The timeline: the stop condition went from ok to breaching to held, then the verdict.
    words = [e.message for e in reversed(console.timeline.recent(kinds=("loadtest",)))]
    stop_lines = [w for w in words if "error rate > 3 %" in w]
    assert len(stop_lines) >= 2, words
    assert words[-1] == "Load test checkout: stopped (exit code 3)", words
    stop = next(c for c in result.criteria if c.kind == "stop")
    assert stop.verdict == "held"
    assert 2.0 <= stop.violation_s <= 3.0 + 2.0 + 5.0, stop

    # The report marks the condition that held, with its time in violation.
    async def report() -> None:
        command_line(qtbot, window, "loadtest report")
        await wait_until(lambda: tests.last_report is not None, 30, "the report")

    qloop.run(report(), timeout=40)
    text = tests.last_report.read_text()
    assert "held: stopped the test" in text
    assert "error rate > 3 %" in text
