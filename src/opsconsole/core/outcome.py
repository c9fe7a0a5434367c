"""What an action's outcome watch could see: blind spans, "unknown" at the timeout, settling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from opsconsole.core.actions import Outcome
from opsconsole.core.clocktext import clock_text

# Data older than this is no sight of the backend (docs/ops-api.md: no frame for 3 s is
# STALE); a client with its own limit (a polled backend) passes that instead.
DEFAULT_STALE_AFTER_S = 3.0
# After an "unknown", the watch goes on this long for the link to come back, then gives up.
SETTLE_LIMIT_S = 600.0


@dataclass(frozen=True)
class BlindSpan:
    """A stretch of wall-clock time in which the console could not see the backend."""

    start: float
    end: float | None = None  # None: still blind


@dataclass(frozen=True)
class Verdict:
    """An outcome in the pipeline's words: `status` as in ActionResult, `message` plain."""

    status: str
    message: str


def blind_for(link_live: bool, data_age_s: float | None, stale_after_s: float) -> float | None:
    """Seconds the console has already been blind to a backend, or None while it sees it.

    Blind: the link is not LIVE (counted from now: the watcher hears every link change as it
    happens), or the newest data is older than the stale limit (counted from the moment it
    went stale). A backend that never sent data is judged by its link alone.
    """
    blind: list[float] = []
    if not link_live:
        blind.append(0.0)
    if data_age_s is not None and data_age_s > stale_after_s:
        blind.append(data_age_s - stale_after_s)
    return max(blind) if blind else None


@dataclass(frozen=True)
class Sight:
    """What one outcome watch has seen of its backend: when it began, and its blind spans."""

    started: float
    spans: tuple[BlindSpan, ...] = ()

    @property
    def blind_now(self) -> bool:
        return bool(self.spans) and self.spans[-1].end is None

    @property
    def was_blind(self) -> bool:
        return bool(self.spans)

    @property
    def back_at(self) -> float | None:
        """When the console last saw again, or None while blind or never blind."""
        if not self.spans or self.spans[-1].end is None:
            return None
        return self.spans[-1].end

    def observe(self, now: float, blind_s: float | None) -> Sight:
        """The sight after a look at `now`; `blind_s` is what `blind_for` said."""
        if blind_s is None:
            if not self.blind_now:
                return self
            closed = BlindSpan(self.spans[-1].start, max(now, self.spans[-1].start))
            return Sight(self.started, (*self.spans[:-1], closed))
        if self.blind_now:
            return self  # the span already open keeps its start
        # Never before the watch began nor into the span before: the spans stay disjoint.
        floor = self.back_at if self.back_at is not None else self.started
        start = max(floor, now - max(0.0, blind_s))
        return Sight(self.started, (*self.spans, BlindSpan(min(start, now))))


def blind_words(sight: Sight, backend: str, tz: tzinfo | None = None) -> str:
    """ "the link to sim was down from 12:01:10 to 12:01:40" (local times)."""
    spans = sight.spans
    if not spans:
        return f"the link to {backend} was up throughout"
    last = spans[-1]
    if len(spans) == 1:
        if last.end is None:
            return f"the link to {backend} has been down since {clock_text(last.start, tz)}"
        return (
            f"the link to {backend} was down from {clock_text(last.start, tz)} "
            f"to {clock_text(last.end, tz)}"
        )
    first = clock_text(spans[0].start, tz)
    if last.end is None:
        before = len(spans) - 1
        times = "once" if before == 1 else f"{before} times"
        return (
            f"the link to {backend} has been down since {clock_text(last.start, tz)} "
            f"(and {times} before, from {first})"
        )
    return (
        f"the link to {backend} was down {len(spans)} times between {first} "
        f"and {clock_text(last.end, tz)}"
    )


def at_timeout(sight: Sight, backend: str, timeout_s: float, tz: tzinfo | None = None) -> Verdict:
    """The verdict when the timeout passed without the expected state being seen.

    Only a watch that saw the backend throughout may say "no change": one that was blind
    for any part of it does not know, and says so until it settles.
    """
    if not sight.was_blind:
        return Verdict("no_change", f"no change after {timeout_s:g} s")
    then = "will settle when it is back" if sight.blind_now else "settling from the state now"
    return Verdict("unknown", f"{blind_words(sight, backend, tz)}; {then}")


def settled(sight: Sight, outcome: Outcome | None, now: float, tz: tzinfo | None = None) -> Verdict:
    """The settled verdict of an "unknown": what the state shows once the console sees again.

    `outcome` is what the expected-outcome check found (None: not there).
    """
    back = sight.back_at if sight.back_at is not None else now
    when = clock_text(back, tz)
    if outcome is None:
        return Verdict("no_change", f"not seen after the link came back at {when}")
    status = "succeeded" if outcome.succeeded else "failed"
    return Verdict(status, f"{outcome.message} (seen after the link came back at {when})")


def given_up(sight: Sight, backend: str, limit_s: float, tz: tzinfo | None = None) -> Verdict:
    """The last word on an "unknown" the link never came back to settle."""
    limit = f"{limit_s / 60:g} min" if limit_s >= 60 else f"{limit_s:g} s"
    return Verdict(
        "unknown",
        f"still unknown after {limit}: {blind_words(sight, backend, tz)}; check the state by hand",
    )


def not_settled(when: float, tz: tzinfo | None = None) -> Verdict:
    """The last word on an "unknown" when the console stops before it could settle."""
    return Verdict(
        "unknown",
        f"not settled: the console stopped watching at {clock_text(when, tz)}; "
        "check the state by hand",
    )
