"""Which service the charts follow until the operator picks one: the worst, held steady."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opsconsole.core.health import Health

Key = tuple[str, str]  # (backend, service)

# How bad a service is, for following it: a service without data has nothing to chart, so
# it comes after the healthy ones (the table ranks it higher: there it is a warning).
_SEVERITY: dict[Health, int] = {
    Health.CRITICAL: 4,
    Health.FORCED: 3,
    Health.WARNING: 2,
    Health.HEALTHY: 1,
    Health.UNKNOWN: 0,
}


@dataclass(frozen=True)
class Standing:
    """How one service stands now: its level and how near (or past) its limits it is."""

    level: Health
    pressure: float  # largest judged value / limit; 0.0 without data


def _order(key: Key, standing: Standing) -> tuple[int, float, Key]:
    # Worst first; the name breaks ties so the same data always picks the same service.
    return (-_SEVERITY[standing.level], -standing.pressure, key)


class WorstFollower:
    """Picks the worst service, and keeps it until another is clearly worse.

    A service in a worse state (WARN over OK, CRIT over WARN) takes over at once: that is an
    incident to show. Within the same state another takes over only when its pressure is
    higher by `margin` for `hold_s` seconds on end, so two services near each other do not
    swap the charts back and forth. Time is passed in.
    """

    def __init__(self, margin: float = 0.15, hold_s: float = 10.0) -> None:
        self.margin = margin
        self.hold_s = hold_s
        self.current: Key | None = None
        self._challenger: Key | None = None
        self._challenged_at = 0.0

    def reset(self) -> None:
        """Forget the service followed: the next choice is the worst, without a hold."""
        self.current = None
        self._challenger = None

    def choose(self, standings: Mapping[Key, Standing], now: float) -> Key | None:
        """The service to follow now, given every service's standing (None: none listed)."""
        if not standings:
            self.current = None
            return None
        best = min(standings, key=lambda k: _order(k, standings[k]))
        current = self.current
        if current is None or current not in standings:
            return self._switch(best)
        if best == current:
            self._challenger = None
            return current
        mine, theirs = standings[current], standings[best]
        if _SEVERITY[theirs.level] > _SEVERITY[mine.level]:
            return self._switch(best)
        if (
            _SEVERITY[theirs.level] == _SEVERITY[mine.level]
            and theirs.pressure > mine.pressure + self.margin
        ):
            if self._challenger != best:
                self._challenger, self._challenged_at = best, now
            elif now - self._challenged_at >= self.hold_s:
                return self._switch(best)
            return current
        self._challenger = None
        return current

    def _switch(self, key: Key) -> Key:
        self.current = key
        self._challenger = None
        return key
