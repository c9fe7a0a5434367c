"""The argument kinds a command takes (`Arg`), how each is named, spelt and completed."""

from __future__ import annotations

import enum
import re


class Arg(enum.Enum):
    """One argument slot of a command; the value is the handler's keyword."""

    BACKEND = "backend"
    CLUSTER = "cluster"
    MEMBER = "member"
    ON_OFF = "enabled"
    CIRCUIT = "name"
    OP = "op"  # the word that picks one of several actions sharing a verb ("breaker X open")
    ALERT = "alert"
    COMMENT = "comment"
    LAYOUT = "layout"
    SCENARIO = "scenario"
    TARGET = "target"
    DURATION = "duration"
    SILENCE = "silence"
    SERVICE = "service"
    INCIDENT = "incident"  # an incident's number, or "last"
    LOADTEST = "loadtest"  # a [[loadtest]] name of the config


#: Argument slots that name something held by one backend: they also fix `backend=`.
BACKEND_HELD = frozenset({Arg.CLUSTER, Arg.CIRCUIT, Arg.ALERT, Arg.SILENCE, Arg.SERVICE})

#: How an argument is named in messages ("failover needs a member …").
ARG_WORDS: dict[Arg, str] = {
    Arg.BACKEND: "a backend",
    Arg.CLUSTER: "a cluster",
    Arg.MEMBER: "a member",
    Arg.ON_OFF: "on or off",
    Arg.CIRCUIT: "a circuit",
    Arg.OP: "an operation",  # a verb with operations names them instead (see cmdline)
    Arg.ALERT: "an alert id",
    Arg.COMMENT: "a comment",
    Arg.LAYOUT: "a layout name",
    Arg.SCENARIO: "a scenario name",
    Arg.TARGET: "a target",
    Arg.DURATION: "a duration (e.g. 2h)",
    Arg.SILENCE: "a silence id",
    Arg.SERVICE: "a service",
    Arg.INCIDENT: "an incident number or last",
    Arg.LOADTEST: "a load test's name",
}

#: How an argument is written in a usage line ("failover CLUSTER MEMBER").
PLACEHOLDERS: dict[Arg, str] = {
    Arg.BACKEND: "BACKEND",
    Arg.CLUSTER: "CLUSTER",
    Arg.MEMBER: "MEMBER",
    Arg.ON_OFF: "on|off",
    Arg.CIRCUIT: "CIRCUIT",
    Arg.OP: "OP",
    Arg.ALERT: "ALERT_ID",
    Arg.COMMENT: "comment…",
    Arg.LAYOUT: "NAME",
    Arg.SCENARIO: "NAME",
    Arg.TARGET: "TARGET",
    Arg.DURATION: "DURATION",
    Arg.SILENCE: "SILENCE_ID",
    Arg.SERVICE: "SERVICE",
    Arg.INCIDENT: "INCIDENT",
    Arg.LOADTEST: "NAME",
}

#: The handler keyword of an argument, where it differs from the slot's own name.
KWARG: dict[Arg, str] = {Arg.LAYOUT: "name", Arg.SCENARIO: "name", Arg.LOADTEST: "name"}

#: What Tab and the palette offer for a duration; any other duration may be typed.
DURATIONS: tuple[str, ...] = ("15m", "30m", "1h", "2h", "4h", "8h", "1d")


def kwarg(arg: Arg) -> str:
    """The keyword a command's handler takes this argument by."""
    return KWARG.get(arg, arg.value)


# `--name value`, `--name=value` or `name=value`, each a whole word of the line.
_OPTION = re.compile(r"(?:^|\s)(?:--([a-z]+)(?:=|\s+)|([a-z]+)=)(\S+)(?=\s|$)")


def split_options(text: str, names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The free text without the options it carries, and those options: "checkout errors
    --severity SEV2" → ("checkout errors", {"severity": "SEV2"}). Only `names` are options;
    anything else (`--force`, `a=b` of another name) stays part of the text."""
    found: dict[str, str] = {}

    def take(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in names:
            return match.group(0)
        found[name] = match.group(3)
        return " "

    rest = _OPTION.sub(take, text)
    # Spacing as typed, unless an option was taken out of the middle of it.
    return (" ".join(rest.split()) if found else text.strip()), found
