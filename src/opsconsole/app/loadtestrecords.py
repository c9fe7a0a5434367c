"""Where finished load tests are kept: one JSON file per run, its result and its samples."""

from __future__ import annotations

import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from opsconsole.core.incident.record import Sample
from opsconsole.core.incident.rows import samples_between
from opsconsole.core.loadtest.result import LoadTestResult
from opsconsole.core.paths import data_dir
from opsconsole.core.store import Store

#: Samples kept before the test and after its end, so the charts show the change.
MARGIN_S = 120.0


class KeptSample(msgspec.Struct, frozen=True, array_like=True):
    """One sample as kept on disk: None where the service reported nothing (JSON has no NaN)."""

    service: str
    ts: float
    latency_p99_ms: float | None
    error_ratio: float | None
    rps: float | None
    cpu: float | None


class LoadTestRun(msgspec.Struct, frozen=True, kw_only=True):
    """A finished test as kept: the referee's result and the services' samples around it."""

    result: LoadTestResult
    backend: str | None = None
    kept: tuple[KeptSample, ...] = ()

    def samples(self) -> list[Sample]:
        """The kept samples as the charts take them (None back to NaN)."""
        nan = math.nan
        return [
            Sample(
                self.backend or "",
                k.service,
                k.ts,
                nan if k.latency_p99_ms is None else k.latency_p99_ms,
                nan if k.error_ratio is None else k.error_ratio,
                nan if k.rps is None else k.rps,
                nan if k.cpu is None else k.cpu,
            )
            for k in self.kept
        ]


def _kept(sample: Sample) -> KeptSample:
    def clean(value: float) -> float | None:
        return value if math.isfinite(value) else None

    return KeptSample(
        sample.service,
        sample.ts,
        clean(sample.latency_p99_ms),
        clean(sample.error_ratio),
        clean(sample.rps),
        clean(sample.cpu),
    )


def records_dir() -> Path:
    """The folder of kept runs ($XDG_DATA_HOME/opsconsole/loadtests)."""
    return data_dir() / "loadtests"


def run_of(result: LoadTestResult, store: Store, backend: str | None) -> LoadTestRun:
    """The run with the samples the store still holds of its services around the test."""
    state = store.backends.get(backend) if backend is not None else None
    samples: list[Sample] = []
    if state is not None:
        for service in result.services:
            series = state.series.get(service)
            if series is not None and backend is not None:
                after, until = result.started - MARGIN_S, result.ended + MARGIN_S
                samples.extend(samples_between(backend, series, after, until))
    return LoadTestRun(result=result, backend=backend, kept=tuple(_kept(s) for s in samples))


def _file_name(result: LoadTestResult) -> str:
    stamp = datetime.fromtimestamp(result.started, UTC).strftime("%Y%m%dT%H%M%SZ")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", result.name) + f"-{stamp}.json"


def save_run(run: LoadTestRun, folder: Path) -> Path:
    """Write the run (atomically: a reader never sees half a file); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _file_name(run.result)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msgspec.json.encode(run))
    os.replace(tmp, path)
    return path


def latest_run(name: str, folder: Path) -> LoadTestRun | None:
    """The newest kept run of the test `name`, or None; a damaged file raises ValueError."""
    prefix = re.sub(r"[^A-Za-z0-9._-]+", "_", name) + "-"
    files = sorted(
        (p for p in folder.glob(f"{glob_escape(prefix)}*.json") if p.is_file()),
        key=lambda p: p.name,
    )
    for path in reversed(files):
        try:
            run = msgspec.json.decode(path.read_bytes(), type=LoadTestRun)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ValueError(f"{path} is damaged: {exc}") from None
        if run.result.name == name:
            return run
    return None


def glob_escape(text: str) -> str:
    """`text` taken literally by Path.glob."""
    return re.sub(r"([*?\[])", r"[\1]", text)
