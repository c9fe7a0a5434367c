"""The incident record: the names the rest of the console imports from its modules.

- `model`: an incident as data (`Incident`, `Severity`, `Star`, `Note`) and the pure rules
  relating it to the timeline (default start, membership, automatic stars, status words).
- `store`: the one module that speaks SQL (`IncidentStore`, durable, survives damaged files).
"""

from __future__ import annotations

from opsconsole.core.incident.model import (
    TAGS,
    Incident,
    Note,
    Severity,
    Star,
    automatic_stars,
    default_start,
    effective_stars,
    members,
    minutes_words,
    status_words,
)
from opsconsole.core.incident.store import (
    INCIDENTS_FILE,
    SCHEMA_VERSION,
    IncidentError,
    IncidentStore,
    default_path,
)

__all__ = [
    "INCIDENTS_FILE",
    "SCHEMA_VERSION",
    "TAGS",
    "Incident",
    "IncidentError",
    "IncidentStore",
    "Note",
    "Severity",
    "Star",
    "automatic_stars",
    "default_path",
    "default_start",
    "effective_stars",
    "members",
    "minutes_words",
    "status_words",
]
