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
from collections.abc import Iterator
from pathlib import Path

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


def scratch_database(
    server_url: str, prefix: str = "cxbench"
) -> contextlib.AbstractContextManager[str]:
    """An initialised throwaway warehouse database (cxscore.warehouse.scratch_database)."""
    from cxscore.warehouse import scratch_database as scratch

    return scratch(server_url, prefix)
