"""`make lab-patroni`: the real Patroni cluster of the tests, started for a person to try."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: tests.support lives at the root
    sys.path.insert(0, str(ROOT))

from tests.support.patronilab import PatroniLab, missing  # noqa: E402


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # a `kill` stops the lab as cleanly as Ctrl+C


def config_snippet(lab: PatroniLab, name: str) -> str:
    """The `config.toml` lines for this lab, and how to store its password in the keyring."""
    leader = lab.leader() or lab.member_names[0]
    return "\n".join(
        [
            "[[backend]]",
            'kind = "patroni"',
            f'name = "{name}"',
            f'url = "{lab.member(leader).url}"  # any member: the others come from /cluster',
            f'username = "{lab.username}"',
            f'token_key = "{name}"  # the REST API password, in the keyring',
            'pg_user = "postgres"  # verifies the advisory read-only (password: ~/.pgpass)',
            'step = "1s"',
        ]
    )


def console_pgpass(lab: PatroniLab) -> Path:
    """A ~/.pgpass-style file with the lab's database login, readable by its owner only."""
    path = lab.folder / "console.pgpass"
    path.write_text(f"127.0.0.1:*:*:postgres:{lab.creds.superuser_password}\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def describe(lab: PatroniLab, name: str) -> str:
    cluster = lab.cluster() or {"members": []}
    rows = [
        f"  {m['name']:<4} {m['role']:<8} {m['state']:<9} timeline {m.get('timeline', '?')}  "
        f"REST {lab.member(m['name']).url}  PostgreSQL {m.get('host')}:{m.get('port')}"
        + (f"  tags {m['tags']}" if m.get("tags") else "")
        for m in cluster["members"]
    ]
    config = lab.members[0].config_path
    return "\n".join(
        [
            f"Patroni lab {lab.scope} is up ({lab.start_s:.1f} s), in {lab.folder}:",
            *rows,
            "",
            "config.toml for the console (run it with `opsconsole --config FILE`):",
            "",
            config_snippet(lab, name),
            "",
            "Store the lab's REST API password in the keyring (it is this lab's alone and dies",
            "with it):",
            f"  printf '%s\\n' '{lab.password}' | .venv/bin/opsconsole auth set {name}",
            "and point libpq at the lab's password file (only for the read-only check):",
            f"  export PGPASSFILE={console_pgpass(lab)}",
            "",
            f"patronictl: patronictl -c {config} list",
            "Ctrl+C stops the cluster and removes its folder.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="lab", help="backend name and keyring entry (lab)")
    parser.add_argument("--password", help="the REST API password (default: a new random one)")
    parser.add_argument(
        "--nofailover",
        action="append",
        default=[],
        metavar="MEMBER",
        help="tag a member (pg1, pg2, pg3) nofailover: it may never lead",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to start (120)")
    args = parser.parse_args(argv)

    if why := missing():
        print("lab-patroni cannot start: " + "; ".join(why), file=sys.stderr)
        print("`make system-deps` installs them.", file=sys.stderr)
        return 2
    lab = PatroniLab(
        tags={member: {"nofailover": True} for member in args.nofailover},
        password=args.password,
    )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        print(f"starting etcd and three Patroni members in {lab.folder} ...", flush=True)
        lab.start(timeout_s=args.timeout)
        print(describe(lab, args.name), flush=True)
        while True:
            signal.pause()  # until Ctrl+C or a kill
    except KeyboardInterrupt:
        print("\nstopping the Patroni lab ...", flush=True)
    except AssertionError as exc:  # the lab's start failed: its logs are in the message
        print(exc, file=sys.stderr)
        return 1
    finally:
        lab.stop()
    left = lab.lab_processes()
    if left:
        print(f"stopped, but these processes of the lab still run: {left}", file=sys.stderr)
        return 1
    print("stopped: no process of the lab is left.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
