"""A backend link's state as the operator sees it: announced once per change, with a
timeline line when the link is lost or comes back."""

from __future__ import annotations

import time
from collections.abc import Callable

from opsconsole.backends.secrets import redact
from opsconsole.core.events import ConnectionChanged, EventOccurred, StoreEvent
from opsconsole.core.models import ConnectionState, Event, LinkStatus, Transport

UP = (ConnectionState.LIVE, ConnectionState.STALE)


class LinkReporter:
    """Owns one adapter's `LinkStatus`; every adapter reports through one of these.

    `since` is on the monotonic clock (the status bar counts reconnect delays down against
    it); timeline lines carry the wall clock of `wall_clock`.
    """

    def __init__(
        self,
        name: str,
        sink: Callable[[StoreEvent], None],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        initial_transport: Transport | None = None,
    ) -> None:
        self.name = name
        self._sink = sink
        self._monotonic = monotonic
        self._wall = wall_clock
        self.status = LinkStatus(ConnectionState.CONNECTING, initial_transport)
        self._was_up = False

    def set(
        self,
        state: ConnectionState,
        transport: Transport | None,
        detail: str = "",
        retry_in: float | None = None,
    ) -> bool:
        """Announce the new state (details redacted); False when nothing changed."""
        new = LinkStatus(state, transport, redact(detail), retry_in, self._monotonic())
        old = self.status
        if (old.state, old.transport, old.detail, old.retry_in_s) == (
            new.state,
            new.transport,
            new.detail,
            new.retry_in_s,
        ):
            return False
        self.status = new
        self._sink(ConnectionChanged(self.name, new))
        was_up, is_up = old.state in UP, state in UP
        if was_up and not is_up and state is not ConnectionState.STOPPED:
            self.note(f"Lost the link to {self.name}: {new.detail or state.value}")
        elif is_up and not was_up and self._was_up:
            how = f" ({transport.value})" if transport is not None else ""
            self.note(f"Link to {self.name} restored{how}")
        self._was_up = self._was_up or is_up
        return True

    def note(self, message: str) -> None:
        """A line on the incident timeline, from this backend."""
        self._sink(EventOccurred(self.name, Event(ts=self._wall(), kind="info", message=message)))
