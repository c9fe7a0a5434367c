"""Error-budget rows and the detail's pieces, from a real Store fed SLO observations and deploys."""

from __future__ import annotations

import numpy as np
import pytest

from opsconsole.core.events import ConnectionChanged, DeploysSeen, EventOccurred, SlosObserved
from opsconsole.core.health import Health
from opsconsole.core.models import ConnectionState, Event, LinkStatus
from opsconsole.core.rows.slodetail import (
    burn_down_from_points,
    burn_down_from_windows,
    deploy_markers,
    incident_markers,
    tier_rows,
)
from opsconsole.core.rows.slos import SloRowBuilder, slo_figures
from opsconsole.core.slo.model import WINDOW_SECONDS, Counts, Deploy, Slo, SloObservation, SloWindow
from opsconsole.core.store import Store

NOW = 1_800_000_000.0
DAY = 86_400.0


def observation(
    service: str,
    error_ratio: float,
    whole_bad: float,
    *,
    objective: float = 0.999,
    window: SloWindow | None = None,
    per_hour: float = 100_000.0,
    windows: dict[str, Counts] | None = None,
) -> SloObservation:
    """Steady traffic of `per_hour` requests failing at `error_ratio` in every burn window;
    the whole 30 d window holds 720 hours of it with `whole_bad` failures in all."""
    counts: dict[str, Counts] = {}
    for name, seconds in WINDOW_SECONDS.items():
        total = per_hour * seconds / 3600
        counts[name] = Counts(total * (1 - error_ratio), total)
    whole_total = per_hour * 720
    counts["window"] = Counts(whole_total - whole_bad, whole_total)
    if windows is not None:
        counts.update(windows)
    slo = Slo(service, objective, window or SloWindow.rolling(30))
    return SloObservation(slo, NOW, counts)


def live_store(*observations: SloObservation, backend: str = "sim") -> Store:
    store = Store()
    store.apply(ConnectionChanged(backend, LinkStatus(ConnectionState.LIVE)))
    store.apply(SlosObserved(backend, observations))
    return store


def rows_by_service(store: Store, builder: SloRowBuilder | None = None) -> dict[str, object]:
    builder = builder or SloRowBuilder()
    return {r.service: r for r in builder.rows(store, NOW)}


def test_worst_remaining_first_with_percent_absolute_and_formulas() -> None:
    # 99.9 % over 30 d, 72 M requests: the budget is 72 000 failures.
    store = live_store(
        observation("search", 0.0005, 36_000),  # half spent
        observation("orders", 0.0005, 64_800),  # 10 % left
        observation("api", 0.0, 0),  # nothing failed: exactly 100 %
    )
    rows = SloRowBuilder().rows(store, NOW)
    assert [r.service for r in sorted(rows, key=lambda r: r.sort_key)] == [
        "orders",
        "search",
        "api",
    ]
    by = {r.service: r for r in rows}
    orders = by["orders"]
    assert orders.texts["objective"] == "99.9 % · 30 d"
    assert orders.texts["window"] == "rolling 30 d"
    assert orders.texts["remaining"] == "10 %"
    assert orders.health["remaining"] is Health.WARNING
    # 7 200 failures still allowed; 10 % of 43.2 min of full outage.
    assert orders.texts["allowed"] == "7\u202f200 · 4.3 min"
    assert "allowed failures = budget × requests" in orders.tooltips["allowed"]
    assert "64\u202f800 failed of 72\u202f000\u202f000 requests" in orders.tooltips["remaining"]
    assert by["api"].texts["remaining"] == "100 %"
    assert by["search"].texts["remaining"] == "50 %"
    # Burn = 0.05 % ÷ 0.1 % = 0.5 in both list windows, below every tier.
    assert orders.texts["burn_1h"] == "0.5×" and orders.health["burn_1h"] is Health.HEALTHY
    assert "burn = error ratio ÷ budget" in orders.tooltips["burn_6h"]
    assert orders.texts["tier"] == "ok"
    # 10 % × 30 d ÷ 0.5 = 6 d is the projection (on hover), but a rolling window burning at
    # most 1× does not run out: old failures leave it as fast as new ones come.
    assert orders.texts["exhaustion"] == "lasts · burn ≤ 1×"
    assert orders.health["exhaustion"] is Health.HEALTHY
    assert "does not run out" in orders.tooltips["exhaustion"]
    assert "remaining × window length ÷ burn rate" in orders.tooltips["exhaustion"]
    assert by["api"].texts["exhaustion"] == "never at this rate"


def test_overspent_and_used_up_say_so_in_words() -> None:
    store = live_store(
        observation("over", 0.0005, 79_200),  # 110 % of the budget spent
        observation("exact", 0.0005, 72_000),
    )
    by = rows_by_service(store)
    assert by["over"].texts["remaining"] == "−10 % overspent"
    assert by["over"].health["remaining"] is Health.CRITICAL
    assert by["over"].tooltips["remaining"].startswith("overspent by 10 %")
    assert by["exact"].texts["remaining"] == "0 % used up"
    assert by["exact"].texts["exhaustion"] == "used up"


def test_a_page_burn_colours_both_burns_and_names_the_firing_tier() -> None:
    # 2 % errors against 0.1 %: burn 20 in every window, so every tier fires.
    store = live_store(observation("orders", 0.02, 10_000))
    row = rows_by_service(store)["orders"]
    assert row.texts["burn_1h"] == "20× page" and row.health["burn_1h"] is Health.CRITICAL
    assert row.texts["tier"] == "page 1h/5m +3 more"
    assert row.health["tier"] is Health.CRITICAL
    assert "page 6h/30m: firing" in row.tooltips["tier"]
    # 86 % left × 30 d ÷ 20 ≈ 1.3 d: before the end, more than a day away.
    assert row.texts["exhaustion"].endswith("· before end")

    # A ticket-level burn (3.5): the ticket tier 1d/2h fires, the pages do not.
    store = live_store(observation("orders", 0.0035, 10_000))
    row = rows_by_service(store)["orders"]
    assert row.texts["burn_6h"] == "3.5× ticket" and row.health["burn_6h"] is Health.WARNING
    assert row.texts["tier"] == "ticket 1d/2h +1 more"


def test_too_little_traffic_is_shown_as_such_not_as_a_burn() -> None:
    quiet = {"1h": Counts(40, 50), "5m": Counts(3, 4)}  # 20 % errors of 50 requests
    store = live_store(observation("quiet", 0.0, 10_000, windows=quiet))
    row = rows_by_service(store)["quiet"]
    assert row.texts["burn_1h"] == "too little traffic"
    assert row.health["burn_1h"] is Health.UNKNOWN
    assert "fewer than 100 requests" in row.tooltips["burn_1h"]
    assert row.texts["burn_6h"] == "0×"  # the 6 h window had plenty


def test_calendar_month_is_said_as_such() -> None:
    store = live_store(observation("payments", 0.0, 0, window=SloWindow.calendar_month()))
    row = rows_by_service(store)["payments"]
    assert row.texts["window"] == "calendar month"
    assert row.texts["objective"] == "99.9 % · 1 month"
    assert "1st of each month" in row.tooltips["objective"]


def test_time_since_the_last_deploy_and_stale_backends() -> None:
    store = live_store(observation("orders", 0.0005, 10_000))
    store.apply(
        DeploysSeen(
            "sim",
            (
                Deploy("d2", "orders", "v42", "v41", NOW - 2 * 3600 - 5, "ci"),
                Deploy("d1", "orders", "v41", "v40", NOW - 3 * DAY, "ci"),
                Deploy("d3", "search", "v9", "v8", NOW - 60, "ci"),
            ),
        )
    )
    builder = SloRowBuilder()
    row = rows_by_service(store, builder)["orders"]
    assert row.texts["deploy"] == "2 h ago · v42"
    assert "v42 from v41 by ci" in row.tooltips["deploy"]
    assert builder.computed == 1
    builder.rows(store, NOW + 5)  # a tick: ages move, the maths is kept
    assert builder.computed == 1

    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.STALE)))
    row = rows_by_service(store)["orders"]
    assert row.stale and row.texts["tier"].startswith("STALE")
    assert row.texts["remaining"] != "—"  # the last figures stay, greyed
    assert row.health == {}
    assert row.tooltips["remaining"].startswith("last known; the backend is STALE")


def test_rows_of_every_backend_and_gone_slos_are_dropped() -> None:
    store = live_store(observation("orders", 0.0, 0))
    store.apply(ConnectionChanged("prom", LinkStatus(ConnectionState.LIVE)))
    store.apply(SlosObserved("prom", (observation("orders", 0.001, 36_000),)))
    builder = SloRowBuilder()
    assert {r.key for r in builder.rows(store, NOW)} == {("sim", "orders"), ("prom", "orders")}
    store.apply(SlosObserved("prom", ()))
    assert {r.key for r in builder.rows(store, NOW)} == {("sim", "orders")}
    row = builder.rows(store, NOW)[0]
    assert "sim" in row.filter_text and "rolling 30 d" in row.filter_text


def test_the_tier_table_has_windows_factor_threshold_burns_and_state() -> None:
    figures = slo_figures(observation("orders", 0.02, 10_000))
    rows = tier_rows(figures)
    assert [r.texts["windows"] for r in rows] == ["1h / 5m", "6h / 30m", "1d / 2h", "3d / 6h"]
    page = rows[0]
    assert page.texts["factor"] == "14.4×" and page.texts["threshold"] == "1.44 %"
    # The workbook's table: 14.4 for 1 h of 30 d spends 2 %; 6 for 6 h 5 %; 3 for 1 d 10 %;
    # 1 for 3 d 10 %.
    assert [r.texts["spent"] for r in rows] == ["2 %", "5 %", "10 %", "10 %"]
    assert page.texts["long"] == "20×" and page.texts["state"] == "firing"
    assert page.health is Health.CRITICAL and rows[2].health is Health.WARNING
    assert "threshold = factor × budget" in page.tooltips["threshold"]
    # Its backend not live: each state says so, never a coloured verdict on old data.
    stale = tier_rows(figures, stale="STALE 12 s")
    assert stale[0].texts["state"] == "STALE 12 s (was firing)"
    assert all(r.health is Health.UNKNOWN for r in stale)


def test_burn_down_from_window_totals_only_says_so() -> None:
    # 72 000 allowed; 36 000 failed in all, 3 600 of them in the last 3 days.
    obs = observation("orders", 0.0005, 36_000)
    view = burn_down_from_windows(obs)
    assert view is not None and view.coarse
    assert "window totals only" in view.source
    line = view.line
    assert line.ts[0] == NOW - 30 * DAY and line.ts[-1] == NOW
    assert line.remaining[0] == 1.0
    assert line.remaining[-1] == pytest.approx(0.5)
    # Budget left 3 days ago: 1 − (36 000 − 3 600) ÷ 72 000 = 55 %.
    assert line.remaining[1] == pytest.approx(0.55)
    assert np.all(np.diff(line.remaining) <= 0)
    assert line.ideal[0] == 1.0 and line.ideal[-1] == 0.0
    no_whole = SloObservation(obs.slo, NOW, {"1h": Counts(10, 10)})
    assert burn_down_from_windows(no_whole) is None


def test_burn_down_from_step_points_leaves_out_missing_steps() -> None:
    obs = observation("orders", 0.0, 0)
    start = NOW - 30 * DAY
    points = np.array(
        [
            [start, 1000.0, 1000.0],
            [start + 3600, 990.0, 1000.0],
            [start + 7200, np.nan, np.nan],
            [start + 10_800, 1000.0, 1000.0],
        ]
    )
    view = burn_down_from_points(obs, points, 3600.0)
    assert not view.coarse
    assert view.source == "hourly counts, 3 steps (1 without counts)"
    # 10 failures of 3 000 requests against 0.1 %: 3 allowed → overspent.
    assert view.line.remaining[-1] == pytest.approx(1 - 10 / 3)


def test_markers_for_deploys_and_incidents_of_the_service_in_the_window() -> None:
    start, end = NOW - 30 * DAY, NOW
    deploys = [
        Deploy("a", "orders", "v41", "v40", NOW - 40 * DAY),  # before the window
        Deploy("b", "orders", "v42", "v41", NOW - 3600, "ci"),
        Deploy("c", "search", "v9", None, NOW - 60),
    ]
    marks = deploy_markers(deploys, "orders", start, end)
    assert [(m.label, m.kind) for m in marks] == [("v42", "deploy")]
    assert "from v41" in marks[0].tooltip
    store = Store()
    store.apply(
        EventOccurred("sim", Event(NOW - 100, "scenario", "bad_deploy on orders", "orders"))
    )
    store.apply(EventOccurred("sim", Event(NOW - 90, "info", "link restored", "orders")))
    store.apply(EventOccurred("sim", Event(NOW - 80, "scenario", "outage", "search")))
    marks = incident_markers(store.events, "sim", "orders", start, end)
    assert [m.label for m in marks] == ["scenario"]
    assert "bad_deploy on orders" in marks[0].tooltip


def test_failures_left_are_compact_in_the_cell_and_exact_on_hover() -> None:
    store = live_store(observation("big", 0.0, 1_000, per_hour=10_000_000.0))
    row = rows_by_service(store)["big"]
    # 0.1 % of 7.2 G requests = 7.2 M allowed, 1 000 spent.
    assert row.texts["allowed"].startswith("7.2 M · ")
    assert "7\u202f199\u202f000" in row.tooltips["allowed"]


def test_a_ratio_only_slo_never_shows_request_counts() -> None:
    # Sloth's recording rules give ratios: "failed requests still allowed" does not exist.
    from opsconsole.core.rows.slos import RATIOS_ONLY_WORDS, allowed_cell
    from opsconsole.core.slo.budget import observed_budget
    from opsconsole.core.slo.model import Counts, Slo, SloObservation, SloWindow

    obs = SloObservation(
        Slo("orders", 0.999, SloWindow.rolling(30)),
        1_000.0,
        {"window": Counts(1.0 - 0.0004, 1.0)},
        ratios_only=True,
    )
    text, tip = allowed_cell(observed_budget(obs), obs.ratios_only)
    assert text.startswith("ratio only · ")
    assert RATIOS_ONLY_WORDS in tip
