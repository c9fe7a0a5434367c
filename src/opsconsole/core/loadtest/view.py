"""What a load-test watch shows at one moment (`WatchView`): the one thing its screens render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from opsconsole.core.loadtest.referee import CriterionState, StopReason
    from opsconsole.core.loadtest.toolstats import ToolStats

#: waiting: the tool has not started a test yet (or cannot be reached before it did);
#: running: the test runs and nothing is due; counting down: a stop reason holds and the tool
#: is stopped when the countdown ends; held: the operator holds the countdown; stopping: the
#: stop was sent and its outcome is watched; finished: the test has ended (see `verdict`).
Phase = Literal["waiting", "running", "counting down", "held", "stopping", "finished"]


@dataclass(frozen=True)
class WatchView:
    """One moment of a watch: the window's panel, its wall page and the CLI's line read it."""

    name: str
    tool: str  # "locust" | "k6"
    tool_url: str
    phase: Phase
    phase_words: str  # one line in plain words: "Locust running · 120 users · 2 min 10 s"
    now: float  # wall-clock time of this moment
    #: The same moment on the clock the referee judges by (the backend's): criteria's `since`
    #: are on it, so time in state is `judged_now - since`, whatever the local clock's skew.
    judged_now: float = 0.0
    started: float | None = None  # when the tool was first seen running
    criteria: tuple[CriterionState, ...] = ()
    tool_stats: ToolStats | None = None  # None: not (yet) read, or the tool cannot be reached
    tool_error: str | None = None  # why the tool's API did not answer, in words
    #: The server's signals over one minute (the panel's "server" column beside the tool's).
    server: Mapping[str, float | None] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    stop_reason: StopReason | None = None
    countdown_left_s: float | None = None  # while counting down (or held: the time it kept)
    stop_words: str | None = None  # the stop's state: sent, confirmed, unknown, failed
    verdict: str | None = None  # at the end: "passed" | "failed" | "stopped"
    exit_code: int | None = None  # at the end: 0 passed, 1 failed criteria, 3 stopped
