"""`opsconsole investigate` without a display: JSON for bots, exit codes for scripts."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from opsconsole.core.investigate import CHECKS


async def run_cli(*args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)  # no display at all, as on a CI runner or a chat bot
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsconsole",
        "investigate",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_json_holds_every_check_of_the_run(sim_factory) -> None:
    sim = await sim_factory(time_scale=20)
    code, out, err = await run_cli("orders", "--url", sim.url, "--json")
    assert code == 0, err
    run = json.loads(out)
    assert run["service"] == "orders" and len(run["backends"]) == 1
    assert sorted(f["check"] for f in run["findings"]) == sorted(c for c, _ in CHECKS)
    assert all(f["verdict"] in ("interesting", "ok", "skipped", "error") for f in run["findings"])
    assert "Traceback" not in err


async def test_plain_text_and_exit_codes(sim_factory, tmp_path) -> None:
    sim = await sim_factory(time_scale=20)
    code, out, _err = await run_cli("orders", "--url", sim.url)
    assert code == 0
    assert out.startswith("orders: 8 finding(s) in ")
    assert "dependencies" in out and "telemetry" in out

    code, _out, err = await run_cli("nope", "--url", sim.url)
    assert (code, err.strip()) == (
        1,
        "opsconsole investigate: no backend knows a service named 'nope'",
    )

    code, out, err = await run_cli("orders", "--url", "http://127.0.0.1:9", "--timeout", "1")
    assert code == 1
    assert "no backend answered; every check could not look" in err
    assert "could not look: backend " in out and "Traceback" not in err + out

    demo_only = tmp_path / "config.toml"
    demo_only.write_text("demo = true\n")
    code, _out, err = await run_cli("orders", "--config", str(demo_only))
    assert (code, err.strip()) == (
        2,
        "opsconsole investigate: no backend to ask; give --config FILE or --url URL",
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("[[backend]\n")
    code, _out, err = await run_cli("orders", "--config", str(broken))
    assert code == 2 and "Traceback" not in err
    code, _out, err = await run_cli("orders", "--url", sim.url, "--timeout", "0")
    assert (code, "--timeout must be" in err) == (2, True)
