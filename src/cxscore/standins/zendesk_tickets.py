"""The ticket-writing half of the local Zendesk stand-in (closing the loop, signals.md).

Real shapes (developer.zendesk.com, Support API "Tickets"):

- ``POST /api/v2/tickets`` (``.json`` optional) with ``{"ticket": {...}}``: ``201 Created``,
  ``Location`` header, body ``{"ticket": {...}, "audit": {...}}``. The first comment
  (``comment.body``, ``comment.public``) becomes the description and an audit ``Comment``
  event. Validation errors answer ``422`` with ``{"error": "RecordInvalid", "description":
  "Record validation errors", "details": {<field>: [{"description": ..., "error": ...}]}}``:
  a missing comment body, a ``requester_id`` that is no user, an ``assignee_id`` that is no
  agent, a ``task`` without ``due_at``.
- ``GET /api/v2/tickets?external_id=X``: ``{"tickets": [...], "next_page": null,
  "previous_page": null, "count": n}`` (every ticket whose external_id is X).

A created ticket also becomes a new version of the ``tickets`` stream (with a metric set), so
the next incremental export returns it like any other ticket. The stand-in's clock is the
served delivery's ``zendesk_cutoff`` when the world has one, else the wall clock.
:meth:`TicketStore.solve` lets a test (or a demo) solve a ticket at a given time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from cxscore.standins.zendesk_data import ZendeskData

HOST = "https://cxdemo.zendesk.com"
AGENT_ROLES = ("agent", "admin")


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _invalid(field: str, description: str) -> tuple[int, dict[str, Any]]:
    return HTTPStatus.UNPROCESSABLE_ENTITY, {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {field: [{"description": description, "error": "InvalidValue"}]},
    }


class TicketStore:
    """Tickets created through the API, kept in memory and added to the tickets stream."""

    def __init__(self, data: ZendeskData) -> None:
        self.data = data
        self.lock = threading.Lock()
        self.created: dict[int, dict[str, Any]] = {}
        self.posts = 0  # POSTs that created a ticket
        self._next_id: int | None = None
        self._users: tuple[Any, dict[int, str]] | None = None

    # ----------------------------------------------------------------------------- helpers
    def now(self) -> int:
        return self.data.now() or int(time.time())

    def _users_by_id(self) -> dict[int, str]:
        """id -> role of the users served now (recomputed when the increment changes)."""
        view = self.data.current("users")
        if self._users is None or self._users[0] is not view:
            store = self.data.streams["users"]
            roles = {v.item_id: str(store.read(v).get("role") or "") for v in view[1]}
            self._users = (view, roles)
        return self._users[1]

    def _new_id(self) -> int:
        if self._next_id is None:
            ids = [v.item_id for v in self.data.streams["tickets"].versions]
            self._next_id = max(ids, default=0) + 1
        tid = self._next_id
        self._next_id += 1
        return tid

    # ------------------------------------------------------------------------------- API
    def find(self, external_id: str) -> dict[str, Any]:
        with self.lock:
            found = [t for t in self.created.values() if t.get("external_id") == external_id]
        return {"tickets": found, "next_page": None, "previous_page": None, "count": len(found)}

    def create(self, body: Any) -> tuple[int, dict[str, Any]]:
        """(status, body) of ``POST /api/v2/tickets``."""
        ticket_in = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(ticket_in, dict):
            return HTTPStatus.BAD_REQUEST, {
                "error": "InvalidEndpoint",
                "description": "the body needs a 'ticket' object",
            }
        comment = ticket_in.get("comment") or {}
        text = (
            comment.get("body") or comment.get("html_body") if isinstance(comment, dict) else None
        )
        if not text:
            return _invalid("description", "Description: cannot be blank")
        users = self._users_by_id()
        requester = ticket_in.get("requester_id")
        if requester is not None and (not isinstance(requester, int) or requester not in users):
            return _invalid("requester", "Requester: is invalid")
        if requester is None:  # Zendesk: the authenticated user (here: the first agent)
            agents = sorted(uid for uid, role in users.items() if role in AGENT_ROLES)
            requester = agents[0] if agents else None
        assignee = ticket_in.get("assignee_id")
        if assignee is not None and users.get(assignee) not in AGENT_ROLES:
            return _invalid("assignee", "Assignee: is not an agent")
        if ticket_in.get("type") == "task" and not ticket_in.get("due_at"):
            return _invalid("due_date", "Due date: cannot be blank for a task")
        with self.lock:
            now = self.now()
            tid = self._new_id()
            is_public = bool(comment.get("public", True))
            ticket = {
                "url": f"{HOST}/api/v2/tickets/{tid}.json",
                "id": tid,
                "external_id": ticket_in.get("external_id"),
                "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
                "created_at": _iso(now),
                "updated_at": _iso(now),
                "generated_timestamp": now,
                "type": ticket_in.get("type"),
                "subject": ticket_in.get("subject"),
                "raw_subject": ticket_in.get("subject"),
                "description": text,
                "priority": ticket_in.get("priority"),
                "status": "open" if assignee is not None else "new",
                "recipient": None,
                "requester_id": requester,
                "submitter_id": requester,
                "assignee_id": assignee,
                "organization_id": None,
                "group_id": ticket_in.get("group_id"),
                "collaborator_ids": [],
                "follower_ids": [],
                "email_cc_ids": [],
                "is_public": is_public,
                "due_at": ticket_in.get("due_at"),
                "tags": sorted({str(t) for t in ticket_in.get("tags") or []}),
                "custom_fields": [],
                "fields": [],
                "followup_ids": [],
                "satisfaction_rating": None,
                "allow_channelback": False,
                "allow_attachments": True,
                "from_messaging_channel": False,
            }
            self.created[tid] = ticket
            self.posts += 1
            self._publish(ticket, solved_at=None)
        audit = {
            "id": 50_000_000_000 + tid,
            "ticket_id": tid,
            "created_at": ticket["created_at"],
            "author_id": requester,
            "metadata": {"system": {}, "custom": {}},
            "events": [
                {
                    "id": 60_000_000_000 + tid,
                    "type": "Comment",
                    "author_id": requester,
                    "body": text,
                    "public": is_public,
                    "attachments": [],
                },
            ],
            "via": ticket["via"],
        }
        return HTTPStatus.CREATED, {"ticket": ticket, "audit": audit}

    def solve(self, ticket_id: int, solved_at: int) -> dict[str, Any]:
        """Mark a created ticket solved at ``solved_at`` (Unix seconds): a new version in the
        export, with the metric set's ``solved_at``."""
        with self.lock:
            ticket = {**self.created[ticket_id]}
            ticket["status"] = "solved"
            ticket["updated_at"] = _iso(solved_at)
            ticket["generated_timestamp"] = solved_at
            self.created[ticket_id] = ticket
            self._publish(ticket, solved_at=solved_at)
        return ticket

    def _publish(self, ticket: dict[str, Any], *, solved_at: int | None) -> None:
        created = ticket["created_at"]
        metric_set = {
            "url": f"{HOST}/api/v2/ticket_metrics/{30_000_000_000 + ticket['id']}.json",
            "id": 30_000_000_000 + ticket["id"],
            "ticket_id": ticket["id"],
            "created_at": created,
            "updated_at": ticket["updated_at"],
            "group_stations": 1,
            "assignee_stations": 1 if ticket.get("assignee_id") else 0,
            "reopens": 0,
            "replies": 0,
            "solved_at": _iso(solved_at) if solved_at is not None else None,
            "reply_time_in_minutes": {"calendar": None, "business": None},
        }
        line = orjson.dumps({"ticket": ticket, "metric_set": metric_set})
        self.data.add_version(
            "tickets", line, ts=int(ticket["generated_timestamp"]), item_id=int(ticket["id"])
        )
