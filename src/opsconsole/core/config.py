"""The config file's `[[backend]]` and `[[slo]]` tables, checked, each problem named by line."""

from __future__ import annotations

import difflib
import re
import string
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from opsconsole.core.configlines import Locator
from opsconsole.core.configwords import type_name as _type_name
from opsconsole.core.configwords import unknown_key as _unknown_key
from opsconsole.core.durations import duration_literal, parse_duration
from opsconsole.core.loadtest.spec import LoadTestSpec
from opsconsole.core.loadtest.specchecks import check_loadtests
from opsconsole.core.slo.model import Slo, SloWindow
from opsconsole.core.urls import UrlProblem, check_backend_url

BACKEND_KINDS = ("opsapi", "prometheus", "alertmanager", "patroni")
QUERY_NAMES = ("latency", "traffic", "errors", "cpu", "memory", "circuits", "freshness")
QUERY_PLACEHOLDERS = ("service_label", "window", "quantile")
# An [[slo]]'s good/total queries: `{service}` is the SLO's own service (such a query is sent
# per SLO, not shared by all services); `{window}` is each burn window and the whole window.
SLO_QUERY_PLACEHOLDERS = ("service_label", "window", "service")
# A backend's deploy-marker query answers series labelled by service and `version`.
DEPLOYS_PLACEHOLDERS = ("service_label",)

# `[keys]` belongs to opsconsole.core.keymap, `[[loadtest]]` to opsconsole.core.loadtest.
TOP_LEVEL_KEYS = ("backend", "slo", "keys", "demo", "loadtest")
BACKEND_KEYS = (
    "name",
    "kind",
    "url",
    "service_label",
    "step",
    "history",
    "verify_tls",
    "token_key",
    "queries",
    "deploys",
    "username",
    "cafile",
    "pg_user",
    "pg_database",
)
# Keys only a Patroni backend reads: its REST user (the password is the token), the CA that
# signs its certificates, and the database login that verifies the advisory read-only.
PATRONI_KEYS = ("username", "cafile", "pg_user", "pg_database")
SLO_KEYS = ("service", "objective", "window", "backend", "good", "total")
# Keys that would put a credential in a plain file; refused wherever they appear.
SECRET_KEYS = frozenset({"token", "password", "passwd", "secret", "api_key", "api_token"})

ALERTMANAGER_POLL_S = 5.0
PATRONI_POLL_S = 2.0
DEFAULT_STEP_S = 15.0
DEFAULT_HISTORY_S = 900.0
MIN_STEP_S = 1.0
MAX_STEP_S = 3600.0
MAX_HISTORY_S = 32 * 86400.0  # above Prometheus' 15-day default retention, short of silly

_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}", re.ASCII)  # ":" for "host:port" names
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")
_LONG_NUMBER = re.compile(r"[0-9A-Fa-f_]{4000,}", re.ASCII)

_SECRET_MESSAGE = (
    "tokens never go in the config file; use `opsconsole auth set NAME` "
    'and token_key = "NAME" in the backend'
)


@dataclass(frozen=True)
class BackendConfig:
    """One `[[backend]]` table, checked and with defaults filled in."""

    name: str
    kind: str  # one of BACKEND_KINDS
    url: str  # without trailing slash
    service_label: str = "service"
    step_s: float = DEFAULT_STEP_S
    history_s: float = DEFAULT_HISTORY_S
    verify_tls: bool = True
    token_key: str | None = None
    # Only the overrides the file gives. A read-only view keeps the record immutable; it is
    # left out of the hash (a mapping proxy is unhashable) but still compared.
    queries: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    line: int | None = None  # line of its [[backend]] header, for later messages
    from_url: bool = False  # given by --url (named by its host; token from --token-env)
    # The [[slo]] tables this (prometheus) backend computes, and its deploy-marker query.
    slos: tuple[SloConfig, ...] = ()
    deploys: str | None = None
    # Patroni only: basic-auth user for unsafe calls (password = the token), a CA file, and
    # the PostgreSQL login (password from ~/.pgpass or PGPASSWORD, as libpq reads them).
    username: str | None = None
    cafile: str | None = None
    pg_user: str | None = None
    pg_database: str = "postgres"


@dataclass(frozen=True)
class SloConfig:
    """One `[[slo]]` table: a service's objective over a window, computed by one backend."""

    service: str
    objective: float
    window: SloWindow
    backend: str  # the prometheus backend that computes it (named, or the only one)
    good: str | None = None  # PromQL templates overriding the default request counts
    total: str | None = None
    line: int | None = None

    @property
    def slo(self) -> Slo:
        return Slo(self.service, self.objective, self.window)


@dataclass(frozen=True)
class Config:
    """A whole config file: its path (None when parsed from text) and its backends, in order."""

    path: Path | None
    backends: tuple[BackendConfig, ...]
    demo: bool = False  # `demo = true`: the built-in demo backend, as the first-run choice wrote
    slos: tuple[SloConfig, ...] = ()  # every [[slo]], in file order (also on its backend)
    loadtests: tuple[LoadTestSpec, ...] = ()  # every [[loadtest]], in file order


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the file, where it is and what to write instead."""

    path: Path | None
    line: int | None
    key: str  # "backend[1].step" (backends counted from 1, as they appear); "" for the file
    message: str

    def __str__(self) -> str:
        if self.path is not None and self.line is not None:
            where = f"{self.path}:{self.line}"
        elif self.path is not None:
            where = str(self.path)
        elif self.line is not None:
            where = f"line {self.line}"
        else:
            where = ""
        return ": ".join(part for part in (where, self.key, self.message) if part)


class ConfigError(Exception):
    """The config file cannot be used; `problems` lists everything found, not just the first."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- checking --------------------------------------------------------------------------------


class _Problems:
    def __init__(self, path: Path | None, locator: Locator) -> None:
        self.path = path
        self.locator = locator
        self.items: list[ConfigProblem] = []

    def add(self, where: tuple[str | int, ...], key: str, message: str) -> None:
        self.items.append(ConfigProblem(self.path, self.locator.line(*where), key, message))


def _find_secrets(
    value: object, where: tuple[str | int, ...], key: str, problems: _Problems
) -> None:
    """Refuse credential-looking keys at any depth, whatever table they sit in."""
    if isinstance(value, dict):
        for k, v in value.items():
            sub_key = f"{key}.{k}" if key else k
            if k.casefold() in SECRET_KEYS:
                problems.add((*where, k), sub_key, _SECRET_MESSAGE)
            else:
                _find_secrets(v, (*where, k), sub_key, problems)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _find_secrets(item, (*where, i), f"{key}[{i + 1}]", problems)


def _duration(
    raw: object, where: tuple[str | int, ...], key: str, problems: _Problems
) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        problems.add(where, key, f'expected a duration such as "15s", got {_type_name(raw)}')
        return None
    try:
        return parse_duration(raw) if isinstance(raw, str) else parse_duration(str(raw))
    except ValueError as exc:
        problems.add(where, key, str(exc))
        return None


def _check_url(raw: str) -> tuple[str | None, str | None]:
    """The URL without trailing slash, or the reason it cannot be used."""
    try:
        return check_backend_url(raw), None
    except UrlProblem as exc:
        if exc.credentials:
            return None, (
                "credentials never go in the config file; remove user:password@ from the URL "
                "and use `opsconsole auth set NAME` with token_key"
            )
        return None, str(exc)


def _check_template(
    template: str, placeholders: tuple[str, ...] = QUERY_PLACEHOLDERS
) -> str | None:
    """Why a query template cannot be filled in, or None when it can."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"{exc}; write {{{{ and }}}} for literal braces, as in PromQL label matchers"
    for _literal, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in placeholders:
            allowed = ", ".join("{" + p + "}" for p in placeholders)
            shown = "{" + name + "}"
            return (
                f"unknown placeholder {shown}; the placeholders are {allowed} "
                f"(write {{{{ and }}}} for literal braces)"
            )
        if spec or conversion:
            return f"write {{{name}}} plainly, without a format or conversion"
    return None


def _check_queries(
    raw: object, base: tuple[str | int, ...], label: str, kind: object, problems: _Problems
) -> Mapping[str, str]:
    where = (*base, "queries")
    key = f"{label}.queries"
    if not isinstance(raw, dict):
        problems.add(where, key, f"expected a table of query = 'PromQL', got {_type_name(raw)}")
        return MappingProxyType({})
    if kind in BACKEND_KINDS and kind != "prometheus":
        problems.add(where, key, f"only prometheus backends take queries (this one is {kind!r})")
    queries: dict[str, str] = {}
    for name, template in raw.items():
        here, sub = (*where, name), f"{key}.{name}"
        if name.casefold() in SECRET_KEYS:
            continue  # reported by _find_secrets
        if name not in QUERY_NAMES:
            problems.add(here, sub, _unknown_key(name, QUERY_NAMES))
        elif not isinstance(template, str) or not template.strip():
            problems.add(here, sub, "expected a non-empty PromQL string")
        elif (why := _check_template(template)) is not None:
            problems.add(here, sub, why)
        else:
            queries[name] = template
    return MappingProxyType(queries)


def _check_backend(
    index: int, raw: dict[str, Any], problems: _Problems, names: dict[str, int]
) -> BackendConfig | None:
    base: tuple[str | int, ...] = ("backend", index)
    label = f"backend[{index + 1}]"
    before = len(problems.items)

    def add(key: str, message: str) -> None:
        problems.add((*base, key), f"{label}.{key}", message)

    for key in raw:
        if key not in BACKEND_KEYS and key.casefold() not in SECRET_KEYS:
            add(key, _unknown_key(key, BACKEND_KEYS))

    name = raw.get("name")
    if name is None:
        problems.add(base, f"{label}.name", 'missing; every backend needs a name = "..."')
    elif not isinstance(name, str) or not _NAME.fullmatch(name):
        add("name", f"{name!r} is not a name; use 1-64 letters, digits, '_', '.', ':' or '-'")
    elif name in names:
        add("name", f"{name!r} is already the name of backend[{names[name] + 1}]")
    else:
        names[name] = index

    kind = raw.get("kind")
    if kind is None:
        options = " | ".join(BACKEND_KINDS)
        problems.add(base, f"{label}.kind", f"missing; write kind = one of {options}")
    elif kind not in BACKEND_KINDS:
        close = difflib.get_close_matches(str(kind), BACKEND_KINDS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        add("kind", f"{kind!r} is not a backend kind; use one of {', '.join(BACKEND_KINDS)}{hint}")

    url: str | None = None
    raw_url = raw.get("url")
    if raw_url is None:
        problems.add(base, f"{label}.url", 'missing; write e.g. url = "https://host:9090"')
    elif not isinstance(raw_url, str):
        add("url", f"expected a string, got {_type_name(raw_url)}")
    else:
        url, why = _check_url(raw_url)
        if why is not None:
            add("url", why)

    service_label = raw.get("service_label", "service")
    if not isinstance(service_label, str) or not _LABEL.fullmatch(service_label):
        add("service_label", f"{service_label!r} is not a Prometheus label name")

    # Alerts are news: Alertmanager is read every 5 s unless told otherwise, while a
    # Prometheus step of 15 s matches the usual scrape interval.
    step = {"alertmanager": ALERTMANAGER_POLL_S, "patroni": PATRONI_POLL_S}.get(
        str(raw.get("kind")), DEFAULT_STEP_S
    )
    if "step" in raw:
        parsed = _duration(raw["step"], (*base, "step"), f"{label}.step", problems)
        if parsed is not None:
            if parsed < MIN_STEP_S:
                add("step", f"{raw['step']!r} must be at least {duration_literal(MIN_STEP_S)}")
            elif parsed > MAX_STEP_S:
                add("step", f"{raw['step']!r} must be at most {duration_literal(MAX_STEP_S)}")
            else:
                step = parsed

    # Unset, history covers at least one step so a coarse step still draws a point.
    history = max(DEFAULT_HISTORY_S, step)
    if "history" in raw:
        parsed = _duration(raw["history"], (*base, "history"), f"{label}.history", problems)
        if parsed is not None:
            if parsed < step:
                add(
                    "history", f"{raw['history']!r} is shorter than step ({duration_literal(step)})"
                )
            elif parsed > MAX_HISTORY_S:
                limit = duration_literal(MAX_HISTORY_S)
                add("history", f"{raw['history']!r} must be at most {limit}")
            else:
                history = parsed

    verify_tls = raw.get("verify_tls", True)
    if not isinstance(verify_tls, bool):
        add("verify_tls", f"expected true or false, got {verify_tls!r}")

    token_key = raw.get("token_key")
    if token_key is not None and (not isinstance(token_key, str) or not token_key.strip()):
        add("token_key", 'expected the name of a keyring entry, e.g. token_key = "prod-prom"')

    queries: Mapping[str, str] = MappingProxyType({})
    if "queries" in raw:
        queries = _check_queries(raw["queries"], base, label, kind, problems)

    deploys = raw.get("deploys")
    if deploys is not None:
        deploys = _check_promql(deploys, DEPLOYS_PLACEHOLDERS, f"{label}.deploys", add)
        if kind in BACKEND_KINDS and kind != "prometheus":
            add("deploys", f"only prometheus backends take a deploys query (this one is {kind!r})")

    patroni = _check_patroni_keys(raw, kind, add)

    if len(problems.items) != before:
        return None
    return BackendConfig(
        name=str(name),
        kind=str(kind),
        url=str(url),
        service_label=str(service_label),
        step_s=step,
        history_s=history,
        verify_tls=bool(verify_tls),
        token_key=token_key,
        queries=queries,
        line=problems.locator.line(*base),
        deploys=deploys,
        **patroni,
    )


def _check_patroni_keys(
    raw: dict[str, Any], kind: object, add: Callable[[str, str], None]
) -> dict[str, Any]:
    """username, cafile, pg_user and pg_database: strings, and only on a Patroni backend."""
    out: dict[str, Any] = {}
    for key in PATRONI_KEYS:
        if key not in raw:
            continue
        value = raw[key]
        if kind in BACKEND_KINDS and kind != "patroni":
            add(key, f"only patroni backends take {key} (this one is {kind!r})")
        elif not isinstance(value, str) or not value.strip():
            add(key, f"expected a non-empty string, got {_type_name(value)}")
        elif key == "cafile" and not Path(value).expanduser().is_file():
            add(key, f"{value!r} is not a file")
        else:
            out[key] = str(Path(value).expanduser()) if key == "cafile" else value
    return out


def _check_promql(
    raw: object, placeholders: tuple[str, ...], key: str, add: Callable[[str, str], None]
) -> str | None:
    """The template when it is a non-empty PromQL string that can be filled in, else None."""
    short = key.rsplit(".", 1)[-1]
    if not isinstance(raw, str) or not raw.strip():
        add(short, f"expected a non-empty PromQL string, got {_type_name(raw)}")
        return None
    if (why := _check_template(raw, placeholders)) is not None:
        add(short, why)
        return None
    return raw


def _check_slo(
    index: int, raw: dict[str, Any], problems: _Problems, kinds: Mapping[str, object]
) -> SloConfig | None:
    """One [[slo]] table; `kinds` maps every [[backend]] name to its kind, to resolve `backend`."""
    base: tuple[str | int, ...] = ("slo", index)
    label = f"slo[{index + 1}]"
    before = len(problems.items)

    def add(key: str, message: str) -> None:
        problems.add((*base, key), f"{label}.{key}", message)

    def missing(key: str, example: str) -> None:
        problems.add(base, f"{label}.{key}", f"missing; write e.g. {key} = {example}")

    for key in raw:
        if key not in SLO_KEYS and key.casefold() not in SECRET_KEYS:
            add(key, _unknown_key(key, SLO_KEYS))

    service = raw.get("service")
    if service is None:
        missing("service", '"orders"')
    elif not isinstance(service, str) or not service.strip():
        add("service", f"expected the service's name, got {_type_name(service)}")

    objective = raw.get("objective")
    if objective is None:
        missing("objective", "0.999 (for 99.9 %)")
    elif isinstance(objective, bool) or not isinstance(objective, int | float):
        add("objective", f"expected a number such as 0.999, got {_type_name(objective)}")
    elif 1.0 <= objective < 100.0:
        add("objective", f"{objective:g} looks like a percentage; write {objective / 100:g}")
    elif not 0.0 < objective < 1.0:
        add("objective", f"{objective!r} must be between 0 and 1, e.g. 0.999 for 99.9 %")

    window: SloWindow | None = None
    raw_window = raw.get("window")
    if raw_window is None:
        missing("window", '"30d" (rolling 30 days), "28d" or "1M" (the calendar month)')
    elif not isinstance(raw_window, str):
        add("window", f'expected a string such as "30d" or "1M", got {_type_name(raw_window)}')
    else:
        try:
            window = SloWindow.parse(raw_window)
        except ValueError as exc:
            add("window", str(exc))

    backend = _slo_backend(raw.get("backend"), kinds, add)
    good = total = None
    if "good" in raw:
        good = _check_promql(raw["good"], SLO_QUERY_PLACEHOLDERS, f"{label}.good", add)
    if "total" in raw:
        total = _check_promql(raw["total"], SLO_QUERY_PLACEHOLDERS, f"{label}.total", add)

    if len(problems.items) != before or window is None or backend is None:
        return None
    return SloConfig(
        service=str(service),
        objective=float(objective),  # type: ignore[arg-type]
        window=window,
        backend=backend,
        good=good,
        total=total,
        line=problems.locator.line(*base),
    )


def _slo_backend(
    raw: object, kinds: Mapping[str, object], add: Callable[[str, str], None]
) -> str | None:
    """The prometheus backend an [[slo]] names, or the only one there is."""
    proms = [name for name, kind in kinds.items() if kind == "prometheus"]
    if raw is None:
        if len(proms) == 1:
            return proms[0]
        if not proms:
            add("backend", "no prometheus backend to compute it; add a [[backend]] of that kind")
        else:
            names = ", ".join(repr(n) for n in proms)
            add("backend", f"missing; there are several prometheus backends ({names}): say which")
        return None
    if not isinstance(raw, str):
        add("backend", f"expected a backend's name, got {_type_name(raw)}")
        return None
    if raw not in kinds:
        close = difflib.get_close_matches(raw, list(kinds), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        add("backend", f"{raw!r} is not the name of a [[backend]]{hint}")
        return None
    if kinds[raw] != "prometheus":
        add(
            "backend",
            f"{raw!r} is a {kinds[raw]} backend; only prometheus backends compute [[slo]] "
            "tables (an opsapi backend reports its own SLOs)",
        )
        return None
    return raw


def _check_slos(
    raw_slos: object, raw_backends: object, problems: _Problems
) -> tuple[SloConfig, ...]:
    if isinstance(raw_slos, dict):
        problems.add(("slo",), "slo", "write [[slo]] (an array of tables), not [slo]")
        return ()
    if not isinstance(raw_slos, list):
        problems.add(("slo",), "slo", "expected [[slo]] tables")
        return ()
    kinds: dict[str, object] = {}
    if isinstance(raw_backends, list):
        for b in raw_backends:
            if isinstance(b, dict) and isinstance(b.get("name"), str):
                kinds.setdefault(b["name"], b.get("kind"))
    slos: list[SloConfig] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_slos):
        if not isinstance(raw, dict):
            problems.add(
                ("slo", index), f"slo[{index + 1}]", f"expected a table, got {_type_name(raw)}"
            )
            continue
        slo = _check_slo(index, raw, problems, kinds)
        if slo is None:
            continue
        earlier = seen.setdefault((slo.backend, slo.service), index)
        if earlier != index:
            # The console keeps one SLO per service and backend.
            message = f"{slo.service!r} already has an SLO on {slo.backend!r} (slo[{earlier + 1}])"
            problems.add(("slo", index, "service"), f"slo[{index + 1}].service", message)
            continue
        slos.append(slo)
    return tuple(slos)


def parse_config(text: str, path: Path | None = None) -> Config:
    """Check a config file's text; raise ConfigError listing every problem found."""
    try:
        return _parse_config(text, path)
    except RecursionError:
        # tomllib and the secret search read nested arrays, tables and dotted keys by
        # recursion: thousands of levels exhaust the stack. No setting nests more than four.
        _depth, line = Locator(text).deepest
        message = "nesting too deep: arrays or tables are nested inside each other too often"
        raise ConfigError([ConfigProblem(path, line, "", message)]) from None


def _parse_config(text: str, path: Path | None) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        line = int(match.group(1)) if match else None
        raise ConfigError([ConfigProblem(path, line, "", f"not valid TOML: {exc}")]) from None
    except ValueError as exc:
        # Python refuses to read an integer of more than 4,300 digits (a guard against slow
        # conversions); tomllib lets that ValueError through without a position.
        match = _LONG_NUMBER.search(text)
        if match is None:
            raise ConfigError([ConfigProblem(path, None, "", f"not valid TOML: {exc}")]) from None
        line = text.count("\n", 0, match.start()) + 1
        message = "a number with thousands of digits; no setting needs one"
        raise ConfigError([ConfigProblem(path, line, "", message)]) from None

    problems = _Problems(path, Locator(text))
    _find_secrets(data, (), "", problems)
    for key in data:
        if key not in TOP_LEVEL_KEYS and key.casefold() not in SECRET_KEYS:
            problems.add((key,), key, _unknown_key(key, TOP_LEVEL_KEYS))

    backends: list[BackendConfig] = []
    raw_backends = data.get("backend", [])
    demo = data.get("demo", False)
    if not isinstance(demo, bool):
        problems.add(("demo",), "demo", f"expected true or false, got {_type_name(demo)}")
    elif demo and raw_backends:
        message = "true runs only the built-in demo; remove it to watch the [[backend]] tables"
        problems.add(("demo",), "demo", message)
    if isinstance(raw_backends, dict):
        message = "write [[backend]] (an array of tables), not [backend]"
        problems.add(("backend",), "backend", message)
    elif not isinstance(raw_backends, list):
        problems.add(("backend",), "backend", "expected [[backend]] tables")
    else:
        names: dict[str, int] = {}
        for index, raw in enumerate(raw_backends):
            if not isinstance(raw, dict):
                label = f"backend[{index + 1}]"
                problems.add(("backend", index), label, f"expected a table, got {_type_name(raw)}")
                continue
            backend = _check_backend(index, raw, problems, names)
            if backend is not None:
                backends.append(backend)

    slos: tuple[SloConfig, ...] = ()
    if "slo" in data:
        slos = _check_slos(data["slo"], raw_backends, problems)

    loadtests: tuple[LoadTestSpec, ...] = ()
    if "loadtest" in data:
        loadtests = check_loadtests(
            data["loadtest"],
            problems.add,
            problems.locator.line,
            backend_names=[b.name for b in backends],
            skip_keys=SECRET_KEYS,
        )

    if problems.items:
        # In file order, so the list reads top to bottom like the file (stable within a line).
        raise ConfigError(sorted(problems.items, key=lambda p: p.line or 0))
    backends = [
        replace(b, slos=tuple(s for s in slos if s.backend == b.name)) if slos else b
        for b in backends
    ]
    return Config(
        path=path, backends=tuple(backends), demo=demo is True, slos=slos, loadtests=loadtests
    )


def load_config(path: Path) -> Config:
    """Read and check the config file at `path`; a missing or unreadable file is a ConfigError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(path, None, "", "no such file")]) from None
    except ValueError:  # a NUL in the path: no file can have that name
        raise ConfigError([ConfigProblem(path, None, "", "no such file")]) from None
    except OSError as exc:
        message = f"cannot read the file ({exc.strerror or exc})"
        raise ConfigError([ConfigProblem(path, None, "", message)]) from None
    try:
        # utf-8-sig: editors that write a byte-order mark still produce a readable file.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text (byte {exc.start + 1} cannot be decoded); save it as UTF-8"
        raise ConfigError([ConfigProblem(path, line, "", message)]) from None
    return parse_config(text, path)
