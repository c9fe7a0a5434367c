"""How the Ops API link judges its pulse (`LinkTimings`) and what it counts (`ClientStats`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# A refused transport is retried after this long: the proxy in the way may have been fixed.
REFUSAL_MEMORY_S = 300.0


@dataclass(frozen=True)
class LinkTimings:
    """How the link decides it is stale or dead; defaults follow docs/ops-api.md."""

    stale_after_s: float = 3.0  # no frame this long: data is STALE
    dead_after_s: float = 6.0  # no frame this long (heartbeats are 1 s): replace the link
    open_timeout_s: float = 5.0
    ping_interval_s: float = 5.0
    ping_timeout_s: float = 5.0
    poll_interval_s: float = 1.0
    fallback_reprobe_s: float = REFUSAL_MEMORY_S


DEFAULT_TIMINGS = LinkTimings()


@dataclass
class ClientStats:
    """Counters of one client's links, for tests, the health panel and the fault matrix."""

    frames: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    links_opened: int = 0
    resyncs: int = 0
    gaps: int = 0
    duplicates: int = 0
    defects: int = 0  # links ended by an unexpected exception (logged, then reconnected)
