"""A small hand-made raw dataset (the rows loaders would write) and helpers to load it.

Every expected scorecard number in the tests is computed by hand from these rows; the
comments next to each row say what it is there to exercise. Business timezone: UTC.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import psycopg2

from cxscore.settings import Settings, load_settings
from tests.helpers import scratch_database

__all__ = ["insert_world", "make_settings", "scratch_database"]

HASH_KEY = "test-hmac-key"

# ---------------------------------------------------------------- zendesk users
# (id, created_at, updated_at, payload, batch)
USERS: list[tuple[int, str, str, dict[str, Any], int]] = [
    (
        1,
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
        {
            "id": 1,
            "email": "a@x.com",
            "phone": "+1 (415) 555-0101",
            "user_fields": {"segment": "gold"},
        },
        1,
    ),
    (
        2,
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
        {
            "id": 2,
            "email": " B@x.com",
            "phone": "415-555-0102",
            "user_fields": {"segment": "silver"},
        },
        1,
    ),
    # same e-mail as user 1 after normalisation, created later: user 1 wins the e-mail
    (
        3,
        "2026-01-02T00:00:00Z",
        "2026-01-02T00:00:00Z",
        {"id": 3, "email": "A@X.com ", "phone": None, "user_fields": {"segment": "gold"}},
        1,
    ),
]


def _ticket(
    tid: int,
    requester: int,
    via: str,
    created: str,
    updated: str,
    status: str,
    tags: list[str],
    priority: str | None = None,
) -> dict[str, Any]:
    return {
        "id": tid,
        "requester_id": requester,
        "via": {"channel": via, "source": {}},
        "created_at": created,
        "updated_at": updated,
        "status": status,
        "tags": tags,
        "priority": priority,
        "type": "question",
    }


# ---------------------------------------------------------------- zendesk tickets
# (id, created_at, updated_at, status, via_channel, requester_id, payload, batch)
TICKETS: list[tuple[Any, ...]] = [
    # U1, web presales, solved -> web_presales_question; recontacted by T102 at 20:00
    (
        101,
        "2026-03-02T09:00:00Z",
        "2026-03-02T10:00:00Z",
        "solved",
        "web",
        1,
        _ticket(
            101, 1, "web", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", "solved", ["presales"]
        ),
        1,
    ),
    # U1, e-mail, open -> email_support; recontacted by C5 at 22:00
    (
        102,
        "2026-03-02T20:00:00Z",
        "2026-03-02T20:30:00Z",
        "open",
        "email",
        1,
        _ticket(102, 1, "email", "2026-03-02T20:00:00Z", "2026-03-02T20:30:00Z", "open", []),
        1,
    ),
    # U2, e-mail, closed, urgent, 2 group stations, 1 reopen -> escalated, transferred, problematic
    (
        103,
        "2026-03-02T12:00:00Z",
        "2026-03-02T13:00:00Z",
        "closed",
        "email",
        2,
        _ticket(
            103, 2, "email", "2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z", "closed", [], "urgent"
        ),
        1,
    ),
    # two versions; the latest is deleted -> not an interaction
    (
        104,
        "2026-03-02T15:00:00Z",
        "2026-03-02T15:00:00Z",
        "new",
        "email",
        1,
        _ticket(104, 1, "email", "2026-03-02T15:00:00Z", "2026-03-02T15:00:00Z", "new", []),
        1,
    ),
    (
        104,
        "2026-03-02T15:00:00Z",
        "2026-03-02T16:00:00Z",
        "deleted",
        "email",
        1,
        _ticket(104, 1, "email", "2026-03-02T15:00:00Z", "2026-03-02T16:00:00Z", "deleted", []),
        1,
    ),
    # unknown requester, chat tag checkout -> chat_checkout_help, FRT exactly 120 s
    (
        105,
        "2026-03-02T11:00:00Z",
        "2026-03-02T11:30:00Z",
        "solved",
        "chat",
        99,
        _ticket(
            105, 99, "chat", "2026-03-02T11:00:00Z", "2026-03-02T11:30:00Z", "solved", ["checkout"]
        ),
        1,
    ),
    # U2, twitter, no matching tag -> unmapped_social; solved_at before created_at
    (
        106,
        "2026-03-02T18:00:00Z",
        "2026-03-02T18:30:00Z",
        "solved",
        "twitter",
        2,
        _ticket(106, 2, "twitter", "2026-03-02T18:00:00Z", "2026-03-02T18:30:00Z", "solved", []),
        1,
    ),
]

# (id, ticket_id, created_at, updated_at, payload, batch)
METRIC_SETS: list[tuple[Any, ...]] = [
    (
        9101,
        101,
        "2026-03-02T09:00:00Z",
        "2026-03-02T10:00:00Z",
        {
            "ticket_id": 101,
            "reply_time_in_minutes": {"calendar": 30, "business": 30},
            "solved_at": "2026-03-02T10:00:00Z",
            "group_stations": 1,
            "reopens": 0,
        },
        1,
    ),
    (
        9102,
        102,
        "2026-03-02T20:00:00Z",
        "2026-03-02T20:30:00Z",
        {
            "ticket_id": 102,
            "reply_time_in_minutes": {"calendar": 60, "business": 60},
            "solved_at": None,
            "group_stations": 1,
            "reopens": 0,
        },
        1,
    ),
    (
        9103,
        103,
        "2026-03-02T12:00:00Z",
        "2026-03-02T13:00:00Z",
        {
            "ticket_id": 103,
            "reply_time_in_minutes": {"calendar": 10, "business": 10},
            "solved_at": "2026-03-02T13:00:00Z",
            "group_stations": 2,
            "reopens": 1,
        },
        1,
    ),
    (
        9105,
        105,
        "2026-03-02T11:00:00Z",
        "2026-03-02T11:30:00Z",
        {
            "ticket_id": 105,
            "reply_time_in_minutes": {"calendar": 2, "business": 2},
            "solved_at": "2026-03-02T11:30:00Z",
            "group_stations": 1,
            "reopens": None,
        },
        1,
    ),
    (
        9106,
        106,
        "2026-03-02T18:00:00Z",
        "2026-03-02T18:30:00Z",
        {
            "ticket_id": 106,
            "reply_time_in_minutes": {"calendar": None},
            "solved_at": "2026-03-02T17:00:00Z",
            "group_stations": 1,
            "reopens": 0,
        },
        1,
    ),
]


def _ctr(
    cid: str,
    method: str,
    start: str,
    end: str,
    updated: str,
    *,
    phone: str | None,
    queue: dict[str, Any] | None = None,
    agent: dict[str, Any] | None = None,
    attributes: dict[str, str] | None = None,
    previous: str | None = None,
    reason: str = "CUSTOMER_DISCONNECT",
) -> dict[str, Any]:
    return {
        "ContactId": cid,
        "Channel": "VOICE",
        "InitiationMethod": method,
        "InitiationTimestamp": start,
        "DisconnectTimestamp": end,
        "LastUpdateTimestamp": updated,
        "PreviousContactId": previous,
        "CustomerEndpoint": {"Address": phone, "Type": "TELEPHONE_NUMBER"} if phone else None,
        "Queue": queue,
        "Agent": agent,
        "Attributes": attributes or {},
        "DisconnectReason": reason,
    }


def _contact(
    cid: str, method: str, start: str, end: str, updated: str, *, batch: int = 1, **ctr: Any
) -> tuple[Any, ...]:
    """(contact_id, channel, initiation_method, start, end, last_update, payload, batch): a
    voice contact's row of raw.amazon_connect__contact_records, its CTR built by _ctr."""
    return (
        cid,
        "VOICE",
        method,
        start,
        end,
        updated,
        _ctr(cid, method, start, end, updated, **ctr),
        batch,
    )


_SUPPORT = "Support"
CONTACTS: list[tuple[Any, ...]] = [
    # U2 (national number -> +14155550102), answered after 30 s, handle 360 s, transfer child C7
    _contact(
        "C1",
        "INBOUND",
        "2026-03-02T08:00:00Z",
        "2026-03-02T08:07:00Z",
        "2026-03-02T08:08:00Z",
        phone="+14155550102",
        queue={"Name": _SUPPORT, "EnqueueTimestamp": "2026-03-02T08:00:30Z", "Duration": 30},
        agent={
            "ConnectedToAgentTimestamp": "2026-03-02T08:01:00Z",
            "AgentInteractionDuration": 300,
            "CustomerHoldDuration": 20,
            "AfterContactWorkDuration": 40,
        },
    ),
    # unknown caller, short abandon (3 s in queue)
    _contact(
        "C2",
        "INBOUND",
        "2026-03-02T09:30:00Z",
        "2026-03-02T09:30:10Z",
        "2026-03-02T09:31:00Z",
        phone="+14155550199",
        queue={"Name": _SUPPORT, "EnqueueTimestamp": "2026-03-02T09:30:05Z", "Duration": 3},
    ),
    # unknown caller, abandoned after 60 s
    _contact(
        "C3",
        "INBOUND",
        "2026-03-02T10:00:00Z",
        "2026-03-02T10:01:10Z",
        "2026-03-02T10:02:00Z",
        phone="+14155550198",
        queue={"Name": _SUPPORT, "EnqueueTimestamp": "2026-03-02T10:00:10Z", "Duration": 60},
    ),
    # callback not answered: in the abandonment denominator, not abandoned
    _contact(
        "C4",
        "CALLBACK",
        "2026-03-02T14:00:00Z",
        "2026-03-02T14:01:10Z",
        "2026-03-02T14:02:00Z",
        phone="+14155550197",
        queue={"Name": _SUPPORT, "EnqueueTimestamp": "2026-03-02T14:00:10Z", "Duration": 60},
    ),
    # U1, contained in the IVR (menu balance) -> ivr_self_service; an older copy first
    _contact(
        "C5",
        "INBOUND",
        "2026-03-02T22:00:00Z",
        "2026-03-02T22:05:00Z",
        "2026-03-02T22:05:30Z",
        phone="+14155550101",
    ),
    _contact(
        "C5",
        "INBOUND",
        "2026-03-02T22:00:00Z",
        "2026-03-02T22:05:00Z",
        "2026-03-02T22:06:00Z",
        phone="+14155550101",
        attributes={"ivr_menu": "balance", "self_service_complete": "true"},
        reason="CONTACT_FLOW_DISCONNECT",
    ),
    # outbound: loaded, never an interaction
    _contact(
        "C6",
        "OUTBOUND",
        "2026-03-02T16:00:00Z",
        "2026-03-02T16:05:00Z",
        "2026-03-02T16:06:00Z",
        phone="+14155550102",
    ),
    # transfer child of C1: marks C1 transferred, not an interaction itself
    _contact(
        "C7",
        "TRANSFER",
        "2026-03-02T08:06:00Z",
        "2026-03-02T08:10:00Z",
        "2026-03-02T08:11:00Z",
        phone="+14155550102",
        previous="C1",
    ),
    # the previous day (a Sunday: the week before): unknown caller answered after 10 s
    _contact(
        "C8",
        "INBOUND",
        "2026-03-01T12:00:00Z",
        "2026-03-01T12:05:00Z",
        "2026-03-01T12:06:00Z",
        phone="+14155550196",
        queue={"Name": _SUPPORT, "EnqueueTimestamp": "2026-03-01T12:00:00Z", "Duration": 10},
        agent={
            "ConnectedToAgentTimestamp": "2026-03-01T12:00:10Z",
            "AgentInteractionDuration": 100,
        },
    ),
]


def _response(
    rid: str,
    *,
    csat: str | None,
    nps: str | None,
    ces: str | None,
    contact: str | None = None,
    ticket: str | None = None,
    email: str | None = None,
    touchpoint: str | None = None,
) -> dict[str, Any]:
    return {
        "columns": {},
        "csat": csat,
        "nps": nps,
        "ces": ces,
        "comment": "private text",
        "ticket_id": ticket,
        "contact_id": contact,
        "customer_email": email,
        "touchpoint": touchpoint,
        "layout": "current",
    }


# (response_id, end_date, finished, status, payload, batch)
RESPONSES: list[tuple[Any, ...]] = [
    (
        "R1",
        "2026-03-02T09:00:00Z",
        "1",
        "0",
        _response("R1", csat="5", nps="10", ces="7", contact="C1"),
        1,
    ),
    (
        "R2",
        "2026-03-02T11:00:00Z",
        "1",
        "0",
        _response("R2", csat="2", nps="3", ces="2", contact="C3"),
        1,
    ),
    # unresolvable contact, valid embedded touchpoint, e-mail of U2, invalid CES
    (
        "R3",
        "2026-03-02T12:00:00Z",
        "1",
        "0",
        _response(
            "R3",
            csat="4",
            nps="8",
            ces="abc",
            contact="NOPE",
            email="b@x.com",
            touchpoint="phone_support",
        ),
        1,
    ),
    # not finished: ignored
    (
        "R4",
        "2026-03-02T12:30:00Z",
        "0",
        "0",
        _response("R4", csat="1", nps="0", ces="1", contact="C1"),
        1,
    ),
    # no link, unknown touchpoint -> unmapped_other (a survey-only scorecard row)
    (
        "R5",
        "2026-03-02T13:00:00Z",
        "1",
        "0",
        _response("R5", csat="3", nps=None, ces=None, touchpoint="bogus"),
        1,
    ),
    # a preview (Status 1): not scored
    (
        "R6",
        "2026-03-02T14:30:00Z",
        "1",
        "1",
        _response("R6", csat="5", nps="10", ces="7", contact="C4"),
        1,
    ),
]

# (order_id, customer_email, ordered_at, amount, currency, status, updated_at, batch)
# ---------------------------------------------------------------- sentiment message scores
# (message_id, source, kind, record_id, interaction_id, is_customer, language, scorer, score,
#  batch): what cxscore.signals.scoring writes (no text). phone_support 2026-03-02: C1 has a
# Contact Lens vendor score 0.4 (wins over its turn -0.9), C3 one unscored turn, R1 (linked
# to C1) a survey comment -0.7 (negative); 2026-03-01: C8 one turn -0.6 (negative; a late
# score in the batched world). An agent's comment on T101 is no customer message.
SENTIMENT: list[tuple[Any, ...]] = [
    ("clt:C1:1", "amazon_connect", "turn", "C1", "connect:C1", True, "en", "vader", -0.9, 1),
    ("clo:C1", "amazon_connect", "overall", "C1", "connect:C1", True, None, "vendor", 0.4, 1),
    ("clt:C3:1", "amazon_connect", "turn", "C3", "connect:C3", True, "ru", None, None, 1),
    ("clt:C8:1", "amazon_connect", "turn", "C8", "connect:C8", True, "en", "vader", -0.6, 1),
    ("qc:R1", "qualtrics", "survey_comment", "R1", None, True, "de", "afinn-mt", -0.7, 1),
    ("zc:1", "zendesk", "ticket_comment", "101", "zendesk:101", True, "en", "vader", 0.5, 1),
    ("zc:2", "zendesk", "ticket_comment", "101", "zendesk:101", False, None, None, None, 1),
]  # fmt: skip

ORDERS: list[tuple[Any, ...]] = [
    # U2: last touch in [03-01 10:00, 03-02 10:00) is C1 (08:00)
    ("O1", "b@x.com", "2026-03-02T10:00:00Z", "100.00", "USD", "placed", "2026-03-02T10:00:00Z", 1),
    # U2: placed then refunded; last touch before 19:00 is T106 (18:00)
    ("O2", "b@x.com", "2026-03-02T19:00:00Z", "50.00", "USD", "placed", "2026-03-02T19:00:00Z", 1),
    (
        "O2",
        "b@x.com",
        "2026-03-02T19:00:00Z",
        "50.00",
        "USD",
        "refunded",
        "2026-03-03T09:00:00Z",
        1,
    ),
    # cancelled: ignored
    (
        "O3",
        "a@x.com",
        "2026-03-02T09:30:00Z",
        "70.00",
        "USD",
        "cancelled",
        "2026-03-02T09:30:00Z",
        1,
    ),
    # U1 (e-mail case differs): last touch before 03-03 00:00 is C5 (22:00)
    ("O4", "A@x.com", "2026-03-03T00:00:00Z", "20.00", "EUR", "placed", "2026-03-03T00:00:00Z", 1),
]


# ---------------------------------------------------------------- loading helpers


def insert_world(
    url: str,
    *,
    batches: set[int] | None = None,
    batch_offset: int = 0,
    data: dict[str, list[tuple[Any, ...]]] | None = None,
) -> None:
    """Insert the rows (optionally only those of some batches) straight into raw."""
    data = data or {
        "users": USERS,
        "tickets": TICKETS,
        "metric_sets": METRIC_SETS,
        "contacts": CONTACTS,
        "responses": RESPONSES,
        "orders": ORDERS,
        "sentiment": SENTIMENT,
    }

    def keep(batch: int) -> bool:
        return batches is None or batch in batches

    with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        for mid, src, kind, rec, iid, cust, lang, scorer, score, batch in data.get("sentiment", []):
            if keep(batch):
                cur.execute(
                    "insert into raw.sentiment__message_scores (message_id, source,"
                    " message_kind, record_id, interaction_id, is_customer, language, scorer,"
                    " score, _batch_id) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (mid, src, kind, rec, iid, cust, lang, scorer, score, batch + batch_offset),
                )
        for uid, created, updated, payload, batch in data.get("users", []):
            if keep(batch):
                cur.execute(
                    "insert into raw.zendesk__users (id, created_at, updated_at, payload,"
                    " _batch_id) values (%s, %s, %s, %s, %s)",
                    (uid, created, updated, json.dumps(payload), batch + batch_offset),
                )
        for tid, created, updated, status, via, req, payload, batch in data.get("tickets", []):
            if keep(batch):
                cur.execute(
                    "insert into raw.zendesk__tickets (id, created_at, updated_at, status,"
                    " via_channel, requester_id, payload, _batch_id)"
                    " values (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        tid,
                        created,
                        updated,
                        status,
                        via,
                        req,
                        json.dumps(payload),
                        batch + batch_offset,
                    ),
                )
        for mid, tid, created, updated, payload, batch in data.get("metric_sets", []):
            if keep(batch):
                cur.execute(
                    "insert into raw.zendesk__ticket_metric_sets (id, ticket_id, created_at,"
                    " updated_at, payload, _batch_id) values (%s, %s, %s, %s, %s, %s)",
                    (mid, tid, created, updated, json.dumps(payload), batch + batch_offset),
                )
        for line, (cid, channel, method, start, end, upd, payload, batch) in enumerate(
            data.get("contacts", []), start=1
        ):
            if keep(batch):
                cur.execute(
                    "insert into raw.amazon_connect__contact_records (contact_id, channel,"
                    " initiation_method, initiation_timestamp, disconnect_timestamp,"
                    " last_update_timestamp, payload, _batch_id, _source_file, _line)"
                    " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        cid,
                        channel,
                        method,
                        start,
                        end,
                        upd,
                        json.dumps(payload),
                        batch + batch_offset,
                        f"ctr-{batch}.jsonl",
                        line,
                    ),
                )
        for line, (rid, end_date, finished, status, payload, batch) in enumerate(
            data.get("responses", []), start=1
        ):
            if keep(batch):
                cur.execute(
                    "insert into raw.qualtrics__responses (response_id, end_date, finished,"
                    " status, payload, _batch_id, _source_file, _line)"
                    " values (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        rid,
                        end_date,
                        finished,
                        status,
                        json.dumps(payload),
                        batch + batch_offset,
                        f"survey-{batch}.csv",
                        line + 3,
                    ),
                )
        for line, (oid, email, ordered, amount, cur_code, status, updated, batch) in enumerate(
            data.get("orders", []), start=1
        ):
            if keep(batch):
                cur.execute(
                    "insert into raw.crm__orders (order_id, customer_email, ordered_at, amount,"
                    " currency, status, updated_at, payload, _batch_id, _source_file, _line)"
                    " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        oid,
                        email,
                        ordered,
                        amount,
                        cur_code,
                        status,
                        updated,
                        json.dumps({"order_id": oid}),
                        batch + batch_offset,
                        f"orders-{batch}.csv",
                        line + 1,
                    ),
                )


def make_settings(state_dir: Path, **env: str) -> Settings:
    environ = {"CX_IDENTITY__HASH_KEY": HASH_KEY, "CX_STATE_DIR": str(state_dir), **env}
    return load_settings(environ=environ)


# The marts an incremental build must reproduce exactly, with their keys (for row order);
# columns that record when a row was written are left out of the comparison.
MART_KEYS = {
    "touchpoint_scorecard": "touchpoint_id, period_grain, period_start, segment, metric",
    "touchpoint_scorecard_wide": "touchpoint_id, period_grain, period_start, segment",
    "touchpoint_transitions": "period_grain, period_start, from_touchpoint_id, to_touchpoint_id",
    "fct_interactions": "interaction_id",
    "fct_survey_responses": "response_id",
    "fct_orders": "order_id",
    "touchpoint_pain_points": "period_grain, rank",
    "scorecard_weeks": "period_start",
    "fct_followups": "followup_key",
}
WRITE_TIME_COLUMNS = {"built_at", "_changed_at"}


def marts_snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the compared marts, in key order, without the write-time columns."""
    snapshot = {}
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        for name, key in MART_KEYS.items():
            cur.execute(
                "select column_name from information_schema.columns where table_schema ="
                " 'marts_build' and table_name = %s order by ordinal_position",
                (name,),
            )
            columns = [c for (c,) in cur.fetchall() if c not in WRITE_TIME_COLUMNS]
            cur.execute(f"select {', '.join(columns)} from marts_build.{name} order by {key}")
            snapshot[name] = cur.fetchall()
    return snapshot


def assert_same_marts(
    full: dict[str, list[tuple[Any, ...]]], incremental: dict[str, list[tuple[Any, ...]]]
) -> None:
    """Row by row: a full refresh and the incremental builds gave the same marts."""
    for name in MART_KEYS:
        assert len(full[name]) == len(incremental[name]), name
        for a, b in zip(full[name], incremental[name], strict=True):
            assert a == b, f"{name}: full {a} != incremental {b}"
