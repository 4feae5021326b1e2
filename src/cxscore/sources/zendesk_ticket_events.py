"""Zendesk ticket comments: the time-based incremental ticket events export.

``GET {base}/api/v2/incremental/ticket_events.json?start_time=E&include=comment_events``
(developer.zendesk.com, "Incremental Exports": "Incremental Ticket Event Export"). A page
holds ``ticket_events[]``, ``next_page``, ``end_time``, ``end_of_stream`` and ``count``; the
next ``start_time`` is the page's ``end_time``, so events stamped with that second come
again on the next page and are de-duplicated by the comment's ``id``. Real accounts allow
10 requests per minute on this endpoint: the client (``ZendeskClient.get``) waits for
``Retry-After`` on 429.

Every ``child_events[]`` entry with ``event_type = "Comment"`` becomes one row of
``raw.zendesk__ticket_comments``: the comment (``id``, ``body``, ``public``,
``author_id``...) plus the parent event's ``ticket_id``, ``created_at``, ``timestamp``,
``updater_id`` and ``via`` in ``payload``. Whether the comment is the customer's is decided
when it is scored (signals/scoring.py), not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cxscore.sources.common import BadRecord, Rejection, Row
from cxscore.sources.zendesk import _id, _payload, _raw, _ts

STREAM = "ticket_events"
TABLE_KEY = "ticket_comments"
COMMENT_COLUMNS = (
    "comment_id",
    "ticket_id",
    "event_id",
    "author_id",
    "created_at",
    "is_public",
    "payload",
)
PAGE_LIMIT = 1000  # events per page of the time-based export (developer.zendesk.com)
_PARENT_KEYS = ("id", "ticket_id", "created_at", "timestamp", "updater_id", "via", "event_type")


@dataclass
class EventsPage:
    rows: list[Row] = field(default_factory=list)
    comment_ids: list[int] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    end_time: int | None = None
    next_page: str | None = None
    end_of_stream: bool = True
    items: int = 0  # comment events read (rows + rejections)
    events: int = 0  # ticket events on the page
    max_created_at: str | None = None


def end_of_stream(body: dict[str, Any]) -> bool:
    """``end_of_stream`` as the page says; pages recorded before Zendesk added it (2019,
    tests/unit/test_sources_zendesk_real.py) end the stream only when they are not full: a
    page holds at most 1,000 events, and ``count`` = 1000 means more may follow."""
    if "end_of_stream" in body:
        return bool(body["end_of_stream"])
    count = body.get("count")
    return not (type(count) is int and count >= PAGE_LIMIT)


def comment_row(event: dict[str, Any], child: dict[str, Any]) -> Row:
    # without include=comment_events a Comment child carries only comment_present and
    # comment_public (no body): the comment is still recorded, and is unscored for want of text
    public = child.get("public", child.get("comment_public"))
    item = {
        **child,
        "ticket_event": {k: event.get(k) for k in _PARENT_KEYS if k in event},
    }
    return (
        _id(child.get("id"), "id"),
        _id(event.get("ticket_id"), "ticket_id"),
        _id(event.get("id"), "ticket_event.id", required=False),
        _id(child.get("author_id"), "author_id", required=False),
        _ts(event.get("created_at"), "created_at"),
        None if public is None else ("t" if public is True else "f"),
        _payload(item),
    )


def parse_events_page(body: dict[str, Any], *, seen: set[int] | None = None) -> EventsPage:
    """Comment rows of one decoded page; ids in ``seen`` (the previous page's boundary, or
    ids already stored) are skipped and the new ones added to it."""
    seen = set() if seen is None else seen
    end_time = body.get("end_time")
    page = EventsPage(
        end_time=end_time if type(end_time) is int else None,
        next_page=body.get("next_page") or None,
        end_of_stream=end_of_stream(body),
    )
    events = body.get("ticket_events") or []
    if not isinstance(events, list):
        from cxscore.sources.zendesk import ZendeskError

        raise ZendeskError("Zendesk ticket_events page: 'ticket_events' is not a list")
    for index, event in enumerate(events, start=1):
        page.events += 1
        if not isinstance(event, dict):
            page.items += 1
            page.rejections.append(
                Rejection(index, f"ticket_events[{index}] is not a JSON object", _raw(event))
            )
            continue
        children = event.get("child_events") or []
        for child in children if isinstance(children, list) else []:
            if not isinstance(child, dict) or child.get("event_type") != "Comment":
                continue
            cid = child.get("id")
            if type(cid) is int and cid in seen:
                continue  # the boundary second, delivered again
            page.items += 1
            try:
                row = comment_row(event, child)
            except BadRecord as bad:
                page.rejections.append(Rejection(index, f"ticket_events: {bad}", _raw(child)))
                continue
            page.rows.append(row)
            if isinstance(row[0], int):
                seen.add(row[0])
                page.comment_ids.append(row[0])
            created = row[4]
            if isinstance(created, str) and (
                page.max_created_at is None or created > page.max_created_at
            ):
                page.max_created_at = created
    return page
