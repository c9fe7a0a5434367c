"""An incident from first alert to post-mortem against the reference backend: open it,
investigate, act, recover, close, and the draft holds the right times, the action with its
outcome, the budget figure the error-budget maths gives, and charts that are not blank."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.audit import read_records
from opsconsole.core.store import Store
from opsconsole.core.timeline import TimelineEntry
from tests.support.console import (
    back_from_dialog,
    command_line,
    make_console,
    open_dialog,
    show,
    wait_live,
)
from tests.support.waiting import wait_until

TIME_SCALE = 60  # alerts and SLO counts move in seconds; the clock itself is not scaled
NUMBER = r"[\d\u202f ]+(?:\.\d+)?"


@pytest.fixture
def sim(sim_thread):
    return sim_thread(time_scale=TIME_SCALE)


def clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


def number(text: str) -> float:
    return float(text.replace("\u202f", "").replace(" ", ""))


def section(markdown: str, title: str) -> str:
    return markdown.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def line_of(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"- **{label}:**"))


def not_blank(path: Path) -> bool:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_Grayscale8)
    if image.isNull():
        return False
    data = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    return bool(data.std() > 10 and len(np.unique(data)) > 8)


def test_a_whole_incident_ends_in_a_post_mortem_whose_facts_are_right(sim, qloop, qtbot, tmp_path):
    store = Store(capacity=1200)
    client = OpsApiClient("sim", sim.url, store.apply, slo_every_s=0.5)
    console, _ = make_console(tmp_path, {"sim": client}, store)
    console.incident_recorder.step_s = 0.2
    show(qtbot, console.window)
    window, timeline, incidents = console.window, console.timeline, console.incidents

    def alert_lines(change: str) -> list[TimelineEntry]:
        found = timeline.recent(500, kinds=("alert",))
        return [e for e in found if e.data.get("change") == change and e.service == "payments"]

    async def incident() -> None:
        client.start()
        try:
            await wait_live(console)
            state = store.backend("sim")
            await wait_until(lambda: "payments" in state.slos, 15, "payments' SLO")
            await wait_until(  # a calm baseline before the trouble
                lambda: len(state.series.get("payments")) >= 100, 20, "a calm baseline"
            )
            await client.scenario("error_burst", "payments")
            await wait_until(lambda: alert_lines("fired"), 30, "an alert on payments")
            command_line(qtbot, window, "incident open payments failing --severity SEV2")
            await wait_until(lambda: incidents.current() is not None, 5, "the incident")

            command_line(qtbot, window, "investigate payments")
            await wait_until(
                lambda: timeline.recent(50, kinds=("investigation",)), 15, "the investigation"
            )

            firing = next(a for a in state.alerts.values() if a.service == "payments")
            command_line(qtbot, window, f"ack {firing.id} looking at payments")
            await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
            qtbot.keyClick(open_dialog(window).ok_button, Qt.Key.Key_Return)
            await back_from_dialog(window)
            await wait_until(
                lambda: state.alerts[firing.id].acked_by is not None, 15, "the ack seen live"
            )

            await client.scenario("recover")  # the fix lands: the errors stop
            await wait_until(lambda: alert_lines("resolved"), 60, "the alert resolved")
            await wait_until(
                lambda: not any(a.state == "firing" for a in state.alerts.values()),
                60,
                "nothing firing",
            )
            command_line(qtbot, window, "incident close")
            await wait_until(lambda: incidents.current() is None, 5, "the close")
            command_line(qtbot, window, "postmortem")
            await wait_until(
                lambda: list((tmp_path / "postmortems").rglob("postmortem.md")), 30, "the draft"
            )
        finally:
            await client.aclose()

    qloop.run(incident(), timeout=150)
    closed = incidents.recent()[0]
    md_path = next((tmp_path / "postmortems").rglob("postmortem.md"))
    markdown = md_path.read_text(encoding="utf-8")
    folder = md_path.parent

    # The four moments, each from the console's own record.
    first_alert = min(e.ts for e in alert_lines("fired"))
    detection = section(markdown, "Detection")
    assert clock(first_alert) in line_of(detection, "First alert")
    records = [r for _, r in read_records(tmp_path / "audit.jsonl") if r]
    opened_at = next(r["ts"] for r in records if r.get("command") == "incident.open")
    ack_result = next(
        r for r in records if r.get("command") == "alert.ack" and r.get("phase") == "result"
    )
    acknowledged = line_of(detection, "Acknowledged")
    # Whichever came first: the ack or the incident's opening (both on this workstation).
    assert "incident was opened" in acknowledged or "alert.ack" in acknowledged
    assert ack_result["outcome"] == "succeeded"
    assert opened_at <= ack_result["ts"]
    response = section(markdown, "Response and recovery")
    ack_row = next(line for line in response.splitlines() if "| alert.ack |" in line)
    assert f"| {firing_id(records)} |" in ack_row and "| succeeded |" in ack_row
    recovery = min(e.ts for e in alert_lines("resolved"))
    assert clock(recovery) in line_of(response, "Mitigated")
    assert clock(closed.end_ts) in line_of(response, "Resolved")
    assert "Time to resolve" in response

    # The budget figure is the error-budget maths of that window, on the figures it shows.
    impact = section(markdown, "Impact")
    figure = next(line for line in impact.splitlines() if line.startswith("- payments: budget"))
    m = re.search(rf"= ({NUMBER}) ÷ \(({NUMBER}) % × ({NUMBER})\) = ({NUMBER}) %", figure)
    assert m, figure
    failed, budget_pct, window_total, consumed_pct = (number(g) for g in m.groups())
    assert consumed_pct == pytest.approx(
        100 * failed / (budget_pct / 100 * window_total), rel=0.02, abs=0.006
    )
    snapshots = [s for s in incidents.slo_snapshots(closed.id) if s.service == "payments"]
    assert window_total in {round(s.window_total) for s in snapshots}
    # The failed requests are the console's own samples: Σ rps × error ratio × Δt.
    samples = [s for s in incidents.samples(closed.id) if s.service == "payments"]
    inside = [s for s in samples if closed.start_ts <= s.ts <= closed.end_ts]
    ts = np.array([s.ts for s in inside])
    bad = np.array([s.rps * s.error_ratio for s in inside])
    ok = np.isfinite(bad[1:])
    expected = float(np.sum(bad[1:][ok] * np.diff(ts)[ok]))
    assert failed == pytest.approx(expected, rel=0.15), (failed, expected)
    assert failed > 0 and math.isfinite(failed)

    # The investigation run during the incident is in the draft; no person is blamed.
    findings = section(markdown, "Investigation findings")
    assert "payments" in findings and "errors rose" in findings, [
        (e.data["findings"]) for e in timeline.recent(50, kinds=("investigation",))
    ]
    summary = section(markdown, "Summary")
    assert records[0]["user"] not in summary

    # Charts: a PNG per affected service, referenced by the Markdown and the HTML, not blank.
    chart = folder / "signals-payments.png"
    assert chart.exists() and "signals-payments.png" in markdown
    assert 'src="signals-payments.png"' in (folder / "postmortem.html").read_text("utf-8")
    assert not_blank(chart)
    console.close()


def firing_id(records: list[dict]) -> str:
    return next(r["target"] for r in records if r.get("command") == "alert.ack")
