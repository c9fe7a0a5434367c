"""The incident timeline: the names the rest of the console imports from its modules.

- `entry`: one line of the timeline (`TimelineEntry`) and the operator's filter over them.
- `store`: the one module that speaks SQL (`TimelineStore`, durable, survives damaged files).
- `recorder`: turns the core store's changes into entries (`TimelineRecorder`).
- `wording`: the sentences those entries say.
"""

from __future__ import annotations

from opsconsole.core.timeline.entry import KINDS, TimelineEntry, TimelineFilter
from opsconsole.core.timeline.recorder import MAX_KNOWN_ALERTS, PAIR_WINDOW_S, TimelineRecorder
from opsconsole.core.timeline.store import (
    DEFAULT_LIMIT,
    SCHEMA_VERSION,
    SQLITE_MAGIC,
    TIMELINE_FILE,
    TimelineStore,
    default_path,
)

__all__ = [
    "DEFAULT_LIMIT",
    "KINDS",
    "MAX_KNOWN_ALERTS",
    "PAIR_WINDOW_S",
    "SCHEMA_VERSION",
    "SQLITE_MAGIC",
    "TIMELINE_FILE",
    "TimelineEntry",
    "TimelineFilter",
    "TimelineRecorder",
    "TimelineStore",
    "default_path",
]
