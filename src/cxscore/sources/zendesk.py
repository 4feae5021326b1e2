"""Zendesk Support: the incremental cursor export API (HTTP) and its pages -> raw rows.

Requests (per https://developer.zendesk.com, "Using the Incremental Exports API"):

* ``GET {base}/api/v2/incremental/tickets/cursor.json?include=metric_sets&per_page=N``
  with ``start_time=<epoch>`` on the very first run, ``cursor=<after_cursor>`` after that;
  ``users/cursor.json`` the same way. Pages are followed while ``end_of_stream`` is false.
* Basic auth ``{email}/token:{api_token}`` from the settings (env
  ``CX_SOURCES__ZENDESK__EMAIL`` / ``CX_SOURCES__ZENDESK__API_TOKEN``, or the Airflow
  connection ``zendesk_default`` passed into the settings by the DAG).
* 429: wait ``Retry-After`` seconds and retry; 5xx, network errors and truncated bodies:
  retry with exponential backoff (``backoff_seconds``); at most ``max_retries`` retries
  per request (429s included), then fail;
  401/403: fail at once naming the credentials to check; other 4xx: fail with the body.

Parsing: each ticket / metric set / user becomes a row (typed keys + the object as the API
returned it in ``payload``). An item is rejected when it is not an object, its ``id`` is
not an integer, or a timestamp (``created_at``, ``updated_at``) cannot be read.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import requests

from cxscore.errors import CxError
from cxscore.settings import ZendeskSettings
from cxscore.sources.common import (
    BadRecord,
    Rejection,
    Row,
    clean_text,
    number_error,
    timestamp_text,
    without_nul,
)

log = logging.getLogger(__name__)

SOURCE = "zendesk"
TICKET_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "status",
    "via_channel",
    "requester_id",
    "payload",
)
METRIC_SET_COLUMNS = ("id", "ticket_id", "created_at", "updated_at", "payload")
USER_COLUMNS = ("id", "created_at", "updated_at", "payload")

_BIGINT = 2**63
_MAX_BACKOFF = 60.0

CREDENTIALS_HINT = (
    "check CX_SOURCES__ZENDESK__EMAIL / CX_SOURCES__ZENDESK__API_TOKEN (or the Airflow "
    "connection zendesk_default)"
)


class ZendeskError(CxError):
    """The Zendesk API could not be read; the message says what to check."""


# --------------------------------------------------------------------------- parsing


@dataclass
class Page:
    """One parsed page of a cursor export."""

    rows: dict[str, list[Row]] = field(default_factory=dict)  # table key -> rows
    rejections: list[Rejection] = field(default_factory=list)
    after_cursor: str | None = None
    after_url: str | None = None
    end_of_stream: bool = True
    items: int = 0
    max_updated_at: str | None = None


def _id(value: Any, key: str, *, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if type(value) is int and -_BIGINT <= value < _BIGINT:
        return value
    if value is None:
        return None  # a missing id is loaded (quality checks judge completeness)
    raise BadRecord(f"{key}: {value!r} is not a 64-bit integer")


def _ts(value: Any, key: str) -> str | None:
    try:
        return timestamp_text(value)
    except ValueError as exc:
        raise BadRecord(f"{key}: {exc}") from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return clean_text(value)  # a NUL cannot go into a text column
    if isinstance(value, dict | list):
        return _payload(value).decode()
    return str(value)


def _payload(item: Any) -> bytes:
    data = orjson.dumps(item)
    return orjson.dumps(without_nul(item)) if b"\\u0000" in data else data


def ticket_row(item: dict[str, Any]) -> Row:
    via = item.get("via")
    channel = via.get("channel") if isinstance(via, dict) else None
    return (
        _id(item.get("id"), "id"),
        _ts(item.get("created_at"), "created_at"),
        _ts(item.get("updated_at"), "updated_at"),
        _text(item.get("status")),
        _text(channel),
        _id(item.get("requester_id"), "requester_id", required=False),
        _payload(item),
    )


def _number(value: Any, key: str, *, integer: bool = False) -> None:
    error = number_error(value, integer=integer)
    if error is not None:
        raise BadRecord(f"{key}: {error}")


def metric_set_row(item: dict[str, Any]) -> Row:
    # the fields staging casts: a value the cast would refuse rejects the item here
    reply = item.get("reply_time_in_minutes")
    if isinstance(reply, dict):
        _number(reply.get("calendar"), "reply_time_in_minutes.calendar")
    elif reply is not None:
        raise BadRecord(f"reply_time_in_minutes: {reply!r} is not an object")
    _number(item.get("group_stations"), "group_stations", integer=True)
    _number(item.get("reopens"), "reopens", integer=True)
    _ts(item.get("solved_at"), "solved_at")
    return (
        _id(item.get("id"), "id"),
        _id(item.get("ticket_id"), "ticket_id", required=False),
        _ts(item.get("created_at"), "created_at"),
        _ts(item.get("updated_at"), "updated_at"),
        _payload(item),
    )


def user_row(item: dict[str, Any]) -> Row:
    return (
        _id(item.get("id"), "id"),
        _ts(item.get("created_at"), "created_at"),
        _ts(item.get("updated_at"), "updated_at"),
        _payload(item),
    )


# stream -> [(key in the page body, table key, row builder)]
STREAM_ITEMS: dict[str, list[tuple[str, str, Callable[[dict[str, Any]], Row]]]] = {
    "tickets": [
        ("tickets", "tickets", ticket_row),
        ("metric_sets", "ticket_metric_sets", metric_set_row),
    ],
    "users": [("users", "users", user_row)],
}


def parse_page(stream: str, body: dict[str, Any]) -> Page:
    """Rows per table key and rejections of one decoded page of ``stream``."""
    page = Page(
        after_cursor=body.get("after_cursor") or None,
        after_url=body.get("after_url") or None,
        end_of_stream=bool(body.get("end_of_stream", True)),
    )
    newest: datetime | None = None
    for body_key, table_key, build in STREAM_ITEMS[stream]:
        rows: list[Row] = []
        items = body.get(body_key) or []
        if not isinstance(items, list):
            raise ZendeskError(f"Zendesk {stream} page: '{body_key}' is not a list")
        for index, item in enumerate(items, start=1):
            page.items += 1
            if not isinstance(item, dict):
                page.rejections.append(
                    Rejection(index, f"{body_key}[{index}] is not a JSON object", _raw(item))
                )
                continue
            try:
                row = build(item)
            except BadRecord as bad:
                page.rejections.append(Rejection(index, f"{body_key}: {bad}", _raw(item)))
                continue
            rows.append(row)
            updated = row[2] if table_key == "tickets" or table_key == "users" else row[3]
            if isinstance(updated, str):
                moment = datetime.fromisoformat(updated)
                newest = moment if newest is None or moment > newest else newest
        page.rows[table_key] = rows
    page.max_updated_at = None if newest is None else newest.isoformat()
    return page


def _raw(item: Any) -> str:
    try:
        return clean_text(orjson.dumps(item).decode())
    except orjson.JSONEncodeError:
        return clean_text(repr(item))


# --------------------------------------------------------------------------- HTTP


def next_cursor_params(
    client: ZendeskClient, stream: str, start_time: int
) -> Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None]:
    """For :meth:`ZendeskClient.pages` over a cursor export: the next page's parameters
    from a page's ``after_cursor``; None after a page with ``end_of_stream`` (absent:
    true), or an empty page that gives no new cursor (no progress is possible)."""

    def following(params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any] | None:
        if bool(body.get("end_of_stream", True)):
            return None
        cursor = params.get("cursor")
        after = body.get("after_cursor") or cursor
        if after == cursor and not any(
            isinstance(body.get(key), list) and body[key] for key, _, _ in STREAM_ITEMS[stream]
        ):
            return None
        return client.params(stream, cursor=after, start_time=start_time)

    return following


def start_time_epoch(start: datetime) -> int:
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return int(start.timestamp())


def api_session(
    settings: ZendeskSettings,
    *,
    user_agent: str,
    missing_base_url: str,
    session: requests.Session | None = None,
) -> tuple[str, requests.Session]:
    """The account's base URL and a session with Zendesk's API-token auth; ZendeskError
    (``missing_base_url``, or which variables to set) when the account is not configured."""
    if not settings.base_url:
        raise ZendeskError(missing_base_url)
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    if not settings.email or not token:
        raise ZendeskError(f"Zendesk credentials are missing: {CREDENTIALS_HINT}")
    session = session or requests.Session()
    session.auth = (f"{settings.email}/token", token)
    session.headers["Accept"] = "application/json"
    session.headers["User-Agent"] = user_agent
    return settings.base_url.rstrip("/"), session


class ZendeskClient:
    """GETs pages of the cursor export with Zendesk's retry rules."""

    def __init__(
        self,
        settings: ZendeskSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.base_url, self.session = api_session(
            settings,
            user_agent="cxscore-extract",
            session=session,
            missing_base_url="sources.zendesk.base_url is not set (e.g. "
            "https://example.zendesk.com; env CX_SOURCES__ZENDESK__BASE_URL)",
        )
        self._sleep = sleep
        self.requests = 0
        self.retries = 0

    def url(self, stream: str) -> str:
        return f"{self.base_url}/api/v2/incremental/{stream}/cursor.json"

    def params(self, stream: str, *, cursor: str | None, start_time: int) -> dict[str, Any]:
        params: dict[str, Any] = {"per_page": self.settings.per_page}
        if stream == "tickets":
            params["include"] = "metric_sets"
        if cursor:
            params["cursor"] = cursor
        else:
            params["start_time"] = start_time
        return params

    def pages(
        self,
        url: str,
        params: dict[str, Any],
        next_params: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None],
    ) -> Generator[tuple[dict[str, Any], dict[str, Any]], None, None]:
        """``(params, body)`` of each page from ``params`` on; ``next_params(params, body)``
        gives the next page's parameters (None after the last page). The next page is
        requested while the caller loads this one: a thread stays one page ahead, so the
        API's time to answer overlaps with the caller's parsing and ``COPY`` (the first
        load of a Zendesk account is thousands of pages). Nothing else changes: the same
        requests in the same order, each with its retries; an error getting a page is
        raised when the caller asks for that page; closing the generator stops the
        fetching (a page fetched ahead and not asked for is dropped: GETs change
        nothing)."""
        from cxscore.load.copy import prefetched

        def one_by_one() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
            current: dict[str, Any] | None = params
            while current is not None:
                body = self.get(url, current)
                following = next_params(current, body)
                yield current, body
                current = following

        # after an error in the caller the thread may be waiting for an answer or a
        # Retry-After: it stops at its next page, nothing waits for it
        return prefetched(one_by_one(), depth=1, join_timeout=0.5)

    def get(self, url: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """One page as decoded JSON, after retries; ZendeskError when it cannot be had."""
        cfg = self.settings
        budget = RetryBudget(cfg, f"Zendesk request {url}")
        while True:
            wait: float | None = None
            self.requests += 1
            try:
                resp = self.session.get(url, params=params, timeout=cfg.timeout_seconds)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"network error: {exc}"
            else:
                status = resp.status_code
                if status == 200:
                    try:
                        body = orjson.loads(resp.content)
                    except orjson.JSONDecodeError as exc:
                        problem = f"a truncated or invalid JSON body ({exc})"
                    else:
                        if isinstance(body, dict):
                            return body
                        problem = "a JSON body that is not an object"
                elif status == 429:
                    problem = "HTTP 429 (rate limited)"
                    wait = _retry_after(resp.headers.get("Retry-After"), cfg.backoff_seconds)
                elif status in (401, 403):
                    raise ZendeskError(
                        f"Zendesk refused the credentials ({status} for {resp.url}): "
                        f"{CREDENTIALS_HINT}"
                    )
                elif status >= 500:
                    problem = f"HTTP {status}"
                else:
                    raise ZendeskError(
                        f"Zendesk answered HTTP {status} for {resp.url}: {resp.text[:300]}"
                    )
            wait = budget.wait(problem, wait)
            self.retries += 1
            self._sleep(wait)


class RetryBudget:
    """Zendesk's retry rules for one request: at most ``max_retries`` retries, 429s
    included; a 429 waits ``Retry-After``, any other failure backs off exponentially
    (``backoff_seconds * 2**(n-1)``, at most ``_MAX_BACKOFF``). Shared by the export client
    and the Tickets API."""

    def __init__(self, cfg: ZendeskSettings, what: str) -> None:
        self.cfg = cfg
        self.what = what
        self.failures = 0  # every failed attempt, bounded by max_retries
        self.errors = 0  # 5xx / network failures: the exponent of the backoff

    def wait(self, problem: str, retry_after: float | None) -> float:
        """Seconds to wait before the next attempt; ZendeskError when none is left."""
        self.failures += 1
        if self.failures > self.cfg.max_retries:
            raise ZendeskError(
                f"{self.what} failed after {self.failures} attempts "
                f"(sources.zendesk.max_retries={self.cfg.max_retries}): last error {problem}"
            )
        if retry_after is not None:
            log.info("zendesk: %s; waiting %.1fs as Retry-After asks", problem, retry_after)
            return retry_after
        self.errors += 1
        wait = min(self.cfg.backoff_seconds * 2 ** (self.errors - 1), _MAX_BACKOFF)
        log.warning("zendesk: %s (%s); retrying in %.1fs", problem, self.what, wait)
        return wait


def _retry_after(value: str | None, default: float) -> float:
    if value is None or not value.strip():
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
