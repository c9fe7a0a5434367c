"""The link's watchdog sleeps until its next deadline: few wake-ups idle, STALE still on time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from opsconsole.backends.opsapi.timings import LinkTimings
from opsconsole.backends.opsapi.watchdog import (
    MIN_LOOK_S,
    PAST_DEADLINE_S,
    WatchdogAlarm,
    next_look_s,
)
from opsconsole.core.models import ConnectionState, LinkStatus, Transport
from tests.support.tcpproxy import FaultProxy
from tests.support.waiting import wait_until

T = LinkTimings()  # STALE after 3 s of silence, dead after 6 s


def look(**state: Any) -> float:
    """Seconds until the deadline the watchdog sleeps for (it wakes a moment past it)."""
    return next_look_s(T, **state) - PAST_DEADLINE_S


def test_a_fresh_link_is_looked_at_when_its_silence_would_reach_the_stale_limit() -> None:
    assert look(silent=1.0, live=True, data_age=0.5, stale=False) == pytest.approx(2.0)
    assert look(silent=0.0, live=False, data_age=None, stale=False) == pytest.approx(3.0)


def test_data_that_ages_between_heartbeats_is_looked_at_when_it_turns_late() -> None:
    # Heartbeats keep the link talking, but the newest sample is 2.5 s old.
    assert look(silent=0.2, live=True, data_age=2.5, stale=False) == pytest.approx(0.5)
    # Already STALE: only a frame can change that (it is judged on arrival).
    assert look(silent=0.2, live=True, data_age=9.0, stale=True) == pytest.approx(2.8)


def test_a_silent_stale_link_is_looked_at_when_its_words_or_its_end_change() -> None:
    # "no data for 4 s" becomes "5 s" at 4.5 s of silence; dead at 6 s.
    assert look(silent=4.2, live=True, data_age=None, stale=False) == pytest.approx(0.3)
    assert look(silent=5.8, live=True, data_age=None, stale=False) == pytest.approx(0.2)
    # Never live (no first frame): nothing to say until it is dead.
    assert look(silent=4.0, live=False, data_age=None, stale=False) == pytest.approx(2.0)


def test_a_fallback_link_is_looked_at_when_it_should_try_the_preferred_transport() -> None:
    wait = look(silent=0.5, live=True, data_age=0.1, stale=True, reprobe_in=0.7)
    assert wait == pytest.approx(0.7)


def test_a_silence_that_ends_just_after_the_data_turns_late_is_said_as_silence() -> None:
    # The last sample was 0.05 s old when its frame came: the data turns late 0.05 s before
    # the silence limit. One look at the silence limit says the truer words ("no data").
    wait = look(silent=2.0, live=True, data_age=2.05, stale=False)
    assert wait == pytest.approx(1.0)


def test_a_deadline_already_past_is_looked_at_soon_not_in_a_busy_loop() -> None:
    assert next_look_s(T, silent=7.0, live=True, data_age=None, stale=False) == MIN_LOOK_S


async def test_the_alarm_is_cut_short_by_a_nearer_deadline_and_not_by_a_later_one() -> None:
    alarm = WatchdogAlarm(time.monotonic)
    start = time.monotonic()
    sleeping = asyncio.ensure_future(alarm.sleep(5.0))
    await asyncio.sleep(0.05)
    alarm.bring_forward(time.monotonic() + 10.0)  # later than planned: no change
    alarm.bring_forward(time.monotonic() + 0.1)
    await asyncio.wait_for(sleeping, 2.0)
    assert 0.1 <= time.monotonic() - start < 2.0
    assert alarm.sleeps == 1


async def test_an_idle_link_wakes_its_watchdog_about_every_two_seconds(sim_factory, client_factory):
    """Heartbeats only (one sample, then none for an hour): the watchdog used to look five times
    a second; it now looks when a deadline could turn, about once per two heartbeats."""
    sim = await sim_factory(tick_s=3600, heartbeat_s=1.0)
    client = client_factory(sim.url, transports=(Transport.WEBSOCKET,), history_s=0, slo_every_s=0)
    await wait_until(lambda: client.status.state is ConnectionState.STALE, 10, "late data")
    assert client.status.detail == "data arriving late"
    before, opened = client.watchdog_alarm.sleeps, client.stats.links_opened
    await asyncio.sleep(4.0)
    looks = client.watchdog_alarm.sleeps - before
    assert client.stats.links_opened == opened  # heartbeats kept the link: not replaced
    assert 1 <= looks <= 4, looks  # a 0.2 s tick looked 20 times


async def test_silence_still_says_stale_at_the_limit_and_replaces_the_link(
    sim_factory, store, client_factory
):
    """No frame at all (the backend's pulse stops): STALE at the 3 s limit, counted on the
    client's own clock when it is said, and the link replaced at the dead limit."""
    sim = await sim_factory(heartbeat_s=0.5)
    proxy = FaultProxy("127.0.0.1", int(sim.url.rsplit(":", 1)[1]))
    await proxy.start()
    silent_at_stale: list[float | None] = []

    def on_change(backend: str, status: LinkStatus) -> None:
        if status.state is ConnectionState.STALE and not silent_at_stale:
            silent_at_stale.append(client.data_age())

    store.connection_changed.connect(on_change)
    try:
        client = client_factory(
            proxy.url, transports=(Transport.WEBSOCKET,), history_s=0, slo_every_s=0
        )
        await wait_until(lambda: client.status.state is ConnectionState.LIVE, 5, "LIVE")
        proxy.silence_existing()
        await wait_until(lambda: silent_at_stale, 6, "STALE")
        silent = silent_at_stale[0]
        # The 0.2 s tick said it up to 0.2 s late; the deadline says it at the limit.
        assert silent is not None and T.stale_after_s <= silent < T.stale_after_s + 0.15, silent
        assert client.status.detail == "no data for 3 s"
        await wait_until(lambda: client.stats.links_opened == 2, 10, "link replaced")
    finally:
        store.connection_changed.disconnect(on_change)
        await proxy.stop()
