"""Load batches (meta.load_batches) and the per-source lock that serialises extracts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import psycopg2.extensions

if TYPE_CHECKING:
    from cxscore.settings import Settings

log = logging.getLogger(__name__)


def lock_source(
    control: psycopg2.extensions.connection, source: str, wait_seconds: float = 600.0
) -> None:
    """Take the session-level advisory lock of ``source``: waits up to ``wait_seconds`` for
    a concurrent extract of the same source to finish, then raises LockTimeout naming it;
    released when ``control`` closes, even if the process dies."""
    from cxscore.locks import acquire, extract_lock

    acquire(control, extract_lock(source), wait_seconds, "load.lock_wait_seconds")


def close_stale_batches(url: str) -> list[int]:
    """Mark failed the load batches left ``running`` by a process that died (no session
    holds their source's extract lock any more). A stale running batch would otherwise hold
    the incremental watermark of the dbt build back (safe_max_batch_id) until its source
    runs again. Returns the batch ids closed."""
    from cxscore.locks import extract_lock, open_lock_connection

    conn = open_lock_connection(url, "stale batch check")
    closed: list[int] = []
    try:
        with conn.cursor() as cur:
            cur.execute("select distinct source from meta.load_batches where status = 'running'")
            sources = [str(r[0]) for r in cur.fetchall()]
            for source in sources:
                cur.execute("select pg_try_advisory_lock(hashtext(%s))", (extract_lock(source),))
                row = cur.fetchone()
                if not (row and row[0]):
                    continue  # an extract of this source is running: its batches are live
                try:
                    cur.execute(
                        "update meta.load_batches set status = 'failed', finished_at = now(), "
                        "error = coalesce(error, 'abandoned: the process running the extract "
                        "died; its uncommitted work was rolled back') "
                        "where source = %s and status = 'running' returning batch_id",
                        (source,),
                    )
                    closed += [int(r[0]) for r in cur.fetchall()]
                finally:
                    cur.execute("select pg_advisory_unlock(hashtext(%s))", (extract_lock(source),))
    finally:
        conn.close()
    if closed:
        log.warning("closed %d stale running load batch(es): %s", len(closed), closed)
    return sorted(closed)


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


def over_reject_limit(
    settings: Settings, what: str, unit: str, read: int, rejected: int, reasons: list[str]
) -> str | None:
    """The error of a stream whose rejected share is over ``load.max_reject_pct``, else
    None (the rejected items are in raw.rejected_rows either way)."""
    pct = settings.load.max_reject_pct
    if read and rejected * 100.0 > pct * read:
        return (
            f"{what}: {rejected} of {read} {unit} rejected "
            f"({rejected * 100.0 / read:.1f}% > load.max_reject_pct={pct:g}%); they are in "
            f"raw.rejected_rows. First reasons: {'; '.join(reasons[:3])}"
        )
    return None


def save_cursor(
    cur: Any, source: str, stream: str, cursor: str, watermark: Any, batch_id: int
) -> None:
    """Store an API stream's resume point (``meta.extract_state``) in the transaction of the
    page it follows, so a page and its cursor commit together; the watermark never moves
    back."""
    cur.execute(
        "insert into meta.extract_state as s (source, stream, cursor, watermark, "
        "batch_id, updated_at) values (%s, %s, %s, %s, %s, now()) "
        "on conflict (source, stream) do update set cursor = excluded.cursor, "
        "watermark = greatest(s.watermark, excluded.watermark), "
        "batch_id = excluded.batch_id, updated_at = now()",
        (source, stream, cursor, watermark, batch_id),
    )
