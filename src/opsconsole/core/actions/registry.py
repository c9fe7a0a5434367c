"""Every shipped action's declaration by command id, in the order the command line lists them."""

from __future__ import annotations

from opsconsole.core.actions import alerts, breakers, database, deploys
from opsconsole.core.actions.declaration import ActionDeclaration

ACTIONS: dict[str, ActionDeclaration] = {
    d.command_id: d
    for d in (
        *database.DECLARATIONS,
        *breakers.DECLARATIONS,
        *alerts.DECLARATIONS,
        *deploys.DECLARATIONS,
    )
}
