"""One link-state reporter for every adapter: one announcement per change, lost and restored."""

from __future__ import annotations

from opsconsole.backends.linkstatus import LinkReporter
from opsconsole.backends.secrets import Secret
from opsconsole.core.events import ConnectionChanged, EventOccurred, StoreEvent
from opsconsole.core.models import ConnectionState as S
from opsconsole.core.models import Transport


def test_changes_are_announced_once_and_losses_noted_on_the_timeline() -> None:
    seen: list[StoreEvent] = []
    ticks = iter(range(100, 200))
    link = LinkReporter("prom", seen.append, monotonic=lambda: next(ticks), wall_clock=lambda: 5e8)
    assert link.set(S.LIVE, Transport.PROMETHEUS)
    assert not link.set(S.LIVE, Transport.PROMETHEUS), "the same state is no news"
    link.set(S.RECONNECTING, None, "connection refused", 1.5)
    link.set(S.LIVE, Transport.PROMETHEUS)
    changes = [e.status for e in seen if isinstance(e, ConnectionChanged)]
    assert [c.state for c in changes] == [S.LIVE, S.RECONNECTING, S.LIVE]
    # `since` is monotonic (the status bar counts the retry down against it).
    assert changes[0].since < changes[1].since < 200 and changes[1].retry_in_s == 1.5
    notes = [e.event for e in seen if isinstance(e, EventOccurred)]
    assert [n.message for n in notes] == [
        "Lost the link to prom: connection refused",
        "Link to prom restored (prometheus)",
    ]
    assert all(n.ts == 5e8 for n in notes)


def test_the_first_live_is_not_a_restore_and_stopping_is_not_a_loss() -> None:
    seen: list[StoreEvent] = []
    link = LinkReporter("am", seen.append)
    link.set(S.LIVE, Transport.ALERTMANAGER)
    link.set(S.STOPPED, None, "stopped")
    assert not [e for e in seen if isinstance(e, EventOccurred)]


def test_details_are_redacted() -> None:
    token = Secret("s3cr3t-token-value")
    seen: list[StoreEvent] = []
    link = LinkReporter("prom", seen.append)
    link.set(S.AUTH_FAILED, None, f"401 for Bearer {token.reveal()}")
    assert "s3cr3t-token-value" not in link.status.detail
