"""The rule that turns a breaker flapping between two states into one growing run (pure)."""

from __future__ import annotations

from dataclasses import dataclass, replace

# Each change within this many seconds of the previous one continues the run: a breaker that
# re-opens at every trial (an open timeout of 30-60 s) keeps one run for as long as it flaps.
FLAP_WINDOW_S = 60.0
# Only the breaker's own moves flap. Forced open and disabled are operator decisions: each
# one is a line of its own, however close together.
AUTOMATIC_STATES = frozenset({"closed", "open", "half_open"})


@dataclass(frozen=True)
class FlapRun:
    """Consecutive changes of one circuit between the same two states, each close to the last.

    `first` and `second` are the two states in the order the run first crossed them ("open ↔
    half_open"); `count` is how many changes the run holds, the one that started it included.
    """

    first: str
    second: str
    count: int
    start_ts: float
    last_ts: float
    last_to: str

    @property
    def grouped(self) -> bool:
        """True once the run holds more than its first change: it is shown as one group."""
        return self.count > 1


def next_run(
    run: FlapRun | None, old: str, new: str, ts: float, window: float = FLAP_WINDOW_S
) -> FlapRun | None:
    """The run a change `old → new` at `ts` belongs to.

    The same run, one longer, when it moves between the run's two states within `window`
    seconds of the run's previous change; otherwise a new run of one. None when the change
    involves an operator's state (it never groups and ends any run).
    """
    if old not in AUTOMATIC_STATES or new not in AUTOMATIC_STATES or old == new:
        return None
    if run is not None and {old, new} == {run.first, run.second} and ts - run.last_ts <= window:
        # max(): a change stamped a little earlier than the previous one (a backend that
        # gives no transition time is stamped on arrival) must not move the run's end back.
        return replace(run, count=run.count + 1, last_ts=max(run.last_ts, ts), last_to=new)
    return FlapRun(first=old, second=new, count=1, start_ts=ts, last_ts=ts, last_to=new)
