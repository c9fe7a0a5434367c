"""Fixtures for the reference backend tests: a real SimServer on 127.0.0.1 per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from opsconsole.sim.server import SimConfig, SimServer
from tests.unit.sim.sim_helpers import ACCELERATED_SIM_CONFIG, StartSim


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """Start SimServers with any config; all are stopped at teardown."""
    servers: list[SimServer] = []

    async def start(config: SimConfig = ACCELERATED_SIM_CONFIG) -> SimServer:
        server = SimServer(config)
        await server.start(port=0)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def accelerated_sim(start_sim: StartSim) -> SimServer:
    """A reference backend on ACCELERATED_SIM_CONFIG (time ×50, seed 7)."""
    return await start_sim()


@pytest.fixture
async def client(accelerated_sim: SimServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=accelerated_sim.url, timeout=10.0) as c:
        yield c
