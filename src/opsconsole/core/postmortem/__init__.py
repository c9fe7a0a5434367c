"""The post-mortem draft, pure: facts from the incident's records, times, impact, the document.

- `facts`: what the draft is written from (`gather_facts`, `PostmortemFacts`).
- `times`: detected, acknowledged, mitigated, resolved and the spans to them.
- `impact`: failed requests, peak p99, minutes above the objective, budget consumed.
- `sections`: the blameless sections as a `Document`; `markdown` and `html` render it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo

from opsconsole.core.postmortem.document import Document
from opsconsole.core.postmortem.facts import (
    OperatorAction,
    PostmortemFacts,
    gather_facts,
)
from opsconsole.core.postmortem.html import document_html
from opsconsole.core.postmortem.impact import (
    ServiceImpact,
    affected_services,
    budget_consumed,
    incident_impact,
)
from opsconsole.core.postmortem.markdown import document_markdown
from opsconsole.core.postmortem.sections import SECTION_TITLES, build_document
from opsconsole.core.postmortem.times import IncidentTimes, incident_times


def draft(
    facts: PostmortemFacts,
    charts: Mapping[str, str],
    written_ts: float,
    tz: tzinfo | None = None,
) -> Document:
    """The whole draft of one incident (charts: service → PNG file name beside it)."""
    return build_document(
        facts, incident_impact(facts), incident_times(facts), charts, written_ts, tz
    )


__all__ = [
    "SECTION_TITLES",
    "Document",
    "IncidentTimes",
    "OperatorAction",
    "PostmortemFacts",
    "ServiceImpact",
    "affected_services",
    "budget_consumed",
    "document_html",
    "document_markdown",
    "draft",
    "gather_facts",
    "incident_impact",
    "incident_times",
]
