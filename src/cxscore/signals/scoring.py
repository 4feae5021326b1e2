"""Score the customer messages a load brought in, and store the scores without the text.

Called right after a source's extract (``cxscore.extract``), as a load batch of its own: for
each message in raw that has no row yet in ``raw.sentiment__message_scores`` (an anti-join,
so a re-run or a crashed run picks up exactly what is missing and a re-loaded message is
never re-scored; only the raw batches after the source's last succeeded scoring batch are
read, :func:`scored_through`), read the text, score it in Python
(:func:`cxscore.signals.sentiment.score_text`) and ``COPY`` one row per message: id, source,
interaction, language (declared or detected), scorer, version, score (null = unscored),
counts — never the text.

Which messages (signals.md, "Text sources"):

- ``zendesk``: every comment of ``raw.zendesk__ticket_comments``; the customer's (author =
  the ticket's requester, or a user whose role is ``end-user``) are scored with the
  requester's ``locale`` as the declared language; agents' and bots' comments get a row
  with ``is_customer = false`` and no score (so they are judged once).
- ``qualtrics``: every non-empty configured comment answer (``UserLanguage`` declared).
- ``amazon_connect``: Contact Lens files (``raw.amazon_connect__contact_lens``): every
  customer turn is a message; the file's ``OverallSentiment.CUSTOMER`` (-5..5) is stored as
  one more row of kind ``contact_lens_overall`` with score / 5 and scorer ``vendor``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import psycopg2.extensions

from cxscore.load.copy import copy_rows, encode_rows
from cxscore.registry import source_key
from cxscore.signals.sentiment import score_text, vendor_score

log = logging.getLogger(__name__)

TABLE = "raw.sentiment__message_scores"
COLUMNS = (
    "message_id",
    "source",
    "message_kind",
    "record_id",
    "interaction_id",
    "message_at",
    "is_customer",
    "language",
    "language_source",
    "scorer",
    "scorer_version",
    "score",
    "scoring_words",
    "text_chars",
    "_batch_id",  # appended when copied: the scoring batch
)
CHUNK = 2000

_PENDING_ZENDESK = """
select c.comment_id, c.ticket_id, c.created_at, c._batch_id, c.payload->>'body',
       (c.author_id is not null and (c.author_id = t.requester_id or a.role = 'end-user')),
       r.locale
from (
    select distinct on (comment_id) comment_id, ticket_id, author_id, created_at, payload,
           _batch_id
    from raw.zendesk__ticket_comments c
    where comment_id is not null and ticket_id is not null and c._batch_id > %(after)s
      and not exists (select 1 from raw.sentiment__message_scores s
                      where s.message_id = 'zendesk_comment:' || c.comment_id)
    order by comment_id, _batch_id
) c
left join lateral (select requester_id from raw.zendesk__tickets t where t.id = c.ticket_id
                   order by updated_at desc limit 1) t on true
left join lateral (select payload->>'role' as role from raw.zendesk__users u
                   where u.id = c.author_id order by updated_at desc limit 1) a on true
left join lateral (select payload->>'locale' as locale from raw.zendesk__users u
                   where u.id = t.requester_id order by updated_at desc limit 1) r on true
"""

_PENDING_QUALTRICS = """
select distinct on (q.response_id) q.response_id, q.end_date, q._batch_id, q.payload->>'comment',
       coalesce(q.payload->'columns'->>'userLanguage', q.payload->'columns'->>'UserLanguage',
                q.payload->'columns'->>'Q_Language')
from raw.qualtrics__responses q
where q._batch_id > %(after)s
  and nullif(trim(q.response_id), '') is not null
  and nullif(trim(q.payload->>'comment'), '') is not null
  and not exists (select 1 from raw.sentiment__message_scores s
                  where s.message_id = 'qualtrics_comment:' || q.response_id)
order by q.response_id, q._batch_id desc, q._line desc
"""

_PENDING_CONTACT_LENS = """
select distinct on (l.contact_id) l.contact_id, l.channel, l.analysed_at, l._batch_id,
       l.payload::text
from raw.amazon_connect__contact_lens l
where l._batch_id > %(after)s
  and nullif(l.contact_id, '') is not null
  and not exists (select 1 from raw.sentiment__message_scores s
                  where s.record_id = l.contact_id and s.source = 'amazon_connect')
order by l.contact_id, l.is_redacted desc, l._batch_id desc
"""


def _row(
    message_id: str,
    source: str,
    kind: str,
    record_id: str,
    interaction_id: str | None,
    message_at: Any,
    is_customer: bool,
    text: str | None,
    declared: str | None,
) -> tuple[object, ...]:
    if not is_customer:
        return (message_id, source, kind, record_id, interaction_id, message_at, "f",
                None, None, None, None, None, 0, len(text or ""))  # fmt: skip
    s = score_text(text, declared)
    return (message_id, source, kind, record_id, interaction_id, message_at, "t",
            s.language, s.language_source, s.scorer, s.scorer_version,
            None if s.score is None else repr(s.score), s.words, len(text or ""))  # fmt: skip


def _zendesk(cur: Any, after: int) -> Iterator[tuple[object, ...]]:
    cur.execute(_PENDING_ZENDESK, {"after": after})
    for comment_id, ticket_id, created_at, _text_batch, body, is_customer, locale in cur:
        yield _row(
            f"zendesk_comment:{comment_id}",
            "zendesk",
            "ticket_comment",
            str(ticket_id),
            source_key("zendesk", ticket_id),
            created_at,
            bool(is_customer),
            body,
            locale,
        )


def _qualtrics(cur: Any, after: int) -> Iterator[tuple[object, ...]]:
    cur.execute(_PENDING_QUALTRICS, {"after": after})
    for response_id, end_date, _text_batch, comment, language in cur:
        yield _row(
            f"qualtrics_comment:{response_id}",
            "qualtrics",
            "survey_comment",
            response_id,
            None,
            end_date,
            True,
            comment,
            language,
        )


def contact_lens_messages(
    payload: dict[str, Any],
) -> tuple[str | None, list[tuple[str, str]], float | int | None]:
    """(language, [(turn id, customer text)], vendor OverallSentiment.CUSTOMER) of one
    Contact Lens output file (voice or chat, redacted or not)."""
    language = payload.get("LanguageCode")
    participants = payload.get("Participants") or []
    customer_ids = {
        p.get("ParticipantId")
        for p in participants
        if isinstance(p, dict) and p.get("ParticipantRole") == "CUSTOMER"
    }
    turns: list[tuple[str, str]] = []
    for index, item in enumerate(payload.get("Transcript") or []):
        if not isinstance(item, dict):
            continue
        role = item.get("ParticipantRole")
        is_customer = role == "CUSTOMER" or (
            role is None and item.get("ParticipantId") in customer_ids
        )
        if not is_customer or (item.get("Type") not in (None, "MESSAGE")):
            continue
        content = item.get("Content")
        if isinstance(content, str) and content.strip():
            turns.append((str(index), content))  # the position: Ids are not always unique
    sentiment = (payload.get("ConversationCharacteristics") or {}).get("Sentiment") or {}
    overall = sentiment.get("OverallSentiment") or {}
    # voice: OverallSentiment.CUSTOMER; chat: OverallSentiment.DetailsByParticipantRole.CUSTOMER
    vendor = overall.get("CUSTOMER")
    if vendor is None:
        vendor = (overall.get("DetailsByParticipantRole") or {}).get("CUSTOMER")
    if isinstance(vendor, bool) or not isinstance(vendor, int | float):
        vendor = None
    return (language if isinstance(language, str) else None), turns, vendor


def _json(text: str) -> Any:
    """A stored JSON document read as text: orjson decodes it faster than psycopg2's jsonb
    reader (the standard library's); what orjson refuses (a number past a double's range,
    which jsonb's numeric can hold) goes to the standard library. (Integers past 64 bits
    come back as floats from orjson: no number the scoring reads is one.)"""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        import json

        return json.loads(text)


def _contact_lens(cur: Any, after: int) -> Iterator[tuple[object, ...]]:
    cur.execute(_PENDING_CONTACT_LENS, {"after": after})
    for contact_id, _channel, analysed_at, _text_batch, payload in cur:
        data = _json(payload)
        language, turns, vendor = contact_lens_messages(data)
        interaction = source_key("amazon_connect", contact_id)
        for turn_id, text in turns:
            yield _row(
                f"contact_lens_turn:{contact_id}:{turn_id}",
                "amazon_connect",
                "transcript_turn",
                contact_id,
                interaction,
                analysed_at,
                True,
                text,
                language,
            )
        value = vendor_score(vendor)
        yield ("contact_lens_overall:" + contact_id, "amazon_connect", "contact_lens_overall",
               contact_id, interaction, analysed_at, "t", None, "vendor", "vendor",
               "contact-lens", None if value is None else repr(value), 0, 0)  # fmt: skip


PENDING: dict[str, Callable[[Any, int], Iterator[tuple[object, ...]]]] = {
    "zendesk": _zendesk,
    "qualtrics": _qualtrics,
    "amazon_connect": _contact_lens,
}


def score_pending(
    conn: psycopg2.extensions.connection,
    source: str,
    *,
    open_batch: Callable[[], int],
    after_batch: int = 0,
) -> dict[str, Any]:
    """Score and store every message of ``source`` that has no score row yet, among the raw
    rows of load batches after ``after_batch`` (0: all); one transaction. ``open_batch`` is
    called (once) only when there is something to store: it returns the load batch the rows
    are tagged with. Returns counts (messages, scored, unscored, seconds, batch_id or
    None)."""
    started = time.monotonic()
    counts: dict[str, Any] = {"messages": 0, "scored": 0, "unscored": 0, "batch_id": None}
    produce = PENDING.get(source)
    if produce is None:
        return {**counts, "seconds": 0.0}
    with conn.cursor() as setup:
        # a server-side cursor is planned for its first rows (cursor_tuple_fraction 0.1):
        # nested-loop anti-joins that cost seconds on a day of comments; we read them all
        setup.execute("set local cursor_tuple_fraction = 1.0")
    with conn.cursor(name=f"cx_pending_{source}") as read, conn.cursor() as write:
        read.itersize = CHUNK
        rows = list(produce(read, after_batch))
        if rows:
            batch_id = open_batch()
            counts["batch_id"] = batch_id
            for row in rows:
                if row[6] == "t":
                    counts["scored" if row[11] is not None else "unscored"] += 1
            counts["messages"] = len(rows)
            copy_rows(write, TABLE, COLUMNS, encode_rows(rows, b"\t" + str(batch_id).encode()))
    conn.commit()
    result: dict[str, Any] = {**counts, "seconds": round(time.monotonic() - started, 3)}
    log.info("%s: sentiment: %s", source, result)
    return result


STREAM = "sentiment_scores"


def scored_through(control: psycopg2.extensions.connection, source: str) -> int:
    """The source's last succeeded scoring batch (0: none): the raw batches up to it are
    scored. A scoring pass that failed, or found nothing and opened no batch, moves
    nothing: the next pass reads from the same point."""
    with control.cursor() as cur:
        cur.execute(
            "select coalesce(max(batch_id), 0) from meta.load_batches "
            "where source = %s and stream = %s and status = 'succeeded'",
            (source, STREAM),
        )
        row = cur.fetchone()
    return int(row[0]) if row else 0


def score_source(
    url: str, source: str, *, control: psycopg2.extensions.connection, run_id: str | None
) -> dict[str, Any]:
    """:func:`score_pending` as a load batch of its own (``meta.load_batches`` stream
    ``sentiment_scores`` of the source), opened only when there are messages to score: it
    is running while the scores are written, so no build calls it seen before they are all
    there, and the raw checks (suite ``sentiment__message_scores``) judge it like any other
    batch.

    Only raw rows of load batches after the source's last succeeded scoring batch are read
    (:func:`scored_through`): every earlier batch of the source had finished before that
    pass read its messages (one extract of a source at a time, and its loads before its
    scoring), so each run reads its new batches through the ``_batch_id`` indexes instead of
    every message of all time."""
    from cxscore.load.batches import close_batch, open_batch
    from cxscore.warehouse import connect

    opened: list[int] = []

    def new_batch() -> int:
        opened.append(open_batch(control, source, STREAM, run_id))
        return opened[0]

    counts: dict[str, Any] = {"files": 0, "pages": 0, "rows_rejected": 0}
    conn = connect(url, application_name=f"cxscore sentiment {source}")
    try:
        with conn.cursor() as cur:
            cur.execute("set time zone 'UTC'")
        result = score_pending(
            conn, source, open_batch=new_batch, after_batch=scored_through(control, source)
        )
    except BaseException as exc:
        for batch_id in opened:
            close_batch(control, batch_id, status="failed", counts=counts, error=str(exc))
        raise
    finally:
        conn.close()
    counts.update(rows_read=result["messages"], rows_loaded=result["messages"])
    for batch_id in opened:
        close_batch(control, batch_id, status="succeeded", counts=counts)
    return result
