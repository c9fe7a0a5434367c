"""How long the last action's words stay in the status bar, by how it ended."""

from __future__ import annotations

# A success only confirms what the panels already show, and a cancel is the operator's own
# doing; a block, refusal, failure or a change that never came needs something done, by
# someone who may be on a call or at another screen, so it stays longer. The timeline and
# the audit log keep every outcome.
STATUS_LIFETIME_S: dict[str, float] = {"succeeded": 30.0, "cancelled": 15.0}
TROUBLE_LIFETIME_S = 120.0


def status_lifetime_s(status: str) -> float:
    """Seconds an action's outcome stays shown before the status bar clears it."""
    return STATUS_LIFETIME_S.get(status, TROUBLE_LIFETIME_S)
