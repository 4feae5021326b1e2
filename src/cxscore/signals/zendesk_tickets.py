"""Zendesk Support Tickets API, the two calls closing the loop needs (signals.md).

- ``POST {base}/api/v2/tickets`` with ``{"ticket": {...}}``: ``201`` and ``{"ticket":
  {...}, "audit": {...}}``; ``422`` ``RecordInvalid`` with ``details`` when Zendesk refuses
  the ticket.
- ``GET {base}/api/v2/tickets?external_id=X``: ``{"tickets": [...], "count": n, ...}``.

Same credentials and retry rules as the export client (:mod:`cxscore.sources.zendesk`):
basic auth ``{email}/token:{api_token}``; ``429``: wait ``Retry-After``, retry; ``5xx`` and
network errors: exponential backoff; at most ``sources.zendesk.max_retries`` retries per
call. A POST is never repeated blindly: after a failed attempt whose outcome is unknown (5xx,
timeout, connection lost) the ticket is looked up by ``external_id`` first. 401/403 raise
(the credentials are wrong for every ticket); any other 4xx is returned as a
:class:`Refusal`, for the caller to record and alert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import requests

from cxscore.settings import ZendeskSettings
from cxscore.sources.zendesk import (
    CREDENTIALS_HINT,
    RetryBudget,
    ZendeskError,
    _retry_after,
    api_session,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """Zendesk refused the request (a 4xx other than 401, 403 and 429)."""

    status: int
    error: str  # Zendesk's error, description and details, shortened


class TicketsApi:
    """``POST /api/v2/tickets`` and ``GET /api/v2/tickets?external_id=`` with retries."""

    def __init__(
        self,
        settings: ZendeskSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        base_url, self.session = api_session(
            settings,
            user_agent="cxscore-followup",
            missing_base_url="closed_loop needs sources.zendesk.base_url (the Zendesk account "
            "to create follow-up tickets in; env CX_SOURCES__ZENDESK__BASE_URL)",
        )
        self.endpoint = base_url + "/api/v2/tickets"
        self._sleep = sleep
        self.requests = 0
        self.rate_limited = 0

    def find(self, external_id: str) -> dict[str, Any] | None:
        """The ticket whose external_id is ``external_id`` (the oldest one), else None."""
        result = self._call("GET", None, {"external_id": external_id})
        if isinstance(result, Refusal):
            raise ZendeskError(
                f"Zendesk refused the look-up of external_id {external_id!r}: HTTP "
                f"{result.status} {result.error}"
            )
        tickets = [t for t in result.get("tickets") or [] if isinstance(t, dict)]
        tickets = [t for t in tickets if t.get("external_id") == external_id]
        return min(tickets, key=lambda t: int(t.get("id") or 0)) if tickets else None

    def create(self, ticket: dict[str, Any]) -> dict[str, Any] | Refusal:
        """Create the ticket once: the created (or already existing) ticket, or a Refusal."""
        external_id = str(ticket["external_id"])
        uncertain = False
        attempts = 0
        while True:
            attempts += 1
            if attempts > self.settings.max_retries + 1:
                raise ZendeskError(
                    f"creating the ticket {external_id!r} failed after {attempts - 1} attempts "
                    f"(sources.zendesk.max_retries={self.settings.max_retries}); the ledger "
                    "row stays pending and the next run looks it up before creating"
                )
            if uncertain:  # an earlier POST may have created it after all
                found = self.find(external_id)
                if found is not None:
                    return found
            result = self._call("POST", {"ticket": ticket}, None, once=True)
            if result is None:  # outcome unknown: look up, then try again
                uncertain = True
                continue
            if isinstance(result, Refusal):
                return result
            created = result.get("ticket")
            if not isinstance(created, dict) or created.get("id") is None:
                raise ZendeskError("Zendesk answered 201 without a ticket id")
            return created

    # ------------------------------------------------------------------------------ HTTP
    def _call(
        self,
        method: str,
        body: dict[str, Any] | None,
        params: dict[str, Any] | None,
        *,
        once: bool = False,
    ) -> Any:
        """The decoded JSON body of a 2xx answer, a Refusal for a 4xx, or (``once``: a POST)
        None after one failed attempt whose outcome is unknown. 429 is always waited out
        and repeated (Zendesk did not process the request)."""
        cfg = self.settings
        budget = RetryBudget(cfg, f"{method} /api/v2/tickets")
        while True:
            wait: float | None = None
            self.requests += 1
            try:
                resp = self.session.request(
                    method, self.endpoint, params=params, json=body, timeout=cfg.timeout_seconds
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"network error: {type(exc).__name__}"
            else:
                status = resp.status_code
                if 200 <= status < 300:
                    try:
                        return orjson.loads(resp.content)
                    except orjson.JSONDecodeError:
                        problem = f"HTTP {status} with a body that is not JSON"
                elif status == 429:
                    self.rate_limited += 1
                    problem = "HTTP 429 (rate limited)"
                    wait = _retry_after(resp.headers.get("Retry-After"), cfg.backoff_seconds)
                elif status in (401, 403):
                    hint = CREDENTIALS_HINT  # not-a-secret: names the variables only
                    raise ZendeskError(
                        f"Zendesk refused the credentials (HTTP {status} on {method} "
                        f"/api/v2/tickets): {hint}"
                    )
                elif status >= 500:
                    problem = f"HTTP {status}"
                else:
                    return Refusal(status, _describe_refusal(resp))
            self._sleep(budget.wait(problem, wait))
            if once and not problem.startswith("HTTP 429"):
                return None


def _describe_refusal(resp: requests.Response) -> str:
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return resp.text[:300]
    if not isinstance(body, dict):
        return str(body)[:300]
    parts = [str(body.get("error") or ""), str(body.get("description") or "")]
    details = body.get("details")
    if isinstance(details, dict):
        for field, items in details.items():
            for item in items if isinstance(items, list) else [items]:
                text = item.get("description") if isinstance(item, dict) else item
                parts.append(f"{field}: {text}")
    return "; ".join(p for p in parts if p)[:500]
