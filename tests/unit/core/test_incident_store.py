"""The incident store: round-trips through a real SQLite file, restarts and damaged files."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from opsconsole.core.incident import (
    INCIDENTS_FILE,
    Incident,
    IncidentError,
    IncidentStore,
    Note,
    Severity,
    Star,
    default_path,
)
from opsconsole.core.incident import store as store_module
from opsconsole.core.incident.record import Sample, SloSnapshot
from opsconsole.core.timeline import TIMELINE_FILE
from opsconsole.core.timeline import default_path as timeline_path


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / INCIDENTS_FILE


def test_kept_in_the_data_folder_beside_the_timeline() -> None:
    assert default_path().parent == timeline_path().parent
    assert default_path().name != TIMELINE_FILE


def test_round_trip_and_restart(path: Path) -> None:
    store = IncidentStore(path)
    seen: list[Incident] = []
    store.changed.connect(seen.append)
    opened = store.open("checkout down", Severity.SEV2, start_ts=1000.0, now=1100.0)
    assert opened is not None and opened.is_open and opened.id > 0
    store.note("breaker reset did not help", now=1200.0)
    store.star(7, "diagnosis")
    store.star(8)
    store.unstar(8)
    store.unstar(9)  # an automatic star removed
    store.move_start(950.0)
    closed = store.close_incident(now=1500.0)
    assert len(seen) == 8 and seen[-1] == closed
    store.close()

    again = IncidentStore(path)
    assert again.current() is None
    kept = again.get(opened.id)
    assert kept == closed
    assert kept == Incident(
        id=opened.id,
        title="checkout down",
        severity=Severity.SEV2,
        start_ts=950.0,
        opened_ts=1100.0,
        end_ts=1500.0,
        notes=(Note(1200.0, "breaker reset did not help"),),
        stars=(Star(7, "diagnosis"),),
        unstarred=frozenset({8, 9}),
    )
    assert again.moved_aside == [] and not again.in_memory_fallback
    again.close()


def test_an_open_incident_survives_a_restart(path: Path) -> None:
    store = IncidentStore(path)
    store.open("payments errors", Severity.SEV3, 10.0, 20.0)
    store.close()
    again = IncidentStore(path)
    current = again.current()
    assert current is not None and current.title == "payments errors" and current.is_open
    again.note("still failing", 30.0)
    assert again.current() == again.get(current.id)
    again.close()


def test_one_open_incident_at_a_time(path: Path) -> None:
    store = IncidentStore(path)
    first = store.open("one", Severity.SEV1, 10.0, 10.0)
    with pytest.raises(IncidentError, match="already open"):
        store.open("two", Severity.SEV2, 10.0, 20.0)
    # A second console on the same file is held to the same rule by the schema itself.
    other = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):
        other.execute(
            "INSERT INTO incidents (title, severity, start_ts, opened_ts) VALUES ('x','SEV1',1,1)"
        )
    other.close()
    store.close_incident(30.0)
    second = store.open("two", Severity.SEV2, 40.0, 40.0)
    assert first is not None and second is not None
    assert [i.title for i in store.recent()] == ["two", "one"]
    # A closed one can still be edited by id, for its post-mortem.
    edited = store.star(3, "repair", incident_id=first.id)
    assert edited is not None and edited.stars == (Star(3, "repair"),)
    store.close()


def test_refusals(path: Path) -> None:
    store = IncidentStore(path)
    with pytest.raises(IncidentError, match="no incident is open"):
        store.note("hello", 1.0)
    with pytest.raises(IncidentError, match="no incident is open"):
        store.close_incident(1.0)
    with pytest.raises(IncidentError, match="no incident 42"):
        store.star(1, incident_id=42)
    with pytest.raises(IncidentError, match="future"):
        store.open("later", Severity.SEV2, 50.0, 10.0)
    with pytest.raises(IncidentError, match="title"):
        store.open("  ", Severity.SEV2, 5.0, 10.0)
    store.open("now", Severity.SEV2, 5.0, 10.0)
    with pytest.raises(ValueError, match="star tag"):
        store.star(1, "blame")
    with pytest.raises(IncidentError, match="before the end"):
        store.move_start(11.0)
    with pytest.raises(IncidentError, match="valid time"):
        store.move_start(float("nan"))
    closed = store.close_incident(2.0)  # never before its start
    assert closed is not None and closed.end_ts == 5.0
    assert store.recent() == [closed]
    store.close()


def test_a_damaged_file_is_moved_aside_and_a_fresh_one_started(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database at all" * 100)
    store = IncidentStore(path)
    opened = store.open("after the damage", Severity.SEV2, 1.0, 1.0)
    assert opened is not None
    assert len(store.moved_aside) == 1
    aside = store.moved_aside[0]
    assert aside.name.startswith(f"{INCIDENTS_FILE}.corrupt-")
    assert aside.read_bytes().startswith(b"this is not a database")
    assert not store.in_memory_fallback
    assert "moved it to" in caplog.text
    store.close()
    assert IncidentStore(path).current() == opened


def test_a_file_of_another_schema_version_is_moved_aside(path: Path) -> None:
    path.parent.mkdir(parents=True)
    foreign = sqlite3.connect(path)
    foreign.execute("PRAGMA user_version = 99")
    foreign.close()
    store = IncidentStore(path)
    assert store.current() is None
    assert len(store.moved_aside) == 1 and path.exists()
    store.close()


def test_memory_store_for_tests_and_read_only_runs() -> None:
    store = IncidentStore(None)
    opened = store.open("in memory", Severity.SEV4, 1.0, 2.0)
    assert store.current() == opened


def test_a_damaged_page_is_caught_at_open(path: Path) -> None:
    store = IncidentStore(path)
    for i in range(40):
        store.open(f"incident {i}", Severity.SEV3, float(i), float(i))
        for n in range(10):
            store.note(f"note {n} " + "x" * 200, float(i))
        store.close_incident(float(i))
    store.close()
    raw = bytearray(path.read_bytes())
    page = 4096
    raw[3 * page : 5 * page] = b"\xff" * (2 * page)  # smash two b-tree pages, keep the header
    path.write_bytes(bytes(raw))

    reopened = IncidentStore(path)
    assert reopened.recent() == []
    assert len(reopened.moved_aside) == 1
    assert reopened.open("fresh", Severity.SEV2, 1.0, 1.0) is not None
    reopened.close()


def test_the_incidents_own_record_survives_a_restart(path: Path) -> None:
    store = IncidentStore(path)
    incident = store.open("checkout errors", Severity.SEV2, 1000.0, 1000.0)
    assert incident is not None
    rows = [
        Sample("sim", "orders", 1000.0, 120.0, 0.02, 50.0, 0.4),
        Sample("sim", "orders", 1001.0, 130.0, math.nan, 51.0),
        Sample("sim", "payments", 1000.0, 80.0, 0.0, 20.0, 0.3),
    ]
    assert store.add_samples(incident.id, rows) == 3
    assert store.add_samples(incident.id, rows[:1]) == 0  # a sample kept once
    snap = SloSnapshot("sim", "orders", 1000.0, 0.999, "30d", 2.0e6, 900.0)
    assert store.add_slo_snapshot(incident.id, snap)
    store.close()

    again = IncidentStore(path)
    kept = again.samples(incident.id)
    assert [(s.service, s.ts) for s in kept] == [
        ("orders", 1000.0),
        ("orders", 1001.0),
        ("payments", 1000.0),
    ]
    assert kept[0] == rows[0]
    assert math.isnan(kept[1].error_ratio) and math.isnan(kept[1].cpu)  # not reported stays so
    assert again.last_sample_ts(incident.id) == 1001.0
    assert again.slo_snapshots(incident.id) == [snap]
    assert again.samples(incident.id + 1) == [] and again.last_sample_ts(incident.id + 1) is None
    again.close()


def test_a_schema_1_file_gains_the_record_and_keeps_its_incidents(path: Path) -> None:
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    store_module._create_v1(db)
    db.execute(
        "INSERT INTO incidents (title, severity, start_ts, opened_ts) VALUES ('old', 'SEV3', 5, 6)"
    )
    db.execute("PRAGMA user_version = 1")
    db.execute("COMMIT")
    db.close()
    store = IncidentStore(path)
    current = store.current()
    assert current is not None and current.title == "old"
    assert store.add_samples(current.id, [Sample("sim", "orders", 7.0, 1.0, 0.0, 1.0)]) == 1
    store.close()
