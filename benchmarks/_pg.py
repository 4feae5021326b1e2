"""The PostgreSQL a benchmark runs on, and a scratch database that is dropped afterwards.

Server: ``CX_BENCH_PG_URL`` (a server URL whose database part is an admin DB), else the
local server at 127.0.0.1:5432 when it answers, else an embedded one (pgserver) in a
temporary directory, stopped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _reachable(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.OperationalError:
        return False
    return True


@contextlib.contextmanager
def server() -> Iterator[str]:
    """Yield an admin URL of the server benchmarks may create databases on."""
    explicit = os.environ.get("CX_BENCH_PG_URL")
    if explicit:
        yield explicit
        return
    if _reachable(LOCAL_PG):
        yield LOCAL_PG
        return
    from cxscore.warehouse import start_embedded

    tmp = Path(tempfile.mkdtemp(prefix="cxbench-pg-"))
    try:
        yield start_embedded(tmp / "pg")
    finally:
        import pgserver

        with contextlib.suppress(Exception):
            pgserver.get_server(tmp / "pg", cleanup_mode="stop").cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str = "cxbench") -> Iterator[str]:
    """Create an initialised warehouse database, yield its URL, drop it afterwards."""
    from cxscore.warehouse import init_warehouse

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    url = urlsplit(server_url)._replace(path="/" + name).geturl()
    try:
        init_warehouse(url)
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()
