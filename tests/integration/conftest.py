"""Fixtures starting the real Prometheus and Alertmanager beside the reference backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.patroni_conftest import patroni_lab  # noqa: F401  (a fixture)
from tests.support.promstack import Daemon, start_alertmanager, start_prometheus


@pytest.fixture
async def alertmanager(tmp_path: Path) -> AsyncIterator[Daemon]:
    daemon = await start_alertmanager(tmp_path / "alertmanager")
    yield daemon
    daemon.stop()


@pytest.fixture
async def prometheus_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await prometheus_factory(targets=[...], rules=..., alertmanager_url=...)`."""
    started: list[Daemon] = []

    async def start(**kwargs: Any) -> Daemon:
        daemon = await start_prometheus(tmp_path / f"prometheus{len(started)}", **kwargs)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()
