"""Warehouse-wide locks: one writer at a time, across processes and machines.

PostgreSQL session advisory locks, held by a dedicated connection (with TCP keepalives, so
a half-dead peer is noticed within about a minute and its lock released by the server):

- ``cxscore.build``: the scorecard build path (dbt build into ``marts_build``, the
  scorecard checks, publish). ``cxscore build`` / ``run`` hold it for the whole path; the
  ``cx_scorecard`` DAG's dbt producer, its check task and its publish task each hold it
  while they run (publish only copies a build whose checks passed: cxscore.publish).
- ``cxscore.extract.<source>``: one extract per source (cxscore.load.batches).

A second caller waits up to the configured time (``scorecard.build_lock_wait_seconds``,
``load.lock_wait_seconds``), then fails with exit code 1 and a message naming who holds
the lock (process id, application name with the run id, client, since when).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import psycopg2.errors
import psycopg2.extensions

from cxscore.errors import CxError

log = logging.getLogger(__name__)

BUILD_LOCK = "cxscore.build"
# libpq keepalives: a lost peer is detected after about 30 + 3 x 10 s (TCP only)
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3}  # fmt: skip


class LockTimeout(CxError):
    """Another process holds a warehouse lock longer than we may wait. Exit code 1."""


def extract_lock(source: str) -> str:
    return f"cxscore.extract.{source}"


def lock_holders(cur: Any, name: str) -> list[dict[str, Any]]:
    """The sessions holding the advisory lock ``name`` (pid, application, client, since)."""
    cur.execute(
        """
        select a.pid, a.application_name, coalesce(host(a.client_addr), 'local socket'),
               a.backend_start, now() - a.backend_start
        from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
          -- advisory locks are per database: a build on another database is no holder
          and l.database = (select oid from pg_database where datname = current_database())
          and ((l.classid::bigint << 32) | l.objid::bigint) = hashtext(%s)::bigint
        """,
        (name,),
    )
    cols = ("pid", "application", "client", "since", "age")
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def describe_holders(holders: list[dict[str, Any]]) -> str:
    if not holders:
        return "a session that has just released it"
    return "; ".join(
        f"pid {h['pid']} ({h['application'] or 'no application name'}, from {h['client']}, "
        f"connected {h['since']:%Y-%m-%d %H:%M:%S %Z}, {int(h['age'].total_seconds())} s ago)"
        for h in holders
    )


def acquire(
    conn: psycopg2.extensions.connection, name: str, wait_seconds: float, setting: str
) -> None:
    """Take the session advisory lock ``name`` on ``conn`` (autocommit), waiting at most
    ``wait_seconds``; raise LockTimeout naming the holder(s) otherwise."""
    with conn.cursor() as cur:
        cur.execute("select pg_try_advisory_lock(hashtext(%s))", (name,))
        row = cur.fetchone()
        if row is not None and row[0]:
            return
        holders = lock_holders(cur, name)
        if wait_seconds > 0:
            log.info(
                "%s is held by %s; waiting up to %.0f s (%s)",
                name,
                describe_holders(holders),
                wait_seconds,
                setting,
            )
            cur.execute(
                "select set_config('lock_timeout', %s, false)", (f"{int(wait_seconds * 1000)}ms",)
            )
            try:
                cur.execute("select pg_advisory_lock(hashtext(%s))", (name,))
                return
            except psycopg2.errors.LockNotAvailable:
                holders = lock_holders(cur, name) or holders
            finally:
                cur.execute("select set_config('lock_timeout', '0', false)")
        raise LockTimeout(
            f"the warehouse lock {name} is held by {describe_holders(holders)}; gave up after "
            f"{wait_seconds:g} s ({setting}). Wait for that run to finish, or end it if it is "
            "stuck (select pg_terminate_backend(<pid>) releases its lock)."
        )


@contextlib.contextmanager
def held(
    url: str, name: str, *, wait_seconds: float, setting: str, purpose: str
) -> Iterator[psycopg2.extensions.connection]:
    """Hold the advisory lock ``name`` on a connection of its own for the block; closing
    the connection (also when the process dies) releases it."""
    conn = open_lock_connection(url, purpose)
    try:
        acquire(conn, name, wait_seconds, setting)
        yield conn
    finally:
        conn.close()


def open_lock_connection(url: str, purpose: str) -> psycopg2.extensions.connection:
    """An autocommit connection with keepalives, named after what holds the lock."""
    from cxscore.warehouse import connect

    kwargs: dict[str, Any] = {"application_name": f"cxscore {purpose}"[:63]}
    if "host=/" not in url and "@/" not in url:  # keepalives are TCP options
        kwargs.update(KEEPALIVES)
        # the server's side too: a holder whose machine vanished (a killed container sends
        # no FIN) loses its session, and with it the lock, within about a minute instead of
        # the operating system's default of two hours
        kwargs["options"] = (
            "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"
        )
    conn = connect(url, **kwargs)
    conn.autocommit = True
    return conn


# ------------------------------------------------------------------ Airflow: one task each

_TASK_LOCKS: dict[str, psycopg2.extensions.connection] = {}


def hold_for_task(url: str, key: str, *, wait_seconds: float, purpose: str) -> None:
    """Take the build lock for an Airflow task that cannot use a ``with`` block (the
    Cosmos producer: taken in pre_execute, released by its post-build callback). A lock this
    process still holds under the same key is released first: under ``dag.test()`` every
    task runs in one process, and a task that died before its release must not block the
    next run; in a worker's own task process the connection dies with the process."""
    release_for_task(key)
    conn = open_lock_connection(url, purpose)
    try:
        acquire(conn, BUILD_LOCK, wait_seconds, "scorecard.build_lock_wait_seconds")
    except BaseException:
        conn.close()
        raise
    _TASK_LOCKS[key] = conn


def release_for_task(key: str) -> None:
    conn = _TASK_LOCKS.pop(key, None)
    if conn is not None:
        with contextlib.suppress(psycopg2.Error):
            conn.close()
