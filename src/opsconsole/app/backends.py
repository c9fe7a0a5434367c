"""The backends one console runs: chosen from --demo, --url or the config file, run together."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from opsconsole.backends.secrets import Secret
from opsconsole.core.config import BackendConfig, Config, ConfigError, ConfigProblem, load_config
from opsconsole.core.events import BackendDescribed, ConnectionChanged, StoreEvent
from opsconsole.core.models import BackendInfo, ConnectionState, LinkStatus
from opsconsole.core.paths import CONFIG_FILE, config_dir
from opsconsole.core.urls import UrlProblem, check_backend_url, without_credentials

if TYPE_CHECKING:
    from opsconsole.backends.alertmanager import AlertmanagerClient
    from opsconsole.backends.opsapi import OpsApiClient
    from opsconsole.backends.patroni import PatroniClient
    from opsconsole.backends.prometheus import PrometheusClient

    Adapter = (
        type[OpsApiClient] | type[PrometheusClient] | type[AlertmanagerClient] | type[PatroniClient]
    )

log = logging.getLogger(__name__)

DEMO_NAME = "demo"


class _AdaptersOnUse(Mapping[str, "Adapter"]):
    """kind → adapter class, each module imported the first time its kind is looked up.

    A console watching one kind of backend never pays for the others' imports (and the demo's
    start none of them before its window shows).
    """

    def __init__(self, where: dict[str, str]) -> None:
        self._where = where

    def __getitem__(self, kind: str) -> Adapter:
        module, _, name = self._where[kind].partition(":")
        adapter: Adapter = getattr(importlib.import_module(module), name)
        return adapter

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


# The adapter of each kind of backend. What a kind can be asked to do is what its adapter
# `performs`; the action pipeline refuses the rest by name (rule backend-can).
ADAPTERS: Mapping[str, Adapter] = _AdaptersOnUse(
    {
        "opsapi": "opsconsole.backends.opsapi:OpsApiClient",
        # read-only: it performs none of our actions
        "prometheus": "opsconsole.backends.prometheus:PrometheusClient",
        "alertmanager": "opsconsole.backends.alertmanager:AlertmanagerClient",
        "patroni": "opsconsole.backends.patroni:PatroniClient",
    }
)


class DemoBackend(Protocol):
    """The built-in demo backend, however it runs (a child process, or a thread in tests)."""

    @property
    def url(self) -> str: ...

    def stop(self, timeout: float = ...) -> None: ...


class BackendClient(Protocol):
    """What the console needs of every adapter: a name, a start and an orderly close."""

    name: str

    def start(self) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Plan:
    """What to connect to: the configured backends, or the built-in demo backend."""

    backends: tuple[BackendConfig, ...]
    demo: bool = False
    config_path: Path | None = None  # where [keys] and the backends were read from
    first_run: bool = False  # no flags and no config file: the window asks what to watch


def plan_from_args(args: argparse.Namespace) -> Plan:
    """--demo or --url win over the config file's backends; no default file means the demo.

    Raises `ConfigError` (with file, line and key, or the option) for a broken file that was
    asked for or that exists at the default place, for a file given with --config that names no
    backend, and for an unusable --url: a typo must never silently start the demo instead.
    """
    explicit = getattr(args, "config", None)
    path = Path(explicit) if explicit else config_dir() / CONFIG_FILE
    url = url_option(args.url) if args.url is not None else None
    if explicit and (args.demo or url):
        load_config(path)  # its [keys] still apply, so a broken file is said now, not ignored
    if args.demo:
        return Plan((), demo=True, config_path=path if path.is_file() else None)
    if url:
        url_backend = BackendConfig(
            name=name_for_url(url),
            from_url=True,
            kind="opsapi",
            url=url,
            verify_tls=not args.no_verify_tls,
        )
        return Plan((url_backend,), config_path=path if path.is_file() else None)
    if explicit or path.is_file():
        config: Config = load_config(path)
        if config.backends:
            return Plan(config.backends, config_path=path)
        if config.demo or not explicit:
            # A comment-only file at the default place is how the first-run choice remembered
            # the demo before `demo = true`; such files keep starting the demo.
            return Plan((), demo=True, config_path=path)
        message = "no [[backend]] tables; add one (see the README) or start with --demo"
        raise ConfigError([ConfigProblem(path, None, "", message)])
    return Plan((), demo=True, config_path=path, first_run=True)


def token_from(args: argparse.Namespace) -> Secret | None:
    """The bearer token named by --token-env, for the --url backend of the plan (configured
    backends use the keyring)."""
    if not args.token_env:
        return None
    value = os.environ.get(args.token_env, "")
    if not value:
        log.warning(
            "--token-env %s: the variable is not set; connecting without a token", args.token_env
        )
        return None
    return Secret(value)


def url_option(raw: str) -> str:
    """The --url address checked; `ConfigError` naming the option says what is wrong."""
    try:
        return check_backend_url(raw)
    except UrlProblem as exc:
        message = (
            "credentials in the URL are not accepted; use --token-env VAR or "
            "`opsconsole auth set NAME`"
            if exc.credentials
            else str(exc)
        )
        raise ConfigError([ConfigProblem(None, None, "--url", message)]) from None


def name_for_url(url: str) -> str:
    """A backend given by address alone is named by its host, as the operator knows it.

    The port is kept where the host alone names nothing in particular (an IP address or
    localhost: several backends may run there); credentials in the URL never reach the name.
    """
    parts = urlsplit(url)
    host = parts.hostname or "backend"
    try:
        port = parts.port
    except ValueError:
        port = None
    local = host == "localhost" or host.replace(".", "").isdigit() or ":" in host
    return f"{host}:{port}" if local and port is not None else host


def plan_from_choice(kind: str, url: str | None, config_path: Path) -> Plan:
    """The plan for a first-run answer: the demo, or one Ops API or Prometheus backend."""
    if kind == "demo" or url is None:
        return Plan((), demo=True, config_path=config_path)
    backend = BackendConfig(name=name_for_url(url), kind=kind, url=url.rstrip("/"))
    return Plan((backend,), config_path=config_path)


def remember_choice(kind: str, url: str | None, config_path: Path) -> None:
    """Write the first-run answer to the config file, so the next start does not ask."""
    if kind == "demo" or url is None:
        text = (
            "# Written by the first-run choice: the built-in demo backend.\n"
            "# To watch real systems instead, replace `demo = true` with [[backend]] tables\n"
            "# (see the README).\n"
            "demo = true\n"
        )
    else:
        text = (
            "# Written by the first-run choice; see the README for every key.\n"
            "[[backend]]\n"
            f"name = {json.dumps(name_for_url(url))}\n"
            f'kind = "{kind}"\n'
            f"url = {json.dumps(url.rstrip('/'))}\n"
        )
    config_path.parent.mkdir(parents=True, exist_ok=True)
    # "x": never overwrite a file written meanwhile (an operator's own config wins).
    with config_path.open("x", encoding="utf-8") as f:
        f.write(text)


def describe(cfg: BackendConfig) -> BackendInfo:
    return BackendInfo(
        name=cfg.name,
        kind=cfg.kind,  # type: ignore[arg-type]  # validated by the config loader
        url=without_credentials(cfg.url),  # checked already; this keeps any slip off screen
        insecure=not cfg.verify_tls,
        actions=ADAPTERS[cfg.kind].performs,
    )


def make_client(
    cfg: BackendConfig, apply: Callable[[StoreEvent], None], token: Secret | None
) -> BackendClient:
    """The adapter for one configured backend (not started): its kind's own `from_config`."""
    return ADAPTERS[cfg.kind].from_config(cfg, apply, token)


@dataclass
class RunningBackends:
    """The started adapters (and the embedded demo backend, if any); closed together."""

    clients: dict[str, BackendClient] = field(default_factory=dict)
    embedded: DemoBackend | None = None
    warnings: list[str] = field(default_factory=list)

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()))
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
            self.embedded = None


async def start_backends(
    plan: Plan,
    apply: Callable[[StoreEvent], None],
    clients: dict[str, BackendClient],
    *,
    embedded: asyncio.Future[DemoBackend] | None = None,
    url_token: Secret | None = None,
) -> RunningBackends:
    """Create and start every adapter of `plan` into `clients` (shared with the pipeline).

    The demo backend is started by the caller (its own process, or a thread) and passed as
    `embedded`; its address is known only then.
    """
    from opsconsole.backends.credentials import lookup_tokens  # the keyring, on use

    running = RunningBackends(clients)
    backends = plan.backends
    if plan.demo:
        if embedded is None:
            raise ValueError("a demo plan needs the embedded backend")
        running.embedded = await embedded
        backends = (BackendConfig(name=DEMO_NAME, kind="opsapi", url=running.embedded.url),)
    lookup = lookup_tokens(backends)
    if lookup.warning:
        log.warning("%s", lookup.warning)
        running.warnings.append(lookup.warning)
    for cfg in backends:
        token = lookup.tokens.get(cfg.name)
        if token is None and cfg.from_url and url_token is not None:
            token = url_token
        apply(BackendDescribed(cfg.name, describe(cfg)))
        if not cfg.verify_tls:
            log.warning("%s: TLS certificate not verified (verify_tls = false): INSECURE", cfg.name)
        try:
            client = make_client(cfg, apply, token)
        except ValueError as exc:  # e.g. a label name Prometheus would refuse
            why = f"not started: {exc}"
            log.error("%s: %s", cfg.name, why)
            running.warnings.append(f"{cfg.name}: {why}")
            apply(ConnectionChanged(cfg.name, LinkStatus(ConnectionState.STOPPED, detail=why)))
            continue
        clients[cfg.name] = client
        client.start()
    return running
