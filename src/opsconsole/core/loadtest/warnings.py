"""When the load tool and the services under test disagree about what is happening."""

from __future__ import annotations

from collections.abc import Mapping

from opsconsole.core.loadtest.spec import Signal
from opsconsole.core.loadtest.toolstats import ToolStats

# The tool's failures count as "well above" the server's errors from 1 % up and at more than
# five times the server's ratio (plus half a point, so 0.2 % against 0 % is not a warning).
CLIENT_FAIL_FLOOR = 0.01
CLIENT_FAIL_FACTOR = 5.0
CLIENT_FAIL_SLACK = 0.005
# Every client request reaches at least one service under test: the services counting less
# than half of what the tool sends means requests are lost on the way or go elsewhere.
SERVER_RPS_FLOOR_RATIO = 0.5
MIN_CLIENT_RPS = 1.0  # below this the two rates are too small to compare


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.2g} %"


def disagreement_warnings(
    tool: ToolStats | None, server: Mapping[Signal, float | None], n_services: int
) -> dict[str, str]:
    """The disagreements now, by kind ("failures", "throughput"), in plain words."""
    if tool is None or not tool.running:
        return {}
    out: dict[str, str] = {}
    server_errors = server.get("error_ratio")
    fails = tool.fail_ratio
    if (
        fails is not None
        and server_errors is not None
        and fails >= CLIENT_FAIL_FLOOR
        and fails > server_errors * CLIENT_FAIL_FACTOR + CLIENT_FAIL_SLACK
    ):
        out["failures"] = (
            f"The load tool counts {_pct(fails)} of its requests as failed, but the "
            f"services report {_pct(server_errors)} errors: the failures may be timeouts or "
            "connection errors that never reach the services."
        )
    server_rps = server.get("rps")
    if (
        tool.rps is not None
        and server_rps is not None
        and tool.rps >= MIN_CLIENT_RPS
        and server_rps < tool.rps * SERVER_RPS_FLOOR_RATIO
    ):
        where = "these services count" if n_services > 1 else "this service counts"
        out["throughput"] = (
            f"The load tool sends {tool.rps:,.0f} requests per second, but {where} "
            f"{server_rps:,.0f}: check that the test targets them."
        )
    return out
