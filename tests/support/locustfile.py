"""Locust users of the reference backend's shop: browse products, place orders.

Loaded only by a Locust subprocess (`tests/support/locust.py`), never imported by pytest or
src/: Locust patches the standard library with gevent when it loads.

Each user paces itself to `SHOP_USER_RPS` requests a second (environment, default 10), so a
run of N users offers about N × that to the backend: 20 users ≈ 200 rps. With
`SHOP_PARENT_PID` set, Locust ends itself once that process is gone (a test run killed before
its teardown leaves no load running).
"""

from __future__ import annotations

import os
import random
from typing import Any

import gevent
from locust import FastHttpUser, constant_throughput, events, task

USER_RPS = float(os.environ.get("SHOP_USER_RPS", "10"))
PARENT_CHECK_S = 1.0


def _end_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        gevent.sleep(PARENT_CHECK_S)  # no event tells a child its parent died: look each second
    os._exit(3)


@events.init.add_listener
def _watch_parent(environment: Any, **_: Any) -> None:
    if parent := os.environ.get("SHOP_PARENT_PID"):
        gevent.spawn(_end_with_parent, int(parent))


class Shopper(FastHttpUser):
    """Browses three times for each order it places, as shoppers do."""

    wait_time = constant_throughput(USER_RPS)
    # A request the backend holds longer than this counts as a failure, as a browser gives up.
    network_timeout = 10.0
    connection_timeout = 5.0

    @task(3)
    def browse(self) -> None:
        self.client.get("/shop/products", name="/shop/products")

    @task(1)
    def order(self) -> None:
        item = {"sku": f"sku-{random.randint(1, 12):03d}", "quantity": random.randint(1, 3)}
        self.client.post(
            "/shop/orders",
            json={"customer": f"load-{random.randint(1, 500)}", "items": [item]},
            name="/shop/orders",
        )
