"""`opsconsole --self-test` as the operator (or a packager) runs it: a real subprocess."""

from __future__ import annotations

import socket

from tests.support.process import last_json, run_console


def test_self_test_demo_exits_zero_with_the_report(tmp_path) -> None:
    shot = tmp_path / "window.png"
    proc = run_console("--self-test", "--demo", "--screenshot", str(shot), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = last_json(proc.stdout)
    assert report["ok"] is True
    assert report["backend_state"] == "live"
    assert report["transport"] == "websocket"
    assert report["invalid_frames"] == 0
    assert report["frames_painted"] >= 1
    assert 0 < report["startup_s"] <= report["first_data_s"] < 20
    assert shot.stat().st_size > 10_000
    assert "Traceback" not in proc.stderr
    assert "was destroyed but it is pending" not in proc.stderr


def test_self_test_against_a_closed_port_fails_with_a_reason(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run_console(
        "--self-test",
        "--url",
        f"http://127.0.0.1:{port}",
        "--self-test-timeout",
        "3",
        tmp_path=tmp_path,
    )
    assert proc.returncode == 1
    report = last_json(proc.stdout)
    assert report["ok"] is False
    assert "no live data painted within 3 s" in report["reason"]
    assert f"127.0.0.1:{port}" in report["reason"]
    assert "Traceback" not in proc.stderr


def test_self_test_on_the_wall_screenshots_the_wall(tmp_path) -> None:
    shot = tmp_path / "wall.png"
    proc = run_console(
        "--self-test", "--demo", "--wall", "--screenshot", str(shot), tmp_path=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert last_json(proc.stdout)["ok"] is True
    assert shot.stat().st_size > 10_000
    assert "Traceback" not in proc.stderr
