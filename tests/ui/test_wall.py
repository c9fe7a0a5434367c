"""Wall mode against the real backend: fullscreen, read-only, rotation and hold, STALE, Esc."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QMenuBar, QStatusBar, QToolBar

from opsconsole.app.wiring import Console, build_console
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.alarms import SERVICE_RANK, service_alarm
from opsconsole.core.commands import Command, CommandError, CommandRefused, CommandRegistry
from opsconsole.core.models import ConnectionState
from opsconsole.core.runner import CommandRunner, Problem
from opsconsole.core.store import Store
from opsconsole.ui import theme
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panels.alerts import AlertsPanel
from opsconsole.ui.panels.services import SORT_RANK
from opsconsole.ui.wall import (
    PAGES,
    REFUSAL,
    BreakersBoard,
    BudgetsBoard,
    ClustersBoard,
    ReadOnlyGuard,
    ServicesBoard,
    WallMode,
    WallTheme,
)
from tests.support.shots import save_shot, shots_dir
from tests.support.waiting import wait_until

FIRING = re.compile(r"^\d+ FIRING$")
LIVE_AGE = re.compile(r"^LIVE · data (< 1 s|\d+ s) old$")
LINK_AGE = re.compile(r"^(STALE|RECONNECTING) · data (< 1 s|\d+ s) old$")


def last_screen() -> int:
    """The last screen: the second one when the platform offers two (offscreen config)."""
    return len(QGuiApplication.screens()) - 1


def make_console(tmp_path: Path, url: str, qtbot) -> Console:
    store = Store(capacity=600)
    ctx = UiContext(store, Selection())
    client = OpsApiClient("sim", url, store.apply)
    console = build_console(
        ctx,
        {"sim": client},
        audit_path=tmp_path / "audit.jsonl",
        timeline_path=tmp_path / "timeline.sqlite3",
        outcome_timeout_s=15,
    )
    theme.apply_theme(QApplication.instance())
    qtbot.addWidget(console.window)
    console.window.show()
    console.window.start()
    return console


@pytest.fixture
def walls() -> Iterator[list[WallMode]]:
    """Walls made by a test; whatever happens, none stays on screen (cursor, guard)."""
    made: list[WallMode] = []
    yield made
    for wall in made:
        wall.leave()
        if wall.view is not None:
            wall.view.close()
            wall.view.deleteLater()


def open_dialogs() -> list[QDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]


async def save(wall: WallMode, name: str) -> None:
    """`wall_NAME.png` for a human to look at, when OPSCONSOLE_SHOTS names a directory."""
    if shots_dir() is None:
        return
    assert wall.view is not None
    await wall.window.scheduler.frames(2)  # layouts and labels settle before the picture
    save_shot(wall.view, f"wall_{name}.png")


async def page_ready(wall: WallMode, page: str) -> None:
    """Wait until the page shows data, so its screenshot shows something."""
    widget = wall.page_widget(page)
    if isinstance(widget, ServicesBoard | BreakersBoard | ClustersBoard):
        await wait_until(lambda: bool(widget.tiles), 10, f"tiles on {page}")
    elif page == "signals":
        await wait_until(lambda: widget.chart.has_data, 10, "the charts")
    await wall.window.scheduler.frames(2)


# ------------------------------------------------------------------ pure parts


def test_the_theme_is_sized_from_the_screen(qapp) -> None:
    for width, height in ((1920, 1080), (3840, 2160), (800, 800), (1280, 720)):
        t = WallTheme.for_size(width, height)
        assert t.base_px == round(height / 45)
        assert t.header_px > t.base_px
        # STALE in capitals at least 1/12 of the screen high.
        assert QFontMetrics(t.font(t.banner_px, bold=True)).capHeight() >= height / 12
    assert WallTheme.for_size(3840, 2160).base_px == 2 * WallTheme.for_size(1920, 1080).base_px


def test_the_guard_refuses_mutating_commands_and_gives_them_back() -> None:
    registry = CommandRegistry()
    ran: list[str] = []
    safe = registry.register(Command("view.refresh", "Refresh", lambda: ran.append("safe")))
    act = registry.register(
        Command(
            "breaker.force_open", "Force a circuit open", lambda: ran.append("act"), mutating=True
        )
    )
    refused: list[str] = []
    guard = WallMode.guard(registry, refused.append)
    assert guard.installed
    assert WallMode.is_allowed(safe) and not WallMode.is_allowed(act)
    registry.run("view.refresh")
    with pytest.raises(CommandRefused, match=r"^read-only wall display: Force a circuit open is"):
        registry.run("breaker.force_open")
    # A policy of the registry, not a patch: the command itself is untouched.
    assert registry.get("breaker.force_open") is act
    # One registered while the wall is up is refused as well.
    late = registry.register(
        Command("db.failover", "Fail over", lambda: ran.append("late"), mutating=True)
    )
    assert registry.get("db.failover") is late
    with pytest.raises(CommandError, match="Fail over is disabled"):
        registry.run("db.failover", backend="sim", cluster="orders-db", member="replica-1")
    # Through the one command runner (every entry point): reported as refused, in the same
    # words, and told to the wall as well.
    problems: list[Problem] = []
    runner = CommandRunner(registry, problems.append)
    assert runner.run("breaker.force_open", source="menu") is None
    assert problems == [
        Problem(
            "breaker.force_open", "refused", REFUSAL.format(title="Force a circuit open"), "menu"
        )
    ]
    assert ran == ["safe"]
    assert refused == [
        REFUSAL.format(title="Force a circuit open"),
        REFUSAL.format(title="Fail over"),
        REFUSAL.format(title="Force a circuit open"),
    ]
    assert guard.refusals == refused
    guard.release()
    assert not guard.installed
    registry.run("breaker.force_open")
    registry.run("db.failover")
    assert runner.run("breaker.force_open") is None  # ran: a handler returning None
    assert ran == ["safe", "act", "late", "act"]
    assert len(refused) == 3  # nothing refused after the release
    assert registry.get("breaker.force_open") is act
    assert "register" not in vars(registry)
    assert ReadOnlyGuard.is_allowed(registry.get("view.refresh"))
    guard.release()  # twice is harmless
    assert registry.refusal(act) is None


def test_the_worst_service_ranks_as_the_services_table_sorts() -> None:
    # The wall's worst service (core.alarms) must be the Services table's first row: one rank.
    assert SERVICE_RANK is SORT_RANK


# ------------------------------------------------------------------ the wall on a console


def test_wall_fills_its_screen_refuses_actions_and_esc_leaves(
    tmp_path, qloop, qtbot, sim_thread, walls
):
    # time_scale 60: the latency page fires within seconds, so the alerts page has one.
    sim = sim_thread(time_scale=60)
    console = make_console(tmp_path, sim.url, qtbot)
    window, ctx = console.window, console.ctx
    client = console.clients["sim"]
    wall = WallMode(window, screen=last_screen(), rotate_s=None, lock=False)
    walls.append(wall)

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(
                lambda: (
                    client.status.state is ConnectionState.LIVE
                    and "inventory-service" in ctx.store.backend("sim").circuits
                ),
                10,
                "LIVE with circuits",
            )
            await client.scenario("latency_spike", "orders", duration_s=3600)
            wall.enter()
            view = wall.view
            assert wall.active and view is not None and view.isVisible()
            screen = QGuiApplication.screens()[last_screen()]
            await wait_until(lambda: view.geometry() == screen.geometry(), 5, "the screen")
            assert view.isFullScreen()
            assert view.windowFlags() & Qt.WindowType.FramelessWindowHint
            assert view.screen().name() == screen.name()
            # No chrome: the console window (menus, docks, status bar) is hidden, and the
            # wall has none of its own.
            assert not window.isVisible() and not window.menuBar().isVisible()
            for kind in (QMenuBar, QToolBar, QStatusBar):
                assert not [w for w in view.findChildren(kind) if w.isVisible()]
            cursor = QApplication.overrideCursor()
            assert cursor is not None and cursor.shape() == Qt.CursorShape.BlankCursor
            assert wall.wall_theme is not None
            assert wall.wall_theme.base_px == round(screen.geometry().height() / 45)

            # Read-only: every mutating command is refused, in words, with no dialog.
            expected = REFUSAL.format(title="Force a circuit open")
            with pytest.raises(CommandError) as refused:
                ctx.commands.run("breaker.force_open", backend="sim", name="inventory-service")
            assert str(refused.value) == expected
            assert expected in view.header.status_text  # said on the wall, not in a dialog
            # The way the entry points run it (the one command runner): refused, and said on
            # the wall too.
            failover = REFUSAL.format(title=ctx.commands.get("db.failover").title)
            assert (
                ctx.runner.run(
                    "db.failover",
                    backend="sim",
                    cluster="orders-db",
                    member="replica-1",
                    source="palette",
                )
                is None
            )
            assert ctx.runner.last_problem == Problem("db.failover", "refused", failover, "palette")
            assert failover in view.header.status_text
            mutating = [c for c in ctx.commands if c.mutating]
            assert {c.id for c in mutating} >= {"breaker.force_open", "db.failover", "alert.ack"}
            for command in mutating:
                with pytest.raises(CommandError, match=r"^read-only wall display: .+ is disabled$"):
                    ctx.commands.run(command.id, backend="sim")
            await window.scheduler.frames(2)
            assert not open_dialogs()
            circuits = await client.circuits()
            assert circuits.circuits["inventory-service"].state == "closed"
            assert ctx.store.backend("sim").circuits["inventory-service"].state == "closed"
            assert not console.audit.path.exists()  # nothing was even attempted
            assert [c.id for c in ctx.commands if not WallMode.is_allowed(c)] == [
                c.id for c in mutating
            ]

            # Orders is critical: its tile is among the first, critical ones before the rest.
            services = wall.page_widget("services")
            assert isinstance(services, ServicesBoard)
            await wait_until(
                lambda: services.tiles and services.tile("sim/orders").word == "CRIT",
                10,
                "orders critical",
            )
            words = [t.word for t in services.tiles]
            assert words == sorted(words, key=lambda w: w != "CRIT"), words
            alerts = wall.page_widget("alerts")
            assert isinstance(alerts, AlertsPanel)
            await wait_until(lambda: ctx.store.backend("sim").alerts, 15, "the latency page")

            # The header, on every page: pages firing, LIVE with the data's age, the arrows.
            header = view.header
            await wait_until(
                lambda: header.firing.isVisible() and FIRING.match(header.firing.text()),
                5,
                "the pages firing counted on the wall",
            )
            assert LIVE_AGE.match(header.link.text()), header.link.text()
            assert header.link.isVisible()
            assert header.hint.isVisible() and header.hint.text() == "← → pages"

            # Every page, on screen, for a human to look at.
            for page in PAGES:
                wall.show_page(page)
                assert wall.current_page == page
                await page_ready(wall, page)
                await save(wall, page)
            assert alerts.visible_keys()
            assert view.geometry() == screen.geometry()  # no page widened the wall

            # Esc leaves: the console is back, the cursor too, and actions work again.
            qtbot.keyClick(view, Qt.Key.Key_Escape)
            assert not wall.active and not view.isVisible()
            assert window.isVisible()
            assert QApplication.overrideCursor() is None
            # The guard's policy is gone: nothing refuses the command any more.
            assert ctx.commands.refusal(ctx.commands.get("breaker.force_open")) is None
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=90)


def test_a_locked_wall_ignores_escape(tmp_path, qloop, qtbot, sim_thread, walls):
    sim = sim_thread(time_scale=20)
    console = make_console(tmp_path, sim.url, qtbot)
    wall = WallMode(console.window, screen=None, rotate_s=None, lock=True)
    walls.append(wall)
    wall.enter()
    assert wall.view is not None
    assert wall.view.screen().name() == QGuiApplication.primaryScreen().name()
    qtbot.keyClick(wall.view, Qt.Key.Key_Escape)
    assert wall.active and wall.view.isVisible() and not console.window.isVisible()
    # Arrows still page through (read-only either way).
    qtbot.keyClick(wall.view, Qt.Key.Key_Right)
    assert wall.current_page == "signals"
    qtbot.keyClick(wall.view, Qt.Key.Key_Left)
    assert wall.current_page == "services"
    wall.leave()  # the program (or the operator's --lock-less restart) still can
    assert not wall.active and console.window.isVisible()


def test_rotation_cycles_pages_and_holds_on_a_critical_one(
    tmp_path, qloop, qtbot, sim_thread, walls
):
    sim = sim_thread(time_scale=20)
    console = make_console(tmp_path, sim.url, qtbot)
    ctx, client = console.ctx, console.clients["sim"]
    wall = WallMode(console.window, rotate_s=0.25, lock=True)
    walls.append(wall)
    seen: list[str] = []
    wall.page_changed.connect(seen.append)

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
            await wait_until(
                lambda: bool(ctx.store.backend("sim").clusters), 5, "the first snapshot"
            )
            # Nothing critical: next_page() walks the playlist in order and wraps.
            await wait_until(
                lambda: not any(wall.page_alarm(p) for p in PAGES), 10, "a calm system"
            )
            order = [wall.next_page() for _ in PAGES]
            assert order == [*PAGES[1:], PAGES[0]]
            assert not wall.holding

            # The timer does the same by itself.
            wall.enter()
            seen.clear()
            await wait_until(lambda: set(seen) == set(PAGES), 10, "a full rotation")

            # Orders goes critical: the rotation stops on the first page that shows it (the
            # services page, the signals page when its charts already follow Orders, the
            # worst service even while all are healthy, or the fleet overview when the
            # rotation stands there) and stays there.
            await client.scenario("latency_spike", "orders", duration_s=3600)
            await wait_until(
                lambda: wall.current_page in ("services", "signals", "overview") and wall.holding,
                15,
                "the hold",
            )
            held = wall.current_page
            # The hold names the service furthest past its limit: Orders, unless another
            # service's own noise is critical at that moment (seen under CI load at time x20).
            assert wall.hold_reason is not None and " CRITICAL — " in wall.hold_reason
            await wait_until(
                lambda: service_alarm(ctx.store, "sim", "orders") is not None, 15, "Orders CRIT"
            )
            ticks = wall.rotation_ticks
            await wait_until(lambda: wall.rotation_ticks >= ticks + 4, 5, "four more intervals")
            assert wall.current_page == held and wall.holding
            assert wall.next_page() == held  # the rotation step holds, too
            assert wall.view is not None
            await wait_until(
                lambda: "HOLD — Orders CRITICAL" in wall.view.header.status_text,
                5,
                "the hold shown",
            )
            # The signals page then shows the worst service's charts.
            wall.show_page("signals")
            assert (ctx.selection.backend, ctx.selection.service) == ("sim", "orders")
            assert not ctx.selection.picked  # the wall follows the worst; nobody picked it
            assert wall.holding  # its charts show the critical service
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_stale_banner_on_every_page_then_live_again(tmp_path, qloop, qtbot, sim_thread, walls):
    sim = sim_thread(time_scale=20)
    port = int(sim.url.rsplit(":", 1)[1])
    console = make_console(tmp_path, sim.url, qtbot)
    client = console.clients["sim"]
    wall = WallMode(console.window, screen=last_screen(), rotate_s=None, lock=True)
    walls.append(wall)

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
            wall.enter()
            view = wall.view
            assert view is not None
            await page_ready(wall, "services")
            assert view.banner.isHidden() and view.banner.text == ""

            header = view.header
            await wait_until(lambda: LIVE_AGE.match(header.link.text()), 5, "LIVE in the header")
            await asyncio.to_thread(sim.stop)
            await wait_until(lambda: "STALE" in view.banner.text, 10, "the STALE banner")
            await wait_until(lambda: not header.link.text().startswith("LIVE"), 5, "not LIVE")
            assert LINK_AGE.match(header.link.text()), header.link.text()
            await wait_until(lambda: banner_age(view.banner.text) >= 3, 10, "the data's age")
            height = view.screen().geometry().height()
            headline = view.banner.headline
            assert QFontMetrics(headline.font()).capHeight() >= height / 12
            assert "STALE" in headline.text()
            for page in PAGES:
                wall.show_page(page)
                await window_frames(wall)
                assert view.banner.isVisible(), page
                assert view.banner.geometry().bottom() < view.stack.geometry().top() + 1
            wall.show_page("services")
            board = wall.page_widget("services")
            assert isinstance(board, ServicesBoard)
            await wait_until(lambda: board.tiles and board.tiles[0].word == "STALE", 5, "grey")
            await save(wall, "stale")

            sim_thread(port=port, time_scale=20)  # the same port: the client finds it again
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 20, "relink")
            await wait_until(lambda: view.banner.isHidden(), 5, "the banner gone")
            await wait_until(lambda: LIVE_AGE.match(header.link.text()), 5, "LIVE again")
            await wait_until(lambda: board.tiles[0].word != "STALE", 5, "tiles live again")
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def banner_age(text: str) -> int:
    # One line ("STALE · data 4 s old"), or two on a narrow screen ("STALE\ndata 4 s old").
    match = re.search(r"STALE(?: · |\n)data (\d+) s old", text)
    return int(match.group(1)) if match else -1


async def window_frames(wall: WallMode, n: int = 2) -> None:
    await wall.window.scheduler.frames(n)


def test_an_insecure_backend_is_named_in_the_wall_header(tmp_path, qtbot, walls) -> None:
    from opsconsole.core.events import BackendDescribed
    from opsconsole.core.models import BackendInfo

    console = make_console(tmp_path, "http://127.0.0.1:9", qtbot)
    store = console.ctx.store
    store.apply(BackendDescribed("prom", BackendInfo("prom", "prometheus", "https://p", True)))
    wall = WallMode(console.window, screen=None, rotate_s=None, lock=False)
    walls.append(wall)
    wall.enter()
    assert wall.view is not None
    header = wall.view.header
    header.mark_dirty()
    header.refresh(time.monotonic())
    assert header.insecure.isVisible() and header.insecure.text() == "INSECURE: prom"


def budget_obs(service: str, left: float, burn_1h: float, burn_5m: float = 0.0):
    """A 99.9 % / rolling 30 d SLO with `left` of its budget and these burns (100 000 requests
    an hour, 10 000 in 5 minutes, ten million in the window)."""
    from opsconsole.core.slo import Counts, Slo, SloObservation, SloWindow

    def counts(burn: float, total: float) -> Counts:
        return Counts(total - burn * 0.001 * total, total)

    windows = {
        "window": counts(1.0 - left, 10_000_000.0),
        "1h": counts(burn_1h, 100_000.0),
        "5m": counts(burn_5m, 10_000.0),
    }
    return SloObservation(Slo(service, 0.999, SloWindow.rolling(30)), time.time(), windows)


def test_the_error_budgets_page_colours_by_exhaustion_and_holds_on_a_page_burn(
    tmp_path, qloop, qtbot, walls
) -> None:
    from opsconsole.core.events import ConnectionChanged, SlosObserved
    from opsconsole.core.health import Health
    from opsconsole.core.models import LinkStatus

    console = make_console(tmp_path, "http://127.0.0.1:9", qtbot)  # never started
    store = console.ctx.store
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
    calm = budget_obs("search", left=0.92, burn_1h=0.4)
    store.apply(
        SlosObserved(
            "sim",
            (
                calm,
                budget_obs("payments", left=0.3, burn_1h=1.5),  # 0.3 × 30 d ÷ 1.5 = 6 d
                budget_obs("orders", left=0.8, burn_1h=20.0, burn_5m=24.0),  # page 1h/5m
                budget_obs("users", left=-0.12, burn_1h=0.2),  # overspent
            ),
        )
    )
    wall = WallMode(console.window, screen=last_screen(), rotate_s=0.2, lock=True)
    walls.append(wall)

    async def scenario() -> None:
        wall.enter()
        wall.show_page("budgets")
        board = wall.page_widget("budgets")
        assert isinstance(board, BudgetsBoard)
        await wait_until(lambda: len(board.tiles) == 4, 5, "four budget tiles")
        tiles = {t.key: t for t in board.tiles}
        # Critical first (least left first among them), then warning, then the calm one.
        assert [t.key for t in board.tiles] == [
            "sim/users",
            "sim/orders",
            "sim/payments",
            "sim/search",
        ]
        orders = tiles["sim/orders"]
        assert orders.health is Health.CRITICAL and orders.word == "80 %"
        assert orders.lines[:2] == ("runs out in 1 d 04 h", "burn 1 h 20× · PAGING")
        assert orders.lines[2] == "99.9 % over rolling 30 d"
        assert tiles["sim/users"].word == "−12 %"
        assert tiles["sim/users"].lines[0] == "overspent by 12 %"
        assert tiles["sim/users"].health is Health.CRITICAL
        payments = tiles["sim/payments"]
        assert payments.health is Health.WARNING and payments.lines[0] == "runs out in 6 d 00 h"
        search = tiles["sim/search"]
        assert search.health is Health.HEALTHY and search.lines[0] == "lasts the window"

        # The page burn holds the rotation like any critical page, and the header says why.
        ticks = wall.rotation_ticks
        await wait_until(lambda: wall.rotation_ticks >= ticks + 3, 5, "three intervals")
        assert wall.current_page == "budgets"
        assert wall.hold_reason == "orders error budget — page 1h/5m burning 20×"
        assert wall.view is not None
        await wait_until(
            lambda: "HOLD — orders error budget" in wall.view.header.status_text, 5, "hold shown"
        )
        await save(wall, "budgets")

        # The burn stops: no longer an alarm (the hold itself keeps its 5 s grace).
        store.apply(SlosObserved("sim", (calm, budget_obs("orders", 0.8, 0.3, 0.2))))
        assert wall.page_alarm("budgets") is None
        await wait_until(
            lambda: board.tile("sim/orders").health is Health.HEALTHY, 5, "orders calm"
        )

    qloop.run(scenario(), timeout=30)
