"""Bench case `investigate_service`: one whole investigation against the live reference backend."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

from opsconsole.app.investigator import Investigator
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.investigate import Verdict
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store
from opsconsole.sim.config import SimConfig
from opsconsole.sim.server import SimServer

TARGET_S = 2.0


async def _until(condition, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the reference backend did not get there in time")
        await asyncio.sleep(0.05)


async def _measure(runs: int, services: int) -> dict[str, object]:
    sim = SimServer(SimConfig(time_scale=20, services=services, seed=3, tick_s=0.1))
    await sim.start("127.0.0.1", 0)
    store = Store()
    client = OpsApiClient("sim", sim.url, store.apply)
    client.start()
    try:
        await _until(lambda: client.status.state is ConnectionState.LIVE, 15)
        await _until(client.history.done.is_set, 30)
        await client.scenario("dependency_outage", "inventory-service")
        state = store.backend("sim")
        await _until(lambda: state.circuits["inventory-service"].state == "open", 30)
        began = time.time() - 5
        investigator = Investigator(
            store, {"sim": client}, lambda: (), incident_start=lambda: began
        )
        times: list[float] = []
        interesting = 0
        for _ in range(runs):
            t = time.perf_counter()
            run = await investigator.run("orders")
            times.append(time.perf_counter() - t)
            interesting = sum(f.verdict is Verdict.INTERESTING for f in run.findings)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        return {
            "services": services,
            "seconds_median": round(statistics.median(times), 4),
            "seconds_p95": round(p95, 4),
            "interesting_findings": interesting,
            "baseline_read_from_backend": run.findings[0].evidence.query is not None
            or any(f.evidence.query for f in run.findings),
        }
    finally:
        await client.aclose()
        await sim.stop()


def bench_investigate(runs: int) -> dict[str, object]:
    runs = max(5, runs * 3)
    small = asyncio.run(_measure(runs, 8))
    large = asyncio.run(_measure(runs, 200))
    return {
        "scenario": "investigate_service",
        "what": "`:investigate orders` during a dependency outage: 8 checks against the live "
        "store, timeline and the backend's history over real sockets (8 and 200 services)",
        "runs": runs,
        "seconds_median": small["seconds_median"],
        "seconds_p95": small["seconds_p95"],
        "seconds_median_200_services": large["seconds_median"],
        "seconds_p95_200_services": large["seconds_p95"],
        "interesting_findings": small["interesting_findings"],
        "baseline_read_from_backend": small["baseline_read_from_backend"],
        "target_s": TARGET_S,
        "meets_target": max(small["seconds_p95"], large["seconds_p95"]) <= TARGET_S,  # type: ignore[type-var]
    }


if __name__ == "__main__":
    print(json.dumps(bench_investigate(int(sys.argv[1]) if len(sys.argv) > 1 else 7)), flush=True)
