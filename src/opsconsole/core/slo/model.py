"""The SLO vocabulary as frozen records: counts, windows, objectives, observations, deploys."""

from __future__ import annotations

import calendar
import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from types import MappingProxyType

DAY_S = 86_400.0

# The burn-rate windows of the SRE workbook's tiers, shortest first, with their length; the
# key "window" (WHOLE) is the SLO's whole window, whose length depends on the SloWindow.
WINDOW_SECONDS: Mapping[str, float] = MappingProxyType(
    {
        "5m": 300.0,
        "30m": 1800.0,
        "1h": 3600.0,
        "2h": 7200.0,
        "6h": 21_600.0,
        "1d": DAY_S,
        "3d": 3 * DAY_S,
    }
)
BURN_WINDOWS: tuple[str, ...] = tuple(WINDOW_SECONDS)
WHOLE = "window"
WINDOW_KEYS: tuple[str, ...] = (*BURN_WINDOWS, WHOLE)


@dataclass(frozen=True, slots=True)
class Counts:
    """Requests in one window: how many were good of how many in all (never a ratio)."""

    good: float
    total: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.good) and math.isfinite(self.total)):
            raise ValueError(f"counts must be finite, got good={self.good} total={self.total}")
        if self.total < 0 or self.good < 0:
            raise ValueError(f"counts cannot be negative, got good={self.good} total={self.total}")
        if self.good > self.total:
            raise ValueError(f"more good ({self.good}) than total ({self.total}) requests")

    @property
    def bad(self) -> float:
        """Failed requests."""
        return self.total - self.good

    @property
    def error_ratio(self) -> float | None:
        """(total − good) ÷ total; None when no request came (no traffic is not 0 % errors)."""
        return None if self.total == 0 else (self.total - self.good) / self.total

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.good + other.good, self.total + other.total)


NO_COUNTS = Counts(0.0, 0.0)


class WindowKind(enum.Enum):
    """How an SLO window moves: a rolling span of days, or the current calendar month."""

    ROLLING = "rolling"
    CALENDAR_MONTH = "calendar_month"


_DAYS = re.compile(r"\s*(\d+)\s*d\s*", re.ASCII)
_MONTH_WORDS = frozenset({"1m", "calendar_month", "calendar month", "month", "1 month"})


@dataclass(frozen=True, slots=True)
class SloWindow:
    """The span an SLO is judged over: rolling N days, or the calendar month (not "30 d")."""

    kind: WindowKind
    days: int = 0  # rolling windows only; a calendar month's length depends on the month

    def __post_init__(self) -> None:
        if self.kind is WindowKind.ROLLING and not 1 <= self.days <= 3660:
            raise ValueError(f"a rolling window needs 1 to 3660 days, got {self.days}")
        if self.kind is WindowKind.CALENDAR_MONTH and self.days != 0:
            raise ValueError("a calendar month has no fixed number of days")

    @classmethod
    def rolling(cls, days: int) -> SloWindow:
        return cls(WindowKind.ROLLING, days)

    @classmethod
    def calendar_month(cls) -> SloWindow:
        return cls(WindowKind.CALENDAR_MONTH)

    @classmethod
    def parse(cls, text: str, kind: str | None = None) -> SloWindow:
        """The window `text` names: "28d", "30d" (rolling), "1M", "calendar_month" (calendar).

        `kind` is the Ops API's `window_kind` ("rolling" or "calendar_month"); it wins over
        the text, so `{"window": "30d", "window_kind": "calendar_month"}` is a calendar month.
        Note the case: "1M" is a month, "1m" would be a minute and is refused as a window.
        """
        if kind is not None and kind not in {k.value for k in WindowKind}:
            raise ValueError(f"{kind!r} is not a window kind; use rolling or calendar_month")
        if kind == WindowKind.CALENDAR_MONTH.value or text.strip() == "1M":
            return cls.calendar_month()
        if text.strip().casefold() in _MONTH_WORDS - {"1m"}:
            return cls.calendar_month()
        match = _DAYS.fullmatch(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not an SLO window; "
                "write e.g. 28d, 30d (rolling) or 1M (calendar month)"
            )
        return cls.rolling(int(match.group(1)))

    @property
    def literal(self) -> str:
        """The form `parse` reads back: "30d" or "1M"."""
        return "1M" if self.kind is WindowKind.CALENDAR_MONTH else f"{self.days}d"

    @property
    def words(self) -> str:
        """For people, saying which kind it is: "rolling 30 d" or "calendar month"."""
        if self.kind is WindowKind.CALENDAR_MONTH:
            return "calendar month"
        return f"rolling {self.days} d"

    def bounds(self, as_of: float, tz: tzinfo = UTC) -> tuple[float, float]:
        """(start, end) in epoch seconds of the window that `as_of` judges.

        Rolling: the `days` before `as_of` (end = as_of). Calendar: the month holding `as_of`
        in `tz`, from its first midnight to the next month's; the end is in the future.
        """
        if self.kind is WindowKind.ROLLING:
            return as_of - self.days * DAY_S, as_of
        local = datetime.fromtimestamp(as_of, tz)
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        end = start.replace(year=year, month=month)
        return start.timestamp(), end.timestamp()

    def length_s(self, as_of: float, tz: tzinfo = UTC) -> float:
        """Seconds in the whole window (a calendar month: 28 to 31 days)."""
        start, end = self.bounds(as_of, tz)
        return end - start

    def left_s(self, as_of: float, tz: tzinfo = UTC) -> float:
        """Seconds until the budget is renewed: the month's end; for a rolling window never,
        so its planning horizon is its whole length (a burn of 1 lasts exactly that long)."""
        if self.kind is WindowKind.ROLLING:
            return self.days * DAY_S
        return max(0.0, self.bounds(as_of, tz)[1] - as_of)

    def days_in(self, as_of: float, tz: tzinfo = UTC) -> int:
        """Whole days in the window that `as_of` judges."""
        if self.kind is WindowKind.ROLLING:
            return self.days
        local = datetime.fromtimestamp(as_of, tz)
        return calendar.monthrange(local.year, local.month)[1]


@dataclass(frozen=True, slots=True)
class Slo:
    """A service's objective over a window; its error budget is 1 − objective."""

    service: str
    objective: float
    window: SloWindow
    indicator: str = "availability"

    def __post_init__(self) -> None:
        if not 0.0 < self.objective < 1.0:
            raise ValueError(
                f"objective of {self.service!r} must be between 0 and 1 (exclusive), "
                f"got {self.objective}"
            )

    @property
    def budget(self) -> float:
        """The error budget as a ratio of requests: 1 − objective (0.001 for 99.9 %).

        Rounded to 12 decimals: 1 − 0.999 is 0.0010000000000000009 in floats, and the edges
        ("failures equal the budget" is exactly 0 % left) should come out exact.
        """
        return round(1.0 - self.objective, 12)


@dataclass(frozen=True, slots=True)
class SloObservation:
    """Request counts of one SLO per window at one moment, whatever backend counted them.

    `windows` maps "5m" … "3d" and "window" (the whole SLO window) to Counts; a window the
    backend did not report is absent (no data), never zero.
    """

    slo: Slo
    as_of: float
    windows: Mapping[str, Counts] = field(hash=False)
    # Ratios only, no request counts (Sloth's recording rules): each window is carried as one
    # unit of traffic, so ratios, burn rates and the fraction left are right, but absolute
    # figures ("failed requests still allowed") do not exist and are never shown.
    ratios_only: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.windows) - set(WINDOW_KEYS)
        if unknown:
            raise ValueError(
                f"unknown SLO windows {sorted(unknown)}; known: {', '.join(WINDOW_KEYS)}"
            )
        # A private read-only copy: a caller's dict changed later must not change the record.
        object.__setattr__(self, "windows", MappingProxyType(dict(self.windows)))

    @property
    def service(self) -> str:
        return self.slo.service

    def counts(self, window: str) -> Counts | None:
        """Counts of `window`, or None when the backend reported none."""
        return self.windows.get(window)


@dataclass(frozen=True, slots=True)
class Deploy:
    """A new version of a service went live at `ts` (server clock), by someone or something."""

    id: str
    service: str
    version: str
    prev_version: str | None
    ts: float
    by: str = ""
