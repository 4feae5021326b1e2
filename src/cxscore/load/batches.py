"""Load batches (meta.load_batches) and the per-source lock that serialises extracts."""

from __future__ import annotations

import logging
from typing import Any

import psycopg2.extensions

log = logging.getLogger(__name__)


def lock_source(control: psycopg2.extensions.connection, source: str) -> None:
    """Take the session-level advisory lock of ``source`` (waits for a concurrent extract of
    the same source to finish; released when ``control`` closes, even if the process dies)."""
    key = f"cxscore.extract.{source}"
    with control.cursor() as cur:
        cur.execute("select pg_try_advisory_lock(hashtext(%s))", (key,))
        row = cur.fetchone()
        if row is not None and row[0]:
            return
        log.info("%s: another extract of this source is running; waiting for it", source)
        cur.execute("select pg_advisory_lock(hashtext(%s))", (key,))


def open_batch(
    control: psycopg2.extensions.connection, source: str, stream: str, run_id: str | None
) -> int:
    """A new batch (status running), committed at once so its id is visible to others.
    Earlier batches of the same stream still marked running belong to a process that died
    (we hold the source lock): they are marked failed."""
    with control.cursor() as cur:
        cur.execute(
            "update meta.load_batches set status = 'failed', finished_at = now(), "
            "error = coalesce(error, 'abandoned: the extract ended without finishing "
            "(process killed?); its uncommitted work was rolled back') "
            "where source = %s and stream = %s and status = 'running'",
            (source, stream),
        )
        cur.execute(
            "insert into meta.load_batches (source, stream, run_id) values (%s, %s, %s) "
            "returning batch_id",
            (source, stream, run_id),
        )
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def close_batch(
    control: psycopg2.extensions.connection,
    batch_id: int,
    *,
    status: str,
    counts: dict[str, Any],
    error: str | None = None,
) -> None:
    with control.cursor() as cur:
        cur.execute(
            "update meta.load_batches set status = %s, finished_at = now(), files = %s, "
            "pages = %s, rows_read = %s, rows_loaded = %s, rows_rejected = %s, error = %s "
            "where batch_id = %s",
            (
                status,
                counts.get("files", 0),
                counts.get("pages", 0),
                counts.get("rows_read", 0),
                counts.get("rows_loaded", 0),
                counts.get("rows_rejected", 0),
                error,
                batch_id,
            ),
        )
