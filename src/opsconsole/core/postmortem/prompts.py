"""The sections only people can write (root cause, lessons, action items): headed prompts."""

from __future__ import annotations

from opsconsole.core.postmortem.document import Prompt, Section, Subheading, Table


def for_people() -> tuple[Section, ...]:
    """The sections only people can write: headed, with prompts, left open."""
    return (
        Section(
            "Root cause",
            (
                Prompt(
                    "Why did this happen? Ask “why” of each answer (about five times) until it "
                    "names a condition of the system — “the system allowed …” — never a person."
                ),
            ),
        ),
        Section(
            "Contributing factors",
            (
                Prompt(
                    "What made it more likely, bigger or longer? Missing alerts, unclear "
                    "dashboards, a risky default, load, a dependency's behaviour."
                ),
            ),
        ),
        Section(
            "Lessons learned",
            (
                Subheading("What went well"),
                Prompt("What helped detect, understand or fix it quickly?"),
                Subheading("What went wrong"),
                Prompt("Where did the system, the tools or the process make this harder?"),
                Subheading("Where we got lucky"),
                Prompt("What could easily have made it worse, and did not this time?"),
            ),
        ),
        Section(
            "Action items",
            (
                Prompt("One row per change, each with an owner and a due date."),
                Table(
                    ("Action", "Owner", "Due date", "Tracking"),
                    (("(what will change)", "(owner)", "(YYYY-MM-DD)", "(ticket)"),),
                ),
            ),
        ),
    )
