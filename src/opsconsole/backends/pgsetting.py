"""One PostgreSQL setting read from one server as that server says it (a short login)."""

from __future__ import annotations

import asyncio
import logging

from opsconsole.backends.secrets import redact

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3


def _show(host: str, port: int, user: str, dbname: str, setting: str) -> str:
    # Imported on use: only a Patroni backend with a pg_user ever needs a database driver.
    import psycopg
    from psycopg import sql

    # The password comes from ~/.pgpass or PGPASSWORD, as libpq reads them: never from us.
    with psycopg.connect(
        host=host,
        port=port,
        user=user,
        dbname=dbname,
        connect_timeout=CONNECT_TIMEOUT_S,
        application_name="opsconsole",
        autocommit=True,
    ) as conn:
        row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(setting))).fetchone()
    return "" if row is None else str(row[0])


async def read_setting(host: str, port: int, user: str, dbname: str, setting: str) -> str | None:
    """The setting's value on that server, or None when it cannot be read (said in the log)."""
    try:
        return await asyncio.to_thread(_show, host, port, user, dbname, setting)
    except Exception as exc:  # any driver or network failure: the value is unknown, not "off"
        log.info("cannot read %s on %s:%s: %s", setting, host, port, redact(str(exc)))
        return None


def is_on(value: str | None) -> bool | None:
    """PostgreSQL's boolean spelling ("on", "off") as a bool; None stays unknown."""
    if value is None:
        return None
    return value.strip().lower() in ("on", "true", "yes", "1")
