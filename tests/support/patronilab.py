"""A real three-member Patroni cluster (etcd, PostgreSQL 15, Patroni) on free loopback ports."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.support import labprocs
from tests.support.patroniconf import (
    MAXIMUM_LAG_ON_FAILOVER,
    PG_BIN,
    Credentials,
    Member,
    member_config,
)
from tests.support.promstack import free_port
from tests.support.waiting import poll_until

# Debian package of each binary, for the words of a skip or of the lab tool's refusal.
PACKAGES = {"etcd": "etcd-server", "patroni": "patroni", "patronictl": "patroni"}
PG_PACKAGE = "postgresql"
PG_USER = "postgres"  # PostgreSQL refuses to run as root; as root the lab runs Patroni as this user
MEMBER_NAMES = ("pg1", "pg2", "pg3")
POLL_S = 0.2  # between two REST probes of a starting or changing cluster
STOP_GRACE_S = 20.0  # SIGTERM, then SIGKILL: Patroni stops its PostgreSQL in that time
HTTP_TIMEOUT_S = 3.0


def missing() -> list[str]:
    """What the lab needs and this machine lacks, each in words naming its Debian package."""
    why = [
        f"{binary} is not installed (Debian: apt-get install {package})"
        for binary, package in PACKAGES.items()
        if shutil.which(binary) is None
    ]
    if not (PG_BIN / "postgres").exists():
        why.append(f"PostgreSQL 15 is not in {PG_BIN} (Debian: apt-get install {PG_PACKAGE})")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            why.append(f"no {PG_USER} user to run PostgreSQL as (it refuses root)")
    return why


def require_lab() -> None:
    """Skip when the lab cannot run here; a failure under CI=true (see tests/conftest.py)."""
    import pytest  # only the tests skip; the lab tool says it in its own words

    why = missing()
    if why:
        text = "; ".join(why) + " — `make system-deps` and .ci/run install them"
        if os.environ.get("CI") == "true":
            pytest.fail(text)  # CI promises the real cluster: missing is a failure
        pytest.skip(text)  # a laptop without them: said, not hidden


class PatroniLab:
    """etcd and three Patroni members, each managing its own PostgreSQL, in one temporary folder.

    `tags` gives Patroni tags per member name (`{"pg3": {"nofailover": True}}`).
    """

    def __init__(
        self,
        tags: Mapping[str, Mapping[str, Any]] | None = None,
        username: str = "opsconsole",
        password: str | None = None,
    ) -> None:
        self.creds = Credentials(
            username=username,
            password=password or secrets.token_urlsafe(12),
            superuser_password=secrets.token_urlsafe(12),
            replication_password=secrets.token_urlsafe(12),
        )
        self.scope = f"opsconsole-lab-{secrets.token_hex(4)}"  # unique per lab: DCS keys, names
        self.folder = Path(tempfile.mkdtemp(prefix="patronilab-"))  # short: socket paths < 108
        self.etcd_port, self._etcd_peer_port = free_port(), free_port()
        tags = tags or {}
        self.members = [
            Member(name, free_port(), free_port(), self.folder / name, dict(tags.get(name, {})))
            for name in MEMBER_NAMES
        ]
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.start_s: float | None = None
        self._http = httpx.Client(timeout=HTTP_TIMEOUT_S)

    # --- what callers read -------------------------------------------------------------------

    @property
    def username(self) -> str:
        return self.creds.username

    @property
    def password(self) -> str:
        return self.creds.password

    @property
    def urls(self) -> list[str]:
        return [m.url for m in self.members]

    @property
    def member_names(self) -> list[str]:
        return [m.name for m in self.members]

    @property
    def started_pids(self) -> list[int]:
        return [p.pid for p in self._procs.values()]

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    def cluster(self) -> dict[str, Any] | None:
        """`GET /cluster` from the first member that answers; None when none does."""
        for url in self.urls:
            try:
                r = self._http.get(f"{url}/cluster")
            except httpx.TransportError:
                continue
            if r.status_code == 200:
                return r.json()
        return None

    def leader(self) -> str | None:
        cluster = self.cluster()
        leaders = [m["name"] for m in (cluster or {}).get("members", []) if m["role"] == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def patroni_status(self, name: str) -> dict[str, Any] | None:
        """`GET /patroni` of one member (xlog positions, replication of a leader); None if down."""
        try:
            r = self._http.get(f"{self.member(name).url}/patroni")
        except httpx.TransportError:
            return None
        is_json = r.headers.get("content-type", "").startswith("application/json")
        return r.json() if is_json else None

    def patronictl_list(self) -> list[dict[str, Any]]:
        """`patronictl -c <config> list -f json`, parsed."""
        out = subprocess.run(
            ["patronictl", "-c", str(self.members[0].config_path), "list", "-f", "json"],
            capture_output=True,
            stdin=subprocess.DEVNULL,  # never the terminal: a background run must not stop
            text=True,
            timeout=30,
            env=self._env(),
            check=True,
        )
        return json.loads(out.stdout)

    def logs(self, lines: int = 40) -> str:
        """The tail of every process's log, each under its name."""
        parts = []
        for log in sorted(self.folder.glob("**/*.log")):
            try:
                text = log.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            parts.append(f"--- {log.relative_to(self.folder)} ---\n" + "\n".join(text))
        return "\n".join(parts)

    # --- what callers do ---------------------------------------------------------------------

    def start(self, timeout_s: float = 90.0) -> float:
        """Start etcd then the three members; wait until healthy. Returns the seconds it took."""
        began = time.monotonic()
        try:
            self._write_files()
            self._start_etcd(deadline=began + timeout_s)
            for m in self.members:
                self._spawn_patroni(m)
            self.wait_healthy(timeout_s=max(1.0, timeout_s - (time.monotonic() - began)))
        except BaseException as exc:
            message = f"Patroni lab did not start: {exc}\n{self.logs()}"
            self.stop()
            raise AssertionError(message) from exc
        self.start_s = time.monotonic() - began
        return self.start_s

    def wait_healthy(
        self,
        timeout_s: float = 60.0,
        leader_not: str | None = None,
        min_timeline: int | None = None,
        max_lag: int = MAXIMUM_LAG_ON_FAILOVER,
    ) -> dict[str, Any]:
        """Until `GET /cluster` shows one leader and two running replicas that stream from it.

        Each replica within `max_lag` bytes (so by default each is a failover candidate);
        `leader_not` waits for a leader other than that member; `min_timeline` for the
        leader's timeline to reach that number. Returns the `/cluster` answer that passed.
        """
        last: list[object] = ["no member answered"]

        def healthy() -> dict[str, Any] | None:
            self._check_processes()
            cluster = self.cluster()
            verdict = (
                self._health(cluster, leader_not, min_timeline, max_lag) if cluster else last[0]
            )
            if verdict is True:
                return cluster
            last[0] = verdict
            return None

        return poll_until(
            healthy, timeout_s, "a healthy cluster", POLL_S, why_not=lambda: str(last[0])
        )

    def kill_postgres(self, name: str) -> int:
        """SIGKILL the postmaster of member `name` (Patroni then fails over). Returns its pid."""
        pid = self._postmaster_pid(self.member(name))
        if pid is None:
            raise AssertionError(f"{name} has no running postmaster")
        os.kill(pid, signal.SIGKILL)
        return pid

    def patroni_pid(self, name: str) -> int:
        """The pid of member `name`'s Patroni (SIGSTOP it and its REST API stops answering)."""
        return self._procs[name].pid

    def walreceiver_pid(self, name: str) -> int | None:
        """The WAL receiver of replica `name` (SIGSTOP it and the replica falls behind)."""
        postmaster = self._postmaster_pid(self.member(name))
        receivers = labprocs.matching(
            lambda cmd: cmd.startswith(f"postgres: {self.scope}: walreceiver")
        )
        return next((p for p in receivers if labprocs.parent(p) == postmaster), None)

    def write_wal(self, megabytes: int) -> None:
        """Write about `megabytes` of WAL on the leader (a table filled, then dropped)."""
        leader = self.leader()
        assert leader is not None, "no leader to write on"
        rows = megabytes * 15_000  # about 70 bytes of WAL per row
        self.sql(leader, f"CREATE TABLE lab_wal AS SELECT g FROM generate_series(1, {rows}) g")
        self.sql(leader, "DROP TABLE lab_wal")

    def sql(self, name: str, query: str) -> list[tuple[Any, ...]]:
        """Run `query` on member `name` as the superuser; the rows it returns."""
        import psycopg

        m = self.member(name)
        with psycopg.connect(
            host="127.0.0.1",
            port=m.pg_port,
            user=PG_USER,
            password=self.creds.superuser_password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            cursor = conn.execute(query)
            return list(cursor.fetchall()) if cursor.description else []

    def lab_processes(self) -> list[int]:
        """Every live process of this lab: the ones started, and the PostgreSQL ones under them.

        Those are PostgreSQL's programs working in the lab's folder (the postmaster,
        pg_basebackup, pg_rewind) and the postmaster's children, which retitle themselves
        "postgres: <cluster_name, which Patroni sets to the scope>: ...". A person's
        `tail -f` of a log here is none of them.
        """
        started = {p.pid for p in self._procs.values() if p.poll() is None}
        return sorted(started | set(labprocs.matching(self._is_postgres_of_lab)))

    def _is_postgres_of_lab(self, cmd: str) -> bool:
        in_folder = cmd.startswith(str(PG_BIN)) and str(self.folder) in cmd
        return in_folder or cmd.startswith(f"postgres: {self.scope}:")

    def stop(self) -> None:
        """Terminate everything (SIGTERM, SIGKILL after a grace), remove the folder. Idempotent."""
        members = [p for n, p in self._procs.items() if n != "etcd"]
        labprocs.terminate(members, STOP_GRACE_S)  # Patroni stops its PostgreSQL (fast) first
        # what is left: children of a killed postmaster, a pg_basebackup cut short
        labprocs.kill_until_gone(lambda: labprocs.matching(self._is_postgres_of_lab))
        labprocs.terminate([p for n, p in self._procs.items() if n == "etcd"], STOP_GRACE_S)
        self._http.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- inside ------------------------------------------------------------------------------

    def _health(
        self,
        cluster: dict[str, Any],
        leader_not: str | None,
        min_timeline: int | None,
        max_lag: int,
    ) -> bool | str:
        """True when healthy, else what is still missing (for the message of a timeout)."""
        members = {m["name"]: m for m in cluster.get("members", [])}
        if sorted(members) != sorted(self.member_names):
            return f"members so far: {sorted(members)}"
        leaders = [n for n, m in members.items() if m["role"] == "leader"]
        if len(leaders) != 1 or members[leaders[0]]["state"] != "running":
            return f"no single running leader: {cluster['members']}"
        leader = leaders[0]
        if leader == leader_not:
            return f"{leader} is still the leader"
        timeline = members[leader].get("timeline")
        if min_timeline is not None and (timeline or 0) < min_timeline:
            return f"leader timeline {timeline}, waiting for {min_timeline}"
        replicas = [n for n in members if n != leader]
        for n in replicas:
            m = members[n]
            # Patroni 3.0.2 says "running" for a replica; later versions "streaming"
            if m["role"] != "replica" or m["state"] not in ("running", "streaming"):
                return f"{n} is {m['role']} {m['state']}"
            lag = m.get("lag")
            if not isinstance(lag, int) or lag > max_lag or m.get("timeline") != timeline:
                return f"{n} lag {m.get('lag')} timeline {m.get('timeline')} (leader {timeline})"
        status = self.patroni_status(leader) or {}
        streaming = {
            r.get("application_name")
            for r in status.get("replication", [])
            if r.get("state") == "streaming"
        }
        if not set(replicas) <= streaming:
            return f"{leader} streams to {sorted(n for n in streaming if n)} of {replicas}"
        return True

    def _check_processes(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}")

    def _postmaster_pid(self, m: Member) -> int | None:
        try:
            pid = int((m.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if labprocs.alive(pid) else None

    def _env(self) -> dict[str, str]:
        """The environment of a child: Debian's Patroni on the system Python, not our venv."""
        drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PGHOST", "PGPORT", "PGUSER"}
        env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PGP")}
        return {**env, "HOME": str(self.folder), "LC_ALL": "C.UTF-8"}

    def _spawn(self, name: str, argv: list[str], log_path: Path, as_postgres: bool) -> None:
        run_as: dict[str, Any] = {}
        if as_postgres and os.geteuid() == 0:
            run_as = {"user": PG_USER, "group": PG_USER, "extra_groups": []}
        with log_path.open("wb") as log:
            self._procs[name] = subprocess.Popen(
                argv,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._env(),
                start_new_session=True,  # Ctrl+C at `make lab-patroni` reaches only the tool
                **run_as,
            )

    def _start_etcd(self, deadline: float) -> None:
        peer = f"http://127.0.0.1:{self._etcd_peer_port}"
        client = f"http://127.0.0.1:{self.etcd_port}"
        argv = [
            "etcd",
            f"--name={self.scope}",
            f"--data-dir={self.folder / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster={self.scope}={peer}",
            f"--initial-cluster-token={self.scope}",
            "--initial-cluster-state=new",
            "--logger=zap",
            "--log-level=warn",
        ]
        self._spawn("etcd", argv, self.folder / "etcd.log", as_postgres=False)
        _wait_for(
            lambda: self._etcd_healthy(client), deadline, "etcd to answer /health", self._procs
        )

    def _etcd_healthy(self, client: str) -> bool:
        try:
            r = self._http.get(f"{client}/health")
        except httpx.TransportError:
            return False
        return r.status_code == 200 and r.json().get("health") == "true"

    def _spawn_patroni(self, m: Member) -> None:
        self._spawn(m.name, ["patroni", str(m.config_path)], m.log_path, as_postgres=True)

    def _write_files(self) -> None:
        for m in self.members:
            m.folder.mkdir(mode=0o700)
            config = member_config(m, self.scope, self.etcd_port, self.creds)
            m.config_path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        if os.geteuid() == 0:  # the postgres user owns what PostgreSQL and Patroni write
            pg = pwd.getpwnam(PG_USER)
            for path in [self.folder, *self.folder.rglob("*")]:
                os.chown(path, pg.pw_uid, pg.pw_gid)


def _wait_for(
    condition: Callable[[], bool],
    deadline: float,
    what: str,
    procs: Mapping[str, subprocess.Popen[bytes]],
) -> None:
    def ready() -> bool:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode} waiting for {what}")
        return condition()

    poll_until(ready, max(0.0, deadline - time.monotonic()), what, POLL_S)
