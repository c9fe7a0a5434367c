"""The wall's Error budgets board: one tile per SLO, coloured by projected exhaustion."""

from __future__ import annotations

from collections.abc import Iterable

from opsconsole.core.alarms import SERVICE_RANK, budget_verdict, exhaustion_words
from opsconsole.core.models import ConnectionState
from opsconsole.core.slo.figure import percent_text
from opsconsole.ui.context import UiContext
from opsconsole.ui.wall.theme import WallTheme
from opsconsole.ui.wall.tiles import Tile, TileBoard


class BudgetsBoard(TileBoard):
    """One tile per SLO, worst first: service, budget left, burn 1 h and when it runs out.

    The colours are `core.alarms.budget_verdict`'s (critical within a day or on a page tier,
    warning before the window ends); a page tier firing also holds the rotation.
    """

    panel_id = "wall_budgets"
    title = "Error budgets"

    def __init__(self, ctx: UiContext, wall_theme: WallTheme) -> None:
        super().__init__(ctx, wall_theme)
        ctx.store.slo_changed.connect(self.mark_dirty)

    def empty_text(self) -> str:
        return "No error budgets reported yet"

    def build_tiles(self) -> Iterable[Tile]:
        store = self.ctx.store
        many = len([s for s in store.backends.values() if s.slos]) > 1
        rows = []
        for name, state in store.backends.items():
            stale = state.link.state is not ConnectionState.LIVE
            for service, obs in state.slos.items():
                verdict = budget_verdict(obs)
                remaining = verdict.budget.fraction
                key = (
                    SERVICE_RANK[verdict.level],
                    2.0 if remaining is None else remaining,
                    name,
                    service,
                )
                rows.append((key, name, service, verdict, stale))
        for _, name, service, verdict, stale in sorted(rows, key=lambda r: r[0]):
            slo = verdict.obs.slo
            budget = verdict.budget
            fraction = budget.fraction
            # The word is the budget left alone: "80 %" still reads whole on a quarter-screen tile.
            if stale:
                word, first = "STALE", f"last known: {budget.words}"
            elif fraction is None:
                word, first = "NO DATA", "no counts for the window"
            elif fraction <= 0:
                word, first = percent_text(fraction, 0), budget.words
            else:
                word, first = (
                    percent_text(fraction, 0),
                    exhaustion_words(verdict.runs_out),
                )
            burn_line = f"burn 1 h {verdict.burn_1h.figure.text}"
            if verdict.firing is not None:
                burn_line += " · " + ("PAGING" if verdict.paging else "ticket")
            lines = (first, burn_line, f"{percent_text(slo.objective, 3)} over {slo.window.words}")
            title = f"{service} · {name}" if many else service
            yield Tile(
                key=f"{name}/{service}",
                title=title,
                word=word,
                health=verdict.level,
                lines=lines,
                stale=stale,
            )
