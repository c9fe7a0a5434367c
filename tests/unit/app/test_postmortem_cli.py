"""`opsconsole postmortem` and `:postmortem` over real files: the incidents store, the timeline
and the audit log as the console writes them; the draft's sections, numbers and charts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from opsconsole.app.postmortem import register_postmortem
from opsconsole.core.audit import AUDIT_FILE, AuditLog, os_user
from opsconsole.core.incident import INCIDENTS_FILE, IncidentStore, Severity
from opsconsole.core.incident.record import Sample, SloSnapshot
from opsconsole.core.slo.budget import remaining_fraction
from opsconsole.core.slo.figure import count_text, percent_text
from opsconsole.core.store import Store
from opsconsole.core.timeline import TimelineEntry, TimelineStore
from opsconsole.core.timeline.store import TIMELINE_FILE

T0 = 1_714_564_800.0  # 2024-05-01 12:00:00 UTC
FAILED = 2736.0  # 54 samples × 10 s at 5 % of 100 req/s, 36 × 10 s at 0.1 %
WINDOW_TOTAL = 1.0e7


def error_ratio(ts: float) -> float:
    return 0.05 if T0 + 60 <= ts < T0 + 600 else 0.001


def build_records(folder: Path, close: bool = True) -> None:
    """An incident as the console records one: opened after the first alert, a breaker
    closed by an operator, the alert resolved, the incident closed."""
    folder.mkdir(parents=True, exist_ok=True)
    incidents = IncidentStore(folder / INCIDENTS_FILE)
    opened = incidents.open("checkout errors", Severity.SEV2, T0, now=T0 + 180)
    assert opened is not None and opened.id == 1
    incidents.add_samples(
        1,
        [
            Sample(
                "sim",
                "orders",
                T0 + 10 * i,
                900.0 if i == 30 else 200.0,
                error_ratio(T0 + 10 * i),
                100.0,
                0.3,
            )
            for i in range(-6, 91)
        ],
    )
    for ts, total in ((T0 + 180, 9.9e6), (T0 + 900, WINDOW_TOTAL)):
        incidents.add_slo_snapshot(1, SloSnapshot("sim", "orders", ts, 0.999, "30d", total, 5e3))
    if close:
        incidents.close_incident(T0 + 900)
    incidents.close()

    timeline = TimelineStore(folder / TIMELINE_FILE)
    alert = {"alert_id": "a1", "rule": "error_ratio", "severity": "page"}
    for ts, kind, service, message, data in (
        (T0 + 60, "alert", "orders", "orders: error ratio 5 % above 1 %",
         {**alert, "change": "fired"}),
        (T0 + 305, "action", "inventory-service", "closed breaker inventory-service",
         {"command": "breaker.close", "target": "inventory-service", "outcome": "succeeded",
          "args": {"name": "inventory-service"}, "idempotency_key": "3f0c"}),
        (T0 + 600, "alert", "orders", "orders: error ratio back to normal",
         {**alert, "change": "resolved"}),
    ):  # fmt: skip
        timeline.append(
            TimelineEntry(
                ts=ts, backend="sim", kind=kind, service=service, message=message, data=data
            )
        )
    timeline.close()

    now = [0.0]
    audit = AuditLog(folder / AUDIT_FILE, clock=lambda: now[0])
    action = {
        "backend": "sim",
        "command": "breaker.close",
        "target": "inventory-service",
        "args": {"name": "inventory-service"},
        "idempotency_key": "3f0c",
    }
    for ts, fields in (
        (T0 + 180, {"phase": "incident", "command": "incident.open", "target": "1",
                    "args": {"title": "checkout errors", "severity": "SEV2"}}),
        (T0 + 300, {"phase": "intent", **action}),
        (T0 + 305, {"phase": "result", **action, "outcome": "succeeded",
                    "message": "inventory-service breaker is closed (token=abc123)"}),
    ):  # fmt: skip
        now[0] = ts
        audit.append(fields)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m opsconsole postmortem …` with no display at all, times in UTC."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["TZ"] = "UTC"
    return subprocess.run(
        [sys.executable, "-m", "opsconsole", "postmortem", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def pixels(path: Path) -> np.ndarray:
    """The PNG's RGB values (the caller holds pytest-qt's application)."""
    from PySide6.QtGui import QImage

    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    assert not image.isNull(), f"{path} is not an image"
    raw = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    rows = raw.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4]
    return rows.reshape(image.height(), image.width(), 4)[:, :, :3].astype(np.int16)


def count_colour(rgb: np.ndarray, hex_colour: str, tolerance: int = 40) -> int:
    want = np.array([int(hex_colour[i : i + 2], 16) for i in (5, 3, 1)])  # BGRA order in memory
    return int((np.abs(rgb - want).sum(axis=2) < tolerance).sum())


def test_the_draft_from_real_files_without_a_display(qapp, tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "draft"
    build_records(data)
    done = run_cli("1", "--out", str(out), "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert str(out / "postmortem.md") in done.stdout

    text = (out / "postmortem.md").read_text(encoding="utf-8")
    found = sections(text)
    assert list(found) == [
        "Incident", "Summary", "Impact", "Detection", "Response and recovery", "Timeline",
        "Investigation findings", "Root cause", "Contributing factors", "Lessons learned",
        "Action items",
    ]  # fmt: skip
    assert f"- **Incident lead:** {os_user()} (OS user" in found["Incident"]
    assert "- **Started:** 2024-05-01T12:00:00+00:00 (UTC)" in found["Incident"]
    budget = 1.0 - remaining_fraction(FAILED, WINDOW_TOTAL, 1.0 - 0.999)
    impact = found["Impact"]
    assert f"| orders | {count_text(FAILED)} | {count_text(90_000)} | 900 ms at 12:05:00 UTC |" in (
        impact
    )
    assert f"| {percent_text(budget, 2)} |" in impact and percent_text(budget, 2) == "27.36 %"
    assert "- **Time to detect:** 1 min 00 s" in found["Detection"]
    assert "- **Time to acknowledge:** 2 min 00 s" in found["Detection"]  # opened at +180
    response = found["Response and recovery"]
    assert "| breaker.close | inventory-service | succeeded |" in response
    assert "token=***" in response and "abc123" not in text  # credentials never in the draft
    assert "- **Time to mitigate:** 10 min 00 s" in response
    assert "- **Time to resolve:** 15 min 00 s" in response
    recovered = "| 12:10:00 UTC | key moment | orders: error ratio back to normal | console |"
    assert recovered in found["Timeline"]
    assert os_user() not in found["Summary"]

    html = (out / "postmortem.html").read_text(encoding="utf-8")
    assert '<img src="signals-orders.png"' in html and "<script" not in html
    chart = out / "signals-orders.png"
    assert chart.is_file()
    rgb = pixels(chart)
    assert rgb.std() > 20  # not a blank page
    assert count_colour(rgb, "#8250df") > 300  # the p99 line
    assert count_colour(rgb, "#cf222e") > 300  # the error ratio line and the start marker
    assert count_colour(rgb, "#bf8700") > 100  # the breaker.close marker
    assert count_colour(rgb, "#1a7f37") > 100  # the recovery marker


def test_last_names_the_newest_incident_and_out_defaults_to_its_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_records(data, close=False)
    env_cwd = tmp_path / "here"
    env_cwd.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "opsconsole", "postmortem", "last", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        cwd=env_cwd,
        env={**os.environ, "TZ": "UTC"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = (env_cwd / "postmortem-1" / "postmortem.md").read_text(encoding="utf-8")
    assert "- **Resolved:** the incident is still open" in text


def test_exit_codes_for_missing_incidents_and_bad_arguments(tmp_path: Path) -> None:
    empty = run_cli("1", "--data-dir", str(tmp_path / "nothing"))
    assert empty.returncode == 1 and "no incidents file" in empty.stderr
    build_records(tmp_path / "data")
    missing = run_cli("7", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "x"))
    assert missing.returncode == 1 and "no incident 7" in missing.stderr
    assert not (tmp_path / "x").exists()
    bad = run_cli("yesterday", "--data-dir", str(tmp_path / "data"))
    assert bad.returncode == 2 and "an incident number, or 'last'" in bad.stderr


def test_the_command_writes_the_draft_into_the_data_folder(qtbot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QMainWindow

    from opsconsole.ui.context import Selection, UiContext

    data = tmp_path / "data"
    build_records(data)
    ctx = UiContext(Store(), Selection())
    window = QMainWindow()
    qtbot.addWidget(window)
    timeline = TimelineStore(data / TIMELINE_FILE)
    incidents = IncidentStore(data / INCIDENTS_FILE)
    register_postmortem(ctx, window, timeline, data / AUDIT_FILE, incidents, now=lambda: T0 + 2000)
    problems: list[str] = []
    ctx.runner.on_problem(lambda problem: problems.append(problem.words))
    written = ctx.runner.run("incident.postmortem", source="test")
    assert problems == []
    missing = ctx.runner.run("incident.postmortem", source="test", incident="9")
    timeline.close()
    incidents.close()
    assert written.markdown == data / "postmortems" / "postmortem-1" / "postmortem.md"
    assert "| breaker.close | inventory-service | succeeded |" in written.markdown.read_text()
    assert str(written.markdown) in window.statusBar().currentMessage()
    assert missing is None
    assert problems == ["no incident 9"]


@pytest.mark.parametrize("line", ["postmortem", "postmortem 1"])
def test_the_command_line_verb(line: str) -> None:
    from opsconsole.core.cmdline import Names, parse

    invocation = parse(line, Names())
    assert invocation.command_id == "incident.postmortem"
    assert invocation.kwargs == ({"incident": "1"} if line.endswith("1") else {})


def test_the_built_console_writes_the_draft_of_its_open_incident(qtbot, tmp_path: Path) -> None:
    """The app's own wiring: `:incident open`, then `:postmortem` beside the incidents file."""
    from tests.support.console import make_console

    console, _ = make_console(tmp_path, {}, Store())
    qtbot.addWidget(console.window)
    problems: list[str] = []
    console.ctx.runner.on_problem(lambda problem: problems.append(problem.words))
    try:
        console.ctx.runner.run("incident.open", source="test", comment="checkout errors")
        written = console.ctx.runner.run("incident.postmortem", source="test")
    finally:
        console.close()
    assert problems == []
    assert written.markdown == tmp_path / "postmortems" / "postmortem-1" / "postmortem.md"
    text = written.markdown.read_text(encoding="utf-8")
    assert "# Post-mortem: checkout errors" in text
    assert f"- **Incident lead:** {os_user()} (OS user" in text  # the incident.open record
    assert "- **Resolved:** the incident is still open" in text
    assert "post-mortem draft written" in console.window.statusBar().currentMessage()
