"""`:incident open|note|star|start|close` typed on the real command line against the reference
backend: the store, the audit log, the timeline, the status bar, the wall and the incident's
own record (samples and SLO snapshots) hold what they should, and a restart keeps it open."""

from __future__ import annotations

import math
import time
from datetime import datetime

import numpy as np
import pytest
from PySide6.QtCore import Qt

from opsconsole.app.incidents import current_episode, deviation_start, match_tag, parse_start
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.audit import read_records, verify
from opsconsole.core.commands import CommandError
from opsconsole.core.events import MetricsBatch, SnapshotLoaded
from opsconsole.core.incident import Severity, Star
from opsconsole.core.models import METRIC_FIELDS, Service
from opsconsole.core.store import Store
from opsconsole.core.timeline import TimelineEntry
from opsconsole.ui.incidentbadge import IncidentBadge
from tests.support.console import (
    command_line,
    key,
    make_console,
    show,
    type_text,
    wait_live,
)
from tests.support.shots import save_shot
from tests.support.waiting import wait_until

TIME_SCALE = 60  # SLO counts and alerts move quickly; the clock itself is not scaled
STEP_S = 0.2  # the recorder's step, small so the test sees many samples quickly


@pytest.fixture
def sim(sim_thread):
    return sim_thread(time_scale=TIME_SCALE)


def build(qtbot, tmp_path, url: str):
    store = Store(capacity=600)
    client = OpsApiClient("sim", url, store.apply, slo_every_s=0.5)
    console, _ = make_console(tmp_path, {"sim": client}, store)
    console.incident_recorder.step_s = STEP_S
    show(qtbot, console.window)
    return console


def badge(window) -> IncidentBadge:
    found = window.findChild(IncidentBadge, "incident_badge")
    assert found is not None, "no incident badge in the status bar"
    return found


def incident_lines(console) -> list[TimelineEntry]:
    return sorted(
        (e for e in console.timeline.recent(200) if e.kind == "incident"), key=lambda e: e.id
    )


# ------------------------------------------------------------------ the words typed


def test_start_times_are_read_as_the_operator_writes_them() -> None:
    now = datetime(2024, 5, 6, 12, 30, 0).timestamp()
    assert parse_start("-15m", now) == now - 900
    assert parse_start("15m ago", now) == now - 900
    assert parse_start("1h30m", now) == now - 5400
    assert parse_start("12:05", now) == datetime(2024, 5, 6, 12, 5).timestamp()
    assert parse_start("12:05:30", now) == datetime(2024, 5, 6, 12, 5, 30).timestamp()
    # A time later than now today is last night's.
    assert parse_start("23:50", now) == datetime(2024, 5, 5, 23, 50).timestamp()
    for bad in ("", "noon", "25:00", "12:5x", "soon"):
        with pytest.raises(ValueError):
            parse_start(bad, now)


def test_star_tags_by_their_start_and_a_wrong_one_in_words() -> None:
    assert match_tag("") == "key moment"
    assert match_tag("diag") == "diagnosis"
    assert match_tag("Key  Moment") == "key moment"
    with pytest.raises(CommandError, match="one of: detection, diagnosis, repair, key moment"):
        match_tag("cause")


def test_the_default_start_looks_at_what_fires_now_not_a_resolved_alert() -> None:
    def alert(entry_id: int, ts: float, alert_id: str, change: str) -> TimelineEntry:
        data = {"alert_id": alert_id, "change": change}
        return TimelineEntry(ts=ts, backend="sim", kind="alert", message="", data=data, id=entry_id)

    earlier = [alert(1, 100.0, "a", "fired"), alert(2, 200.0, "a", "resolved")]
    now = [alert(3, 300.0, "b", "fired"), alert(4, 350.0, "c", "fired")]
    assert [e.id for e in current_episode([*now, *earlier])] == [3, 4]
    assert current_episode([*earlier, alert(5, 400.0, "b", "resolved")]) == []


# ------------------------------------------------------------------ the whole incident


def test_an_incident_typed_on_the_command_line_is_kept_shown_and_recorded(
    sim, qloop, qtbot, tmp_path
):
    console = build(qtbot, tmp_path, sim.url)
    window, store, client = console.window, console.ctx.store, console.clients["sim"]
    incidents, runner = console.incidents, console.ctx.runner

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            state = store.backend("sim")
            await wait_until(lambda: len(state.slos) >= 3, 15, "SLO figures")
            assert not badge(window).isVisible()

            # Nothing open yet: the other commands say so in words.
            command_line(qtbot, window, "incident note too early")
            assert runner.last_problem is not None
            assert runner.last_problem.words.startswith("no incident is open")

            # Errors on payments: within seconds (scaled `for`) an alert fires.
            began = time.time()
            await client.scenario("error_burst", "payments")

            def fired() -> list[TimelineEntry]:
                alerts = console.timeline.recent(200, kinds=("alert",))
                return [e for e in alerts if e.data.get("change") == "fired"]

            await wait_until(lambda: fired(), 20, "an alert fired")
            command_line(qtbot, window, "incident open checkout errors --severity SEV2")
            await wait_until(lambda: incidents.current() is not None, 5, "the incident")
            opened = incidents.current()
            assert (opened.title, opened.severity) == ("checkout errors", Severity.SEV2)
            # The start defaults to the first alert of what is firing.
            # The start: payments' errors going over their limit if the console saw that
            # before the first alert of what is firing (an alert waits out its `for`).
            first_alert = min(e.ts for e in fired())
            rose = deviation_start(store, "sim", "payments")
            expected = first_alert if rose is None else min(first_alert, rose)
            assert opened.start_ts == pytest.approx(expected, abs=0.5)
            assert began - 1 <= opened.start_ts <= first_alert < opened.opened_ts
            await wait_until(lambda: badge(window).isVisible(), 5, "the badge")
            assert badge(window).full_text.startswith("⚑ SEV2 · checkout errors · ")

            # A second one is refused in words while the first is open.
            command_line(qtbot, window, "incident open another one")
            assert "still open; close it first" in runner.last_problem.words
            assert len(incidents.recent()) == 1

            command_line(qtbot, window, "incident note customers see 502 on checkout")
            await wait_until(lambda: incidents.current().notes, 5, "the note")
            assert incidents.current().notes[-1].text == "customers see 502 on checkout"

            # Star the line the operator has selected on the timeline.
            panel = window.timeline
            await wait_until(lambda: len(panel.entries()) >= 2, 10, "timeline rows")
            row, chosen = next(
                (i, e) for i, e in enumerate(panel.entries()) if e.kind != "incident"
            )
            panel.view.setCurrentIndex(panel.model.index(row, 0))
            assert panel.selected_entry() == chosen
            command_line(qtbot, window, "incident star diag")
            await wait_until(lambda: incidents.current().stars, 5, "the star")
            assert incidents.current().stars == (Star(chosen.id, "diagnosis"),)

            # Its start moved a minute back: the rings' rows from there are copied (they
            # hold what came since the console connected, seconds before the opening).
            ring_first = min(float(state.series.get(name).times()[0]) for name in state.series)
            assert ring_first < opened.opened_ts - 1
            before = time.time()
            command_line(qtbot, window, "incident start -1m")
            await wait_until(
                lambda: incidents.current().start_ts < opened.start_ts - 30, 5, "the new start"
            )
            assert abs(incidents.current().start_ts - (before - 60)) < 5

            # The incident's own record: samples of every service, plausible values.
            services = set(state.services)
            await wait_until(
                lambda: (
                    {s.service for s in incidents.samples(opened.id)} >= services
                    and len(incidents.samples(opened.id)) >= 10 * len(services)
                ),
                20,
                "samples of every service",
            )
            samples = incidents.samples(opened.id)
            assert all(s.backend == "sim" for s in samples)
            p99 = [s.latency_p99_ms for s in samples if math.isfinite(s.latency_p99_ms)]
            errors = [s.error_ratio for s in samples if math.isfinite(s.error_ratio)]
            rps = [s.rps for s in samples if math.isfinite(s.rps)]
            assert p99 and all(0 < v < 60_000 for v in p99)
            assert errors and all(0 <= v <= 1 for v in errors)
            assert rps and all(v >= 0 for v in rps) and max(rps) > 0
            # Copied from before the opening, on the backend's own clock.
            assert min(s.ts for s in samples) <= ring_first + 1.0

            # The wall shows the same words, large; it refuses the commands (read-only).
            wall = console.walls.enter()
            try:
                header = wall.view.header
                await wait_until(lambda: header.incident_text != "", 5, "the wall's line")
                assert header.incident_text.startswith("⚑ SEV2 · checkout errors · ")
                assert header.incident.font().pixelSize() > window.font().pointSize()
                attempt = runner.attempt("incident.note", source="test", comment="on the wall")
                assert attempt.problem is not None and attempt.problem.kind == "refused"
                await window.scheduler.frames(2)
                save_shot(wall.view, "incident_wall.png")
            finally:
                wall.leave()
            assert len(incidents.current().notes) == 1

            window.resize(1366, 768)
            await window.scheduler.frames(2)
            save_shot(window, "incident_open_1366x768.png")

            command_line(qtbot, window, "incident close")
            await wait_until(lambda: incidents.current() is None, 5, "the close")
            closed = incidents.get(opened.id)
            assert closed is not None and closed.end_ts is not None
            await wait_until(lambda: not badge(window).isVisible(), 5, "the badge gone")
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=90)
    incident_id = incidents.recent()[0].id

    # SLO figures at the opening and at the close, for every SLO the backend reported.
    snapshots = incidents.slo_snapshots(incident_id)
    slos = set(store.backend("sim").slos)
    by_service: dict[str, int] = {}
    for snap in snapshots:
        by_service[snap.service] = by_service.get(snap.service, 0) + 1
        assert 0 < snap.objective < 1 and snap.window_total >= snap.window_bad >= 0
    assert set(by_service) == slos and all(n >= 2 for n in by_service.values())

    # The timeline's own lines, in order, in words.
    lines = [e.message for e in incident_lines(console)]
    assert lines[0].startswith("Incident opened: SEV2 checkout errors (start ")
    assert lines[1] == "Note: customers see 502 on checkout"
    assert lines[2].startswith("Starred (diagnosis): ")
    assert lines[3].startswith("Incident start moved to ")
    assert lines[4].startswith("Incident closed after ")
    assert len(lines) == 5

    # The audit log: a sound chain, one record per change, naming the incident.
    audit_path = tmp_path / "audit.jsonl"
    assert verify(audit_path).ok
    records = [r for _, r in read_records(audit_path) if r and r.get("phase") == "incident"]
    assert [r["command"] for r in records] == [
        "incident.open",
        "incident.note",
        "incident.star",
        "incident.start",
        "incident.close",
    ]
    assert {r["target"] for r in records} == {str(incident_id)}
    assert records[0]["args"]["severity"] == "SEV2"
    assert records[1]["args"] == {"text": "customers see 502 on checkout"}
    console.close()


def test_an_open_incident_survives_a_restart_and_its_record_resumes(sim, qloop, qtbot, tmp_path):
    first = build(qtbot, tmp_path, sim.url)

    async def open_one() -> int:
        client = first.clients["sim"]
        client.start()
        try:
            await wait_live(first)
            command_line(qtbot, first.window, "incident open payments slow severity=1")
            await wait_until(lambda: first.incidents.current() is not None, 5, "the incident")
            opened = first.incidents.current()
            await wait_until(lambda: len(first.incidents.samples(opened.id)) > 0, 10, "samples")
            return opened.id
        finally:
            await client.aclose()

    incident_id = qloop.run(open_one(), timeout=60)
    kept_before = len(first.incidents.samples(incident_id))
    first.close()
    first.window.close()

    second = build(qtbot, tmp_path, sim.url)

    async def resume() -> None:
        client = second.clients["sim"]
        client.start()
        try:
            again = second.incidents.current()
            assert again is not None and again.id == incident_id
            assert (again.title, again.severity) == ("payments slow", Severity.SEV1)
            assert badge(second.window).full_text.startswith("⚑ SEV1 · payments slow · ")
            await wait_live(second)
            await wait_until(
                lambda: len(second.incidents.samples(incident_id)) > kept_before + 8,
                15,
                "samples after the restart",
            )
            command_line(qtbot, second.window, "incident close resolved by itself")
            await wait_until(lambda: second.incidents.current() is None, 5, "the close")
        finally:
            await client.aclose()

    qloop.run(resume(), timeout=60)
    closed = second.incidents.get(incident_id)
    assert closed is not None and closed.notes[-1].text == "resolved by itself"
    assert verify(tmp_path / "audit.jsonl").ok
    second.close()


def test_the_palette_opens_one_with_its_severity_in_the_words(qtbot, tmp_path):
    console, ui = make_console(tmp_path, {}, Store(capacity=60))
    show(qtbot, console.window)
    try:
        key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
        type_text(qtbot, "incident: open")
        row = ui.palette.current_row()
        assert row is not None and row.value == "incident.open" and row.enabled
        key(qtbot, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: ui.palette.step is not None, timeout=5000)
        type_text(qtbot, "search down --severity SEV1")
        key(qtbot, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: console.incidents.current() is not None, timeout=5000)
        opened = console.incidents.current()
        assert (opened.title, opened.severity) == ("search down", Severity.SEV1)
        # No backend, no alerts: it starts now, on the console's own clock.
        assert opened.start_ts == opened.opened_ts
        qtbot.waitUntil(lambda: badge(console.window).isVisible(), timeout=5000)
        assert badge(console.window).full_text == "⚑ SEV1 · search down · <1 min"
    finally:
        console.close()


def test_a_deviation_the_console_saw_before_the_alert_is_the_start() -> None:
    store = Store(capacity=200, clock=lambda: 1000.0)
    t0 = 1_700_000_000.0
    store.apply(SnapshotLoaded("sim", (Service(name="payments"),), (), (), (), ts=t0))
    ts = np.arange(t0, t0 + 100.0, 1.0)
    values = np.full((ts.size, len(METRIC_FIELDS)), 0.0)
    values[:, METRIC_FIELDS.index("latency_p99_ms")] = 50.0
    values[ts >= t0 + 40, METRIC_FIELDS.index("error_ratio")] = 0.15  # limit 1 %
    store.apply(MetricsBatch("sim", ("payments",) * ts.size, ts, values, METRIC_FIELDS))
    assert deviation_start(store, "sim", "payments") == t0 + 40
    assert deviation_start(store, "sim", "search") is None  # nothing held of it
    assert deviation_start(store, "other", "payments") is None
    values[:, METRIC_FIELDS.index("error_ratio")] = 0.0
    calm = Store(capacity=200, clock=lambda: 1000.0)
    calm.apply(SnapshotLoaded("sim", (Service(name="payments"),), (), (), (), ts=t0))
    calm.apply(MetricsBatch("sim", ("payments",) * ts.size, ts, values, METRIC_FIELDS))
    assert deviation_start(calm, "sim", "payments") is None
