"""The backends a headless command (`slo report`, `investigate`) was asked to use, or why none."""

from __future__ import annotations

import argparse
import sys

from opsconsole.app.backends import Plan, plan_from_args
from opsconsole.core.config import ConfigError


def headless_plan(args: argparse.Namespace, prog: str, nothing: str) -> Plan | None:
    """The plan from `--config` or `--url` (never the demo); None after saying on stderr why
    there is none (a broken file, a bad URL, no backend: `nothing` words the last)."""
    args.demo = False
    try:
        plan = plan_from_args(args)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None
    if plan.demo or not plan.backends:
        print(f"{prog}: {nothing}; give --config FILE or --url URL", file=sys.stderr)
        return None
    return plan
