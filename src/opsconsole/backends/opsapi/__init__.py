"""The Ops API v1 adapter: REST calls and a live stream (WebSocket, SSE, polling) kept up."""

from __future__ import annotations

from opsconsole.backends.opsapi.link import PROBE_EVERY_S, OpsApiClient
from opsconsole.backends.opsapi.rest import OpsApiRest, new_intent_key
from opsconsole.backends.opsapi.timings import REFUSAL_MEMORY_S, ClientStats, LinkTimings

__all__ = [
    "PROBE_EVERY_S",
    "REFUSAL_MEMORY_S",
    "ClientStats",
    "LinkTimings",
    "OpsApiClient",
    "OpsApiRest",
    "new_intent_key",
]
