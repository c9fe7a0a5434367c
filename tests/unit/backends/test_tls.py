"""The Ops API client against the real reference backend served over TLS (self-signed)."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from opsconsole.core.models import ConnectionState, Transport
from opsconsole.sim.server import SimConfig, SimServer
from tests.conftest import REAL_TIME_SIM_FIELDS
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
async def tls_sim(self_signed):
    cert, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SimServer(SimConfig(**REAL_TIME_SIM_FIELDS))
    await server.start("127.0.0.1", 0, ssl_context=context)
    yield server
    await server.stop()


async def test_verify_tls_false_streams_over_websocket(tls_sim, store, client_factory):
    assert tls_sim.url.startswith("https://")
    client = client_factory(tls_sim.url, verify_tls=False, history_s=0)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE over wss")
    assert client.transport is Transport.WEBSOCKET  # not a fallback: the setting reached it


async def test_an_untrusted_certificate_is_said_in_plain_words(tls_sim, store, client_factory):
    client = client_factory(tls_sim.url, history_s=0)
    await wait_until(
        lambda: client.status.detail.startswith("certificate not trusted"), 10, "TLS words"
    )
    assert client.status.state is ConnectionState.RECONNECTING
    assert "self-signed" in client.status.detail
    # Never a fallback to another transport for a certificate problem.
    assert client.stats.links_opened == 0
