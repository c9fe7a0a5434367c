"""Investigate a service: the finding model, the eight triage checks, their order, Markdown.

Pure: every check reads a Store and the timeline through `Inputs` and the time it is given.
"""

from opsconsole.core.investigate.catalogue import CHECKS, merge_backends, run_check, run_checks
from opsconsole.core.investigate.finding import Evidence, Finding, Verdict, order_findings
from opsconsole.core.investigate.inputs import Inputs
from opsconsole.core.investigate.markdown import findings_markdown
from opsconsole.core.investigate.record import (
    entry_findings,
    finding_data,
    finding_from_data,
    investigation_entry,
)

__all__ = [
    "CHECKS",
    "Evidence",
    "Finding",
    "Inputs",
    "Verdict",
    "entry_findings",
    "finding_data",
    "finding_from_data",
    "findings_markdown",
    "investigation_entry",
    "merge_backends",
    "order_findings",
    "run_check",
    "run_checks",
]
