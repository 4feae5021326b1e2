"""Small helpers shared by tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg2


def query(
    url: str, sql: str, params: tuple[object, ...] | dict[str, object] | None = None
) -> list[tuple]:
    """Run one statement and return its rows (helper for assertions)."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


@contextlib.contextmanager
def scratch_database(
    server_url: str, prefix: str = "cxtest", *, init: bool = True
) -> Iterator[str]:
    """A new database on the test server (initialised as a warehouse unless ``init=False``),
    yielded as a URL and dropped afterwards, even when connections are still open."""
    from cxscore.warehouse import init_warehouse

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    url = urlsplit(server_url)._replace(path="/" + name).geturl()
    try:
        if init:
            init_warehouse(url)
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()
