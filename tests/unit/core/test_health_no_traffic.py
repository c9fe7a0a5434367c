"""The "no traffic" rule: NaN latency over zero requests is neither 0 nor a silent gap."""

from __future__ import annotations

import math

from opsconsole.core.health import no_traffic, service_health
from opsconsole.core.models import Thresholds

NAN = math.nan


def test_zero_requests_and_no_latency_is_no_traffic() -> None:
    assert no_traffic({"rps": 0.0, "latency_p99_ms": NAN})
    assert service_health({"rps": 0.0, "latency_p99_ms": NAN}, Thresholds()).reason == (
        "no traffic"
    )


def test_a_missing_traffic_answer_is_not_called_no_traffic() -> None:
    assert not no_traffic({"rps": NAN, "latency_p99_ms": NAN})
    assert not no_traffic(None)
    assert not no_traffic({})


def test_traffic_with_latency_is_traffic() -> None:
    assert not no_traffic({"rps": 3.0, "latency_p99_ms": 120.0})
    assert not no_traffic({"rps": 0.0, "latency_p99_ms": 120.0})  # the last request's window


def test_unknown_traffic_is_not_called_no_traffic_in_the_verdict() -> None:
    verdict = service_health({"rps": NAN, "latency_p99_ms": NAN, "cpu": 0.2}, Thresholds())
    assert verdict.reason == "no traffic data"
