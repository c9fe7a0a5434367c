"""What the palette offers at each step, from the declarations: rows, greyed with the reason."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opsconsole.core.actions import (
    ACTIONS,
    backend_kind,
    build_intent,
    check_preconditions,
    kinds_words,
    utc_clock,
)
from opsconsole.core.actions.deploys import version_words
from opsconsole.core.arguments import BACKEND_HELD, DURATIONS, Arg, kwarg
from opsconsole.core.cmdline import COMMAND_ARGS, SCENARIOS
from opsconsole.core.commands import Command, DangerTier
from opsconsole.core.eligibility import human_bytes
from opsconsole.core.fuzzy import rank
from opsconsole.core.store import BackendState, Store

TIER_WORDS = {
    DangerTier.SAFE: "",
    DangerTier.CONFIRM: "confirm",
    DangerTier.DANGEROUS: "dangerous: type the name",
}
#: Steps whose answer may be typed rather than picked.
FREE_TEXT = frozenset({Arg.COMMENT, Arg.TARGET, Arg.LAYOUT, Arg.DURATION})
#: Commands that run at once and cannot be taken back: Enter lands on them only when the
#: operator typed their name, never as the best guess for an empty or unrelated query.
NOT_BY_DEFAULT = frozenset({"app.quit", "layout.reset"})
#: How the things a held argument names are called when there are none ("no circuits …").
_HELD_WORDS = {
    Arg.CLUSTER: "database clusters",
    Arg.CIRCUIT: "circuits",
    Arg.SILENCE: "silences",
    Arg.SERVICE: "services",
}


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


#: A choice meaning "leave this optional argument out".
DEFAULT: Any = _Default()


@dataclass(frozen=True)
class Choice:
    """One row the palette offers: a command or an argument value."""

    value: Any
    label: str
    detail: str = ""
    keys: str = ""
    enabled: bool = True
    reason: str = ""  # why it is greyed
    search: tuple[str, ...] = ()  # texts the filter matches (label and value when empty)


def steps(command_id: str) -> tuple[Arg, ...]:
    """The arguments the palette asks for, in order: the backend first when the command acts
    on something a backend holds."""
    args = COMMAND_ARGS.get(command_id, ())
    if args and args[0] in BACKEND_HELD:
        return (Arg.BACKEND, *args)
    return args


def answer_kwargs(answers: Mapping[Arg, Any]) -> dict[str, Any]:
    """The command's keyword arguments from the answers given (DEFAULT ones left out)."""
    return {kwarg(arg): value for arg, value in answers.items() if value is not DEFAULT}


# ---------------------------------------------------------------- the command list


def command_choices(
    commands: Iterable[Command],
    store: Store,
    keys_for: Callable[[str], Sequence[str]],
    hidden: Container[str] = frozenset(),
) -> list[Choice]:
    """One row per command, greyed with why it cannot run now."""
    rows = []
    for command in commands:
        if command.id in hidden:
            continue
        reason = command_reason(command, store)
        tier = TIER_WORDS[command.tier]
        rows.append(
            Choice(
                command.id,
                command.title,
                command.id + (f" · {tier}" if tier else ""),
                "  ".join(keys_for(command.id)),
                enabled=reason is None,
                reason=reason or "",
                search=(command.title, command.id),
            )
        )
    return rows


def command_reason(command: Command, store: Store) -> str | None:
    """Why the command cannot be picked now (no suited backend, nothing to act on), or None."""
    if not command.is_enabled():
        return "not available now"
    action = ACTIONS.get(command.id)
    if action is not None and action.kinds is not None and not suited(command.id, store):
        return f"no {kinds_words(action.kinds)} backend is configured"
    args = COMMAND_ARGS.get(command.id, ())
    held = bool(args) and args[0] in BACKEND_HELD
    if held and not any(holds(state, args[0]) for state in suited(command.id, store)):
        what = _HELD_WORDS.get(args[0], "alerts")
        return f"no {what} known yet (is a backend live?)"
    return None


# ---------------------------------------------------------------- argument choices


def states(store: Store) -> list[BackendState]:
    return [s for _, s in sorted(store.backends.items())]


def suited(command_id: str, store: Store) -> list[BackendState]:
    """The backends whose kind can hold what this command acts on (silences: Alertmanager)."""
    action = ACTIONS.get(command_id)
    kinds = action.kinds if action is not None else None
    return [s for s in states(store) if kinds is None or backend_kind(s) in kinds]


def holds(state: BackendState, arg: Arg) -> bool:
    """Whether the backend holds any of what a held argument names."""
    return bool(
        {
            Arg.CLUSTER: state.clusters,
            Arg.CIRCUIT: state.circuits,
            Arg.ALERT: state.alerts,
            Arg.SILENCE: state.silences,
            Arg.SERVICE: state.services,
        }[arg]
    )


def argument_choices(
    command_id: str,
    arg: Arg,
    answers: Mapping[Arg, Any],
    store: Store,
    layouts: Iterable[str] = (),
) -> list[Choice]:
    """The rows offered for `arg` of `command_id`, given the answers so far; a row that
    completes an action's target is greyed with the pipeline's own reason."""
    asked = _Asked(command_id, answers, store)
    if arg is Arg.BACKEND:
        args = steps(command_id)
        first = args[1] if args and args[0] is Arg.BACKEND else None
        return [
            Choice(s.name, s.name, s.link.state.value)
            for s in suited(command_id, store)
            if first is None or holds(s, first)
        ]
    if arg is Arg.CLUSTER:
        return [
            Choice(
                c.name,
                c.name,
                f"{c.state} · primary {c.primary or 'none'}"
                + (" · read-only" if c.read_only else ""),
                **asked.verdict({"cluster": c.name}, final=Arg.CLUSTER),
            )
            for c in asked.backend().clusters.values()
        ]
    if arg is Arg.MEMBER:
        cluster = asked.backend().clusters.get(answers[Arg.CLUSTER])
        members = cluster.members if cluster is not None else ()
        return [
            Choice(
                m.name,
                m.name,
                f"{m.role} · {'healthy' if m.healthy else 'UNHEALTHY'} · "
                f"lag {human_bytes(m.lag_bytes)} · timeline {m.timeline}",
                **asked.verdict({"member": m.name}, final=Arg.MEMBER),
            )
            for m in members
        ]
    if arg is Arg.ON_OFF:
        cluster = asked.backend().clusters.get(answers[Arg.CLUSTER])
        now = "on" if cluster is not None and cluster.read_only else "off"
        return [
            Choice(
                value,
                word,
                f"read-only is {now} now",
                **asked.verdict({"enabled": value}, final=Arg.ON_OFF),
            )
            for word, value in (("on", True), ("off", False))
        ]
    if arg is Arg.CIRCUIT:
        return [
            Choice(
                c.name,
                c.name,
                c.state.replace("_", " "),
                **asked.verdict({"name": c.name}, final=Arg.CIRCUIT),
            )
            for c in sorted(asked.backend().circuits.values(), key=lambda c: c.name)
        ]
    if arg is Arg.ALERT:
        alerts = sorted(
            asked.backend().alerts.values(),
            key=lambda a: (a.state != "firing", bool(a.acked_by), -a.since_ts, a.id),
        )
        return [
            Choice(
                a.id,
                a.id,
                f"{a.severity} · {a.state} · {a.service} · {a.summary or a.rule}"
                + (f" · acked by {a.acked_by}" if a.acked_by else "")
                + (" · silenced" if a.silenced_by else ""),
                search=(a.id, a.service, a.rule, a.summary),
                **asked.verdict({"alert": a.id}, final=Arg.ALERT),
            )
            for a in alerts
        ]
    if arg is Arg.SILENCE:
        silences = sorted(
            asked.backend().silences.values(),
            key=lambda s: (s.state == "expired", -s.ends_ts, s.id),
        )
        return [
            Choice(
                s.id,
                s.id,
                f"{s.state} · until {utc_clock(s.ends_ts)} · by {s.created_by or '?'} · "
                + ", ".join(f"{m.name}={m.value}" for m in s.matchers),
                search=(s.id, s.created_by, s.comment, *(m.value for m in s.matchers)),
                **asked.verdict({"silence": s.id}, final=Arg.SILENCE),
            )
            for s in silences
        ]
    if arg is Arg.SERVICE:
        state = asked.backend()
        return [
            Choice(
                name,
                name,
                version_words(state, name),
                **asked.verdict({"service": name}, final=Arg.SERVICE),
            )
            for name in sorted(state.services)
        ]
    if arg is Arg.DURATION:
        return [Choice(d, d, "or type another, e.g. 90m") for d in DURATIONS]
    if arg is Arg.LAYOUT:
        return [Choice(n, n) for n in layouts]
    if arg is Arg.SCENARIO:
        return [Choice(n, n.replace("_", " ")) for n in SCENARIOS]
    if arg is Arg.TARGET:
        rows = [Choice(DEFAULT, "(the scenario's default target)")]
        seen: set[str] = set()
        for s in states(store):
            for name in [*s.services, *s.circuits] + [
                m.name for c in s.clusters.values() for m in c.members
            ]:
                if name not in seen:
                    seen.add(name)
                    rows.append(Choice(name, name))
        return rows
    return []  # a comment is typed, never picked


@dataclass(frozen=True)
class _Asked:
    """One command's answers so far, for judging the rows of its next step."""

    command_id: str
    answers: Mapping[Arg, Any]
    store: Store

    def backend(self) -> BackendState:
        return self.store.backend(self.answers[Arg.BACKEND])

    def verdict(self, extra: dict[str, Any], final: Arg) -> dict[str, Any]:
        """Greyed-with-reason fields for a row whose choice completes the intent."""
        # The duration and comment do not decide whether an action may run on this target.
        args = [
            a for a in steps(self.command_id) if a not in (Arg.BACKEND, Arg.COMMENT, Arg.DURATION)
        ]
        if not args or args[-1] is not final:
            return {}
        reason = self.blocked(extra)
        return {} if reason is None else {"enabled": False, "reason": reason}

    def blocked(self, extra: dict[str, Any]) -> str | None:
        """The pipeline's own precondition verdict for the intent these answers make."""
        action = ACTIONS.get(self.command_id)
        if action is None:
            return None
        kw = {**action.judge_with, **answer_kwargs(self.answers), **extra}
        intent = build_intent(self.command_id, kw.pop("backend"), **kw)
        blocked = check_preconditions(intent, self.store)
        return None if blocked is None else blocked.message


# ---------------------------------------------------------------- filtering


def filtered(query: str, rows: Iterable[Choice]) -> list[Choice]:
    """The rows that match the query, best first."""
    return [r.item for r in rank(query, list(rows), lambda r: r.search or (r.label, str(r.value)))]


def default_index(query: str, rows: Sequence[Choice], at_commands: bool) -> int | None:
    """The row Enter picks before any arrow key: never Quit by accident.

    At the command list an empty query selects nothing (Enter then only says how to pick);
    a typed query lands on the best enabled match, except a command in NOT_BY_DEFAULT,
    which only the query that plainly names it lands on ("qu", "quit", "app.quit").
    Argument steps land on the first row that can be chosen: Enter on a greyed default
    would only repeat its reason, and every action still asks for confirmation.
    """
    if not at_commands:
        return next((i for i, r in enumerate(rows) if r.enabled), 0 if rows else None)
    words = query.casefold().split()
    if not words:
        return None
    for i, row in enumerate(rows):
        if not row.enabled:
            continue
        if row.value not in NOT_BY_DEFAULT or (i == 0 and names_row(query, row)):
            return i
    # Only greyed matches: land on the best one, so its reason shows (Enter runs nothing).
    return 0 if rows and rows[0].value not in NOT_BY_DEFAULT else None


def names_row(query: str, row: Choice) -> bool:
    """True when the query plainly names the row: it starts the title, or a part of the id."""
    needle = query.strip().casefold()
    if len(needle) < 2:
        return False
    texts = [row.label.casefold(), str(row.value).casefold()]
    texts += str(row.value).casefold().split(".")
    return any(text.startswith(needle) for text in texts)
