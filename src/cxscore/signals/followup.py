"""Closing the loop (signals.md): one Zendesk follow-up ticket per due follow-up, exactly once.

The due follow-ups come from dbt (``marts.fct_followups``, ``is_due``: an NPS <= 6, a CSAT
<= 2 or a negative interaction, at most one per customer per ``closed_loop.cooldown_days``,
consent honoured). For each one without a finished ledger row:

1. the ledger row ``meta.followups`` (status ``pending``) is committed BEFORE any call;
2. a row that was already pending (a crashed or retried run) is first looked up in Zendesk
   by its ``external_id`` (``cxscore-followup:<source>:<id>``): a ticket found is recorded,
   never created again;
3. ``POST /api/v2/tickets`` (requester = the customer when known, tags ``cxscore_followup``
   and the touchpoint id, group/assignee from ``closed_loop.routes`` of the touchpoint's
   owner role, a private note linking the response or interaction, no customer text unless
   ``closed_loop.include_comment``); the answer sets status ``created`` with the ticket id;
4. a 4xx other than 429 sets status ``failed`` with the HTTP status and Zendesk's error, and
   is alerted on the default alert channels; it is not retried by later runs.

One run at a time (an advisory lock). ``dry_run`` writes nothing and calls nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2.extensions

from cxscore.alerts import Alert, send_alert
from cxscore.errors import CxError
from cxscore.notify.routing import role_slug
from cxscore.redaction import redact_url
from cxscore.settings import FollowupRoute, Settings
from cxscore.signals.zendesk_tickets import Refusal, TicketsApi

log = logging.getLogger(__name__)

TAG = "cxscore_followup"
EXTERNAL_PREFIX = "cxscore-followup:"
_LOCK = "cxscore.followup"

REASONS = {
    "nps": "a detractor NPS answer",
    "csat": "an unhappy CSAT answer",
    "negative_sentiment": "a negative customer moment (sentiment)",
}


def external_id(followup_key: str) -> str:
    return EXTERNAL_PREFIX + followup_key


_CANDIDATES = """
select f.followup_key, f.source, f.record_id, f.reason, f.interaction_id, f.touchpoint_id,
    f.touchpoint_name, f.owner, f.customer_id, f.requester_id, f.score, f.triggered_at,
    l.status
from marts.fct_followups as f
left join meta.followups as l on l.followup_key = f.followup_key
where f.is_due and (l.status is null or l.status = 'pending')
order by l.status nulls last, f.triggered_at, f.followup_key
limit %s
"""
_COLUMNS = [
    "followup_key",
    "source",
    "record_id",
    "reason",
    "interaction_id",
    "touchpoint_id",
    "touchpoint_name",
    "owner",
    "customer_id",
    "requester_id",
    "score",
    "triggered_at",
    "ledger_status",
]


def due_followups(url: str, limit: int) -> list[dict[str, Any]]:
    """Due follow-ups without a finished ledger row (pending ones first)."""
    from cxscore.warehouse import transaction

    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('marts.fct_followups') is not null")
        row = cur.fetchone()
        if not (row and row[0]):
            raise CxError(
                "marts.fct_followups does not exist: build and publish the scorecard first "
                "(`cxscore build`)"
            )
        cur.execute(_CANDIDATES, (limit,))
        return [dict(zip(_COLUMNS, r, strict=True)) for r in cur.fetchall()]


def route_of(settings: Settings, owner: str | None) -> FollowupRoute:
    """The Zendesk group/assignee of a role's follow-ups: its route, else ``default``."""
    routes = settings.closed_loop.routes
    return routes.get(role_slug(owner or "")) or routes.get("default") or FollowupRoute()


def _comment_text(url: str, response_id: str) -> str | None:
    """The survey comment, from raw (only with closed_loop.include_comment)."""
    from cxscore.warehouse import transaction

    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select payload ->> 'comment' from raw.qualtrics__responses where response_id = %s"
            " order by _batch_id desc limit 1",
            (response_id,),
        )
        row = cur.fetchone()
    return str(row[0]).strip() or None if row and row[0] else None


def build_ticket(
    settings: Settings, candidate: dict[str, Any], due_at: datetime, comment: str | None = None
) -> dict[str, Any]:
    """The ``ticket`` object of ``POST /api/v2/tickets`` for one follow-up."""
    cfg = settings.closed_loop
    source, record = candidate["source"], candidate["record_id"]
    touchpoint = candidate["touchpoint_id"] or "unmapped_other"
    place = candidate["touchpoint_name"] or touchpoint
    reason = REASONS.get(candidate["reason"], candidate["reason"])
    score = candidate["score"]
    what = f"{candidate['reason']} {score:g}" if score is not None else candidate["reason"]
    lines = [
        f"cxscore follow-up: {reason} ({what}) at {place} ({touchpoint}).",
        f"Triggered by {source} {record}"
        + (
            f" on {candidate['triggered_at']:%Y-%m-%d %H:%M} UTC."
            if candidate["triggered_at"]
            else "."
        ),
    ]
    base = (settings.sources.zendesk.base_url or "").rstrip("/")
    interaction = candidate["interaction_id"] or ""
    if interaction.startswith("zendesk:") and base:
        lines.append(f"Interaction: {base}/agent/tickets/{interaction.split(':', 1)[1]}")
    elif interaction:
        lines.append(f"Interaction: {interaction}")
    if settings.owners.report_url:
        lines.append(f"Scorecard: {redact_url(settings.owners.report_url)}")
    lines.append(
        f"Please contact the customer and solve this ticket within {cfg.sla_hours:g} hours."
    )
    if comment:
        lines.append(f"Customer comment: {comment}")
    ticket: dict[str, Any] = {
        "subject": f"Follow-up: {reason} at {place}",
        "comment": {"body": "\n".join(lines), "public": False},
        "external_id": external_id(candidate["followup_key"]),
        "tags": [TAG, touchpoint],
        "type": "task",
        "due_at": due_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "priority": "normal",
    }
    if candidate["requester_id"] is not None:
        ticket["requester_id"] = int(candidate["requester_id"])
    route = route_of(settings, candidate["owner"])
    if route.group_id is not None:
        ticket["group_id"] = route.group_id
    if route.assignee_id is not None:
        ticket["assignee_id"] = route.assignee_id
    return ticket


@contextlib.contextmanager
def _run_lock(url: str) -> Iterator[None]:
    from cxscore.warehouse import connect

    conn = connect(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select pg_advisory_lock(hashtext(%s))", (_LOCK,))
        yield
    finally:
        conn.close()  # ends the session: the lock goes with it


def _reserve(
    conn: psycopg2.extensions.connection,
    candidate: dict[str, Any],
    due_at: datetime,
    run_id: str | None,
) -> tuple[bool, datetime]:
    """Write (or re-take) the ledger row before any call; (was it pending already, due_at)."""
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            insert into meta.followups (followup_key, external_id, source, record_id, reason,
                touchpoint_id, customer_id, owner, status, attempts, triggered_at, due_at,
                run_id)
            values (%s, %s, %s, %s, %s, %s, %s, %s, 'pending', 1, %s, %s, %s)
            on conflict (followup_key) do update
                set attempts = meta.followups.attempts + 1, updated_at = now(),
                    run_id = excluded.run_id
            returning (xmax <> 0) as existed, due_at, status
            """,
            (
                candidate["followup_key"],
                external_id(candidate["followup_key"]),
                candidate["source"],
                candidate["record_id"],
                candidate["reason"],
                candidate["touchpoint_id"],
                candidate["customer_id"],
                candidate["owner"],
                candidate["triggered_at"],
                due_at,
                run_id,
            ),
        )
        existed, stored_due, status = cur.fetchone()
    if status != "pending":
        raise CxError(f"follow-up {candidate['followup_key']} is already {status}")
    return bool(existed), stored_due


def _record(
    conn: psycopg2.extensions.connection, key: str, result: dict[str, Any] | Refusal
) -> None:
    with conn, conn.cursor() as cur:
        if isinstance(result, Refusal):
            cur.execute(
                "update meta.followups set status = 'failed', http_status = %s, error = %s,"
                " updated_at = now() where followup_key = %s",
                (result.status, result.error, key),
            )
        else:
            cur.execute(
                "update meta.followups set status = 'created', ticket_id = %s,"
                " created_at = coalesce(%s::timestamptz, now()), http_status = null,"
                " error = null, updated_at = now() where followup_key = %s",
                (int(result["id"]), result.get("created_at"), key),
            )


def _alert_refusals(settings: Settings, failed: list[dict[str, Any]], run_id: str | None) -> None:
    lines = [
        f"{f['followup_key']} (touchpoint {f['touchpoint_id']}): HTTP {f['http_status']} "
        f"{f['error']}"
        for f in failed[:20]
    ]
    if len(failed) > 20:
        lines.append(f"... and {len(failed) - 20} more")
    lines.append(
        "Recorded in meta.followups (status 'failed'); not retried. Fix the cause (e.g. "
        "closed_loop.routes ids, the requester) and delete the rows to try again."
    )
    errors = send_alert(
        settings,
        Alert(
            event="followup_failed",
            severity="warning",
            title=f"Zendesk refused {len(failed)} follow-up ticket(s)",
            run_id=run_id,
            table="meta.followups",
            observed=f"{len(failed)} refused",
            expected="every due follow-up created",
            lines=lines,
        ),
    )
    for error in errors:
        log.warning("follow-up alert not delivered: %s", error)


def run_followups(
    settings: Settings,
    *,
    url: str,
    dry_run: bool = False,
    run_id: str | None = None,
    api: TicketsApi | None = None,
) -> dict[str, Any]:
    """Create the due follow-up tickets; returns counts (and, dry run, what would be made)."""
    from cxscore.warehouse import connect

    cfg = settings.closed_loop
    summary: dict[str, Any] = {
        "enabled": cfg.enabled,
        "dry_run": dry_run,
        "due": 0,
        "created": 0,
        "found_existing": 0,
        "failed": 0,
        "rate_limited": 0,
    }
    if not cfg.enabled:
        summary["note"] = "closed_loop.enabled is false: no follow-ups (docs/configuration.md)"
        return summary
    if dry_run:
        due = due_followups(url, cfg.max_per_run)
        summary["due"] = len(due)
        summary["would_create"] = [
            build_ticket(settings, c, datetime.now(UTC) + timedelta(hours=cfg.sla_hours))
            for c in due
        ]
        return summary
    api = api or TicketsApi(settings.sources.zendesk)
    failed: list[dict[str, Any]] = []
    with _run_lock(url):
        due = due_followups(url, cfg.max_per_run)
        summary["due"] = len(due)
        conn = connect(url)
        try:
            for candidate in due:
                key = candidate["followup_key"]
                new_due = datetime.now(UTC) + timedelta(hours=cfg.sla_hours)
                existed, due_at = _reserve(conn, candidate, new_due, run_id)
                if existed:  # an earlier run may have created it: look before creating
                    found = api.find(external_id(key))
                    if found is not None:
                        _record(conn, key, found)
                        summary["found_existing"] += 1
                        continue
                comment = None
                if cfg.include_comment and candidate["source"] == "qualtrics":
                    comment = _comment_text(url, candidate["record_id"])
                result = api.create(build_ticket(settings, candidate, due_at, comment))
                _record(conn, key, result)
                if isinstance(result, Refusal):
                    summary["failed"] += 1
                    failed.append(
                        {
                            "followup_key": key,
                            "touchpoint_id": candidate["touchpoint_id"],
                            "http_status": result.status,
                            "error": result.error,
                        }
                    )
                else:
                    summary["created"] += 1
        finally:
            conn.close()
    summary["rate_limited"] = api.rate_limited
    if failed:
        _alert_refusals(settings, failed, run_id)
    log.info("follow-ups: %s", summary)
    return summary
