"""Each simulated service's SLO as the Ops API serves it, counted from the request ledger."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from opsconsole.core.slo.model import WHOLE, WINDOW_SECONDS, SloWindow, WindowKind
from opsconsole.core.slowire import SloBody, SlosBody, WindowCounts
from opsconsole.sim.ledger import RequestLedger
from opsconsole.sim.topology import DAY_S, ServiceSpec


class SloBook:
    """The SLOs of the simulated services (objective and window from the topology)."""

    def __init__(self, specs: Sequence[ServiceSpec], ledger: RequestLedger) -> None:
        self.ledger = ledger
        self.names = tuple(s.service.name for s in specs)
        self.objectives = tuple(s.service.slo.target for s in specs)
        self.windows = tuple(SloWindow.parse(s.slo_window) for s in specs)

    def window_start(self, i: int, now: float) -> float:
        """Wall time the whole SLO window of service `i` begins, judged at `now`."""
        window, time = self.windows[i], self.ledger.time
        if window.kind is WindowKind.ROLLING:
            return now - time.span(window.days * DAY_S)
        start_sim, _ = window.bounds(time.sim(now))
        return time.wall(start_sim)

    def first_hour(self, i: int, now: float) -> int:
        """The oldest hour bucket the whole window of service `i` counts at `now`: a rolling
        window of N days is the hour holding `now` and the N × 24 − 1 before it; a calendar
        month, the hours that begin in it."""
        window, ledger = self.windows[i], self.ledger
        if window.kind is WindowKind.ROLLING:
            return ledger.hour(now) - window.days * 24 + 1
        return math.ceil(self.window_start(i, now) / ledger.hour_start(1) - 1e-9)

    def whole_windows(self, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Requests and failures per service over its own SLO window."""
        total = np.zeros(len(self.names), dtype=np.int64)
        bad = np.zeros(len(self.names), dtype=np.int64)
        firsts: dict[int, list[int]] = {}
        for i in range(len(self.names)):
            firsts.setdefault(self.first_hour(i, now), []).append(i)
        last = self.ledger.hour(now)
        for first, members in firsts.items():  # a few distinct windows, however many services
            t, b = self.ledger.coarse.sums(first, last)
            total[members], bad[members] = t[members], b[members]
        return total, bad

    def body(self, now: float) -> SlosBody:
        """`GET /api/v1/slo`: every SLO with its counts per window at `now`."""
        counted = {key: self.ledger.window(now, span) for key, span in WINDOW_SECONDS.items()}
        counted[WHOLE] = self.whole_windows(now)
        totals = {key: t.tolist() for key, (t, _) in counted.items()}
        bads = {key: b.tolist() for key, (_, b) in counted.items()}
        slos = tuple(
            SloBody(
                service=name,
                objective=self.objectives[i],
                window=self.windows[i].literal,
                window_kind=self.windows[i].kind.value,  # type: ignore[arg-type]
                windows={
                    key: WindowCounts(good=totals[key][i] - bads[key][i], total=totals[key][i])
                    for key in counted
                },
            )
            for i, name in enumerate(self.names)
        )
        return SlosBody(as_of=now, slos=slos)
