"""Shared fixtures: real reference backends on 127.0.0.1, stores and clients wired to them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.store import Store
from opsconsole.sim.server import SimConfig, SimServer
from tests.support.locust import locust_factory  # noqa: F401 - a fixture for every test

# SimConfig fields for a reference backend whose world runs at real time, sampled 20 times a
# second: fast enough for tests, slow enough for a 2-core box under load. (tests/unit/sim has
# its own ACCELERATED_SIM_CONFIG, time x50, for the backend's own tests.)
REAL_TIME_SIM_FIELDS = {"tick_s": 0.05, "heartbeat_s": 0.5}


@pytest.fixture
async def sim_factory() -> AsyncIterator[Callable[..., Any]]:
    """Start reference backends: `await sim_factory(port=0, **SimConfig fields)`."""
    started: list[SimServer] = []

    async def start(port: int = 0, **config: Any) -> SimServer:
        server = SimServer(SimConfig(**{**REAL_TIME_SIM_FIELDS, **config}))
        await server.start("127.0.0.1", port)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
async def real_time_sim(sim_factory) -> SimServer:
    """A reference backend on REAL_TIME_SIM_FIELDS."""
    return await sim_factory()


@pytest.fixture
def store() -> Store:
    return Store(capacity=600)


@pytest.fixture
async def client_factory(store: Store) -> AsyncIterator[Callable[..., OpsApiClient]]:
    """Make started clients feeding `store`; all are closed at the end of the test."""
    clients: list[OpsApiClient] = []

    def make(url: str, name: str = "sim", **kwargs: Any) -> OpsApiClient:
        client = OpsApiClient(name, url, store.apply, **kwargs)
        client.start()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("CI") == "true"
        and report.skipped
        and not item.get_closest_marker("optional")
        and call.when in ("setup", "call")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (skips hide missing dependencies): {call.excinfo}"


def pytest_terminal_summary(terminalreporter) -> None:
    """The fault matrix's one line per fault (`make faults`), when it ran."""
    from tests.support.faultmatrix import summary_lines

    for line in summary_lines():
        terminalreporter.write_line(line)
