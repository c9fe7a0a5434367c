"""The `patroni_lab` fixture: one real Patroni cluster shared by the tests of a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.patronilab import PatroniLab, require_lab

# The member that may never lead (Patroni's `nofailover` tag), for tests of refused candidates.
NOFAILOVER_MEMBER = "pg3"


@pytest.fixture(scope="module")
def patroni_lab() -> Iterator[PatroniLab]:
    """etcd and three Patroni members on loopback; pg3 tagged `nofailover`. Stopped at the end."""
    require_lab()
    lab = PatroniLab(tags={NOFAILOVER_MEMBER: {"nofailover": True}})
    try:
        lab.start(timeout_s=90)
        yield lab
    finally:
        lab.stop()
