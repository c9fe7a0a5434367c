"""A backend frozen with SIGSTOP (sockets open, nothing answered): the data age only grows."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from opsconsole.core.models import ConnectionState
from tests.support.waiting import wait_until

SAMPLE_S = 0.1
FROZEN_S = 9.0  # past STALE (3 s), the link's replacement (6 s) and a reconnect attempt


@pytest.fixture
def sim_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The reference backend as its own process, so it can be frozen without freezing us."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsconsole.sim.cli", "--port", "0", "--tick", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    try:
        yield proc, url
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
        proc.wait(10)


async def test_data_age_grows_monotonically_while_the_backend_is_frozen(
    sim_process, store, client_factory
):
    proc, url = sim_process
    client = client_factory(url)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    await wait_until(lambda: (store.data_age("sim") or 99) < 1.0, 5, "fresh data")

    os.kill(proc.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    start_age = store.data_age("sim")
    assert start_age is not None
    samples: list[tuple[float, float, ConnectionState]] = []
    states: set[ConnectionState] = set()
    while time.monotonic() - frozen_at < FROZEN_S:
        await asyncio.sleep(SAMPLE_S)  # the probe's sampling period, not a wait for a state
        age = store.data_age("sim")
        assert age is not None
        samples.append((time.monotonic() - frozen_at, age, client.status.state))
        states.add(client.status.state)

    # The link went through its dead-link states while the age kept counting from the last
    # sample: never reset by a lost-link line, a reconnect attempt or a status change.
    assert ConnectionState.LIVE not in {s for t, _, s in samples if t > 4.0}, samples
    assert states & {ConnectionState.STALE, ConnectionState.RECONNECTING}, states
    for (t0, a0, _), (t1, a1, _) in itertools.pairwise(samples):
        assert a1 >= a0, f"data age went backwards: {a0:.2f} s at {t0:.1f} → {a1:.2f} s at {t1:.1f}"
    elapsed, last_age, _ = samples[-1]
    assert last_age >= start_age + elapsed - 0.5, (start_age, elapsed, last_age)

    os.kill(proc.pid, signal.SIGCONT)
    await wait_until(lambda: (store.data_age("sim") or 99) < 1.0, 15, "fresh data after thaw")
