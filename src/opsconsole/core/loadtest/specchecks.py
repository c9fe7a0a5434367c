"""The config file's `[[loadtest]]` tables, checked key by key into LoadTestSpecs."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from opsconsole.core.configwords import type_name as _type_name
from opsconsole.core.configwords import unknown_key
from opsconsole.core.durations import duration_literal, parse_duration
from opsconsole.core.loadtest.spec import (
    DEFAULT_COUNTDOWN_S,
    DEFAULT_FOR_S,
    DEFAULT_OVER_S,
    RATIO_SIGNALS,
    TOOLS,
    Criterion,
    Guards,
    LoadTestSpec,
    Signal,
)
from opsconsole.core.urls import UrlProblem, check_backend_url

Where = tuple[str | int, ...]
AddProblem = Callable[[Where, str, str], None]  # (path in the file, key, message)
LineOf = Callable[..., "int | None"]

LOADTEST_KEYS = (
    "name",
    "tool",
    "url",
    "services",
    "backend",
    "countdown",
    "warmup",
    "success",
    "stop",
    "guards",
)
# Success keys → (signal, the limit is a ceiling); a floor (min_rps) is the one exception.
SUCCESS_SIGNALS: dict[str, tuple[Signal, bool]] = {
    "p50_ms": ("latency_p50_ms", True),
    "p95_ms": ("latency_p95_ms", True),
    "p99_ms": ("latency_p99_ms", True),
    "min_rps": ("rps", False),
    "max_error_ratio": ("error_ratio", True),
    "max_cpu": ("cpu", True),
    "max_memory": ("memory", True),
    "max_db_pool": ("db_pool", True),
}
SUCCESS_KEYS = (*SUCCESS_SIGNALS, "over", "for")
# What `signal = "…"` in a [[loadtest.stop]] may say, and the signal each one is.
STOP_SIGNALS: dict[str, Signal] = {
    "error_ratio": "error_ratio",
    "p50_ms": "latency_p50_ms",
    "p95_ms": "latency_p95_ms",
    "p99_ms": "latency_p99_ms",
    "cpu": "cpu",
    "memory": "memory",
    "db_pool": "db_pool",
}
STOP_KEYS = ("signal", "above", "over", "for")
GUARD_KEYS = ("budget_page", "breaker_open", "db_lag")
MAX_RULE_S = 86_400.0  # a window or a hold longer than a day is no load-test rule
MAX_COUNTDOWN_S = 600.0

_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}", re.ASCII)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Checker:
    """Checks one file's [[loadtest]] tables; every problem goes to `add` with its path."""

    def __init__(
        self, add: AddProblem, line_of: LineOf, backends: tuple[str, ...], skip: frozenset[str]
    ) -> None:
        self.add, self.line_of, self.backends, self.skip = add, line_of, backends, skip
        self.failed = False

    def problem(self, where: Where, key: str, message: str) -> None:
        self.failed = True
        self.add(where, key, message)

    def unknown_keys(self, raw: dict[str, Any], allowed: tuple[str, ...], base: Where, label: str):
        for key in raw:
            if key not in allowed and key.casefold() not in self.skip:
                self.problem((*base, key), f"{label}.{key}", unknown_key(key, allowed))

    def duration(self, raw: object, where: Where, key: str, low: float, high: float):
        """Seconds, or None after reporting why not; bounds are inclusive."""
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            self.problem(where, key, f'expected a duration such as "1m", got {_type_name(raw)}')
            return None
        try:
            # A bare number is seconds; a negative one is read, to say it is too small.
            seconds = float(raw) if _is_number(raw) else parse_duration(str(raw))
            if not math.isfinite(seconds):
                raise ValueError(f"{raw!r} is not a duration; write e.g. 15s, 5m, 1h30m")
        except ValueError as exc:
            self.problem(where, key, str(exc))
            return None
        if seconds < low:
            self.problem(where, key, f"{raw!r} must be at least {duration_literal(low)}")
            return None
        if seconds > high:
            self.problem(where, key, f"{raw!r} must be at most {duration_literal(high)}")
            return None
        return seconds

    def limit(self, raw: object, signal: Signal, where: Where, key: str) -> float | None:
        """A limit: a finite number, not negative, a ratio at most 1 (0.8 for 80 %)."""
        if not _is_number(raw):
            self.problem(where, key, f"expected a number, got {_type_name(raw)}")
            return None
        value = float(raw)  # type: ignore[arg-type]
        if not math.isfinite(value):
            self.problem(where, key, f"{raw!r} is not a usable limit; write a finite number")
        elif value < 0:
            self.problem(where, key, f"{raw!r} is negative; a limit is 0 or more")
        elif signal in RATIO_SIGNALS and value > 1:
            hint = f"; write {value / 100:g} for {value:g} %" if value <= 100 else ""
            self.problem(where, key, f"{raw!r} is a ratio and must be at most 1{hint}")
        else:
            return value
        return None

    # ------------------------------------------------------------------ one table

    def loadtest(self, index: int, raw: dict[str, Any], names: dict[str, int]):
        base: Where = ("loadtest", index)
        label = f"loadtest[{index + 1}]"
        self.failed = False

        def at(key: str) -> tuple[Where, str]:
            return (*base, key), f"{label}.{key}"

        def missing(key: str, example: str) -> None:
            self.problem(base, f"{label}.{key}", f"missing; write e.g. {key} = {example}")

        self.unknown_keys(raw, LOADTEST_KEYS, base, label)
        name = raw.get("name")
        if name is None:
            missing("name", '"checkout"')
        elif not isinstance(name, str) or not _NAME.fullmatch(name):
            self.problem(
                *at("name"), f"{name!r} is not a name; use 1-64 letters, digits, '_', '.', ':', '-'"
            )
        elif name in names:
            self.problem(
                *at("name"), f"{name!r} is already the name of loadtest[{names[name] + 1}]"
            )
        else:
            names[name] = index

        tool = raw.get("tool")
        if tool is None:
            missing("tool", '"locust" (or "k6")')
        elif tool not in TOOLS:
            close = difflib.get_close_matches(str(tool), TOOLS, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.problem(*at("tool"), f"{tool!r} is not a load tool; use locust or k6{hint}")

        url = raw.get("url")
        if url is None:
            missing("url", '"http://127.0.0.1:8089" (the tool\'s API)')
        elif not isinstance(url, str):
            self.problem(*at("url"), f"expected a string, got {_type_name(url)}")
        else:
            try:
                url = check_backend_url(url)
            except UrlProblem as exc:
                self.problem(*at("url"), str(exc))

        services = self.services(raw.get("services"), at, missing)
        backend = raw.get("backend")
        if backend is not None:
            if not isinstance(backend, str):
                self.problem(
                    *at("backend"), f"expected a backend's name, got {_type_name(backend)}"
                )
            elif self.backends and backend not in self.backends:
                close = difflib.get_close_matches(backend, self.backends, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problem(*at("backend"), f"{backend!r} is not the name of a [[backend]]{hint}")

        countdown = DEFAULT_COUNTDOWN_S
        if "countdown" in raw:
            countdown = self.duration(raw["countdown"], *at("countdown"), 0.0, MAX_COUNTDOWN_S)
        warmup = 0.0
        if "warmup" in raw:
            warmup = self.duration(raw["warmup"], *at("warmup"), 0.0, MAX_RULE_S)

        success = self.success(raw.get("success", {}), base, label)
        stops = self.stops(raw.get("stop", []), base, label)
        guards = self.guards(raw.get("guards", {}), base, label)
        if self.failed:
            return None
        return LoadTestSpec(
            name=str(name),
            tool=tool,  # type: ignore[arg-type]
            url=str(url),
            services=services,
            backend=backend,
            countdown_s=float(countdown),  # type: ignore[arg-type]
            warmup_s=float(warmup),  # type: ignore[arg-type]
            success=success,
            stops=stops,
            guards=guards,
            line=self.line_of(*base),
        )

    def services(self, raw: object, at, missing) -> tuple[str, ...]:
        if raw is None:
            missing("services", '["orders", "payments"]')
            return ()
        if not isinstance(raw, list):
            self.problem(*at("services"), f"expected an array of names, got {_type_name(raw)}")
            return ()
        if not raw:
            self.problem(*at("services"), "is empty; name at least one service under test")
            return ()
        out: list[str] = []
        for item in raw:
            if not isinstance(item, str) or not item.strip():
                self.problem(*at("services"), f"{item!r} is not a service's name")
            elif item in out:
                self.problem(*at("services"), f"{item!r} is named twice")
            else:
                out.append(item)
        return tuple(out)

    def success(self, raw: object, base: Where, label: str) -> tuple[Criterion, ...]:
        where, key = (*base, "success"), f"{label}.success"
        if not isinstance(raw, dict):
            self.problem(where, key, f"expected a [loadtest.success] table, got {_type_name(raw)}")
            return ()
        self.unknown_keys(raw, SUCCESS_KEYS, where, key)
        over = DEFAULT_OVER_S
        if "over" in raw:
            over = self.duration(raw["over"], (*where, "over"), f"{key}.over", 1.0, MAX_RULE_S)
        hold = DEFAULT_FOR_S
        if "for" in raw:
            hold = self.duration(raw["for"], (*where, "for"), f"{key}.for", 0.0, MAX_RULE_S)
        out: list[Criterion] = []
        for name, (signal, ceiling) in SUCCESS_SIGNALS.items():
            if name not in raw:
                continue
            limit = self.limit(raw[name], signal, (*where, name), f"{key}.{name}")
            if limit is not None and over is not None and hold is not None:
                out.append(Criterion(name, signal, limit, ceiling, over, hold, "success"))
        return tuple(out)

    def stops(self, raw: object, base: Where, label: str) -> tuple[Criterion, ...]:
        where, key = (*base, "stop"), f"{label}.stop"
        if isinstance(raw, dict):
            self.problem(
                where, key, "write [[loadtest.stop]] (an array of tables), not [loadtest.stop]"
            )
            return ()
        if not isinstance(raw, list):
            self.problem(where, key, f"expected [[loadtest.stop]] tables, got {_type_name(raw)}")
            return ()
        out: list[Criterion] = []
        for i, table in enumerate(raw):
            here, sub = (*where, i), f"{key}[{i + 1}]"
            if not isinstance(table, dict):
                self.problem(here, sub, f"expected a table, got {_type_name(table)}")
                continue
            criterion = self.stop(table, here, sub)
            if criterion is None:
                continue
            if any(c.key == criterion.key for c in out):
                self.problem(
                    here, sub, f"the same stop condition as an earlier one ({criterion.label})"
                )
                continue
            out.append(criterion)
        return tuple(out)

    def stop(self, raw: dict[str, Any], here: Where, sub: str) -> Criterion | None:
        self.unknown_keys(raw, STOP_KEYS, here, sub)
        name = raw.get("signal")
        signal: Signal | None = None
        if name is None:
            self.problem(here, f"{sub}.signal", 'missing; write e.g. signal = "error_ratio"')
        elif not isinstance(name, str) or name not in STOP_SIGNALS:
            close = difflib.get_close_matches(str(name), tuple(STOP_SIGNALS), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            allowed = " | ".join(STOP_SIGNALS)
            self.problem(
                (*here, "signal"), f"{sub}.signal", f"{name!r} is not a signal; use {allowed}{hint}"
            )
        else:
            signal = STOP_SIGNALS[name]
        above: float | None = None
        if "above" not in raw:
            self.problem(
                here,
                f"{sub}.above",
                "missing; write e.g. above = 0.01 (the limit it must stay under)",
            )
        elif signal is not None:
            above = self.limit(raw["above"], signal, (*here, "above"), f"{sub}.above")
        over = DEFAULT_OVER_S
        if "over" in raw:
            over = self.duration(raw["over"], (*here, "over"), f"{sub}.over", 1.0, MAX_RULE_S)
        hold = 0.0  # "pool > 95 %" with no time stops as soon as the window is above
        if "for" in raw:
            hold = self.duration(raw["for"], (*here, "for"), f"{sub}.for", 0.0, MAX_RULE_S)
        if signal is None or above is None or over is None or hold is None:
            return None
        key = f"stop:{name}>{above:g}/{duration_literal(hold)}"
        if over != DEFAULT_OVER_S:
            key += f"@{duration_literal(over)}"
        return Criterion(key, signal, above, True, over, hold, "stop")

    def guards(self, raw: object, base: Where, label: str) -> Guards:
        where, key = (*base, "guards"), f"{label}.guards"
        if not isinstance(raw, dict):
            self.problem(where, key, f"expected a [loadtest.guards] table, got {_type_name(raw)}")
            return Guards()
        self.unknown_keys(raw, GUARD_KEYS, where, key)
        values: dict[str, bool] = {}
        for name in GUARD_KEYS:
            if name in raw:
                if isinstance(raw[name], bool):
                    values[name] = raw[name]
                else:
                    self.problem(
                        (*where, name),
                        f"{key}.{name}",
                        f"expected true or false, got {raw[name]!r}",
                    )
        return Guards(**values)


def check_loadtests(
    raw: object,
    add_problem: AddProblem,
    line_of: LineOf = lambda *where: None,
    backend_names: Iterable[str] = (),
    skip_keys: Iterable[str] = (),
) -> tuple[LoadTestSpec, ...]:
    """The `[[loadtest]]` tables as specs; every problem goes to `add_problem(where, key,
    message)` (`where` is the TOML path, for its line) and its table is left out.

    `backend_names`: the [[backend]] names a `backend = "…"` may refer to (none: not checked);
    `skip_keys`: keys reported elsewhere (credentials), not as unknown keys here.
    """
    checker = _Checker(add_problem, line_of, tuple(backend_names), frozenset(skip_keys))
    if isinstance(raw, dict):
        add_problem(
            ("loadtest",), "loadtest", "write [[loadtest]] (an array of tables), not [loadtest]"
        )
        return ()
    if not isinstance(raw, list):
        add_problem(("loadtest",), "loadtest", "expected [[loadtest]] tables")
        return ()
    names: dict[str, int] = {}
    out: list[LoadTestSpec] = []
    for index, table in enumerate(raw):
        if not isinstance(table, dict):
            label = f"loadtest[{index + 1}]"
            add_problem(("loadtest", index), label, f"expected a table, got {_type_name(table)}")
            continue
        spec = checker.loadtest(index, table, names)
        if spec is not None:
            out.append(spec)
    return tuple(out)
