"""`:incident …` on the command line: its operations, its free text, and options in the text."""

from __future__ import annotations

import pytest

from opsconsole.core.arguments import split_options
from opsconsole.core.cmdline import CmdlineError, Names, complete, parse


def test_options_are_taken_out_of_the_text_only_when_named() -> None:
    names = ("severity", "start")
    assert split_options("checkout errors --severity SEV2", names) == (
        "checkout errors",
        {"severity": "SEV2"},
    )
    assert split_options("db down severity=1 --start=-15m", names) == (
        "db down",
        {"severity": "1", "start": "-15m"},
    )
    assert split_options("--start 12:05 orders slow", names) == (
        "orders slow",
        {"start": "12:05"},
    )
    # Other words that look like options stay text, spacing as typed.
    assert split_options("retry  --force with a=b", names) == ("retry  --force with a=b", {})


def test_each_operation_runs_its_command_with_the_rest_as_text() -> None:
    names = Names({})
    opened = parse(":incident open checkout errors --severity SEV2", names)
    assert opened.command_id == "incident.open"
    assert opened.kwargs == {"comment": "checkout errors", "severity": "SEV2"}
    # A note keeps what looks like an option: only open and star take options.
    note = parse("incident note set severity=high on the pager", names)
    assert note.command_id == "incident.note"
    assert note.kwargs == {"comment": "set severity=high on the pager"}
    assert parse("incident star --tag repair", names).kwargs == {"comment": "", "tag": "repair"}
    assert parse("incident start -15m", names).kwargs == {"comment": "-15m"}
    assert parse("incident close", names).command_id == "incident.close"


def test_a_missing_or_unknown_operation_is_said_and_tab_offers_them() -> None:
    names = Names({})
    with pytest.raises(CmdlineError, match="open, note, star, start or close"):
        parse("incident", names)
    with pytest.raises(CmdlineError, match="not 'reopen'"):
        parse("incident reopen", names)
    assert complete("incident st", names).candidates == ("star", "start")
    # Not offered where the console has no incident commands.
    with pytest.raises(CmdlineError, match="not available here"):
        parse("incident open x", names, available={"app.quit"})
