"""The whole console pointed at a real Patroni cluster: it shows what `patronictl list` shows and
why each replica may take over, and it switches over, fails over, pauses and sets the advisory
read-only from the keyboard, each step audited and verified on the live cluster."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from opsconsole.backends.patroni import PatroniClient
from opsconsole.backends.secrets import Secret
from opsconsole.core.eligibility import human_bytes
from opsconsole.core.events import BackendDescribed
from opsconsole.core.models import BackendInfo, ConnectionState
from opsconsole.core.schedule import schedule_at
from opsconsole.core.store import Store
from opsconsole.ui import theme
from tests.integration.patroni_conftest import NOFAILOVER_MEMBER, patroni_lab  # noqa: F401
from tests.support.console import command_line, make_console, open_dialog, show
from tests.support.patronilab import PatroniLab
from tests.support.waiting import wait_until

BACKEND = "lab"
CTL_ROLES = {"Leader": "leader", "Replica": "replica", "Sync Standby": "sync standby"}


@pytest.fixture
def console(qtbot, qloop, tmp_path, patroni_lab: PatroniLab, monkeypatch):  # noqa: F811
    patroni_lab.wait_healthy(max_lag=0)
    # libpq's own way to the password of the database login that verifies the read-only
    monkeypatch.setenv("PGPASSWORD", patroni_lab.creds.superuser_password)
    store = Store(capacity=600)
    client = PatroniClient(
        BACKEND,
        patroni_lab.urls[0],
        store.apply,
        username=patroni_lab.username,
        password=Secret(patroni_lab.password),
        poll_s=0.5,
        pg_user="postgres",
    )
    info = BackendInfo(BACKEND, "patroni", patroni_lab.urls[0], False, PatroniClient.performs)
    store.apply(BackendDescribed(BACKEND, info))
    built, _ui = make_console(tmp_path, {BACKEND: client}, store)
    theme.apply_theme(QApplication.instance())
    show(qtbot, built.window)
    yield built
    qloop.run(client.aclose())  # inside the loop: its polls must not outlive the test
    built.close()


async def live(console, lab: PatroniLab) -> PatroniClient:
    client = console.clients[BACKEND]
    client.start()
    state = console.ctx.store.backend(BACKEND)
    await wait_until(
        lambda: client.status.state is ConnectionState.LIVE and lab.scope in state.clusters,
        15,
        "the cluster live in the console",
    )
    return client


def history(lab: PatroniLab) -> list[list[object]]:
    leader = lab.leader()
    assert leader is not None
    return httpx.get(f"{lab.member(leader).url}/history", timeout=5).json()


def audit_records(console) -> list[dict[str, object]]:
    lines = console.audit.path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


async def confirm(qtbot, window) -> None:
    await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
    qtbot.keyClick(open_dialog(window).ok_button, Qt.Key.Key_Return)


def test_the_panel_shows_what_patronictl_lists_and_why_each_may_take_over(
    console,
    qloop,
    patroni_lab: PatroniLab,  # noqa: F811
):
    panel = console.window.clusters

    def cluster():
        return console.ctx.store.backend(BACKEND).clusters[patroni_lab.scope]

    async def scenario() -> None:
        await live(console, patroni_lab)
        ctl = {row["Member"]: row for row in patroni_lab.patronictl_list()}
        await wait_until(lambda: _panel_has(panel, patroni_lab, ctl), 10, "the panel drawn")
        for name, row in ctl.items():
            texts = panel.member_texts(BACKEND, patroni_lab.scope, name)
            assert texts["role"] == CTL_ROLES[row["Role"]], name
            assert row["State"] in texts["healthy"], name
            assert texts["timeline"] == str(row["TL"]), name
            if row["Role"] == "Leader":
                assert texts["candidate"].startswith("— current")
                continue
            member = next(m for m in cluster().members if m.name == name)
            assert member.lag_known and texts["lag"] == human_bytes(member.lag_bytes), name
            assert round(member.lag_bytes / 1048576) == row["Lag in MB"], name
        assert (
            "nofailover"
            in panel.member_texts(BACKEND, patroni_lab.scope, NOFAILOVER_MEMBER)["candidate"]
        )
        header = panel.cluster_text(BACKEND, patroni_lab.scope)
        assert f"primary: {patroni_lab.leader()}" in header and "HEALTHY" in header

    qloop.run(scenario(), timeout=60)


def _panel_has(panel, lab: PatroniLab, ctl) -> bool:
    try:
        return all(panel.member_texts(BACKEND, lab.scope, n) for n in ctl)
    except KeyError:
        return False


def test_a_switchover_fired_twice_moves_the_leader_once_and_is_verified_live(
    console,
    qloop,
    qtbot,
    patroni_lab: PatroniLab,  # noqa: F811
):
    window, store = console.window, console.ctx.store

    async def scenario() -> None:
        client = await live(console, patroni_lab)
        leader = patroni_lab.leader()
        candidate = next(
            n for n in patroni_lab.member_names if n not in (leader, NOFAILOVER_MEMBER)
        )
        before = history(patroni_lab)
        timeline = max(
            m.timeline for m in store.backend(BACKEND).clusters[patroni_lab.scope].members
        )
        # The same intent twice (a double Enter on the command line): one dialog, one request.
        first = console.ctx.commands.run(
            "db.switchover", backend=BACKEND, cluster=patroni_lab.scope, member=candidate
        )
        second = console.ctx.commands.run(
            "db.switchover", backend=BACKEND, cluster=patroni_lab.scope, member=candidate
        )
        await confirm(qtbot, window)
        pressed = time.monotonic()
        result = await first
        took = time.monotonic() - pressed
        print(f"switchover: Enter to verified outcome {took:.2f} s")
        assert result.ok, result.message
        assert result.message == f"{candidate} is primary, timeline {timeline + 1}"
        assert (await second).message == result.message
        # Fired again once it is done: refused before sending, from the live state.
        again = await console.ctx.commands.run(
            "db.switchover", backend=BACKEND, cluster=patroni_lab.scope, member=candidate
        )
        assert not again.ok and "already primary" in again.message
        assert client.posts == 1
        assert patroni_lab.leader() == candidate
        # The new leader writes the history line in its next cycle: one line, never two.
        await wait_until(lambda: len(history(patroni_lab)) > len(before), 15, "/history")
        assert len(history(patroni_lab)) == len(before) + 1
        phases = [(r["phase"], r["command"]) for r in audit_records(console)]
        assert ("intent", "db.switchover") in phases and ("result", "db.switchover") in phases
        assert phases.count(("intent", "db.switchover")) == 1
        # Its line on the timeline says who asked for it, from Patroni's own history.
        await wait_until(
            lambda: _timeline_has(console, f"{candidate} promoted", "requested from this console"),
            10,
            "the promotion on the timeline",
        )

    qloop.run(scenario(), timeout=90)


def _timeline_has(console, *words: str) -> bool:
    return any(all(w in e.message for w in words) for e in console.timeline.recent(200))


def test_the_switchover_keystroke_goes_by_the_command_line(
    console,
    qloop,
    qtbot,
    patroni_lab: PatroniLab,  # noqa: F811
):
    window = console.window

    async def scenario() -> None:
        await live(console, patroni_lab)
        leader = patroni_lab.leader()
        candidate = next(
            n for n in patroni_lab.member_names if n not in (leader, NOFAILOVER_MEMBER)
        )
        command_line(qtbot, window, f"switchover {patroni_lab.scope} {candidate}")
        await confirm(qtbot, window)
        pressed = time.monotonic()
        await wait_until(
            lambda: f"{candidate} is primary" in window.last_action.text(), 40, "the outcome"
        )
        print(f"switchover by keys: Enter to the outcome shown {time.monotonic() - pressed:.2f} s")
        assert patroni_lab.leader() == candidate

    qloop.run(scenario(), timeout=90)


def test_nofailover_and_lagging_members_are_refused_before_sending(
    console,
    qloop,
    patroni_lab: PatroniLab,  # noqa: F811
):
    store = console.ctx.store

    async def scenario() -> None:
        client = await live(console, patroni_lab)
        refused = await console.ctx.commands.run(
            "db.switchover", backend=BACKEND, cluster=patroni_lab.scope, member=NOFAILOVER_MEMBER
        )
        assert not refused.ok
        assert f"{NOFAILOVER_MEMBER} cannot take over: it is tagged nofailover" in refused.message
        leader = patroni_lab.leader()
        lagging = next(n for n in patroni_lab.member_names if n not in (leader, NOFAILOVER_MEMBER))
        receiver = patroni_lab.walreceiver_pid(lagging)
        assert receiver is not None, f"{lagging} has no WAL receiver"
        os.kill(receiver, signal.SIGSTOP)
        try:
            patroni_lab.write_wal(megabytes=4)

            def lags() -> bool:
                cluster = store.backend(BACKEND).clusters[patroni_lab.scope]
                member = next(m for m in cluster.members if m.name == lagging)
                return member.refusal is not None and "maximum_lag_on_failover" in member.refusal

            await wait_until(lags, 20, f"{lagging} lagging beyond the limit")
            refused = await console.ctx.commands.run(
                "db.failover", backend=BACKEND, cluster=patroni_lab.scope, member=lagging
            )
            assert not refused.ok
            assert "more than maximum_lag_on_failover (1.0 MiB)" in refused.message
            assert client.posts == 0
        finally:
            os.kill(receiver, signal.SIGCONT)
        patroni_lab.wait_healthy(max_lag=0)

    qloop.run(scenario(), timeout=90)


def test_a_wrong_password_is_a_401_in_words_and_pause_shows_the_banner_until_resumed(
    console,
    qloop,
    qtbot,
    patroni_lab: PatroniLab,  # noqa: F811
):
    window, panel = console.window, console.window.clusters
    scope = patroni_lab.scope

    async def scenario() -> None:
        client = await live(console, patroni_lab)
        client.set_token(Secret("not-the-password"))
        task = console.ctx.commands.run("db.pause", backend=BACKEND, cluster=scope)
        await confirm(qtbot, window)
        result = await task
        assert not result.ok
        assert "Patroni refused the user name or password" in result.message
        assert "HTTP 401" in result.message and "nothing was changed" in result.message
        assert "not-the-password" not in result.message
        assert not console.ctx.store.backend(BACKEND).clusters[scope].paused

        client.set_token(Secret(patroni_lab.password))
        # From the panel's own button, which says what it will do for the selected cluster.
        await wait_until(lambda: panel.select(BACKEND, scope), 5, "the cluster's row selected")
        button = panel.commands.actions["db.pause"]
        await wait_until(lambda: button.isVisible() and button.isEnabled(), 5, "Pause button")
        assert button.text() == "Pause failover…"
        button.trigger()
        await confirm(qtbot, window)
        await wait_until(lambda: patroni_lab.cluster().get("pause") is True, 10, "paused")
        await wait_until(
            lambda: "will not fail over" in panel.cluster_text(BACKEND, scope), 5, "the banner"
        )
        await wait_until(lambda: button.text() == "Resume failover…", 5, "the Resume label")
        button.trigger()
        await confirm(qtbot, window)
        await wait_until(lambda: not patroni_lab.cluster().get("pause"), 10, "resumed")
        await wait_until(
            lambda: "will not fail over" not in panel.cluster_text(BACKEND, scope), 5, "no banner"
        )

    qloop.run(scenario(), timeout=60)


def test_the_advisory_read_only_is_set_verified_on_every_member_and_cleared(
    console,
    qloop,
    qtbot,
    patroni_lab: PatroniLab,  # noqa: F811
):
    window, scope = console.window, patroni_lab.scope

    async def scenario() -> None:
        await live(console, patroni_lab)
        for enabled, word in ((True, "on"), (False, "off")):
            task = console.ctx.commands.run(
                "db.read_only", backend=BACKEND, cluster=scope, enabled=enabled
            )
            await confirm(qtbot, window)
            result = await task
            assert result.ok, result.message
            names = ", ".join(sorted(patroni_lab.member_names))
            assert (
                result.message == f"{scope}: advisory read-only {word.upper()}, verified on {names}"
            )
            for name in patroni_lab.member_names:
                shown = patroni_lab.sql(name, "SHOW default_transaction_read_only")
                assert shown == [(word,)], name

    qloop.run(scenario(), timeout=90)


def test_a_killed_leader_is_replaced_by_patroni_and_the_console_tells_why(
    console,
    qloop,
    patroni_lab: PatroniLab,  # noqa: F811
):
    store, scope = console.ctx.store, patroni_lab.scope

    async def scenario() -> None:
        await live(console, patroni_lab)
        old = patroni_lab.leader()
        assert old is not None
        timeline = max(m.timeline for m in store.backend(BACKEND).clusters[scope].members)
        seen_down: list[str | None] = []

        def watch(_backend: str, cluster) -> None:
            member = next((m for m in cluster.members if m.name == old), None)
            if member is not None and not member.healthy:
                seen_down.append(member.state_words)

        store.cluster_changed.connect(watch)
        patroni_lab.kill_postgres(old)
        killed = time.monotonic()

        def new_leader() -> bool:
            cluster = store.backend(BACKEND).clusters[scope]
            leader = next((m for m in cluster.members if m.name == cluster.primary), None)
            return leader is not None and leader.name != old and leader.timeline > timeline

        await wait_until(new_leader, 30, "a new leader in the console")
        print(f"failover: leader killed to the new leader shown {time.monotonic() - killed:.2f} s")
        cluster = store.backend(BACKEND).clusters[scope]
        promoted = next(m for m in cluster.members if m.name == cluster.primary)
        assert promoted.timeline == timeline + 1 and promoted.role_words == "leader"
        await wait_until(lambda: bool(seen_down), 15, f"{old} shown down")
        lines = [f"{cluster.primary} promoted", "automatic failover"]
        try:
            await wait_until(
                lambda: _timeline_has(console, *lines), 25, "the cause on the timeline"
            )
        except AssertionError:
            said = [e.message for e in console.timeline.recent(50) if e.kind == "failover"]
            raise AssertionError(f"no line with {lines} among the failover lines {said}") from None
        patroni_lab.wait_healthy(min_timeline=timeline + 1, max_lag=0)

    qloop.run(scenario(), timeout=120)


def test_unreachable_members_and_a_silent_cluster(
    console,
    qloop,
    patroni_lab: PatroniLab,  # noqa: F811
):
    store, scope = console.ctx.store, patroni_lab.scope

    async def scenario() -> None:
        client = await live(console, patroni_lab)
        leader = patroni_lab.leader()
        replica = next(n for n in patroni_lab.member_names if n != leader)
        pid = patroni_lab.patroni_pid(replica)
        os.kill(pid, signal.SIGSTOP)
        try:

            def unreachable() -> bool:
                cluster = store.backend(BACKEND).clusters[scope]
                return any(m.name == replica and not m.reachable for m in cluster.members)

            await wait_until(unreachable, 15, f"{replica} shown unreachable")
            assert client.status.state is ConnectionState.LIVE
        finally:
            os.kill(pid, signal.SIGCONT)
        pids = [patroni_lab.patroni_pid(n) for n in patroni_lab.member_names]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            await wait_until(
                lambda: client.status.state is not ConnectionState.LIVE, 15, "not LIVE"
            )
            panel = console.window.clusters
            await wait_until(
                lambda: "STALE" in panel.cluster_text(BACKEND, scope), 5, "STALE on the panel"
            )
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        await wait_until(lambda: client.status.state is ConnectionState.LIVE, 20, "LIVE again")
        patroni_lab.wait_healthy(max_lag=0)

    qloop.run(scenario(), timeout=90)


def test_a_scheduled_switchover_is_verified_as_scheduled_then_happens(
    console,
    qloop,
    qtbot,
    patroni_lab: PatroniLab,  # noqa: F811
):
    window, store, scope = console.window, console.ctx.store, patroni_lab.scope
    panel = window.clusters

    async def scenario() -> None:
        await live(console, patroni_lab)
        leader = patroni_lab.leader()
        candidate = next(
            n for n in patroni_lab.member_names if n not in (leader, NOFAILOVER_MEMBER)
        )
        at = schedule_at("+8s", datetime.now().astimezone())
        task = console.ctx.commands.run(
            "db.switchover", backend=BACKEND, cluster=scope, member=candidate, at=at
        )
        await confirm(qtbot, window)
        result = await task
        assert result.ok, result.message
        assert "switchover scheduled" in result.message and f"to {candidate}" in result.message
        assert patroni_lab.leader() == leader  # not yet: at its time
        await wait_until(
            lambda: "switchover scheduled" in panel.cluster_text(BACKEND, scope), 5, "the banner"
        )
        await wait_until(
            lambda: store.backend(BACKEND).clusters[scope].primary == candidate,
            40,
            "the switchover at its time",
        )
        await wait_until(
            lambda: "switchover scheduled" not in panel.cluster_text(BACKEND, scope), 10, "done"
        )

    qloop.run(scenario(), timeout=90)
