"""The pure steps of running any declared action: build its intent, check it, know its end."""

from __future__ import annotations

from typing import Any

from opsconsole.core.actions.declaration import backend_can, backend_known, live_data
from opsconsole.core.actions.intent import Blocked, Intent, OutcomeCheck, Stakes
from opsconsole.core.actions.registry import ACTIONS
from opsconsole.core.store import BackendState, Store


def build_intent(command_id: str, backend: str, key: str | None = None, **kw: Any) -> Intent:
    """The intent a command's arguments describe (the target is what gets typed).

    Shared by the pipeline's commands and the palette's greyed-row verdicts, so both judge
    the same intent.
    """
    target, args = ACTIONS[command_id].parts(kw)
    if key is None:
        return Intent(command_id, backend, target, args)
    return Intent(command_id, backend, target, args, key)


def check_preconditions(intent: Intent, store: Store) -> Blocked | None:
    """The first rule the live state breaks for this intent, or None when it may proceed:
    the generic rules (backend-known, known-action, backend-can, live-data), then the
    action's own."""
    state = store.backends.get(intent.backend)
    if (blocked := backend_known(intent.backend, state)) is not None:
        return blocked
    assert state is not None
    action = ACTIONS.get(intent.command_id)
    if action is None:
        return Blocked("known-action", f"unknown action {intent.command_id!r}")
    if (blocked := backend_can(intent, action, state)) is not None:
        return blocked
    if (blocked := live_data(intent.backend, state)) is not None:
        return blocked
    return action.check(intent, state)


def expected_outcome(intent: Intent) -> OutcomeCheck:
    """A predicate over live state that says when the action has visibly taken effect."""
    return ACTIONS[intent.command_id].expect(intent)


def stakes_of(intent: Intent, state: BackendState | None) -> Stakes | None:
    """What the operator is asked to accept, read from the live state (a promotion's lag);
    None for an action that stakes nothing."""
    action = ACTIONS.get(intent.command_id)
    if action is None or action.stakes is None or state is None:
        return None
    return action.stakes(intent, state)
