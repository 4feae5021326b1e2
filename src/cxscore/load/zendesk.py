"""Loading the Zendesk cursor export: page by page, the cursor with the page's rows.

For each stream (tickets with their side-loaded metric sets, users): read the stored
cursor from ``meta.extract_state`` (none: ``start_time`` from config), then per page, in
ONE transaction, ``COPY`` its rows into raw (``_source_cursor`` = the cursor that fetched
the page), its rejected items into raw.rejected_rows, and store the page's
``after_cursor``. A run killed between pages resumes at the last committed page; a page
is never stored twice. When ``end_of_stream`` is true the stored ``after_cursor`` is where
the next run starts. The next page is fetched while a page is loaded
(:meth:`~cxscore.sources.zendesk.ZendeskClient.pages`).

The streams (tickets, users and the ticket events of ``load/zendesk_comments.py``) write
different tables and positions, so they are followed at the same time, each in a thread
with its own connection and HTTP session (``sources.zendesk.parallel_streams``; false:
one after another); the comments are scored after all of them have ended.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg2.extensions

from cxscore.errors import CxError
from cxscore.load.batches import close_batch, open_batch, over_reject_limit, save_cursor
from cxscore.load.copy import copy_rejections, copy_rows, encode_rows, escape_text
from cxscore.settings import Settings
from cxscore.sources import zendesk

if TYPE_CHECKING:
    from cxscore.progress import Reporter

TABLES = {
    "tickets": ("raw.zendesk__tickets", zendesk.TICKET_COLUMNS),
    "ticket_metric_sets": ("raw.zendesk__ticket_metric_sets", zendesk.METRIC_SET_COLUMNS),
    "users": ("raw.zendesk__users", zendesk.USER_COLUMNS),
}
STREAM_TABLES = {"tickets": ("tickets", "ticket_metric_sets"), "users": ("users",)}


def _stored_cursor(conn: psycopg2.extensions.connection, stream: str) -> str | None:
    with conn.cursor() as cur:
        cur.execute(
            "select cursor from meta.extract_state where source = %s and stream = %s",
            (zendesk.SOURCE, stream),
        )
        row = cur.fetchone()
    conn.commit()
    return None if row is None else row[0]


def _store_page(
    conn: psycopg2.extensions.connection,
    stream: str,
    page: zendesk.Page,
    *,
    batches: dict[str, int],
    source_cursor: str,
    next_cursor: str | None,
) -> None:
    with conn.cursor() as cur:
        for table_key in STREAM_TABLES[stream]:
            rows = page.rows.get(table_key) or []
            if not rows:
                continue
            table, columns = TABLES[table_key]
            suffix = b"\t" + str(batches[table_key]).encode() + b"\t" + escape_text(source_cursor)
            copy_rows(
                cur, table, (*columns, "_batch_id", "_source_cursor"), encode_rows(rows, suffix)
            )
        if page.rejections:
            copy_rejections(
                cur,
                page.rejections,
                source=zendesk.SOURCE,
                stream=stream,
                batch_id=batches[stream],
                source_cursor=source_cursor,
            )
        if next_cursor is not None:
            save_cursor(
                cur, zendesk.SOURCE, stream, next_cursor, page.max_updated_at, batches[stream]
            )
    conn.commit()


class Streams:
    """What the stream threads of one extract share: the source's summary and progress
    (updated under ``lock``), and ``stop``, set when the extract is being abandoned: each
    stream then ends before its next page."""

    def __init__(self, summary: dict[str, Any], reporter: Reporter) -> None:
        self.summary = summary
        self.reporter = reporter
        self.lock = threading.Lock()
        self.stop = threading.Event()


def _run_streams(
    jobs: dict[str, Callable[[], str | None]], shared: Streams, *, parallel: bool
) -> dict[str, str | BaseException | None]:
    """Each job's outcome (its error message, its exception, or None), by name: at the same
    time, one thread each, or one after another (then the first exception stops the
    rest, as it always did)."""
    outcomes: dict[str, str | BaseException | None] = {}
    if not parallel:
        for name, job in jobs.items():
            try:
                outcomes[name] = job()
            except BaseException as exc:  # noqa: BLE001 - the caller decides
                outcomes[name] = exc
                break
        return outcomes

    def run(name: str, job: Callable[[], str | None]) -> None:
        try:
            outcomes[name] = job()
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcomes[name] = exc

    threads = [
        threading.Thread(target=run, args=item, name=f"cxscore-zendesk-{item[0]}", daemon=True)
        for item in jobs.items()
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        # interrupted (Ctrl-C, a task timeout): the streams stop at their next page, each
        # page they committed stays committed with its cursor
        shared.stop.set()
        for thread in threads:
            thread.join(5.0)
        raise
    return outcomes


def extract_zendesk(
    settings: Settings,
    *,
    url: str,
    control: psycopg2.extensions.connection,
    run_id: str | None,
    reporter: Reporter,
) -> dict[str, Any]:
    """Extract tickets (+ metric sets), users and ticket comments; the caller holds the
    source lock."""
    from cxscore.warehouse import connect

    cfg = settings.sources.zendesk
    summary: dict[str, Any] = {
        "source": zendesk.SOURCE,
        "status": "running",
        "files": 0,
        "files_skipped": 0,
        "pages": 0,
        "rows_read": 0,
        "rows_loaded": 0,
        "rows_rejected": 0,
        "batches": [],
        "error": None,
        "streams": {},
    }
    keys = ["tickets", "ticket_metric_sets", "users"]
    if cfg.ticket_comments:
        keys.append("ticket_comments")  # the ticket events export (signals.md)
    batches = {key: open_batch(control, zendesk.SOURCE, key, run_id) for key in keys}
    summary["batches"] = list(batches.values())
    counts = {
        key: {"pages": 0, "rows_read": 0, "rows_loaded": 0, "rows_rejected": 0} for key in batches
    }
    shared = Streams(summary, reporter)

    def job(stream: str) -> Callable[[], str | None]:
        def follow() -> str | None:
            client = zendesk.ZendeskClient(cfg)  # its own HTTP session: one per thread
            conn = connect(url, application_name=f"cxscore load zendesk {stream}")
            try:
                with conn.cursor() as cur:
                    cur.execute("set time zone 'UTC'")
                conn.commit()
                if stream != "ticket_comments":
                    return _extract_stream(conn, client, stream, settings, batches, counts, shared)
                from cxscore.load.zendesk_comments import extract_ticket_comments

                return extract_ticket_comments(
                    conn,
                    client,
                    settings,
                    batch_id=batches["ticket_comments"],
                    counts=counts["ticket_comments"],
                    shared=shared,
                )
            finally:
                conn.close()

        return follow

    try:
        zendesk.ZendeskClient(cfg)  # the settings are checked before any stream starts
        streams = ["tickets", "users"] + (["ticket_comments"] if cfg.ticket_comments else [])
        outcomes = _run_streams(
            {stream: job(stream) for stream in streams}, shared, parallel=cfg.parallel_streams
        )
        in_order = [outcomes.get(stream) for stream in streams]  # not the order they ended
        failure = next((o for o in in_order if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure
        errors = [o for o in in_order if isinstance(o, str)]
    except BaseException as exc:
        from cxscore.redaction import redact_text

        # requests' errors carry URLs: the batch row and the summary keep no credential
        message = redact_text(str(exc))
        for key, batch_id in batches.items():
            close_batch(control, batch_id, status="failed", counts=counts[key], error=message)
        summary["status"] = "failed"
        if isinstance(exc, CxError):
            summary["error"] = f"zendesk: {message}"
            return summary
        raise
    for key, batch_id in batches.items():
        stream = "tickets" if key == "ticket_metric_sets" else key
        failed = [e for e in errors if e.startswith(f"zendesk {stream}:")]
        close_batch(
            control,
            batch_id,
            status="failed" if failed else "succeeded",
            counts=counts[key],
            error=failed[0] if failed else None,
        )
    summary["streams"] = counts
    summary["status"] = "failed" if errors else "succeeded"
    summary["error"] = " | ".join(errors) if errors else None
    return summary


def _extract_stream(
    conn: psycopg2.extensions.connection,
    client: zendesk.ZendeskClient,
    stream: str,
    settings: Settings,
    batches: dict[str, int],
    counts: dict[str, dict[str, int]],
    shared: Streams,
) -> str | None:
    """Follow one stream to its end; returns an error message when too many items were
    rejected (the pages are committed all the same: the cursor must move on)."""
    summary, reporter = shared.summary, shared.reporter
    cursor = _stored_cursor(conn, stream)
    start = zendesk.start_time_epoch(settings.sources.zendesk.start_time)
    first_reasons: list[str] = []
    read = rejected = 0
    pages = client.pages(
        client.url(stream),
        client.params(stream, cursor=cursor, start_time=start),
        zendesk.next_cursor_params(client, stream, start),
    )
    with contextlib.closing(pages):
        for params, body in pages:
            if shared.stop.is_set():
                break
            cursor = params.get("cursor")
            source_cursor = f"cursor={cursor}" if cursor else f"start_time={start}"
            page = zendesk.parse_page(stream, body)
            _store_page(
                conn,
                stream,
                page,
                batches=batches,
                source_cursor=source_cursor,
                next_cursor=page.after_cursor or cursor,
            )
            n_rej = len(page.rejections)
            read += page.items
            rejected += n_rej
            first_reasons.extend(
                f"{source_cursor} item {r.line}: {r.reason}" for r in page.rejections
            )
            with shared.lock:
                summary["pages"] += 1
                for table_key in STREAM_TABLES[stream]:
                    counts[table_key]["pages"] += 1
                    n = len(page.rows.get(table_key) or [])
                    counts[table_key]["rows_loaded"] += n
                    counts[table_key]["rows_read"] += n
                    summary["rows_loaded"] += n
                    summary["rows_read"] += n
                    reporter.rows(zendesk.SOURCE, n)
                counts[stream]["rows_rejected"] += n_rej
                counts[stream]["rows_read"] += n_rej
                summary["rows_rejected"] += n_rej
                summary["rows_read"] += n_rej
                reporter.step(
                    zendesk.SOURCE,
                    "pages",
                    summary["pages"],
                    f"{stream} page {counts[stream]['pages']}: {page.items} items, "
                    f"{n_rej} rejected",
                )
    return over_reject_limit(settings, f"zendesk {stream}", "items", read, rejected, first_reasons)
