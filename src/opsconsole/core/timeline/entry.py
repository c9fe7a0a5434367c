"""One line of the incident timeline, and the operator's filter over those lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

KINDS: tuple[str, ...] = (
    "alert",
    "breaker",
    "cluster",
    "failover",
    "action",
    "scenario",
    "deploy",
    "connection",
    "info",
    "investigation",  # an `:investigate` run, its findings in the data
    "incident",  # an incident opened, noted, moved or closed
    "loadtest",  # a load test's watch: criteria changing state, its stop, its verdict
)


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the timeline. `id` is assigned by the store (0 until stored)."""

    ts: float  # epoch seconds: when the event itself happened
    backend: str
    kind: str  # one of KINDS
    service: str | None = None
    message: str  # plain words, as shown
    data: dict[str, Any] = {}  # JSON-serialisable details
    id: int = 0
    # A stable identity for events whose message may differ when seen again (an alert's value);
    # unique per backend when set, so a re-sighting after a restart adds nothing.
    ref: str | None = None


@dataclass(frozen=True)
class TimelineFilter:
    """What the operator typed after `/`: `kind:alert service:orders free words`."""

    kinds: tuple[str, ...] | None = None  # None: every kind
    service: str | None = None  # substring of the service, case-insensitive
    text: str = ""  # every word must occur in the message or the service

    @classmethod
    def parse(cls, query: str) -> TimelineFilter:
        """Tokens `kind:x[,y]` (a known kind or its prefix), `service:x`; the rest is text."""
        kinds: list[str] = []
        any_kind = False
        service: str | None = None
        words: list[str] = []
        for token in query.split():
            key, sep, value = token.partition(":")
            key = key.lower()
            if sep and key == "kind" and value:
                any_kind = True
                for part in filter(None, value.lower().split(",")):
                    # "kind:clu" finds cluster; an unknown kind stays literal and matches nothing.
                    found = [k for k in KINDS if k == part] or [
                        k for k in KINDS if k.startswith(part)
                    ]
                    kinds.extend(k for k in (found or [part]) if k not in kinds)
            elif sep and key == "service" and value:
                service = value
            else:
                words.append(token)
        return cls(tuple(kinds) if any_kind else None, service, " ".join(words))

    @property
    def empty(self) -> bool:
        return self.kinds is None and not self.service and not self.text
