"""`opsconsole slo report` against the real reference backend: the Markdown's numbers, the PNGs,
the exit codes."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

import httpx
import pytest

from opsconsole.app.cli import main
from opsconsole.core.slo.budget import remaining_fraction
from opsconsole.core.slo.figure import percent_text, rate_text
from opsconsole.core.slo.model import BURN_WINDOWS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NUMBER = r"[−\d\u202f.]+"


def number(text: str) -> float:
    return float(text.replace("\u202f", "").replace("−", "-"))


def rows_of(section: str) -> dict[str, list[str]]:
    """A section's table: figure name → [value, formula, inputs]."""
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| figure"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[0]] = cells[1:]
    return rows


async def run_report(*args: str) -> tuple[int, str, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsconsole",
        "slo",
        "report",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_report_shows_each_slo_with_numbers_the_maths_gives(
    sim_factory, tmp_path: Path
) -> None:
    sim = await sim_factory()
    async with httpx.AsyncClient(base_url=sim.url) as http:
        slos = (await http.get("/api/v1/slo")).json()["slos"]
        deploys = (await http.get("/api/v1/deploys")).json()["deploys"]
    objectives = {s["service"]: s["objective"] for s in slos}
    out = tmp_path / "report"
    code, stdout, stderr = await run_report("--url", sim.url, "--out", str(out), "--timeout", "30")
    assert code == 0, stderr
    assert stdout.strip() == f"{out / 'slo-report.md'} ({len(objectives)} SLOs)"
    text = (out / "slo-report.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    assert {s.split(" — ", 1)[0] for s in sections} == set(objectives)

    for section in sections:
        service = section.split(" — ", 1)[0]
        budget = round(1.0 - objectives[service], 12)
        rows = rows_of(section)
        # Remaining budget: the figure shown is the maths on the counts shown beside it.
        value, _, inputs = rows["remaining"]
        match = re.match(rf"({NUMBER}) failed of ({NUMBER}) requests", inputs)
        assert match, inputs
        bad, total = number(match.group(1)), number(match.group(2))
        assert value == percent_text(remaining_fraction(bad, total, budget), 1), service
        # Burn rates per window, from their own counts.
        for window in BURN_WINDOWS:
            value, _, inputs = rows[f"burn {window}"]
            match = re.match(rf"{window}: ({NUMBER}) failed of ({NUMBER}) =", inputs)
            if match is None:  # too little traffic says so instead of a rate
                assert value == "low traffic", (service, window, inputs)
                continue
            bad, total = number(match.group(1)), number(match.group(2))
            assert value == rate_text(bad / total / budget), (service, window)
        tiers = [name for name in rows if name.startswith("tier ")]
        assert len(tiers) == 4 and all(rows[t][0] in ("ok", "firing") for t in tiers)
        assert rows["exhaustion at burn 1h"][1].startswith("time to exhaustion = remaining")
        newest = max((d for d in deploys if d["service"] == service), key=lambda d: d["ts"])
        assert rows["last deploy"][0].startswith(f"{newest['version']} at "), service

        # Its burn-down: linked, written, a real PNG of the planned size.
        image = re.search(r"!\[Budget burn-down of [^\]]+\]\(([^)]+)\)", section)
        assert image, service
        data = (out / image.group(1)).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (1200, 560)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_backend_answering_is_exit_1_and_says_which(tmp_path: Path, capsys) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code = main(["slo", "report", "--url", url, "--out", str(tmp_path), "--timeout", "1.5"])
    assert code == 1
    err = capsys.readouterr().err
    assert "no SLOs within 1.5 s" in err and "nothing written" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--config", "{missing}"], "opsconsole slo report: "),
        (["--config", "{missing}", "--url", "http://127.0.0.1:1"], "not allowed with"),
        (["--url", "http://127.0.0.1:1", "--timeout", "0"], "--timeout must be"),
        (["--url", "ftp://x"], "--url"),
    ],
)
def test_bad_arguments_are_exit_2(tmp_path: Path, capsys, args: list[str], said: str) -> None:
    missing = str(tmp_path / "nowhere.toml")
    argv = ["slo", "report", *(a.replace("{missing}", missing) for a in args)]
    assert main(argv) == 2
    assert said in capsys.readouterr().err
