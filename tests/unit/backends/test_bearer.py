"""Bearer tokens through `BearerAuth` (an httpx.Auth) and an injectable transport, per adapter."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from opsconsole.backends.alertmanager import AlertmanagerClient
from opsconsole.backends.bearer import BearerAuth
from opsconsole.backends.errors import AuthFailed
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.backends.prometheus import PrometheusClient
from opsconsole.backends.secrets import Secret
from opsconsole.core.models import ConnectionState, Transport
from tests.support.waiting import wait_until

TOKEN = "tok-5b1e-right"
WRONG = "tok-5b1e-wrong"
Adapter = OpsApiClient | PrometheusClient | AlertmanagerClient
MakeAdapter = Callable[..., Adapter]

ADAPTERS: dict[str, MakeAdapter] = {
    # SSE: the WebSocket handshake is not an httpx request (it keeps its own header).
    "opsapi": lambda url, **kw: OpsApiClient(
        "b", url, lambda e: None, transports=(Transport.SSE,), history_s=0, **kw
    ),
    "prometheus": lambda url, **kw: PrometheusClient("b", url, lambda e: None, **kw),
    "alertmanager": lambda url, **kw: AlertmanagerClient("b", url, lambda e: None, **kw),
}


@pytest.fixture
async def adapters() -> AsyncIterator[Callable[..., Adapter]]:
    """Started adapters of one kind, closed at the end of the test."""
    made: list[Adapter] = []

    def make(kind: str, url: str, **kw: Any) -> Adapter:
        client = ADAPTERS[kind](url, **kw)
        client.start()
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def test_the_token_never_shows_in_the_auth_object() -> None:
    auth = BearerAuth(Secret(TOKEN))
    assert TOKEN not in repr(auth) and TOKEN not in str(auth)
    assert repr(auth) == "BearerAuth(token set)"
    assert repr(BearerAuth()) == "BearerAuth(no token)"
    assert auth.headers() == {"Authorization": f"Bearer {TOKEN}"}
    assert BearerAuth().headers() == {}


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
async def test_the_token_reaches_the_server_and_no_log(
    kind: str, sim_factory, adapters, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The reference backend answers every path with 401 unless it is shown its token.
    sim = await sim_factory(token=TOKEN)
    client = adapters(kind, sim.url, token=Secret(WRONG))
    await wait_until(lambda: client.status.state is ConnectionState.AUTH_FAILED, 10, "401")
    client.set_token(Secret(TOKEN))
    # Past the token check: the Ops API streams; the sim is neither Prometheus nor
    # Alertmanager, so those get its 404 instead of a 401.
    if kind == "opsapi":
        await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    else:
        await wait_until(lambda: "404" in client.status.detail, 10, "past the token check")
    assert client.status.state is not ConnectionState.AUTH_FAILED
    assert WRONG not in caplog.text and TOKEN not in caplog.text
    assert TOKEN not in repr(client.status) and TOKEN not in repr(vars(client))


async def test_rest_calls_carry_the_token_and_health_does_not(sim_factory) -> None:
    sim = await sim_factory(token=TOKEN)
    client = OpsApiClient("b", sim.url, lambda e: None, token=Secret(TOKEN))
    anonymous = OpsApiClient("anon", sim.url, lambda e: None)
    try:
        assert (await client.services()).services
        assert (await anonymous.health()).status == "ok"  # health needs no token
        with pytest.raises(AuthFailed):
            await anonymous.services()
    finally:
        await client.aclose()
        await anonymous.aclose()


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
async def test_an_injected_transport_carries_the_requests(kind: str, adapters) -> None:
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"error": "unauthorized", "message": "no"})

    client = adapters(
        kind, "http://backend.invalid:9", token=Secret(TOKEN), transport=httpx.MockTransport(refuse)
    )
    await wait_until(lambda: client.status.state is ConnectionState.AUTH_FAILED, 10, "401")
    assert seen and {r.url.host for r in seen} == {"backend.invalid"}
    assert {r.headers["Authorization"] for r in seen} == {f"Bearer {TOKEN}"}
