"""Backend status bar against the real reference backend: live, fallback, auth, reconnecting."""

from __future__ import annotations

import re
import time

import pytest
from PySide6.QtWidgets import QMainWindow, QWidget

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.backends.secrets import Secret
from opsconsole.core.models import ConnectionState, LinkStatus, Transport
from opsconsole.core.store import Store
from opsconsole.ui import theme
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.repaint import RepaintScheduler
from opsconsole.ui.statusbar import BackendStatusBar, describe_link, format_age
from tests.support.shots import save_shot
from tests.support.waiting import wait_until


def make_bar(qtbot, demo: bool = False) -> tuple[UiContext, BackendStatusBar, QMainWindow]:
    """The bar where the main window puts it: a permanent widget of the QStatusBar."""
    ctx = UiContext(Store(capacity=600), Selection(), demo=demo)
    window = QMainWindow()
    qtbot.addWidget(window)
    bar = BackendStatusBar(ctx)
    window.statusBar().addPermanentWidget(bar, 1)  # as the main window does
    window.resize(900, 120)
    window.show()
    return ctx, bar, window


def run_with_client(qloop, ctx: UiContext, bar: BackendStatusBar, url: str, check, **kwargs):
    scheduler = RepaintScheduler(ctx.stats)
    scheduler.add([bar])

    async def scenario() -> None:
        client = OpsApiClient("sim", url, ctx.store.apply, **kwargs)
        client.start()
        scheduler.start()
        try:
            await check(client)
        finally:
            scheduler.stop()
            await client.aclose()

    qloop.run(scenario())


def test_live_websocket_with_data_age_and_demo_badge(qapp, qloop, qtbot, sim_thread) -> None:
    theme.apply_theme(qapp)
    sim = sim_thread()
    ctx, bar, window = make_bar(qtbot, demo=True)

    async def check(client: OpsApiClient) -> None:
        await wait_until(lambda: "LIVE" in bar.text_for("sim"), 10, "LIVE")
        await wait_until(lambda: "data " in bar.text_for("sim"), 10, "a data age")
        text = bar.text_for("sim")
        assert re.fullmatch(r"● sim  LIVE · WebSocket · data \d+\.\d s", text), text
        assert bar.demo_badge.isVisible() and bar.demo_badge.text() == "DEMO"
        save_shot(window.statusBar(), "statusbar.png")

    run_with_client(qloop, ctx, bar, sim.url, check)


def test_no_demo_badge_outside_demo(qtbot) -> None:
    _, bar, _ = make_bar(qtbot, demo=False)
    bar.run_refresh(time.monotonic())
    assert not bar.demo_badge.isVisible()


def test_sse_fallback_is_marked(qloop, qtbot, sim_thread) -> None:
    sim = sim_thread(offer_websocket=False)
    ctx, bar, _ = make_bar(qtbot)

    async def check(client: OpsApiClient) -> None:
        await wait_until(lambda: "LIVE" in bar.text_for("sim"), 15, "LIVE over SSE")
        assert "fallback: SSE" in bar.text_for("sim")

    run_with_client(qloop, ctx, bar, sim.url, check)


def test_wrong_token_says_auth_failed(qloop, qtbot, sim_thread) -> None:
    sim = sim_thread(token="t")
    ctx, bar, window = make_bar(qtbot)

    async def check(client: OpsApiClient) -> None:
        await wait_until(lambda: "AUTH FAILED" in bar.text_for("sim"), 10, "AUTH FAILED")
        text = bar.text_for("sim")
        assert text.startswith("● sim  AUTH FAILED — ") and len(text) > len("● sim  AUTH FAILED — ")
        assert "wrong" not in text  # the token itself never reaches the screen
        save_shot(window.statusBar(), "statusbar_auth.png")

    run_with_client(qloop, ctx, bar, sim.url, check, token=Secret("wrong"))


def test_stopped_backend_reconnects_with_a_countdown(qloop, qtbot, sim_thread) -> None:
    sim = sim_thread()
    ctx, bar, _ = make_bar(qtbot)

    async def check(client: OpsApiClient) -> None:
        await wait_until(lambda: "LIVE" in bar.text_for("sim"), 10, "LIVE")
        sim.stop()
        await wait_until(lambda: "RECONNECTING" in bar.text_for("sim"), 10, "RECONNECTING")
        text = bar.text_for("sim")
        assert re.search(r"RECONNECTING (in \d+\.\d s|now)( · last data \S+ s ago)?$", text), text

    run_with_client(qloop, ctx, bar, sim.url, check)


@pytest.mark.parametrize(
    ("status", "age", "now", "want"),
    [
        (LinkStatus(ConnectionState.CONNECTING), None, 0.0, "● b  CONNECTING"),
        (
            LinkStatus(ConnectionState.LIVE, Transport.POLLING),
            0.25,
            0.0,
            "● b  LIVE · fallback: polling · data 0.2 s",
        ),
        (
            LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET),
            None,
            0,
            "● b  LIVE · WebSocket · no data yet",
        ),
        (
            LinkStatus(ConnectionState.STALE, Transport.WEBSOCKET),
            12.7,
            0,
            "● b  STALE 12 s · WebSocket",
        ),
        (
            LinkStatus(ConnectionState.RECONNECTING, retry_in_s=2.5, since=100.0),
            14.0,
            100.2,
            "● b  RECONNECTING in 2.3 s · last data 14 s ago",
        ),
        (
            LinkStatus(ConnectionState.RECONNECTING, retry_in_s=1.0, since=100.0),
            None,
            105.0,
            "● b  RECONNECTING now",
        ),
        (
            LinkStatus(ConnectionState.AUTH_FAILED, detail="401 Unauthorized"),
            None,
            0,
            "● b  AUTH FAILED — 401 Unauthorized",
        ),
    ],
)
def test_link_words(status: LinkStatus, age: float | None, now: float, want: str) -> None:
    assert describe_link("b", status, age, now).plain == want


def test_age_format() -> None:
    assert [format_age(s) for s in (0.04, 9.94, 12.9, 185, 7300)] == [
        "0.0 s",
        "9.9 s",
        "12 s",
        "3 min 05 s",
        "2 h 01 min",
    ]
    assert format_age(4.2, precise=False) == "4 s"


def test_insecure_backend_is_marked_before_its_state(qapp, qtbot) -> None:
    from opsconsole.core.events import BackendDescribed, ConnectionChanged
    from opsconsole.core.models import BackendInfo

    ctx, bar, _window = make_bar(qtbot)
    store = ctx.store
    store.apply(BackendDescribed("prom", BackendInfo("prom", "prometheus", "https://p:9090", True)))
    store.apply(BackendDescribed("am", BackendInfo("am", "alertmanager", "https://a:9093")))
    for name in ("prom", "am"):
        store.apply(ConnectionChanged(name, LinkStatus(ConnectionState.LIVE, Transport.PROMETHEUS)))
    bar.refresh(time.monotonic())
    assert bar.text_for("prom").startswith("● prom  INSECURE LIVE")
    assert "INSECURE" not in bar.text_for("am")
    label = bar.findChild(QWidget, "link_prom")
    assert "not verified" in label.toolTip()
    assert "prometheus at https://p:9090" in label.toolTip()


def test_live_link_with_a_problem_says_it_in_plain_words() -> None:
    link = LinkStatus(
        ConnectionState.LIVE, Transport.PROMETHEUS, "Prometheus refused the latency query"
    )
    text = describe_link("prom", link, 0.4, 0.0)
    assert text.plain == (
        "● prom  LIVE · Prometheus · data 0.4 s · Prometheus refused the latency query"
    )
    stale = LinkStatus(ConnectionState.STALE, Transport.POLLING, "no data for 4 s")
    assert "no data for" not in describe_link("b", stale, 4.0, 0.0).plain


def test_the_tooltip_never_shows_a_password(qapp, qtbot) -> None:
    from opsconsole.app.backends import describe
    from opsconsole.core.config import BackendConfig
    from opsconsole.core.events import BackendDescribed
    from opsconsole.core.models import BackendInfo

    ctx, bar, _window = make_bar(qtbot)
    cfg = BackendConfig(name="ops", kind="opsapi", url="http://alice:hunter2@ops.example:8080")
    ctx.store.apply(BackendDescribed("ops", describe(cfg)))
    # Described by hand, as a future path might: the tooltip strips the password itself too.
    raw = BackendInfo("raw", "prometheus", "https://bob:pa55word@prom.example/x")
    ctx.store.apply(BackendDescribed("raw", raw))
    bar.refresh(time.monotonic())
    ops = bar.findChild(QWidget, "link_ops").toolTip()
    prom = bar.findChild(QWidget, "link_raw").toolTip()
    assert "opsapi at http://ops.example:8080" in ops
    assert "prometheus at https://prom.example/x" in prom
    for secret in ("alice", "hunter2", "bob", "pa55word"):
        assert secret not in ops + prom
