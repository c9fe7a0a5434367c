"""Patroni's configuration of one lab member (tests/support/patronilab.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_BIN = Path("/usr/lib/postgresql/15/bin")
MAXIMUM_LAG_ON_FAILOVER = 1048576  # bytes; a replica further behind is no failover candidate


@dataclass(frozen=True)
class Member:
    """One Patroni member: its name, ports and files."""

    name: str
    api_port: int
    pg_port: int
    folder: Path
    tags: Mapping[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def config_path(self) -> Path:
        return self.folder / "patroni.yml"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_path(self) -> Path:
        return self.folder / "patroni.log"


@dataclass(frozen=True)
class Credentials:
    """The lab's passwords: the REST API's for unsafe calls, and PostgreSQL's two roles."""

    username: str
    password: str
    superuser_password: str
    replication_password: str


def member_config(m: Member, scope: str, etcd_port: int, creds: Credentials) -> dict[str, Any]:
    """Patroni's configuration of member `m`: etcd v3, fast timings, pg_rewind on."""
    return {
        "scope": scope,
        "namespace": "/opsconsole-lab/",
        "name": m.name,
        "log": {"level": "INFO"},
        "restapi": {
            "listen": f"127.0.0.1:{m.api_port}",
            "connect_address": f"127.0.0.1:{m.api_port}",
            # only unsafe calls (POST, PATCH, DELETE) ask for it: a wrong one is a 401
            "authentication": {"username": creds.username, "password": creds.password},
        },
        # etcd 3.4 serves the v2 API only with --enable-v2 (off by default, gone in 3.6);
        # Patroni's etcd3 section speaks the v3 API that etcd serves as it comes
        "etcd3": {"hosts": [f"127.0.0.1:{etcd_port}"]},
        "bootstrap": {
            "dcs": {
                "ttl": 10,
                "loop_wait": 1,
                "retry_timeout": 5,
                "maximum_lag_on_failover": MAXIMUM_LAG_ON_FAILOVER,
                # a crashed primary fails over instead of being restarted in place (default 300 s)
                "primary_start_timeout": 0,
                "postgresql": {
                    "use_pg_rewind": True,
                    "parameters": {"wal_log_hints": "on", "max_wal_senders": 10},
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{m.pg_port}",
            "connect_address": f"127.0.0.1:{m.pg_port}",
            "data_dir": str(m.data_dir),
            "bin_dir": str(PG_BIN),
            "pgpass": str(m.folder / "pgpass"),
            "authentication": {
                "superuser": {"username": "postgres", "password": creds.superuser_password},
                "replication": {"username": "replicator", "password": creds.replication_password},
            },
            "parameters": {
                "unix_socket_directories": str(m.folder),
                "shared_buffers": "16MB",
                "max_connections": 30,
                # a killed process loses nothing the OS holds: fsync would only slow the box
                "fsync": "off",
                "synchronous_commit": "off",
            },
            "basebackup": [{"checkpoint": "fast"}],  # a replica need not wait for a checkpoint
            "pg_hba": [
                "local all all trust",
                "host all all 127.0.0.1/32 md5",
                "host replication replicator 127.0.0.1/32 md5",
            ],
        },
        "tags": dict(m.tags),
    }
