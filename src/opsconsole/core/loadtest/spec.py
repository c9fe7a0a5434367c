"""What a `[[loadtest]]` table asks for: its criteria, stop conditions and guards, as data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Signal = Literal[
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "rps",
    "error_ratio",
    "cpu",
    "memory",
    "db_pool",
]
SIGNALS: tuple[Signal, ...] = get_args(Signal)
# Signals whose value is a 0..1 ratio (shown as a percentage, limits checked ≤ 1).
RATIO_SIGNALS: frozenset[Signal] = frozenset({"error_ratio", "cpu", "memory", "db_pool"})

# What each signal is called in plain words, and its unit for people.
_SIGNAL_WORDS: dict[Signal, str] = {
    "latency_p50_ms": "p50",
    "latency_p95_ms": "p95",
    "latency_p99_ms": "p99",
    "rps": "throughput",
    "error_ratio": "error rate",
    "cpu": "CPU",
    "memory": "memory",
    "db_pool": "database pool",
}

Tool = Literal["locust", "k6"]
TOOLS: tuple[Tool, ...] = ("locust", "k6")
CriterionKind = Literal["success", "stop"]

DEFAULT_COUNTDOWN_S = 10.0
DEFAULT_OVER_S = 60.0
DEFAULT_FOR_S = 60.0


def unit_of(signal: Signal) -> str:
    """The unit a signal's value is in: "ms", "rps" or "ratio" (0..1)."""
    if signal.startswith("latency_"):
        return "ms"
    return "rps" if signal == "rps" else "ratio"


def value_text(signal: Signal, value: float | None) -> str:
    """A signal's value for people: "512 ms", "1,200 rps", "0.12 %"; None is "no data"."""
    if value is None:
        return "no data"
    unit = unit_of(signal)
    if unit == "ratio":
        return f"{value * 100:.3g} %"
    if unit == "rps":
        return f"{value:,.0f} rps" if value >= 100 else f"{value:.3g} rps"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.3g} ms"


def span_text(seconds: float) -> str:
    """A rule's duration as people say it: "2 min", "90 s", "1 h", "1 min 30 s"."""
    whole = round(seconds)
    if whole > 0 and whole % 3600 == 0:
        return f"{whole // 3600} h"
    if whole >= 60 and whole % 60 == 0:
        return f"{whole // 60} min"
    if whole < 60:
        return f"{seconds:g} s"
    return f"{whole // 60} min {whole % 60} s"


def _limit_text(signal: Signal, limit: float) -> str:
    """A limit as people write it: "500 ms", "1,000 rps", "0.1 %" (no rounding of the limit)."""
    unit = unit_of(signal)
    if unit == "ratio":
        return f"{limit * 100:.6g} %"
    number = f"{limit:,.0f}" if float(limit).is_integer() else f"{limit:,g}"
    return f"{number} {unit}"


@dataclass(frozen=True)
class Criterion:
    """One judged rule: a signal over a window against a limit, and how long a breach may last.

    A success criterion breaches while its value violates the limit and has failed once it has
    breached for `for_s`; a stop condition holds while its value is above the limit and stops
    the test once it has held for `for_s`. Equal to the limit is not a violation.
    """

    key: str  # stable and unique within a test: "p95_ms", "min_rps", "stop:error_ratio>0.01/2m"
    signal: Signal
    limit: float
    above_is_bad: bool  # False only for a floor (min_rps)
    over_s: float  # the window the signal is computed over
    for_s: float  # how long a violation must last to count
    kind: CriterionKind

    @property
    def unit(self) -> str:
        return unit_of(self.signal)

    def violated(self, value: float) -> bool:
        """Whether `value` breaks the limit (strictly; NaN is no value and never violates)."""
        return value > self.limit if self.above_is_bad else value < self.limit

    @property
    def label(self) -> str:
        """Plain words: "p95 ≤ 500 ms", "throughput ≥ 1,000 rps", "CPU > 95 % for 3 min (stop)"."""
        words = _SIGNAL_WORDS[self.signal]
        limit = _limit_text(self.signal, self.limit)
        if self.kind == "stop":
            held = f" for {span_text(self.for_s)}" if self.for_s > 0 else ""
            return f"{words} > {limit}{held} (stop)"
        return f"{words} {'≤' if self.above_is_bad else '≥'} {limit}"

    @property
    def held_words(self) -> str:
        """What happened when it counted: "error rate stayed above 1 % for 2 min"."""
        words = _SIGNAL_WORDS[self.signal]
        limit = _limit_text(self.signal, self.limit)
        side = "above" if self.above_is_bad else "below"
        if self.for_s <= 0:
            return f"{words} went {side} {limit}"
        return f"{words} stayed {side} {limit} for {span_text(self.for_s)}"


@dataclass(frozen=True)
class Guards:
    """Which of the console's own alarms also stop the test (each on unless switched off)."""

    budget_page: bool = True  # an error-budget page tier fires for one of the services
    breaker_open: bool = True  # a circuit breaker of one of the services opens
    db_lag: bool = True  # a database member's lag passes its cluster's limit


@dataclass(frozen=True)
class LoadTestSpec:
    """One `[[loadtest]]`: the tool to watch and stop, the services under test, the rules."""

    name: str
    tool: Tool
    url: str  # the tool's API, without trailing slash
    services: tuple[str, ...]
    backend: str | None = None  # None: the first backend that has the services
    countdown_s: float = DEFAULT_COUNTDOWN_S
    warmup_s: float = 0.0
    success: tuple[Criterion, ...] = ()
    stops: tuple[Criterion, ...] = ()
    guards: Guards = Guards()
    line: int | None = None  # its [[loadtest]] header, for later messages

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        """Success criteria then stop conditions, in file order."""
        return self.success + self.stops

    @property
    def windows(self) -> tuple[float, ...]:
        """Every distinct `over` window the criteria need, shortest first."""
        return tuple(sorted({c.over_s for c in self.criteria}))
