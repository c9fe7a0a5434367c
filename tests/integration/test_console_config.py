"""The whole console from a config file: real Prometheus and Alertmanager, the reference backend."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.support.process import last_json, run_console
from tests.support.promstack import alert_rules, wait_scraped


async def test_self_test_on_prometheus_and_alertmanager_from_a_config_file(
    sim_factory, prometheus_factory, alertmanager, tmp_path: Path
) -> None:
    sim = await sim_factory(tick_s=0.1)
    prom = await prometheus_factory(
        targets=[sim.url.removeprefix("http://")],
        rules=alert_rules(window="5s", for_latency="0s"),
        alertmanager_url=alertmanager.url,
    )
    await wait_scraped(prom, "http_requests_total")
    config = tmp_path / "console.toml"
    config.write_text(
        f"""\
# prometheus and alertmanager side by side, as an operator would point the console
[[backend]]
name = "prom"
kind = "prometheus"
url = "{prom.url}"
step = "1s"
history = "1m"

[[backend]]
name = "am"
kind = "alertmanager"
url = "{alertmanager.url}"
step = "1s"
"""
    )
    shot = tmp_path / "console.png"
    # The reference backend runs on this loop: the console waits in a thread beside it.
    proc = await asyncio.to_thread(
        run_console,
        "--config",
        str(config),
        "--self-test",
        "--screenshot",
        str(shot),
        tmp_path=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    report = last_json(proc.stdout)
    assert report["ok"] is True
    assert report["backends"] == {"prom": "live", "am": "live"}
    assert "Traceback" not in proc.stderr
    keep_screenshot(shot)


def keep_screenshot(shot: Path) -> None:
    assert shot.stat().st_size > 10_000
    if os.environ.get("OPSCONSOLE_SHOTS"):
        Path(os.environ["OPSCONSOLE_SHOTS"], "config-console.png").write_bytes(shot.read_bytes())


def test_a_broken_config_names_file_line_and_key_and_starts_nothing(tmp_path: Path) -> None:
    config = tmp_path / "console.toml"
    config.write_text('[[backend]]\nname = "prom"\nkind = "prometheus"\nurl = "ftp://x"\n')
    proc = run_console("--config", str(config), "--self-test", tmp_path=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert f"{config}:4" in proc.stderr and "url" in proc.stderr
    assert "Traceback" not in proc.stderr
