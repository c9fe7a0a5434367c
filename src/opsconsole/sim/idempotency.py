"""Idempotency-Key cache: first answer per key for 10 minutes, pure logic with injected time."""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

R = TypeVar("R")

KEY_TTL_S = 600.0


class ClaimKind(enum.Enum):
    NEW = "new"  # first sight of the key: act, then complete() (or abandon() on a crash)
    IN_FLIGHT = "in_flight"  # the first request with this key is still being answered: wait
    DONE = "done"  # answered before: send `response` again, do not act
    CONFLICT = "conflict"  # same key, different request: 409


@dataclass(frozen=True)
class Claim(Generic[R]):
    kind: ClaimKind
    response: R | None = None


@dataclass
class _Entry(Generic[R]):
    fingerprint: str
    expires: float
    response: R | None = None


class IdempotencyCache(Generic[R]):
    """Keys map to (request fingerprint, first response). Expired keys are forgotten, so the
    cache holds at most what arrives in one TTL; `max_entries` bounds it against floods."""

    def __init__(self, ttl_s: float = KEY_TTL_S, max_entries: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        # Insertion order == expiry order (constant TTL), so expiry pops from the front.
        self._entries: collections.OrderedDict[str, _Entry[R]] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def claim(self, key: str, fingerprint: str, now: float) -> Claim[R]:
        self._expire(now)
        entry = self._entries.get(key)
        if entry is None:
            while len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)
            self._entries[key] = _Entry(fingerprint, now + self.ttl_s)
            return Claim(ClaimKind.NEW)
        if entry.fingerprint != fingerprint:
            return Claim(ClaimKind.CONFLICT)
        if entry.response is None:
            return Claim(ClaimKind.IN_FLIGHT)
        return Claim(ClaimKind.DONE, entry.response)

    def complete(self, key: str, response: R) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.response = response

    def abandon(self, key: str) -> None:
        """Forget a key whose first request failed without an answer, so a retry may act."""
        self._entries.pop(key, None)

    def _expire(self, now: float) -> None:
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.expires > now:
                break
            del self._entries[key]
