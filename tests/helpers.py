"""Small helpers shared by tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
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


# ------------------------------------------------------------------ landing-file builders


def ctr(n: int, **extra: Any) -> dict[str, Any]:
    """A minimal Amazon Connect contact trace record (``extra`` adds or replaces fields)."""
    record: dict[str, Any] = {
        "ContactId": f"c-{n}",
        "Channel": "VOICE",
        "InitiationMethod": "INBOUND",
        "InitiationTimestamp": "2026-01-05T10:00:00Z",
        "DisconnectTimestamp": "2026-01-05T10:05:00Z",
        "LastUpdateTimestamp": f"2026-01-05T10:{n % 60:02d}:00Z",
    }
    record.update(extra)
    return record


def jsonl(*records: Any) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
