"""The Load test panel and wall page: each criterion's state in words and colour from a real
referee, the countdown counting down between the watch's moments, H through the real key path,
and the wall page's countdown across the room."""

from __future__ import annotations

import math
import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from opsconsole.app.loadtesting import config_loadtests
from opsconsole.core.audit import read_records
from opsconsole.core.commands import CommandError
from opsconsole.core.durations import age_text
from opsconsole.core.health import Health
from opsconsole.core.loadtest.referee import Referee, StopReason
from opsconsole.core.loadtest.spec import Criterion, LoadTestSpec
from opsconsole.core.loadtest.toolstats import ToolStats
from opsconsole.core.loadtest.view import WatchView
from opsconsole.core.store import Store
from opsconsole.ui import theme
from opsconsole.ui.panels.loadtest import LoadTestPanel
from opsconsole.ui.wall.loadtest import LoadTestWall, watch_alarm
from opsconsole.ui.wall.theme import WallTheme
from tests.support.console import (
    command_line,
    focused,
    key,
    live_console,
    make_console,
    show,
    type_text,
)
from tests.support.k6standin import INTERRUPTED, K6StandIn
from tests.support.panels import PanelHarness
from tests.support.shots import save_shot
from tests.support.waiting import wait_until

T0 = 1_765_000_000.0
OVER = 60.0

P95 = Criterion("p95_ms", "latency_p95_ms", 500, True, OVER, 60, "success")
RPS = Criterion("min_rps", "rps", 1000, False, OVER, 60, "success")
ERRORS = Criterion("max_error_ratio", "error_ratio", 0.001, True, OVER, 60, "success")
CPU = Criterion("max_cpu", "cpu", 0.8, True, OVER, 60, "success")
STOP = Criterion("stop:error_ratio>0.01/2m", "error_ratio", 0.01, True, OVER, 120, "stop")


def spec(warmup_s: float = 0.0) -> LoadTestSpec:
    return LoadTestSpec(
        name="checkout",
        tool="locust",
        url="http://127.0.0.1:8089",
        services=("orders", "payments"),
        warmup_s=warmup_s,
        success=(P95, RPS, ERRORS, CPU),
        stops=(STOP,),
    )


def judged(until: float) -> tuple[Referee, ToolStats]:
    """A real referee fed once a second: p95 passes, throughput breaches from T0+30, the error
    rate is over 1 % throughout (failed; the stop condition holds), CPU is not reported."""
    referee = Referee(spec())
    tool = ToolStats(T0 + until, "running", True, False, 120, 980.0, 0.02, 80.0, 310.0, 700.0)
    for i in range(int(until) + 1):
        rps = 1500.0 if i < 30 else 900.0
        signals = {
            OVER: {"latency_p95_ms": 320.0, "rps": rps, "error_ratio": 0.02, "cpu": None},
        }
        referee.observe(T0 + i, signals, tool)
    return referee, tool


def view_of(referee: Referee, tool: ToolStats | None, now: float, **moment: object) -> WatchView:
    fields: dict[str, object] = {
        "name": "checkout",
        "tool": "locust",
        "tool_url": "http://127.0.0.1:8089",
        "phase": "running",
        "phase_words": f"Locust running · 120 users · {age_text(now - T0)}",
        "now": now,
        "judged_now": now,
        "started": T0,
        "criteria": referee.criteria,
        "tool_stats": tool,
        "warnings": referee.warnings,
    }
    fields.update(moment)
    return WatchView(**fields)  # type: ignore[arg-type]


class Harness(PanelHarness):
    def __init__(self, qapp, qtbot) -> None:
        self.clock = [T0]
        super().__init__(qapp, qtbot, wall_clock=lambda: self.clock[0])
        self.panel = self.show(LoadTestPanel(self.ctx), (1100, 360))

    def row(self, key: str) -> dict[str, str]:
        model = self.panel.model
        return self.panel.texts()[model.row_of(key)]

    def colour(self, key: str) -> str:
        model = self.panel.model
        index = model.index(model.row_of(key), model.column_of("state"))
        colour = model.data(index, Qt.ItemDataRole.ForegroundRole)
        assert isinstance(colour, QColor)
        return colour.name()


@pytest.fixture
def harness(qapp, qtbot):
    h = Harness(qapp, qtbot)
    yield h
    h.close()


def test_each_criterion_reads_its_state_in_words_and_colour(harness):
    referee, tool = judged(until=75)
    now = T0 + 75
    harness.panel.show_view(view_of(referee, tool, now))
    harness.refresh()

    p95, rps, errors, cpu = (harness.row(c.key) for c in (P95, RPS, ERRORS, CPU))
    stop = harness.row(STOP.key)
    assert p95["state"] == "✓ pass" and p95["server"] == "320 ms"
    assert p95["tool"] == "310 ms"  # the tool's own p95 beside the server's
    # Breaching since T0+30: 45 s in state, 15 s left before the breach counts.
    assert rps["state"] == "▲ breaching" and rps["server"] == "900 rps"
    assert rps["tool"] == "980 rps"
    assert rps["in_state"] == "45 s" and rps["counts_in"] == "15 s"
    assert errors["state"] == "✗ failed" and errors["tool"] == "2 %"
    assert errors["violation"] == "1 min 15 s"
    assert cpu["state"] == "? no data" and cpu["server"].startswith("no data")
    assert cpu["tool"] == "—"  # the tool does not measure CPU
    assert stop["state"] == "▲ breaching" and stop["counts_in"] == "45 s"
    assert stop["label"] == "error rate > 1 % for 2 min (stop)"
    # The word is always there; the colour says the same.
    assert harness.colour(P95.key) == QColor(theme.STATE_COLOURS[Health.HEALTHY]).name()
    assert harness.colour(RPS.key) == QColor(theme.STATE_COLOURS[Health.WARNING]).name()
    assert harness.colour(ERRORS.key) == QColor(theme.STATE_COLOURS[Health.CRITICAL]).name()
    assert harness.colour(CPU.key) == QColor(theme.STATE_COLOURS[Health.UNKNOWN]).name()
    assert harness.panel.headline.full_text == (
        "checkout · Locust running · 120 users · 1 min 15 s · Locust at http://127.0.0.1:8089"
    )
    assert harness.panel.banner_text() == ""  # nothing is due: no banner
    save_shot(harness.panel, "loadtest-panel-running.png")


def test_warming_up_is_said_and_warnings_have_their_own_line(harness):
    referee = Referee(spec(warmup_s=30))
    referee.observe(T0, {OVER: {"latency_p95_ms": 900.0, "rps": 10.0, "error_ratio": 0.0}})
    assert referee.criteria[0].state == "warming up"
    warning = "the tool sees 2 % failures, the server 0 % errors (client timeouts?)"
    harness.panel.show_view(view_of(referee, None, T0 + 5, warnings=(warning,)))
    harness.refresh()
    assert harness.row(P95.key)["state"] == "… warming up"
    assert harness.row(P95.key)["tool"] == "—"  # the tool not read yet
    assert harness.panel.warnings.isVisibleTo(harness.panel)
    assert harness.panel.warnings.full_text == f"⚠ {warning}"


def test_the_countdown_counts_between_moments_then_idles(harness):
    referee, tool = judged(until=150)
    assert referee.stop_due is not None
    moment = view_of(
        referee,
        tool,
        T0 + 150,
        phase="counting down",
        stop_reason=referee.stop_due,
        countdown_left_s=7.0,
    )
    harness.clock[0] = T0 + 150
    harness.panel.show_view(moment)
    harness.refresh()
    assert harness.panel.banner_text() == "Stopping Locust in 7 s — H holds"
    assert harness.panel.reason.full_text == referee.stop_due.words
    # No new moment from the watch, yet the seconds go on: asked again on the 0.5 s grid.
    assert math.isfinite(harness.panel.next_tick(100.0))
    harness.clock[0] = T0 + 152.2
    harness.refresh()
    assert harness.panel.banner_text() == "Stopping Locust in 5 s — H holds"
    save_shot(harness.panel, "loadtest-panel-countdown.png")

    held = view_of(
        referee,
        tool,
        T0 + 153,
        phase="held",
        stop_reason=referee.stop_due,
        countdown_left_s=4.2,
    )
    harness.panel.show_view(held)
    harness.refresh()
    assert harness.panel.banner_text() == "Stop held — H releases (5 s left when released)"
    # Held, nothing moves without news: no refresh is asked for, and the same moment again
    # costs nothing.
    assert harness.panel.next_tick(100.0) == math.inf
    harness.panel.show_view(held)
    assert not harness.panel.dirty


def test_the_end_says_the_stop_and_the_verdict(harness):
    referee, tool = judged(until=150)
    harness.panel.show_view(
        view_of(
            referee,
            tool,
            T0 + 170,
            phase="finished",
            stop_reason=referee.stop_due,
            stop_words="Locust stopped: it reports stopped, and the server's traffic fell",
            verdict="stopped",
            exit_code=3,
        )
    )
    harness.refresh()
    assert harness.panel.banner_text() == "Stopped by a stop condition (exit code 3)"
    assert "Locust stopped: it reports stopped" in harness.panel.reason.full_text
    assert harness.panel.next_tick(100.0) == math.inf


def test_the_panel_fits_a_small_screen_by_eliding(harness):
    referee, tool = judged(until=150)
    harness.panel.resize(600, 300)
    long_reason = StopReason("guard:breaker_open:x", "breaker " + "orders->payments " * 8, T0)
    harness.panel.show_view(
        view_of(
            referee,
            tool,
            T0 + 150,
            phase="counting down",
            stop_reason=long_reason,
            countdown_left_s=9.0,
        )
    )
    harness.refresh()
    assert harness.panel.reason.text().endswith("…")
    assert harness.panel.reason.toolTip() == long_reason.words
    assert harness.panel.width() == 600  # the words did not widen it


def test_the_wall_page_shows_the_countdown_across_the_room(harness, qtbot):
    referee, tool = judged(until=150)
    t = WallTheme.for_size(1920, 1080)
    page = LoadTestWall(harness.ctx, t)
    qtbot.addWidget(page)
    page.resize(1920, 1000)
    page.show()
    moment = view_of(
        referee,
        tool,
        T0 + 150,
        phase="counting down",
        stop_reason=referee.stop_due,
        countdown_left_s=7.0,
    )
    harness.clock[0] = T0 + 150
    page.show_view(moment)
    page.run_refresh(0.0)
    assert page.countdown_text() == "Stopping Locust in 7 s"
    assert page.reason.full_text == f"{referee.stop_due.words} — H holds"
    # Letters a twelfth of the screen high, like the STALE banner, and whole.
    assert page.countdown.font().pixelSize() == t.banner_px
    assert page.countdown.text() == "Stopping Locust in 7 s"
    assert watch_alarm(moment) == f"load test checkout: {referee.stop_due.words}"
    tiles = {tile.key: tile for tile in page.board.tiles}
    assert tiles[ERRORS.key].word == "FAILED" and tiles[ERRORS.key].health is Health.CRITICAL
    assert tiles[P95.key].word == "PASS" and tiles[P95.key].health is Health.HEALTHY
    assert tiles[STOP.key].word == "FAILED"  # the stop condition held for its time
    assert tiles[STOP.key].title == "stop: error rate"
    assert tiles[STOP.key].lines[0] == "2 % (> 1 % for 2 min)"
    assert tiles[RPS.key].title == "throughput"
    assert tiles[RPS.key].lines[0] == "900 rps (≥ 1,000 rps)"
    save_shot(page, "loadtest-wall-countdown.png")
    running = view_of(referee, tool, T0 + 150)
    page.show_view(running)
    page.run_refresh(1.0)
    assert page.countdown_text() == "" and watch_alarm(running) is None


def test_h_in_the_panel_runs_the_hold_command_through_the_runner(qloop, qtbot, tmp_path):
    """The real key path in a whole console: with no watch, H is refused in words."""
    console, _keyboard = make_console(tmp_path, {}, _store())
    window = console.window
    show(qtbot, window)
    command_line(qtbot, window, "loadtest hold")
    qtbot.waitUntil(lambda: "nothing to hold" in window.statusBar().currentMessage())
    window.statusBar().clearMessage()
    panel = window.loadtest
    window.focus_panel(panel)
    qtbot.waitUntil(lambda: focused() is panel.view)
    key(qtbot, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: "nothing to hold" in window.statusBar().currentMessage())
    console.close()


def test_loadtest_watch_completes_and_refuses_unknown_names(qloop, qtbot, tmp_path):
    console, keyboard = make_console(tmp_path, {}, _store())
    console.loadtests.specs = lambda: (spec(),)
    show(qtbot, console.window)
    assert keyboard.command_line.names().loadtests == ("checkout",)
    key(qtbot, ":")
    type_text(qtbot, "loadtest watch ch")
    key(qtbot, Qt.Key.Key_Tab)
    assert keyboard.command_line.edit.text() == "loadtest watch checkout "
    key(qtbot, Qt.Key.Key_Escape)
    command_line(qtbot, console.window, "loadtest watch nope")
    assert keyboard.command_line.message.text() == (
        "no load test named 'nope'; expected one of: checkout"
    )
    console.close()


def _store() -> Store:
    return Store()


# ---------------------------------------------------------------- through the real command


def smoke_spec(url: str) -> LoadTestSpec:
    """Against the reference backend: p99 passes, a throughput floor no one reaches fails at
    once, and "CPU above 0 %" holds at once, so the stop countdown starts with the data."""
    return LoadTestSpec(
        name="smoke",
        tool="k6",
        url=url,
        services=("orders",),
        backend="sim",
        countdown_s=10.0,
        success=(
            Criterion("p99_ms", "latency_p99_ms", 100_000, True, 10, 10, "success"),
            Criterion("min_rps", "rps", 1e9, False, 10, 0, "success"),
        ),
        stops=(Criterion("stop:cpu>0/0s", "cpu", 0.0, True, 10, 0, "stop"),),
    )


@pytest.fixture
def console_live(qtbot, tmp_path, sim_thread):
    console, keyboard = live_console(qtbot, tmp_path, sim_thread().url)
    yield console, keyboard
    console.close()


def test_watch_hold_release_on_the_window_and_the_wall_then_report(
    console_live, qloop, qtbot, tmp_path
):
    """`:loadtest watch` against the reference backend and the k6 stand-in: the criteria live,
    the countdown, H holds and releases (in the panel and on the wall, where the countdown
    takes the screen), nothing is sent while held, the end's verdict, the timeline, the audit
    log and `:loadtest report`."""
    console, _keyboard = console_live
    window, client = console.window, console.clients["sim"]
    tests = console.loadtests
    k6 = K6StandIn(vus=5)
    panel = window.loadtest
    dock = window.docks["loadtest"]
    assert not dock.isVisible()  # hidden until a watch starts

    def phase() -> str:
        view = panel.view_shown
        return view.phase if view is not None else ""

    async def scenario() -> None:
        url = await k6.start()
        tests.specs = lambda: (smoke_spec(url),)
        tests.records, tests.reports = tmp_path / "records", tmp_path / "reports"
        k6.advance(10)
        k6.record(200, duration_ms=40)
        client.start()
        try:
            await wait_until(
                lambda: "orders" in console.ctx.store.backend("sim").series, 20, "orders' data"
            )
            command_line(qtbot, window, "loadtest watch smoke")
            await wait_until(lambda: phase() == "counting down", 15, "the countdown")
            assert dock.isVisible()
            await wait_until(
                lambda: panel.banner_text().startswith("Stopping k6 in "), 5, "the banner"
            )
            assert panel.banner_text().endswith(" s — H holds")
            rows = dict(zip(("p99", "rps", "stop"), panel.texts(), strict=True))
            assert rows["p99"]["label"] == "p99 ≤ 100,000 ms" and rows["p99"]["state"] == "✓ pass"
            assert rows["rps"]["state"] == "✗ failed"
            assert rows["stop"]["label"] == "CPU > 0 % (stop)"
            assert rows["stop"]["state"] == "✗ failed"
            assert rows["rps"]["tool"] != "—"  # k6's own throughput beside the server's

            # H in the panel holds; H again releases; nothing is sent meanwhile.
            window.focus_panel(panel)
            await wait_until(lambda: focused() is panel.view, 5, "the keys in the panel")
            key(qtbot, Qt.Key.Key_H)
            await wait_until(lambda: phase() == "held", 5, "the hold")
            await wait_until(
                lambda: panel.banner_text().startswith("Stop held — H releases"), 5, "its words"
            )
            key(qtbot, Qt.Key.Key_H)
            await wait_until(lambda: phase() == "counting down", 5, "the release")

            # On the wall the countdown takes the screen, and H holds there too.
            mode = console.walls.enter()
            await wait_until(lambda: mode.current_page == "loadtest", 5, "the wall's page")
            page = mode.page_widget("loadtest")
            await wait_until(lambda: page.countdown_text().startswith("Stopping k6 in"), 5, "")
            assert mode.hold_reason is not None  # the rotation stays on the countdown
            qtbot.keyClick(mode.view, Qt.Key.Key_H)
            await wait_until(lambda: phase() == "held", 5, "the hold from the wall")
            mode.leave()
            assert k6.stops_asked() == 0  # held: the console sent nothing

            # The tool ends the test on its own while the stop is held.
            k6.stopped, k6.running, k6.status = True, False, INTERRUPTED
            await wait_until(lambda: phase() == "finished", 10, "the end")
            await wait_until(
                lambda: panel.banner_text() == "Failed: a criterion did not hold (exit code 1)",
                5,
                "the verdict",
            )
            assert tests.last_result is not None and tests.last_result.exit_code == 1
            assert k6.stops_asked() == 0

            entries = console.timeline.recent(kinds=("loadtest",))
            words = [e.message for e in entries]
            assert any(w.startswith("Load test smoke: throughput ≥ ") for w in words), words
            assert any(w.startswith("Load test smoke: held — CPU ") for w in words), words
            assert words[0] == "Load test smoke: failed (exit code 1)"
            records = [r for _n, r in read_records(console.audit.path) if r is not None]
            phases = [r["phase"] for r in records if r.get("target") == "smoke"]
            assert phases == ["hold", "release", "hold"]  # no stop: nothing was sent

            command_line(qtbot, window, "loadtest report")
            await wait_until(lambda: tests.last_report is not None, 30, "the report")
            assert tests.last_report.is_file()
            assert str(tests.last_report) in window.statusBar().currentMessage()
        finally:
            await client.aclose()
            await k6.close()

    qloop.run(scenario(), timeout=90)


def test_the_config_file_s_load_tests_are_read_again_when_it_changes(tmp_path):
    path = tmp_path / "config.toml"
    table = '[[loadtest]]\nname = "{}"\ntool = "locust"\nurl = "http://127.0.0.1:8089"\n'
    path.write_text(table.format("checkout") + 'services = ["orders"]\n', encoding="utf-8")
    specs = config_loadtests(path)
    assert [s.name for s in specs()] == ["checkout"]
    path.write_text(
        table.format("checkout")
        + 'services = ["orders"]\n'
        + table.format("browse")
        + 'services = ["inventory"]\n',
        encoding="utf-8",
    )
    os.utime(path, ns=(1, path.stat().st_mtime_ns + 1_000_000))  # a later save, even if fast
    assert [s.name for s in specs()] == ["checkout", "browse"]
    path.write_text(table.format("broken") + "services = []\n", encoding="utf-8")
    os.utime(path, ns=(1, path.stat().st_mtime_ns + 2_000_000))
    with pytest.raises(CommandError, match=r"the config file cannot be used: .*services"):
        specs()
    assert config_loadtests(tmp_path / "absent.toml")() == ()  # the demo: no load tests
