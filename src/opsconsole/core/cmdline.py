"""The `:` command line: grammar, name resolution over live state, and Tab completion (pure)."""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsconsole.core.actions import ACTIONS, ActionDeclaration
from opsconsole.core.actions.declaration import MemberRule
from opsconsole.core.arguments import (
    ARG_WORDS,
    BACKEND_HELD,
    DURATIONS,
    KWARG,
    PLACEHOLDERS,
    Arg,
    kwarg,
    split_options,
)
from opsconsole.core.durations import parse_duration
from opsconsole.core.eligibility import human_bytes
from opsconsole.core.names import SCENARIOS, AlertName, BackendNames, Names
from opsconsole.core.schedule import schedule_at

__all__ = [  # the argument kinds are re-exported: the command line is where they are read
    "ARG_WORDS",
    "BACKEND_HELD",
    "COMMAND_ARGS",
    "DURATIONS",
    "KWARG",
    "SCENARIOS",
    "AlertName",
    "Arg",
    "BackendNames",
    "CmdlineError",
    "Completion",
    "Invocation",
    "Names",
    "complete",
    "kwarg",
    "parse",
    "resolve",
    "verbs",
]

#: What the commands that are not actions take (an action's own come from its declaration).
#: layout.load and demo.scenario take `name=` (and `target=`), the contract their handlers
#: implement.
OTHER_ARGS: dict[str, tuple[Arg, ...]] = {
    "layout.load": (Arg.LAYOUT,),
    "demo.scenario": (Arg.SCENARIO, Arg.TARGET),
    "backend.credentials": (Arg.BACKEND,),
    "slo.assess": (Arg.SERVICE,),
    "investigate.run": (Arg.SERVICE,),
    # The incident's words (title, note, tag, start) are free text; options ride in them.
    "incident.open": (Arg.COMMENT,),
    "incident.note": (Arg.COMMENT,),
    "incident.star": (Arg.COMMENT,),
    "incident.start": (Arg.COMMENT,),
    "incident.close": (),
}


class _CommandArgs(Mapping[str, tuple[Arg, ...]]):
    """Command id → the arguments its handler takes, in the order the palette asks (backend
    is implied): every declared action's, then the other commands'. Read live, so an action
    declared later is included."""

    def _table(self) -> dict[str, tuple[Arg, ...]]:
        return {**{cid: a.args for cid, a in ACTIONS.items()}, **OTHER_ARGS}

    def __getitem__(self, command_id: str) -> tuple[Arg, ...]:
        return self._table()[command_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


COMMAND_ARGS: Mapping[str, tuple[Arg, ...]] = _CommandArgs()

ON_WORDS = ("on", "true", "yes")
OFF_WORDS = ("off", "false", "no")


@dataclass(frozen=True)
class Verb:
    """A command-line word: the command it runs and the argument slots it reads."""

    word: str
    command_id: str  # with `ops`, the one the first op picks
    args: tuple[Arg, ...]
    usage: str
    optional: int = 0  # how many trailing args may be left out
    ops: Mapping[str, str] = field(default_factory=dict)  # op word → command id (Arg.OP)
    # Command id → its `--name value` / `name=value` options, taken out of the comment.
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def command_ids(self) -> tuple[str, ...]:
        return tuple(self.ops.values()) if self.ops else (self.command_id,)


#: The verbs of commands that are not actions, listed after the actions' own.
OTHER_VERBS: tuple[Verb, ...] = (
    Verb("layout", "layout.load", (Arg.LAYOUT,), "layout NAME"),
    Verb("wall", "view.wall", (), "wall"),
    Verb("scenario", "demo.scenario", (Arg.SCENARIO, Arg.TARGET), "scenario NAME [TARGET]", 1),
    Verb("credentials", "backend.credentials", (Arg.BACKEND,), "credentials [BACKEND]", 1),
    Verb("assess", "slo.assess", (Arg.SERVICE,), "assess SERVICE"),
    Verb("investigate", "investigate.run", (Arg.SERVICE,), "investigate SERVICE"),
    Verb(
        "incident",
        "incident.open",
        (Arg.OP, Arg.COMMENT),
        "incident open|note|star|start|close [text…] [--severity SEV]",
        1,
        {op: f"incident.{op}" for op in ("open", "note", "star", "start", "close")},
        {"incident.open": ("severity", "start"), "incident.star": ("tag",)},
    ),
    Verb("postmortem", "incident.postmortem", (Arg.INCIDENT,), "postmortem [INCIDENT]", 1),
    Verb(
        "loadtest",
        "loadtest.watch",
        (Arg.OP, Arg.LOADTEST),
        "loadtest watch NAME | hold | release | report",
        1,
        {op: f"loadtest.{op}" for op in ("watch", "hold", "release", "report")},
    ),
    Verb("quit", "app.quit", (), "quit"),
)
#: Other spellings an operator types out of habit (vim's `:q`); actions declare their own.
OTHER_ALIASES: dict[str, str] = {"q": "quit"}


def _usage(word: str, args: tuple[Arg, ...], optional: int, ops: Iterable[str]) -> str:
    """ "failover CLUSTER MEMBER", "ack ALERT_ID [comment…]", "breaker CIRCUIT open|close"."""
    parts = [word]
    for i, arg in enumerate(args):
        text = "|".join(ops) if arg is Arg.OP else PLACEHOLDERS[arg]
        parts.append(f"[{text}]" if i >= len(args) - optional else text)
    return " ".join(parts)


def _action_verb(word: str, actions: list[ActionDeclaration]) -> Verb:
    """The verb of the actions spelt `word`: several make one verb picked by their op."""
    first = actions[0]
    ops = {a.op: a.command_id for a in actions if a.op}
    args = (*first.args, Arg.OP) if ops else first.args
    optional = 1 if args[-1] is Arg.COMMENT else 0
    usage = _usage(word, args, optional, ops)
    options = {a.command_id: a.options for a in actions if a.options}
    usage += "".join(f" [--{o} {o.upper()}]" for o in dict.fromkeys(first.options))
    return Verb(word, first.command_id, args, usage, optional, ops, options)


def verbs() -> dict[str, Verb]:
    """Every command-line word, the declared actions' first (in declaration order)."""
    by_word: dict[str, list[ActionDeclaration]] = {}
    for action in ACTIONS.values():
        by_word.setdefault(action.word, []).append(action)
    out = {word: _action_verb(word, actions) for word, actions in by_word.items()}
    out.update({v.word: v for v in OTHER_VERBS if v.word not in out})
    return out


def aliases() -> dict[str, str]:
    """Other spelling → the verb it means."""
    out = dict(OTHER_ALIASES)
    for action in ACTIONS.values():
        out.update(dict.fromkeys(action.aliases, action.word))
    return out


def _ops_words(verb: Verb) -> str:
    """ "open, close or reset"."""
    ops = list(verb.ops)
    return ", ".join(ops[:-1]) + f" or {ops[-1]}" if len(ops) > 1 else "".join(ops)


def _arg_words(verb: Verb, arg: Arg) -> str:
    return _ops_words(verb) if arg is Arg.OP else ARG_WORDS[arg]


# ---------------------------------------------------------------- parsing


class CmdlineError(Exception):
    """What was wrong with a command line, in plain words, and what would have been accepted."""

    def __init__(self, message: str, expected: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.expected = tuple(expected)


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: run `command_id` with `kwargs`."""

    command_id: str
    kwargs: dict[str, Any]
    text: str  # the line as typed (for history)


_WORD = re.compile(r"\S+")
_KIND_WORDS = {
    Arg.CLUSTER: ("cluster", "database clusters"),
    Arg.CIRCUIT: ("circuit", "circuit breakers"),
    Arg.ALERT: ("alert", "alerts"),
    Arg.SILENCE: ("silence", "silences"),
    Arg.SERVICE: ("service", "services"),
}


def _words(text: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(text))


def _strip_colon(text: str) -> str:
    return text[1:] if text.startswith(":") else text


def _listing(names: Iterable[str], limit: int = 12) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


def _lookup_verb(word: str) -> Verb | None:
    word = word.casefold()
    return verbs().get(aliases().get(word, word))


def _available(verb: Verb, available: Container[str] | None) -> bool:
    return available is None or any(cid in available for cid in verb.command_ids())


def _pool(names: Names, arg: Arg) -> dict[str, tuple[str, ...]]:
    """Backend → the names of one kind it holds now."""
    out: dict[str, tuple[str, ...]] = {}
    for backend, b in names.backends.items():
        if arg is Arg.CLUSTER:
            out[backend] = tuple(b.clusters)
        elif arg is Arg.CIRCUIT:
            out[backend] = b.circuits
        elif arg is Arg.ALERT:
            out[backend] = b.alerts
        elif arg is Arg.SILENCE:
            out[backend] = b.silences
        elif arg is Arg.SERVICE:
            out[backend] = b.services
    return out


def _match(word: str, candidates: Iterable[str]) -> list[str]:
    """Exact (then case-blind exact), else unique-or-several prefix matches, in order."""
    candidates = list(dict.fromkeys(candidates))
    if word in candidates:
        return [word]
    folded = word.casefold()
    exact = [c for c in candidates if c.casefold() == folded]
    if exact:
        return exact[:1]
    return [c for c in candidates if c.casefold().startswith(folded)]


def resolve(arg: Arg, word: str, names: Names) -> tuple[str, str]:
    """(backend, name) that `word` (or `backend/word`) means for a backend-held kind.

    A unique prefix is enough ("inventory" → inventory-service): the confirmation still names
    the full target before anything is sent. The same name on several backends is ambiguous.
    """
    singular, plural = _KIND_WORDS[arg]
    pool = _pool(names, arg)
    backend_hint, _, rest = word.partition("/")
    if rest and backend_hint in pool:
        pool = {backend_hint: pool[backend_hint]}
        word = rest
    if not any(pool.values()):
        if not names.backends:
            raise CmdlineError(f"no backend is connected yet, so no {plural} are known")
        raise CmdlineError(f"no {plural} are known yet (is the backend live?)")
    every = [n for ns in pool.values() for n in ns]
    found = _match(word, every)
    if not found and arg is Arg.ALERT:
        return _resolve_alert_name(word, pool, names)
    if not found:
        raise CmdlineError(
            f"no {singular} named {word!r}; expected one of: {_listing(dict.fromkeys(every))}",
            dict.fromkeys(every),
        )
    if len(found) > 1:
        raise CmdlineError(f"{word!r} could be {_listing(found)}; type more of the name", found)
    name = found[0]
    owners = [b for b, ns in pool.items() if name in ns]
    if len(owners) > 1:
        qualified = [f"{b}/{name}" for b in owners]
        raise CmdlineError(
            f"{name} is on several backends ({', '.join(owners)}); write " + " or ".join(qualified),
            qualified,
        )
    return owners[0], name


def _resolve_alert_name(
    word: str, pool: Mapping[str, tuple[str, ...]], names: Names
) -> tuple[str, str]:
    """An alert named by its name ("LatencyHigh") when exactly one such alert is not resolved."""
    folded = word.casefold()
    hits = [
        (backend, alert_id, info)
        for backend, ids in pool.items()
        for alert_id in ids
        if (info := names.backends[backend].alert_names.get(alert_id)) is not None
        and info.state != "resolved"
        and info.name.casefold() == folded
    ]
    if len(hits) == 1:
        return hits[0][0], hits[0][1]
    if hits:
        ids = [alert_id for _, alert_id, _ in hits]
        services = _listing(dict.fromkeys(info.service for _, _, info in hits))
        raise CmdlineError(
            f"{hits[0][2].name} fires for {services}; Tab lists them, or write the id: "
            f"{_listing(ids)}",
            ids,
        )
    every = [n for ns in pool.values() for n in ns]
    raise CmdlineError(
        f"no alert named {word!r}; expected one of: {_listing(dict.fromkeys(every))}",
        dict.fromkeys(every),
    )


def _resolve_member(backend: str, cluster: str, word: str, names: Names) -> str:
    members = names.backends[backend].clusters.get(cluster, ())
    found = _match(word, members)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise CmdlineError(f"{word!r} could be {_listing(found)}; type more of the name", found)
    raise CmdlineError(
        f"{cluster} has no member {word!r}; expected one of: {_listing(members)}", members
    )


def _on_off(word: str) -> bool:
    folded = word.casefold()
    if folded in ON_WORDS:
        return True
    if folded in OFF_WORDS:
        return False
    raise CmdlineError(f"expected on or off, not {word!r}", ("on", "off"))


def parse(text: str, names: Names, available: Container[str] | None = None) -> Invocation:
    """The command a line means, or a `CmdlineError` saying what was expected instead.

    `available` is the set of registered command ids: a verb whose command this console does
    not have (no wall mode in tests, no scenarios outside the demo) is refused by name.
    """
    line = _strip_colon(text.strip())
    words = _words(line)
    if not words:
        raise CmdlineError("type a command; expected one of: " + ", ".join(verb_words(available)))
    verb_word = words[0].group()
    verb = _lookup_verb(verb_word)
    if verb is None:
        expected = verb_words(available)
        raise CmdlineError(
            f"unknown command {verb_word!r}; expected one of: {', '.join(expected)}", expected
        )
    if not _available(verb, available):
        raise CmdlineError(f"{verb.word} is not available here")
    action_options: dict[str, str] = {}
    names_of_options = tuple(o for cid in verb.command_ids() for o in verb.options.get(cid, ()))
    if names_of_options and not (verb.args and verb.args[-1] is Arg.COMMENT):
        # An action's options may stand anywhere after the verb ("switchover db pg2 --at 22:00").
        start = words[0].end()
        rest, action_options = split_options(line[start:], names_of_options)
        words = [words[0], *_words(" " * (start + 1) + rest)]
    values = [w.group() for w in words[1:]]
    slots = verb.args
    if verb.args and verb.args[-1] is Arg.COMMENT:
        # The comment is the rest of the line as typed, spacing and all.
        slots = verb.args[:-1]
    required = len(verb.args) - verb.optional
    if len(values) < required:
        missing = verb.args[len(values)]
        raise CmdlineError(
            f"{' '.join([verb.word, *values])} needs {_arg_words(verb, missing)} "
            f"(usage: {verb.usage})" + _expected_suffix(verb, missing, values, names),
            _expected_for(verb, missing, values, names),
        )
    if len(values) > len(slots) and not (verb.args and verb.args[-1] is Arg.COMMENT):
        extra = " ".join(values[len(slots) :])
        raise CmdlineError(f"too many words ({extra!r}); usage: {verb.usage}")

    kwargs: dict[str, Any] = {}
    command_id = verb.command_id
    backend: str | None = None
    for arg, value in zip(slots, values, strict=False):
        if arg in BACKEND_HELD:
            backend, name = resolve(arg, value, names)
            kwargs["backend"] = backend
            kwargs[kwarg(arg)] = name
        elif arg is Arg.MEMBER:
            assert backend is not None
            kwargs["member"] = _resolve_member(backend, kwargs["cluster"], value, names)
        elif arg is Arg.ON_OFF:
            kwargs["enabled"] = _on_off(value)
        elif arg is Arg.OP:
            op = value.casefold()
            if op not in verb.ops:
                raise CmdlineError(f"expected {_ops_words(verb)}, not {value!r}", tuple(verb.ops))
            command_id = verb.ops[op]
            if available is not None and command_id not in available:
                raise CmdlineError(f"{verb.word} {op} is not available here")
        elif arg is Arg.LAYOUT:
            kwargs["name"] = _pick_listed(value, names.layouts, "layout")
        elif arg is Arg.SCENARIO:
            kwargs["name"] = _pick_listed(value, names.scenarios, "scenario", strict=True)
        elif arg is Arg.TARGET:
            kwargs["target"] = value
        elif arg is Arg.INCIDENT:
            kwargs["incident"] = value
        elif arg is Arg.LOADTEST:
            kwargs["name"] = _pick_listed(value, names.loadtests, "load test")
        elif arg is Arg.BACKEND:
            kwargs["backend"] = _pick_listed(value, tuple(names.backends), "backend", strict=True)
        elif arg is Arg.DURATION:
            kwargs["duration"] = _duration(value)
    if verb.args and verb.args[-1] is Arg.COMMENT:
        rest = words[len(slots)].end() if len(words) > len(slots) else len(line)
        kwargs["comment"] = line[rest:].strip()
        if command_id in verb.options:
            kwargs["comment"], options = split_options(kwargs["comment"], verb.options[command_id])
            kwargs.update(options)
    for name, value in action_options.items():
        kwargs[name] = _option_value(name, value)
    return Invocation(command_id, kwargs, line.strip())


def _option_value(name: str, value: str) -> str:
    """An action option checked as typed: `--at` becomes a time with its zone."""
    if name != "at":
        return value
    try:
        return schedule_at(value, datetime.now().astimezone())
    except ValueError as exc:
        raise CmdlineError(str(exc)) from None


def _duration(word: str) -> str:
    """The duration as typed, once it is known to be one (the pipeline reads the text)."""
    try:
        seconds = parse_duration(word)
    except ValueError:
        raise CmdlineError(
            f"expected a duration such as 30m, 2h or 1d, not {word!r}", DURATIONS
        ) from None
    if seconds <= 0:
        raise CmdlineError(f"a duration must be longer than zero, not {word!r}", DURATIONS)
    return word


def _pick_listed(value: str, listed: tuple[str, ...], what: str, strict: bool = False) -> str:
    if not listed and not strict:
        return value  # nothing to check against: the handler answers for unknown names
    found = _match(value, listed)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise CmdlineError(f"{value!r} could be {_listing(found)}; type more of the name", found)
    raise CmdlineError(f"no {what} named {value!r}; expected one of: {_listing(listed)}", listed)


def _expected_for(verb: Verb, missing: Arg, values: list[str], names: Names) -> tuple[str, ...]:
    return tuple(_candidates(verb, verb.args.index(missing), values, names))


def _expected_suffix(verb: Verb, missing: Arg, values: list[str], names: Names) -> str:
    expected = _expected_for(verb, missing, values, names)
    return f"; expected one of: {_listing(expected)}" if expected else ""


def verb_words(available: Container[str] | None = None) -> list[str]:
    return [w for w, v in verbs().items() if _available(v, available)]


# ---------------------------------------------------------------- completion


@dataclass(frozen=True)
class Completion:
    """Candidates for the word under the cursor (the end of the line)."""

    head: str  # everything before the word being completed (ends in one space, or is empty)
    word: str  # what has been typed of it
    candidates: tuple[str, ...]  # what Tab puts in the line
    details: tuple[str, ...] = ()  # shown beside each candidate ("LatencyHigh firing · orders")

    def detail(self, index: int) -> str:
        return self.details[index] if index < len(self.details) else ""

    def apply(self, index: int) -> str:
        """The line with candidate `index` in place; a unique answer gets a trailing space."""
        if not self.candidates:
            return self.head + self.word
        choice = self.candidates[index % len(self.candidates)]
        return self.head + choice + (" " if len(self.candidates) == 1 else "")


@dataclass(frozen=True)
class _Choice:
    """One answer Tab may give: the text it inserts, what is shown beside it, and other
    words it is found by (an alert's name and service find its id)."""

    text: str
    detail: str = ""
    also: tuple[str, ...] = ()


def _qualified(pool: Mapping[str, Iterable[str]]) -> list[str]:
    """Names as the line must spell them: bare when unique, `backend/name` when not."""
    owners: dict[str, list[str]] = {}
    for backend, ns in pool.items():
        for n in ns:
            owners.setdefault(n, []).append(backend)
    out: list[str] = []
    for n, bs in owners.items():
        out.extend([n] if len(bs) == 1 else [f"{b}/{n}" for b in bs])
    return out


def _candidates(verb: Verb, index: int, values: list[str], names: Names) -> list[str]:
    """Every word Tab offers for argument `index` of `verb`, given the words before it."""
    return [c.text for c in _choices(verb, index, values, names)]


def _choices(verb: Verb, index: int, values: list[str], names: Names) -> list[_Choice]:
    if index >= len(verb.args):
        return []
    arg = verb.args[index]
    if arg is Arg.ALERT:
        return _alert_choices(names)
    if arg is Arg.OP:
        return [_Choice(op) for op in verb.ops]
    if arg is Arg.MEMBER:
        try:
            backend, cluster = resolve(Arg.CLUSTER, values[index - 1], names)
        except CmdlineError:
            return []
        action = ACTIONS.get(verb.command_id)
        rule = action.eligible if action is not None else None
        return _member_choices(names.backends[backend], cluster, rule)
    return [_Choice(text) for text in _plain_candidates(arg, names)]


def _alert_choices(names: Names) -> list[_Choice]:
    """Alerts by name and state, the ones to act on first; resolved ones are not offered."""
    pool = _pool(names, Arg.ALERT)
    held_by: dict[str, int] = {}
    for ids in pool.values():
        for alert_id in ids:
            held_by[alert_id] = held_by.get(alert_id, 0) + 1
    out = []
    for backend, ids in pool.items():
        for alert_id in ids:
            # Spelled as the line must spell it: bare when unique, `backend/id` when not.
            text = alert_id if held_by[alert_id] == 1 else f"{backend}/{alert_id}"
            info = names.backends[backend].alert_names.get(alert_id)
            if info is None:
                out.append(_Choice(text))
            elif info.state != "resolved":
                out.append(_Choice(text, info.words(), (info.name, info.service)))
    return out


def _member_choices(b: BackendNames, cluster: str, rule: MemberRule | None) -> list[_Choice]:
    """Members that may take over, least lag first; then the ones that may not, with why.

    The primary is not offered: promoting it is never what the operator means (typed by
    hand, the pipeline refuses it in words).
    """
    record = b.cluster_records.get(cluster)
    if record is None or rule is None:
        return [_Choice(m) for m in b.clusters.get(cluster, ())]
    ranked = []
    for m in record.members:
        if m.name == record.primary or m.role == "primary":
            continue
        verdict = rule(record, m)
        if verdict.eligible:
            detail = f"lag {human_bytes(m.lag_bytes)}"
        else:
            detail = f"not eligible: {verdict.reason}"
        ranked.append(((not verdict.eligible, m.lag_bytes, m.name), _Choice(m.name, detail)))
    return [choice for _, choice in sorted(ranked, key=lambda r: r[0])]


def _plain_candidates(arg: Arg, names: Names) -> list[str]:
    if arg in BACKEND_HELD:
        return _qualified(_pool(names, arg))
    if arg is Arg.ON_OFF:
        return ["on", "off"]
    if arg is Arg.LAYOUT:
        return list(names.layouts)
    if arg is Arg.DURATION:
        return list(DURATIONS)
    if arg is Arg.SCENARIO:
        return list(names.scenarios)
    if arg is Arg.LOADTEST:
        return list(names.loadtests)
    if arg is Arg.BACKEND:
        return list(names.backends)
    if arg is Arg.TARGET:
        every: dict[str, None] = {}
        for b in names.backends.values():
            every.update(dict.fromkeys(b.services))
            every.update(dict.fromkeys(b.circuits))
            for members in b.clusters.values():
                every.update(dict.fromkeys(members))
        return list(every)
    return []


def _filter(word: str, choices: Iterable[_Choice]) -> list[_Choice]:
    """Prefix matches (of the name or its other words); when none, substring matches ("2"
    finds replica-2)."""
    unique = list({c.text: c for c in choices}.values())
    folded = word.casefold()
    prefix = [c for c in unique if any(w.casefold().startswith(folded) for w in (c.text, *c.also))]
    if prefix or not folded:
        return prefix
    return [c for c in unique if any(folded in w.casefold() for w in (c.text, *c.also))]


def _completion(head: str, word: str, choices: list[_Choice]) -> Completion:
    details = tuple(c.detail for c in choices)
    return Completion(head, word, tuple(c.text for c in choices), details if any(details) else ())


def complete(text: str, names: Names, available: Container[str] | None = None) -> Completion:
    """What Tab offers for the last word of `text` (the cursor is at the end)."""
    lead = ":" if text.startswith(":") else ""
    line = _strip_colon(text)
    words = _words(line)
    if words and words[-1].end() == len(line):
        before, word = words[:-1], words[-1].group()
    else:
        before, word = words, ""
    # One space before the completed word, however many were typed: Tab never leaves a
    # double space in the line.
    head = lead + (line[: before[-1].end()] + " " if before else "")
    if not before:
        verbs = [_Choice(w) for w in verb_words(available)]
        return _completion(head, word, _filter(word, verbs))
    verb = _lookup_verb(before[0].group())
    if verb is None or not _available(verb, available):
        return Completion(head, word, ())
    values = [w.group() for w in before[1:]]
    return _completion(head, word, _filter(word, _choices(verb, len(values), values, names)))
