"""Circuit-breaker rows: each circuit's words, sort rank, tooltip and error-rate line."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from opsconsole.core.health import Health
from opsconsole.core.models import Circuit
from opsconsole.core.words import NO_DATA, age_text, stale_text

SPARK_POINTS = 30  # updates kept per circuit, drawn evenly spaced
SPARK_MIN_TOP = 0.01  # y-axis top is at least 1 %: a 0.2 % blip must not fill the cell

Key = tuple[str, str]  # (backend, circuit)


@dataclass(frozen=True)
class StateStyle:
    word: str
    health: Health
    rank: int  # sort order: the state that needs the operator first


# Severity order of the brief: open, forced open, half open, disabled, closed.
STATES: dict[str, StateStyle] = {
    "open": StateStyle("open", Health.CRITICAL, 0),
    "forced_open": StateStyle("forced open", Health.FORCED, 1),
    "half_open": StateStyle("half open", Health.WARNING, 2),
    "disabled": StateStyle("disabled", Health.UNKNOWN, 3),
    "closed": StateStyle("closed", Health.HEALTHY, 4),
}
UNKNOWN_STATE = StateStyle("unknown", Health.UNKNOWN, 3)


def state_style(state: str) -> StateStyle:
    return STATES.get(state, UNKNOWN_STATE)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str
    numeric: bool = False
    widest: str = ""  # the widest text the column can show, for its width


BACKEND_COLUMN = Column("backend", "Backend", "Which backend reports this circuit")
COLUMNS: tuple[Column, ...] = (
    Column("circuit", "Circuit", "Downstream dependency behind this breaker"),
    Column("state", "State", "closed: calls pass · open: calls rejected · half open: one trial"),
    Column(
        "failures", "Failures", "Consecutive failures / threshold that opens it", True, "88 / 88"
    ),
    Column("success", "Success %", "Share of the last calls that succeeded", True, "100.0"),
    Column("requests", "Req/5m", "Calls made in the last 5 minutes", True, "888888"),
    Column("spark", "Errors", f"Error rate (1 − success) at its last {SPARK_POINTS} changes"),
    Column("since", "Since", "Time since the last state transition", True, "59 min 59 s"),
    Column(
        "half_open_in",
        "Half-open in",
        "When an open breaker lets a trial call through (STALE: how old the data is)",
    ),
)


def format_percent(ratio: float | None) -> str:
    return NO_DATA if ratio is None else f"{ratio * 100:.1f}"


def format_countdown(remaining: float) -> str:
    """Time left until an open breaker tries again; "trying now" once it is due."""
    if remaining < 0.05:
        return "trying now"
    return age_text(remaining)


class ErrorHistory:
    """1 − success rate at each circuit update that changed it, the newest SPARK_POINTS.

    Backends send a circuit only when something about it changes, so the points are updates,
    evenly spaced, not a time axis: the line shows how the rate moved, newest at the right.
    """

    def __init__(self) -> None:
        self._values: deque[float] = deque(maxlen=SPARK_POINTS)
        self._shape: tuple[tuple[float, float], ...] | None = ()

    def add(self, success_rate: float | None) -> None:
        if success_rate is None:
            return  # no calls, no rate: nothing to draw, never a zero
        error = 1.0 - success_rate
        if self._values and self._values[-1] == error:
            return  # a repeat would only flatten the line
        self._values.append(error)
        self._shape = None

    def shape(self) -> tuple[tuple[float, float], ...]:
        """The line as (x, y) in 0…1; y is the error rate over the peak (at least 1 %)."""
        if self._shape is None:
            values = list(self._values)
            top = max(SPARK_MIN_TOP, *values)
            if len(values) == 1:
                self._shape = ((0.0, values[0] / top), (1.0, values[0] / top))
            else:
                last = len(values) - 1
                self._shape = tuple((i / last, v / top) for i, v in enumerate(values))
        return self._shape


@dataclass(frozen=True)
class RowView:
    """Everything one row shows, computed in refresh; the model only reads it."""

    backend: str
    name: str
    state: str
    texts: dict[str, str]
    health: Health  # colour of the state (grey when stale)
    stale: bool
    spark: tuple[tuple[float, float], ...]
    tooltip: str
    requests: int

    @property
    def key(self) -> Key:
        return (self.backend, self.name)

    @property
    def sort_key(self) -> tuple[int, int, str, str]:
        return (state_style(self.state).rank, -self.requests, self.name, self.backend)

    @property
    def filter_text(self) -> str:
        """What "/" searches: name, state word and id, backend."""
        return f"{self.name} {self.texts['state']} {self.state} {self.backend}"


def build_row(
    backend: str,
    circuit: Circuit,
    server_now: float,
    stale_age: float | None,
    stale: bool,
    spark: tuple[tuple[float, float], ...],
) -> RowView:
    style = state_style(circuit.state)
    # A threshold of 0 means the backend does not count (Prometheus' resilience4j gauges
    # carry only state and failure rate): "—", never a made-up "0 / 0".
    counted = circuit.failure_threshold > 0
    since = None if circuit.last_transition_ts is None else server_now - circuit.last_transition_ts
    half_open_in = NO_DATA
    if circuit.state == "open" and circuit.last_transition_ts is not None and not stale:
        half_open_in = format_countdown(circuit.last_transition_ts + circuit.timeout_s - server_now)
    if stale:
        # The last known state stays (greyed); the countdown and the age since the transition
        # would be guesses, so the last column says how old the data is instead.
        since_text = NO_DATA
        half_open_in = stale_text(stale_age)
    else:
        since_text = NO_DATA if since is None else age_text(since, precise=False)
    texts = {
        "backend": backend,
        "circuit": circuit.name,
        "state": style.word,
        "failures": f"{circuit.failure_count} / {circuit.failure_threshold}"
        if counted
        else NO_DATA,
        "success": format_percent(circuit.success_rate),
        "requests": str(circuit.total_requests_5min) if counted else NO_DATA,
        "spark": "",
        "since": since_text,
        "half_open_in": half_open_in,
    }
    rules = (
        f"\nopens after {circuit.failure_threshold} consecutive failures, "
        f"tries again {age_text(circuit.timeout_s, False)} after opening"
        if counted
        else "\nits thresholds are not reported by this backend (resilience4j metrics)"
    )
    tooltip = (
        f"{circuit.name} on {backend}: {style.word}"
        + (" (last known; the backend is STALE)" if stale else "")
        + rules
    )
    return RowView(
        backend=backend,
        name=circuit.name,
        state=circuit.state,
        texts=texts,
        health=Health.UNKNOWN if stale else style.health,
        stale=stale,
        spark=spark,
        tooltip=tooltip,
        requests=circuit.total_requests_5min,
    )
