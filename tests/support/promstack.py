"""Real Prometheus, Alertmanager and VictoriaMetrics (Debian's binaries) on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"
VICTORIAMETRICS = "victoria-metrics"
# The Debian package of each binary, for the words of a skip.
PACKAGES = {
    PROMETHEUS: "prometheus",
    ALERTMANAGER: "prometheus-alertmanager",
    VICTORIAMETRICS: "victoria-metrics",
}
POLL_S = 0.1  # between readiness probes of a starting server

# domain.md's default alert rules as PromQL over the reference backend's /metrics. `{for_*}`
# is scaled by the tests: the real `for` (minutes) would make a test wait that long.
ALERT_RULES = """\
groups:
- name: golden-signals
  interval: 1s
  rules:
  - alert: LatencyHigh
    expr: >-
      histogram_quantile(0.99, sum by (le, {label})
      (rate(http_request_duration_seconds_bucket[{window}]))) > 0.5
    for: {for_latency}
    labels: {{severity: page}}
    annotations:
      summary: "p99 latency of {{{{ $labels.{label} }}}} above 500 ms"
      value: "{{{{ $value }}}}"
      threshold: "0.5"
  - alert: ErrorRatioHigh
    expr: >-
      sum by ({label}) (rate(http_requests_total{{code=~"5.."}}[{window}]))
      / sum by ({label}) (rate(http_requests_total[{window}])) > 0.01
    for: {for_errors}
    labels: {{severity: page}}
    annotations:
      summary: "error ratio of {{{{ $labels.{label} }}}} above 1 %"
      value: "{{{{ $value }}}}"
      threshold: "0.01"
  - alert: CpuSaturated
    expr: avg by ({label}) (opsconsole_cpu_utilisation_ratio) > 0.8
    for: {for_saturation}
    labels: {{severity: ticket}}
    annotations:
      summary: "CPU of {{{{ $labels.{label} }}}} above 80 %"
      value: "{{{{ $value }}}}"
      threshold: "0.8"
  - alert: MemorySaturated
    expr: avg by ({label}) (opsconsole_memory_utilisation_ratio) > 0.85
    for: {for_saturation}
    labels: {{severity: ticket}}
    annotations:
      summary: "memory of {{{{ $labels.{label} }}}} above 85 %"
      value: "{{{{ $value }}}}"
      threshold: "0.85"
"""


def require(binary: str) -> str:
    """The binary's path; skip (a failure under CI=true, see tests/conftest.py) if missing."""
    path = shutil.which(binary)
    if path is None:
        why = (
            f"{binary} is not installed (Debian: apt-get install {PACKAGES.get(binary, binary)}; "
            "`make system-deps` and .ci/run install it)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(why)  # CI promises the real servers: missing is a failure
        pytest.skip(why)  # a laptop without them: said, not hidden
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alert_rules(
    label: str = "service",
    window: str = "5s",
    for_latency: str = "5m",
    for_errors: str = "2m",
    for_saturation: str = "10m",
) -> str:
    return ALERT_RULES.format(
        label=label,
        window=window,
        for_latency=for_latency,
        for_errors=for_errors,
        for_saturation=for_saturation,
    )


@dataclass
class Daemon:
    """One started server process: its URL, working folder and log."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


async def _wait_ready(daemon: Daemon, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as http:
        while True:
            if daemon.proc.poll() is not None:
                raise RuntimeError(
                    f"{daemon.name} exited with {daemon.proc.returncode}:\n{daemon.log_tail()}"
                )
            try:
                if (await http.get(f"{daemon.url}/-/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                daemon.stop()
                tail = daemon.log_tail()
                raise RuntimeError(f"{daemon.name} not ready after {timeout} s:\n{tail}")
            await asyncio.sleep(POLL_S)


def _spawn(name: str, argv: list[str], workdir: Path, url: str) -> Daemon:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return Daemon(name, url, proc, workdir, log_path)


async def start_alertmanager(workdir: Path) -> Daemon:
    """Alertmanager with one receiver that notifies nobody, clustering off, fresh storage."""
    daemon = spawn_alertmanager(workdir)
    await _wait_ready(daemon)
    return daemon


def spawn_alertmanager(workdir: Path) -> Daemon:
    binary = require(ALERTMANAGER)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: nobody\n  group_wait: 0s\n  group_interval: 1s\n"
        "  repeat_interval: 1h\nreceivers:\n- name: nobody\n"
    )
    url = f"http://127.0.0.1:{port}"
    daemon = _spawn(
        "alertmanager",
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip port: tests run side by side
            "--log.level=warn",
        ],
        workdir,
        url,
    )
    return daemon


async def start_prometheus(
    workdir: Path,
    targets: list[str],
    rules: str | None = None,
    alertmanager_url: str | None = None,
    scrape_interval: str = "1s",
) -> Daemon:
    """Prometheus scraping `targets` (host:port, path /metrics) with fresh storage."""
    daemon = spawn_prometheus(workdir, targets, rules, alertmanager_url, scrape_interval)
    await _wait_ready(daemon)
    return daemon


def spawn_prometheus(
    workdir: Path,
    targets: list[str],
    rules: str | None,
    alertmanager_url: str | None,
    scrape_interval: str,
) -> Daemon:
    binary = require(PROMETHEUS)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    lines = [
        "global:",
        f"  scrape_interval: {scrape_interval}",
        f"  evaluation_interval: {scrape_interval}",
        "scrape_configs:",
        "- job_name: sim",
        "  static_configs:",
        f"  - targets: [{', '.join(repr(t) for t in targets)}]",
    ]
    if rules is not None:
        (workdir / "rules.yml").write_text(rules)
        lines += ["rule_files:", f"- {workdir / 'rules.yml'}"]
    if alertmanager_url is not None:
        host = alertmanager_url.removeprefix("http://")
        lines += [
            "alerting:",
            "  alertmanagers:",
            "  - api_version: v2",
            "    static_configs:",
            f"    - targets: ['{host}']",
        ]
    config = workdir / "prometheus.yml"
    config.write_text("\n".join(lines) + "\n")
    url = f"http://127.0.0.1:{port}"
    daemon = _spawn(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        workdir,
        url,
    )
    return daemon


async def start_victoriametrics(
    workdir: Path, targets: list[str], scrape_interval: str = "1s", flags: tuple[str, ...] = ()
) -> Daemon:
    """VictoriaMetrics scraping `targets` itself, with its default flags, fresh storage.

    Its defaults matter: `-search.latencyOffset` (30 s) keeps the newest 30 s out of query
    answers, as an operator's packaged VictoriaMetrics does. `flags` adds to them.
    """
    daemon = spawn_victoriametrics(workdir, targets, scrape_interval, flags)
    await _wait_ready(daemon)
    return daemon


def spawn_victoriametrics(
    workdir: Path, targets: list[str], scrape_interval: str, flags: tuple[str, ...] = ()
) -> Daemon:
    binary = require(VICTORIAMETRICS)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "scrape.yml"
    config.write_text(
        "\n".join(
            [
                "global:",
                f"  scrape_interval: {scrape_interval}",
                "scrape_configs:",
                "- job_name: sim",
                "  static_configs:",
                f"  - targets: [{', '.join(repr(t) for t in targets)}]",
            ]
        )
        + "\n"
    )
    url = f"http://127.0.0.1:{port}"
    return _spawn(
        "victoria-metrics",
        [
            binary,
            f"-storageDataPath={workdir / 'data'}",
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-promscrape.config={config}",
            *flags,
        ],
        workdir,
        url,
    )


async def wait_scraped(prom: Daemon, metric: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Until Prometheus holds at least one sample of `metric` (its first scrape landed)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as http:
        while True:
            r = await http.get(f"{prom.url}/api/v1/query", params={"query": metric})
            if r.status_code == 200 and r.json()["data"]["result"]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{metric} never scraped:\n{prom.log_tail()}")
            await asyncio.sleep(POLL_S)


async def restart(daemon: Daemon, flags: tuple[str, ...] = ()) -> Daemon:
    """Stop a server and start it again with the same arguments (same port, same storage).

    `flags` are added to the arguments (a later flag wins over an earlier one).
    """
    daemon.stop()
    argv = [str(a) for a in daemon.proc.args] + list(flags)
    again = _spawn(daemon.name, argv, daemon.workdir, daemon.url)
    await _wait_ready(again)
    return again
