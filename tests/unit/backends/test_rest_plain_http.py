"""An http:// backend's REST client: it reads, and the TLS it never uses trusts no certificate."""

from __future__ import annotations

import httpx
import pytest

from opsconsole.backends.opsapi.rest import OpsApiRest
from opsconsole.backends.tls import tls_problem
from opsconsole.sim.server import SimConfig, SimServer
from tests.conftest import REAL_TIME_SIM_FIELDS
from tests.support.faultmatrix import self_signed_context


@pytest.fixture
async def tls_sim(tmp_path):
    server = SimServer(SimConfig(**REAL_TIME_SIM_FIELDS))
    await server.start("127.0.0.1", 0, ssl_context=self_signed_context(tmp_path))
    yield server
    await server.stop()


async def test_a_plain_http_client_reads_its_backend(real_time_sim) -> None:
    rest = OpsApiRest("sim", real_time_sim.url)
    try:
        assert (await rest.health()).status == "ok"
    finally:
        await rest.aclose()


async def test_its_unused_tls_trusts_no_certificate(real_time_sim, tls_sim) -> None:
    # The client skips loading the CA bundle for http:// (a faster start); if anything ever
    # took it to an https:// address, the certificate must still be checked, and fail.
    assert tls_sim.url.startswith("https://")
    rest = OpsApiRest("sim", real_time_sim.url)
    try:
        with pytest.raises(httpx.ConnectError) as info:
            await rest.http.get(f"{tls_sim.url}/api/v1/health")
        assert (tls_problem(info.value) or "").startswith("certificate not trusted")
    finally:
        await rest.aclose()
