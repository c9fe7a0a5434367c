"""SLOs and deploys from the real `prometheus` binary scraping the reference backend."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import pytest_asyncio

from opsconsole.backends.prometheus import PrometheusClient
from opsconsole.core.config import SloConfig
from opsconsole.core.events import DeploysSeen, StoreEvent
from opsconsole.core.promql import decode_answer
from opsconsole.core.slo.budget import remaining_fraction
from opsconsole.core.slo.model import BURN_WINDOWS, WHOLE, SloObservation, SloWindow
from opsconsole.core.store import BackendState, Store
from opsconsole.sim.embedded import EmbeddedSim
from opsconsole.sim.server import SimConfig
from tests.support.promstack import Daemon, start_prometheus, wait_scraped
from tests.support.waiting import wait_until

SIM = SimConfig(tick_s=0.1, seed=14)
OBJECTIVE = 0.99
SLOTH_SERVICE = "payments"  # has Sloth rules below; the other services are computed
SLOTH_OBJECTIVE = 0.995

# Sloth's generated rules for one SLO (the shape of `sloth generate`'s output), over the sim's
# request counter: the burn windows, the 30 d period as an average of 5 m ratios, the meta.
_SLOTH_RATE = """\
  - record: slo:sli_error:ratio_rate{w}
    expr: |
      (sum(rate(http_requests_total{{service="{s}",code=~"5.."}}[{w}])))
      /
      (sum(rate(http_requests_total{{service="{s}"}}[{w}])))
    labels: {{sloth_id: {s}-requests-availability, sloth_service: {s},
             sloth_slo: requests-availability, sloth_window: {w}}}
"""
_SLOTH_TAIL = """\
  - record: slo:sli_error:ratio_rate30d
    expr: |
      sum_over_time(slo:sli_error:ratio_rate5m{{sloth_service="{s}"}}[30d])
      / ignoring (sloth_window)
      count_over_time(slo:sli_error:ratio_rate5m{{sloth_service="{s}"}}[30d])
    labels: {{sloth_window: 30d}}
- name: sloth-slo-meta-recordings-{s}-requests-availability
  interval: 1s
  rules:
  - record: slo:objective:ratio
    expr: vector({objective})
    labels: {{sloth_id: {s}-requests-availability, sloth_service: {s},
             sloth_slo: requests-availability}}
  - record: slo:error_budget:ratio
    expr: vector(1-{objective})
    labels: {{sloth_id: {s}-requests-availability, sloth_service: {s},
             sloth_slo: requests-availability}}
  - record: slo:time_period:days
    expr: vector(30)
    labels: {{sloth_id: {s}-requests-availability, sloth_service: {s},
             sloth_slo: requests-availability}}
"""


def sloth_rules(service: str, objective: float) -> str:
    head = (
        f"groups:\n- name: sloth-slo-sli-recordings-{service}-requests-availability\n"
        "  interval: 1s\n  rules:\n"
    )
    rates = "".join(_SLOTH_RATE.format(w=w, s=service) for w in BURN_WINDOWS)
    return head + rates + _SLOTH_TAIL.format(s=service, objective=objective)


class BuildInfo:
    """A tiny exporter of `app_build_info{service, version}`: the deploy markers' source.

    On its own thread, like the embedded sim: the module's event loop does not run while a
    test runs on its own, and a silent exporter would make its series vanish.
    """

    def __init__(self) -> None:
        self.versions = {"orders": "v41", "payments": "v7"}
        info = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                lines = ["# TYPE app_build_info gauge"]
                lines += [
                    f'app_build_info{{service="{s}",version="{v}"}} 1'
                    for s, v in dict(info.versions).items()
                ]
                body = ("\n".join(lines) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Stack:
    sim: EmbeddedSim
    prom: Daemon
    build: BuildInfo


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """A sim with failures going on, its build info, and a Prometheus with Sloth's rules."""
    sim = EmbeddedSim(SIM, "127.0.0.1", 0)
    sim.start(timeout=15.0)
    build = BuildInfo()
    build.start()
    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            r = await http.post(
                f"{sim.url}/api/v1/sim/scenario", json={"name": "error_burst", "target": "orders"}
            )
            assert r.status_code < 300, r.text
        prom = await start_prometheus(
            tmp_path_factory.mktemp("prom"),
            [sim.url.removeprefix("http://"), build.host],
            rules=sloth_rules(SLOTH_SERVICE, SLOTH_OBJECTIVE),
        )
        try:
            await wait_scraped(prom, 'http_requests_total{code="500",service="orders"}')
            await wait_scraped(prom, "slo:objective:ratio")
            yield Stack(sim, prom, build)
        finally:
            prom.stop()
    finally:
        build.stop()
        sim.stop()


@dataclass
class Link:
    client: PrometheusClient
    store: Store
    events: list[StoreEvent]
    task: asyncio.Task[None]

    @property
    def state(self) -> BackendState:
        return self.store.backend(self.client.name)


@pytest_asyncio.fixture
async def connect() -> AsyncIterator[Callable[..., Link]]:
    links: list[Link] = []

    def make(
        url: str, services: tuple[str, ...], extra: tuple[SloConfig, ...] = (), **kwargs: Any
    ) -> Link:
        store = Store(capacity=200)
        events: list[StoreEvent] = []

        def apply(event: StoreEvent) -> None:
            events.append(event)
            store.apply(event)

        slos = tuple(SloConfig(s, OBJECTIVE, SloWindow.rolling(30), "prom") for s in services)
        slos += extra
        client = PrometheusClient(
            "prom", url, apply, step_s=1.0, history_s=5.0, slos=slos, slo_every_s=1.0, **kwargs
        )
        link = Link(client, store, events, client.start())
        links.append(link)
        return link

    yield make
    for link in links:
        await link.client.aclose()


async def instant(prom_url: str, promql: str, at: float) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        r = await http.get(
            f"{prom_url}/api/v1/query", params={"query": promql, "time": f"{at:.3f}"}
        )
    vector = decode_answer(r.status_code, r.content, "vector")
    return {s.labels.get("service", ""): s.value for s in getattr(vector, "samples", ())}


async def services_of(prom_url: str) -> tuple[str, ...]:
    names = await instant(prom_url, "group by (service) (http_requests_total)", time.time())
    return tuple(sorted(names))


def observed(link: Link, service: str, *windows: str) -> SloObservation | None:
    obs = link.state.slos.get(service)
    if obs is None or any(obs.counts(w) is None for w in windows):
        return None
    return obs


async def test_remaining_budget_matches_hand_written_promql(
    stack: Stack, connect: Callable[..., Link]
) -> None:
    link = connect(stack.prom.url, ("orders", "api-gateway"))

    def failing() -> bool:
        obs = observed(link, "orders", WHOLE, "5m", "1h")
        whole = None if obs is None else obs.counts(WHOLE)
        return whole is not None and whole.bad > 0 and link.client.slo.whole_at is not None

    await wait_until(failing, timeout=30.0, what="orders' SLO with failed requests")
    obs = link.state.slos["orders"]
    whole = obs.counts(WHOLE)
    assert whole is not None and whole.total > whole.bad > 0
    at = link.client.slo.whole_at
    assert at is not None
    console = remaining_fraction(whole.bad, whole.total, obs.slo.budget)
    # Written by hand, differently: failures counted directly (the console counts the good).
    hand = await instant(
        stack.prom.url,
        '1 - (sum by (service) (increase(http_requests_total{code=~"5.."}[30d]))'
        " / sum by (service) (increase(http_requests_total[30d]))) / (1 - 0.99)",
        at,
    )
    assert abs(console - hand["orders"]) <= 0.01, (console, hand["orders"])
    assert console < 1.0  # the error burst spent some of the budget
    gateway = observed(link, "api-gateway", *BURN_WINDOWS)
    assert gateway is not None and gateway.counts("5m").total > 0  # type: ignore[union-attr]


async def test_queries_per_refresh_do_not_grow_with_services(
    stack: Stack,
    connect: Callable[..., Link],
    sim_factory: Callable[..., Any],
    prometheus_factory: Callable[..., Any],
) -> None:
    # Two Prometheus servers without Sloth's rules: every SLO is computed from counts.
    small_prom = await prometheus_factory(targets=[stack.sim.url.removeprefix("http://")])
    big_sim = await sim_factory(services=200, tick_s=0.2)
    big_prom = await prometheus_factory(targets=[big_sim.url.removeprefix("http://")])
    await wait_scraped(small_prom, "http_requests_total")
    await wait_scraped(big_prom, "http_requests_total")
    small = connect(small_prom.url, await services_of(small_prom.url))
    big = connect(big_prom.url, await services_of(big_prom.url))
    assert len(small.client.slo.slos) == 8 and len(big.client.slo.slos) == 200

    for link, n in ((small, 8), (big, 200)):
        await wait_until(
            lambda link=link, n=n: (
                link.client.slo.refreshes >= 2
                and sum(observed(link, s.service, "5m") is not None for s in link.client.slo.slos)
                == n
            ),
            timeout=45.0,
            what=f"two SLO refreshes of {n} services",
        )
    # One query per burn window (the whole window only once a minute), for 8 or 200 SLOs.
    assert small.client.slo.last_refresh_requests == big.client.slo.last_refresh_requests
    assert big.client.slo.last_refresh_requests == len(BURN_WINDOWS)
    # …and none of them counts as a signal refresh.
    assert big.client.last_refresh_requests == 9


async def test_sloth_rules_are_read_instead_of_recomputed(
    stack: Stack, connect: Callable[..., Link]
) -> None:
    link = connect(stack.prom.url, ("orders", SLOTH_SERVICE))
    await wait_until(
        lambda: (
            observed(link, SLOTH_SERVICE, *BURN_WINDOWS) is not None
            and observed(link, "orders", "5m") is not None
        ),
        timeout=30.0,
        what="Sloth's SLO and a computed one",
    )
    assert link.client.slo.sloth == frozenset({SLOTH_SERVICE})
    obs = link.state.slos[SLOTH_SERVICE]
    assert obs.slo.objective == SLOTH_OBJECTIVE  # the rules' objective, not the config's 0.99
    assert obs.slo.window == SloWindow.rolling(30)
    one_hour = obs.counts("1h")
    assert one_hour is not None and one_hour.total == 1.0  # a ratio, not a count
    recorded = await instant(
        stack.prom.url, f'slo:sli_error:ratio_rate1h{{sloth_service="{SLOTH_SERVICE}"}}', obs.as_of
    )
    assert abs(one_hour.bad - recorded[""]) < 1e-12
    assert "Sloth's objective" in link.client.slo.problems
    computed = link.state.slos["orders"].counts("5m")
    assert computed is not None and computed.total > 1.0  # orders has no rules: real counts


async def test_deploy_markers_from_a_version_label(
    stack: Stack, connect: Callable[..., Link]
) -> None:
    link = connect(
        stack.prom.url,
        ("orders",),
        deploys="max by ({service_label}, version) (app_build_info)",
    )
    await wait_until(
        lambda: link.client.slo.current_version("orders") == "v41",
        timeout=30.0,
        what="the running version as a baseline",
    )

    def deploys() -> list[Any]:
        return [d for e in link.events if isinstance(e, DeploysSeen) for d in e.deploys]

    assert deploys() == []  # the first sighting is a baseline, not a deploy
    flipped = time.time()
    stack.build.versions["orders"] = "v42"
    await wait_until(lambda: deploys(), timeout=20.0, what="the deploy of v42")
    (deploy,) = deploys()
    assert (deploy.service, deploy.version, deploy.prev_version) == ("orders", "v42", "v41")
    assert flipped - 1.0 <= deploy.ts <= flipped + 5.0
    assert deploy in link.state.deploys

    stack.build.versions["orders"] = "v41"  # a rollback is a deploy of the older version
    await wait_until(lambda: len(deploys()) == 2, timeout=20.0, what="the rollback")
    assert (deploys()[1].version, deploys()[1].prev_version) == ("v41", "v42")


async def test_a_broken_slo_query_spoils_only_its_own_slo(
    stack: Stack, connect: Callable[..., Link]
) -> None:
    broken = SloConfig(
        "api-gateway",
        OBJECTIVE,
        SloWindow.rolling(30),
        "prom",
        total="sum by ({service_label}) (increase(http_requests_total[{window}])) +",
    )
    link = connect(stack.prom.url, ("orders",), extra=(broken,))
    await wait_until(
        lambda: (
            observed(link, "orders", *BURN_WINDOWS, WHOLE) is not None
            and "api-gateway" in link.state.slos
            and "refused the SLO 5m (api-gateway) query" in link.state.link.detail
        ),
        timeout=30.0,
        what="orders observed, api-gateway's query refused and said on the link",
    )
    assert dict(link.state.slos["api-gateway"].windows) == {}  # no data, never zero
    assert link.state.link.state.name == "LIVE"  # the signals go on
    assert not link.task.done()
