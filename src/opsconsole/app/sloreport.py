"""`opsconsole slo report`: a headless Markdown error budget report with a burn-down per SLO."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import re
import sys
import time
from pathlib import Path

from opsconsole.app.slocollect import Collected, collect
from opsconsole.core.slo.burndown import burn_down

log = logging.getLogger(__name__)

REPORT_FILE = "slo-report.md"
EXIT_CODES = """\
exit codes:
  0  the report was written (backends that did not answer are named in it)
  1  no backend reported any SLO within --timeout (each one's reason is printed)
  2  wrong arguments, or a configuration with problems
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="opsconsole slo", description="Error budgets, headless.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser(
        "report",
        help="write a Markdown error budget report with a burn-down PNG per SLO",
        description="Connect to the backends, wait for their SLOs, and write slo-report.md "
        "(a table per SLO with each figure's formula and inputs) and one burn-down PNG per "
        "SLO into --out.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = r.add_mutually_exclusive_group()
    src.add_argument("--config", metavar="FILE", help="the backends of this TOML file")
    src.add_argument("--url", metavar="URL", help="one Ops API v1 backend")
    r.add_argument("--out", metavar="DIR", default=".", help="where to write (default: here)")
    r.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="wait at most S seconds for each backend's SLOs (default 30)",
    )
    r.add_argument("--token-env", metavar="VAR", help="--url: the bearer token's variable")
    r.add_argument("--no-verify-tls", action="store_true", help="do not verify TLS (INSECURE)")
    return p


def image_name(backend: str, service: str, many: bool) -> str:
    """A file name safe on every system: "orders.png", or "sim-orders.png" for many backends."""
    stem = f"{backend}-{service}" if many else service
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem) + "-burndown.png"


def write_report(collected: Collected, out: Path, made_at: float) -> Path:
    """The PNGs, then the Markdown that links them; returns the Markdown's path."""
    from opsconsole.app.slomarkdown import report_markdown
    from opsconsole.app.sloplot import render_burndown

    out.mkdir(parents=True, exist_ok=True)
    many = len(collected.answered) > 1
    images: dict[tuple[str, str], str] = {}
    for backend in collected.answered:
        for obs in backend.observations:
            points = backend.points.get(obs.service)
            if points is None:
                continue
            window = obs.slo.window
            start, _ = window.bounds(obs.as_of)
            length = window.length_s(obs.as_of)
            line = burn_down(obs.slo, points, backend.step_s[obs.service], start, length)
            deploys = [d for d in backend.deploys if d.service == obs.service]
            name = image_name(backend.name, obs.service, many)
            render_burndown(obs.slo, line, start, length, deploys, out / name)
            images[(backend.name, obs.service)] = name
    path = out / REPORT_FILE
    path.write_text(report_markdown(collected, images, made_at), encoding="utf-8")
    return path


def slo_main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help is 0, a wrong argument 2
        return int(exc.code or 0)
    if not 0 < args.timeout < math.inf:
        print(
            "opsconsole slo report: --timeout must be a number of seconds above 0", file=sys.stderr
        )
        return 2
    from opsconsole.app.backends import token_from
    from opsconsole.app.headless import headless_plan

    plan = headless_plan(args, "opsconsole slo report", "no backend to report on")
    if plan is None:
        return 2
    collected = asyncio.run(collect(plan, args.timeout, token_from(args)))
    for name, why in collected.silent:
        print(f"opsconsole slo report: {name}: {why}", file=sys.stderr)
    if not collected.answered:
        print("opsconsole slo report: no backend reported SLOs; nothing written", file=sys.stderr)
        return 1
    path = write_report(collected, Path(args.out), time.time())
    count = sum(len(b.observations) for b in collected.answered)
    print(f"{path} ({count} SLOs)")
    return 0
