"""deploy.rollback's preconditions and outcome, and the deploy decision read from a real Store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsconsole.core.actions import build_intent, check_preconditions, expected_outcome
from opsconsole.core.cmdline import Names, parse
from opsconsole.core.decisionmarkdown import assessment_markdown
from opsconsole.core.deploydecision import decide, lookback
from opsconsole.core.events import ConnectionChanged, DeploysSeen, SlosObserved, SnapshotLoaded
from opsconsole.core.models import ConnectionState, LinkStatus, Service
from opsconsole.core.slo import Counts, Deploy, Slo, SloObservation, SloWindow
from opsconsole.core.slo.assess import Recommendation
from opsconsole.core.store import Store

HOUR = 3600.0
DAY = 86_400.0
RPS = 100.0
NOW = datetime(2024, 3, 10, 12, tzinfo=UTC).timestamp()
SLO = Slo("orders", 0.995, SloWindow.rolling(30))
DEPLOY = Deploy("d-42", "orders", "v42", "v41", NOW - 6 * HOUR, "ci")
EARLIER = Deploy("d-41", "orders", "v41", "v40", NOW - 5 * DAY, "ci")
ROLLBACK = Deploy("d-43", "orders", "v41", "v42", NOW - 1 * HOUR, "ops")


def steady(seconds: float, error_ratio: float) -> Counts:
    total = RPS * seconds
    return Counts(total * (1 - error_ratio), total)


def worked_example() -> SloObservation:
    """Objective 99.5 %: 0.1 % errors until the deploy 6 h ago, 1.2 % since (the domain's)."""
    windows = {}
    for key, seconds in (("5m", 300), ("30m", 1800), ("1h", HOUR), ("2h", 2 * HOUR)):
        windows[key] = steady(seconds, 0.012)
    windows["6h"] = steady(6 * HOUR, 0.012)
    windows["1d"] = steady(18 * HOUR, 0.001) + steady(6 * HOUR, 0.012)
    windows["3d"] = steady(66 * HOUR, 0.001) + steady(6 * HOUR, 0.012)
    windows["window"] = steady(30 * DAY - 6 * HOUR, 0.001) + steady(6 * HOUR, 0.012)
    return SloObservation(SLO, NOW, windows)


def live_store(*deploys: Deploy, version: str | None = "v42") -> Store:
    store = Store()
    store.apply(
        SnapshotLoaded("sim", (Service(name="orders", version=version),), (), (), (), ts=NOW)
    )
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
    store.apply(SlosObserved("sim", (worked_example(),)))
    if deploys:
        store.apply(DeploysSeen("sim", deploys))
    return store


def blocked(store: Store, service: str = "orders") -> str | None:
    verdict = check_preconditions(build_intent("deploy.rollback", "sim", service=service), store)
    return None if verdict is None else f"{verdict.rule}: {verdict.message}"


def test_rollback_needs_the_service_a_deploy_with_a_previous_version_and_no_rollback_yet() -> None:
    assert blocked(live_store(EARLIER, DEPLOY), "nope") == "service-exists: no service named 'nope'"
    assert (
        blocked(live_store()) == "deploy-known: no deploy of orders is known: nothing to roll back"
    )
    first = Deploy("d-1", "orders", "v1", None, NOW - DAY)
    assert blocked(live_store(first)) == (
        "previous-version: orders v1 replaced no known version: nothing to roll back to"
    )
    assert blocked(live_store(EARLIER, DEPLOY, ROLLBACK)) == (
        "not-rolled-back: orders was already rolled back from v42 to v41"
    )
    assert blocked(live_store(EARLIER, DEPLOY)) is None


def test_rollback_is_refused_on_old_state() -> None:
    store = live_store(EARLIER, DEPLOY)
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.RECONNECTING)))
    assert blocked(store).startswith("live-data: ")


def test_the_outcome_is_the_rollback_deploy_in_the_live_state_with_the_error_rate() -> None:
    store = live_store(EARLIER, DEPLOY)
    check = expected_outcome(build_intent("deploy.rollback", "sim", service="orders"))
    assert check(store.backend("sim")) is None  # still on v42
    store.apply(DeploysSeen("sim", (ROLLBACK,)))
    outcome = check(store.backend("sim"))
    assert outcome is not None and outcome.succeeded
    # No live series here: the error rate is the SLO's 5 min window.
    assert outcome.message == "orders back on v41, error rate 1.2 %"


def test_rollback_is_typed_on_the_command_line_with_service_completion() -> None:
    names = Names.from_store(live_store(EARLIER, DEPLOY))
    invocation = parse("rollback ord", names)
    assert invocation.command_id == "deploy.rollback"
    assert invocation.kwargs == {"backend": "sim", "service": "orders"}
    assert parse("assess orders", names).kwargs == {"backend": "sim", "service": "orders"}


def test_lookback_reads_windows_and_interpolates_between_them() -> None:
    obs = worked_example()
    exact = lookback(obs, 6 * HOUR)
    assert exact is not None and exact.counts == steady(6 * HOUR, 0.012)
    assert exact.how == "the 6h window"
    # 30 h: the 1 d window plus a quarter of what the 3 d window adds beyond it.
    between = lookback(obs, 30 * HOUR)
    assert between is not None
    assert between.counts.total == pytest.approx(RPS * 30 * HOUR)
    assert between.counts.bad == pytest.approx(RPS * (24 * HOUR * 0.001 + 6 * HOUR * 0.012))
    assert between.how == "the 1d and 3d windows, interpolated"


def test_the_worked_example_from_the_store_says_rollback_and_reads_as_markdown() -> None:
    decision = decide(live_store(EARLIER, DEPLOY).backend("sim"), "orders")
    assert not isinstance(decision, str)
    a = decision.assessment
    assert a.recommendation is Recommendation.ROLLBACK
    assert (a.baseline.text, a.current.text, a.hours_since.text) == ("0.1 %", "1.2 %", "6.0 h")
    assert a.projection.text == "240 %"
    assert decision.since_how == "the 6h window"
    markdown = assessment_markdown(a)
    assert markdown.splitlines()[0] == (
        "### Deploy assessment: orders v42 (was v41) — **ROLLBACK**"
    )
    assert "SLO 99.5 % over a rolling 30 d window (error budget 0.5 %)." in markdown
    assert "| Baseline error rate (before) | 0.1 % |" in markdown
    assert "| Current error rate (since) | 1.2 % |" in markdown
    assert "| Hours since deploy | 6.0 h |" in markdown
    assert "| Budget burned since deploy | 2 % |" in markdown
    assert "| Projected budget use | 240 % | a whole rolling 30 d window" in markdown
    assert "1. :rollback orders (back to v41)" in markdown
    summary = [line[2:] for line in markdown.splitlines() if line.startswith("> ")]
    assert summary == list(a.summary())
    assert summary[2].startswith("Recommendation: ROLLBACK")


def test_no_decision_without_an_slo_or_a_deploy() -> None:
    assert decide(live_store().backend("sim"), "orders") == "no deploy of orders is known on sim"
    state = live_store(EARLIER, DEPLOY).backend("sim")
    assert decide(state, "payments") == (
        "sim reports no SLO for payments: nothing to judge a deploy against"
    )
