"""`opsconsole audit verify [PATH]`: check the audit log's hash chain, name the first bad record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opsconsole.core.audit import AUDIT_FILE, verify
from opsconsole.core.paths import data_dir


def default_audit_path() -> Path:
    return data_dir() / AUDIT_FILE


def audit_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="opsconsole audit", description="Audit log tools.")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="check the hash chain of an audit log")
    v.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=None,
        help=f"the log (default: {default_audit_path()})",
    )
    args = p.parse_args(argv)
    path = args.path or default_audit_path()
    result = verify(path)
    if result.ok:
        print(f"{path}: OK, {result.records} records, chain intact")
        return 0
    where = f"record at line {result.first_bad_line}" if result.first_bad_line else "the log"
    print(
        f"{path}: FAILED at {where}: {result.reason} ({result.records} good records before it)",
        file=sys.stderr,
    )
    return 1
