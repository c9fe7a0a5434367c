"""Operator actions without I/O: one declaration per action, and the pure pipeline steps.

Each action is declared once, in the module of its family (`breakers`, `database`,
`alerts`); `ACTIONS` maps command id → declaration. This package re-exports the names the
rest of the console imports.
"""

from __future__ import annotations

from opsconsole.core.actions.alerts import (
    JUDGE_DURATION,
    MAX_SILENCE_S,
    duration_s,
    intent_duration_s,
    utc_clock,
)
from opsconsole.core.actions.declaration import (
    ALERTMANAGER,
    KIND_NAMES,
    ActionDeclaration,
    backend_kind,
    kinds_words,
)
from opsconsole.core.actions.intent import Blocked, Intent, Outcome, OutcomeCheck, Stakes
from opsconsole.core.actions.lifetime import (
    STATUS_LIFETIME_S,
    TROUBLE_LIFETIME_S,
    status_lifetime_s,
)
from opsconsole.core.actions.pipeline import (
    build_intent,
    check_preconditions,
    expected_outcome,
    stakes_of,
)
from opsconsole.core.actions.registry import ACTIONS

# Earlier names of the same things, still imported by panels and tests.
ActionSpec = ActionDeclaration
SPECS = ACTIONS

__all__ = [
    "ACTIONS",
    "ALERTMANAGER",
    "JUDGE_DURATION",
    "KIND_NAMES",
    "MAX_SILENCE_S",
    "SPECS",
    "STATUS_LIFETIME_S",
    "TROUBLE_LIFETIME_S",
    "ActionDeclaration",
    "ActionSpec",
    "Blocked",
    "Intent",
    "Outcome",
    "OutcomeCheck",
    "Stakes",
    "backend_kind",
    "build_intent",
    "check_preconditions",
    "duration_s",
    "expected_outcome",
    "intent_duration_s",
    "kinds_words",
    "stakes_of",
    "status_lifetime_s",
    "utc_clock",
]
