"""Writes a finished load test's report: the Markdown and one chart per service under test."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from opsconsole.app.loadtestrecords import LoadTestRun, run_of
from opsconsole.core.loadtest.report import report_markdown
from opsconsole.core.loadtest.result import LoadTestResult
from opsconsole.core.store import Store

MARKDOWN_FILE = "report.md"
#: Chart margin each side of the test, so the charts show the load arrive and leave.
CHART_MARGIN_S = 60.0


def report_folder(result: LoadTestResult, out_dir: Path) -> Path:
    """`out_dir/<name>-<start, UTC>`: one folder per run, never overwriting another's."""
    stamp = datetime.fromtimestamp(result.started, UTC).strftime("%Y%m%dT%H%M%SZ")
    return out_dir / (re.sub(r"[^A-Za-z0-9._-]+", "_", result.name) + f"-{stamp}")


def write_report(result: LoadTestResult, store: Store, out_dir: Path) -> Path:
    """The report of a test the console watched, with the samples its store still holds."""
    backend = next(
        (n for n, s in store.backends.items() if any(x in s.series for x in result.services)),
        None,
    )
    return write_run_report(run_of(result, store, backend), out_dir)


def write_run_report(run: LoadTestRun, out_dir: Path) -> Path:
    """The charts (p99, error ratio and traffic of each service over the test window, with its
    start, the stop and the end marked), then the Markdown; returns the Markdown's path."""
    from opsconsole.app.postmortemplot import Marker, render_signals

    result = run.result
    folder = report_folder(result, out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    markers = [Marker(result.started, "test started", "start")]
    if result.stop is not None:
        markers.append(Marker(result.stop.ts, "stop due", "action"))
    markers.append(Marker(result.ended, f"test ended ({result.verdict})", "end"))
    window = (result.started - CHART_MARGIN_S, result.ended + CHART_MARGIN_S)
    samples = run.samples()
    names: list[str] = []
    for service in result.services:
        name = "signals-" + re.sub(r"[^A-Za-z0-9._-]+", "_", service) + ".png"
        mine = [s for s in samples if s.service == service]
        render_signals(
            service,
            mine,
            window,
            markers,
            folder / name,
            during=f"load test {result.name}",
            legend="red: test started · amber: stop due · grey: test ended",
        )
        names.append(name)
    path = folder / MARKDOWN_FILE
    path.write_text(report_markdown(result, names), encoding="utf-8")
    return path
