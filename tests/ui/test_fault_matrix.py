"""The fault matrix (targets.md and the link faults found since), each against the real window.

`make faults` runs all of it and prints one line per fault with its figures; `make test` runs
the fast subset (the faults not marked `full_matrix`).
"""

from __future__ import annotations

import json
import time

import pytest

from opsconsole.backends.secrets import Secret
from opsconsole.core.models import Transport
from tests.support.faultmatrix import RESULTS, TOKEN, Fault, Rig, run_fault

WS, SSE, POLL = (Transport.WEBSOCKET,), (Transport.SSE,), (Transport.POLLING,)
NO_WS = {"offer_websocket": False}
NO_STREAMS = {"offer_websocket": False, "offer_sse": False}
ANSWER_503 = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
ANSWER_401 = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def _set(**attrs):
    def step(rig: Rig) -> None:
        for name, value in attrs.items():
            setattr(rig.proxy, name, value)

    return step


def _blackhole(rig: Rig) -> None:
    rig.proxy.new_links_silent = True
    rig.proxy.silence_existing()


def _answer(raw: bytes):
    def step(rig: Rig) -> None:
        rig.proxy.answer = raw
        rig.proxy.reset_all()

    return step


def _auth_back(rig: Rig) -> None:
    rig.proxy.answer = None
    rig.client.set_token(Secret(TOKEN))  # what the credentials prompt does


def _stop(rig: Rig) -> None:
    rig.sim.stop()


def _start(**config):
    def step(rig: Rig) -> None:
        rig.restart(**config)

    return step


def _second_hello(rig: Rig) -> None:
    injected: list[bool] = []

    def rewrite(message: str) -> list[str]:
        frame = json.loads(message)
        if frame.get("type") == "metrics" and not injected:
            injected.append(True)
            hello = {
                "type": "hello",
                "version": "1",
                "epoch": "a-forged-run",
                "server_time": time.time(),
                "seq": frame["seq"],
            }
            return [json.dumps(hello), message]
        return [message]

    rig.frames.rewrite = rewrite


full = pytest.mark.full_matrix
FAULTS = [
    pytest.param(Fault("reset", lambda r: r.proxy.reset_all(), hold_s=2.0, expect_detect=False)),
    pytest.param(
        Fault(
            "refused port",
            lambda r: r.proxy.close_port(),
            lambda r: r.proxy.reopen_port(),
            recover_within_s=1.5,
        )
    ),
    pytest.param(
        Fault("blackhole websocket", _blackhole, _set(new_links_silent=False), transports=WS)
    ),
    pytest.param(Fault("latency 5 s", _set(delay_s=5.0), _set(delay_s=0.0), hold_s=8.0)),
    pytest.param(
        Fault(
            "second hello",
            _second_hello,
            hold_s=3.0,
            expect_detect=False,
            frames=True,
            transports=WS,
        )
    ),
    pytest.param(
        Fault("latency 0.5 s", _set(delay_s=0.5), _set(delay_s=0.0), expect_detect=False),
        marks=full,
    ),
    pytest.param(
        Fault("trickle 1 KB/s", _set(rate_bps=1000.0), _set(rate_bps=None), hold_s=8.0),
        marks=full,
    ),
    pytest.param(
        Fault("trickle 64 KB/s", _set(rate_bps=64_000.0), _set(rate_bps=None), expect_detect=False),
        marks=full,
    ),
    pytest.param(
        Fault("blackhole sse", _blackhole, _set(new_links_silent=False), sim=NO_WS, transports=SSE),
        marks=full,
    ),
    pytest.param(
        Fault(
            "blackhole polling",
            _blackhole,
            _set(new_links_silent=False),
            sim=NO_STREAMS,
            transports=POLL,
        ),
        marks=full,
    ),
    pytest.param(Fault("truncated frames", _set(cut_after=3000), _set(cut_after=None)), marks=full),
    pytest.param(
        Fault("duplicated bytes", _set(duplicate_next=True), hold_s=2.0, expect_detect=False),
        marks=full,
    ),
    pytest.param(Fault("503", _answer(ANSWER_503), _set(answer=None)), marks=full),
    pytest.param(
        Fault("401 that goes away", _answer(ANSWER_401), _auth_back, token=True), marks=full
    ),
    pytest.param(
        Fault(
            "restart same port",
            _stop,
            _start(),
            hold_s=3.0,
            resumable=False,
            recover_within_s=1.5,
        ),
        marks=full,
    ),
    pytest.param(
        Fault(
            "restart clock 5 min behind",
            _stop,
            _start(clock_offset_s=-300.0),
            hold_s=3.0,
            resumable=False,
            recover_within_s=1.5,
        ),
        marks=full,
    ),
    pytest.param(
        Fault("untrusted TLS certificate", lambda r: None, hold_s=4.0, tls=True, resumable=False),
        marks=full,
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name.replace(" ", "-"))
def test_fault(fault: Fault, qloop, tmp_path):
    result = qloop.run(run_fault(fault, tmp_path), timeout=90)
    RESULTS.append(result)
    assert not result.lies, "\n".join(result.lies[:5])
    assert not result.task_errors, result.task_errors
    assert result.holes == 0, f"{result.holes} ticks missing after the resume"
    if fault.tls:
        assert result.words == ["RECONNECTING"] or "LIVE" not in result.words
    if fault.expect_detect:
        assert result.detect_s is not None
