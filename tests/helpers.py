"""Small helpers shared by tests."""

from __future__ import annotations

import contextlib

import psycopg2


def query(url: str, sql: str, params: tuple[object, ...] | None = None) -> list[tuple]:
    """Run one statement and return its rows (helper for assertions)."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []
