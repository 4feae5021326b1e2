"""Loading Zendesk ticket comments (the time-based ticket events export) page by page.

The stored position is the last page's ``end_time`` (``meta.extract_state``, source
``zendesk``, stream ``ticket_events``; none: ``sources.zendesk.start_time``). Per page, in
ONE transaction: the comments not stored yet (the boundary second comes again: comment ids
already in ``raw.zendesk__ticket_comments`` are skipped) are ``COPY``-ed, rejected items go
to ``raw.rejected_rows``, and the page's ``end_time`` is stored. Scores are computed after
all the source's streams have ended (``cxscore.signals.scoring``). The next page is fetched
while a page is loaded (:meth:`~cxscore.sources.zendesk.ZendeskClient.pages`). The stream
runs beside tickets and users (``cxscore.load.zendesk``)."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import psycopg2.extensions

from cxscore.load.batches import over_reject_limit, save_cursor
from cxscore.load.copy import copy_rejections, copy_rows, encode_rows, escape_text
from cxscore.settings import Settings
from cxscore.sources import zendesk
from cxscore.sources import zendesk_ticket_events as events

if TYPE_CHECKING:
    from cxscore.load.zendesk import Streams

TABLE = "raw.zendesk__ticket_comments"
# the API's answer (HTTP 400) to a start_time less than a minute before its clock
TOO_RECENT = "Too recent start_time"

log = logging.getLogger(__name__)


def _stored_start(conn: psycopg2.extensions.connection) -> int | None:
    with conn.cursor() as cur:
        cur.execute(
            "select cursor from meta.extract_state where source = %s and stream = %s",
            (zendesk.SOURCE, events.STREAM),
        )
        row = cur.fetchone()
    conn.commit()
    return None if row is None or row[0] is None else int(row[0])


def _already_stored(conn: psycopg2.extensions.connection, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    with conn.cursor() as cur:
        cur.execute(f"select comment_id from {TABLE} where comment_id = any(%s)", (ids,))
        return {int(r[0]) for r in cur.fetchall()}


def _following(params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any] | None:
    """The next page's parameters: the page's ``end_time``; None at the end of the stream,
    or when the page gives no later start (a full page within one second: no progress is
    possible)."""
    start = int(params["start_time"])
    end_time = body.get("end_time")
    next_start = end_time if type(end_time) is int else start
    if events.end_of_stream(body) or next_start <= start:
        return None
    return {**params, "start_time": next_start}


def _store_events_page(
    conn: psycopg2.extensions.connection, body: dict[str, Any], start: int, batch_id: int
) -> events.EventsPage:
    """In one transaction: the page's comments not stored yet, its rejections, and its
    ``end_time`` as the stream's position."""
    # ids on the page that are stored already (the boundary second of the last page)
    candidate = [
        c.get("id")
        for e in body.get("ticket_events") or []
        if isinstance(e, dict)
        for c in (e.get("child_events") or [])
        if isinstance(c, dict) and c.get("event_type") == "Comment"
    ]
    seen = _already_stored(conn, [i for i in candidate if type(i) is int])
    page = events.parse_events_page(body, seen=seen)
    source_cursor = f"start_time={start}"
    next_start = page.end_time if page.end_time is not None else start
    with conn.cursor() as cur:
        if page.rows:
            suffix = b"\t" + str(batch_id).encode() + b"\t" + escape_text(source_cursor)
            copy_rows(
                cur,
                TABLE,
                (*events.COMMENT_COLUMNS, "_batch_id", "_source_cursor"),
                encode_rows(page.rows, suffix),
            )
        if page.rejections:
            copy_rejections(
                cur,
                page.rejections,
                source=zendesk.SOURCE,
                stream=events.TABLE_KEY,
                batch_id=batch_id,
                source_cursor=source_cursor,
            )
        save_cursor(
            cur, zendesk.SOURCE, events.STREAM, str(next_start), page.max_created_at, batch_id
        )
    conn.commit()
    return page


def extract_ticket_comments(
    conn: psycopg2.extensions.connection,
    client: zendesk.ZendeskClient,
    settings: Settings,
    *,
    batch_id: int,
    counts: dict[str, int],
    shared: Streams,
) -> str | None:
    """Follow the ticket events export to its end; returns an error message when too many
    comments were rejected (pages are committed all the same)."""
    summary, reporter = shared.summary, shared.reporter
    start = _stored_start(conn)
    if start is None:
        start = zendesk.start_time_epoch(settings.sources.zendesk.start_time)
    url = f"{client.base_url}/api/v2/incremental/ticket_events.json"  # not-a-secret: API URL
    read = rejected = 0
    reasons: list[str] = []
    pages = client.pages(url, {"start_time": start, "include": "comment_events"}, _following)
    with contextlib.closing(pages):
        while not shared.stop.is_set():
            try:
                params, body = next(pages)
            except StopIteration:
                break
            except zendesk.ZendeskError as exc:
                if TOO_RECENT not in str(exc):
                    raise
                # the last page ended less than a minute before the API's clock: nothing
                # new yet (a run right after another, or clock skew); the next run goes on
                # from here
                log.info("zendesk ticket_events: start_time %s is too recent; nothing new", start)
                break
            page = _store_events_page(conn, body, int(params["start_time"]), batch_id)
            n, n_rej = len(page.rows), len(page.rejections)
            read += page.items
            rejected += n_rej
            reasons.extend(
                f"start_time={params['start_time']} event {r.line}: {r.reason}"
                for r in page.rejections
            )
            if page.end_time is not None:
                start = page.end_time  # where the next page starts (for the log line above)
            with shared.lock:
                summary["pages"] += 1
                summary["rows_loaded"] += n
                summary["rows_read"] += n + n_rej
                summary["rows_rejected"] += n_rej
                counts["pages"] += 1
                counts["rows_loaded"] += n
                counts["rows_read"] += n + n_rej
                counts["rows_rejected"] += n_rej
                reporter.rows(zendesk.SOURCE, n)
                reporter.step(
                    zendesk.SOURCE,
                    "pages",
                    summary["pages"],
                    f"ticket_events page {counts['pages']}: {n} new comments, {n_rej} rejected",
                )

    what = "zendesk ticket_comments"
    return over_reject_limit(settings, what, "comments", read, rejected, reasons)
