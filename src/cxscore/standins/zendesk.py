"""A local stand-in for Zendesk Support's incremental cursor export API.

It serves a world written by ``cxscore generate`` (or any directory in the same layout)
over the real response shape of

- ``GET /api/v2/incremental/tickets/cursor.json`` (``include=metric_sets`` side-loads a
  top-level ``metric_sets`` list, one metric set per ticket on the page), and
- ``GET /api/v2/incremental/users/cursor.json``, and
- ``POST /api/v2/tickets`` and ``GET /api/v2/tickets?external_id=`` (module
  :mod:`cxscore.standins.zendesk_tickets`: created tickets join the tickets export), and
- ``GET /api/v2/incremental/ticket_events.json`` (time-based: ``start_time`` only,
  ``ticket_events[]``, ``next_page``, ``end_time``, ``end_of_stream``, ``count``; comment
  child events only with ``include=comment_events``; the events of the page's last second
  are all on the page and come again from ``start_time = end_time``).

Behaviour copied from Zendesk (developer.zendesk.com, "Using the Incremental Exports API"):

- the first request passes ``start_time`` (Unix seconds; items with ``updated_at >=
  start_time``), every later one ``cursor``; ``per_page`` 1..1000, default 1000;
- the body holds ``after_cursor``, ``after_url``, ``before_cursor``, ``before_url``,
  ``end_of_stream`` and the items; a cursor is ``base64("<epoch>.0||<id>|")`` of the last
  item, like Zendesk's own, so it survives between runs;
- an item appears once, in its current state, at the position of its ``updated_at``: a
  ticket that changes again reappears later in the stream; deleted tickets come with
  ``status = "deleted"`` unless ``exclude_deleted=true``;
- when the stream is exhausted ``end_of_stream`` is true and ``after_cursor`` still points
  at the last item returned: using it later returns only what changed since;
- a ``start_time`` less than a minute before the server's "now" is refused, as Zendesk does;
- basic auth ``{email}/token:{api_token}``; anything else gets ``401`` with Zendesk's body.

Data layout read (see ``docs/synthetic-world.md``)::

    DATA/manifest.json                             deliveries (k, zendesk_cutoff); optional
    DATA/zendesk/tickets/delivery-0001.jsonl       {"ticket": {...}, "metric_set": {...}|null}
    DATA/zendesk/users/delivery-0001.jsonl         one user object per line
    DATA/zendesk/ticket_events/delivery-0001.jsonl one ticket event per line (optional)

A line in ``delivery-000k`` is a version of a ticket (or user) that exists from delivery
``k`` on. Serving increment ``k`` shows, for every id, its latest version among deliveries
``1..k``; "now" is delivery ``k``'s ``zendesk_cutoff``. Failure injection: every Nth
request to an endpoint answers ``429`` with ``Retry-After`` or ``503`` (each endpoint counts
its own requests, so a client that follows several streams at once meets the same faults
on each as one that follows them one after another).

Standard library only (``http.server``); binds 127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
import time
from bisect import bisect_right
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from cxscore.errors import CxError
from cxscore.standins.zendesk_data import ZendeskData, decode_cursor, encode_cursor
from cxscore.standins.zendesk_tickets import TicketStore

log = logging.getLogger(__name__)

MAX_PER_PAGE = 1000
_PATH = re.compile(r"^/api/v2/incremental/(tickets|users)/cursor(?:\.json)?/?$")
_TICKETS_PATH = re.compile(r"^/api/v2/tickets(?:\.json)?/?$")
_EVENTS_PATH = re.compile(r"^/api/v2/incremental/ticket_events(?:\.json)?/?$")


@dataclass
class StubConfig:
    email: str = "demo@example.com"
    token: str = "demo-token"
    fail_429_every: int = 0
    fail_5xx_every: int = 0
    retry_after: int = 1
    post_delay_seconds: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], data: ZendeskData, config: StubConfig) -> None:
        super().__init__(addr, _Handler)
        self.data = data
        self.config = config
        self.requests_seen = 0  # all requests
        self.requests_by_path: dict[str, int] = {}  # what failure injection counts
        self.counter_lock = threading.Lock()
        self.tickets = TicketStore(data)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


def _per_page(raw: str | None) -> int:
    """The ``per_page`` parameter: 1..1000, default the maximum; else Zendesk's 400."""
    if not raw:
        return MAX_PER_PAGE
    try:
        per_page = int(raw)
    except ValueError:
        per_page = -1
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise _ApiError(
            HTTPStatus.BAD_REQUEST,
            {
                "error": "InvalidPaginationParameter",
                "description": f"per_page must be between 1 and {MAX_PER_PAGE}",
            },
        )
    return per_page


def _start_time(raw: str | None, now: int | None, invalid: str) -> int:
    """A time-based export's ``start_time``: a non-negative epoch second at least a minute
    old (Zendesk answers 400 ``InvalidValue`` otherwise; ``invalid`` is its description for
    a missing or malformed value)."""
    try:
        start = int(raw or "")
        if start < 0:
            raise ValueError(raw)
    except ValueError as exc:
        raise _ApiError(
            HTTPStatus.BAD_REQUEST, {"error": "InvalidValue", "description": invalid}
        ) from exc
    if now is not None and start > now - 60:
        raise _ApiError(
            HTTPStatus.BAD_REQUEST,
            {
                "error": "InvalidValue",
                "description": "Too recent start_time. Use a start_time older than a minute",
            },
        )
    return start


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "cxscore-zendesk-stub"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        payload = orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _refused(self) -> bool:
        """Injected faults (every Nth request to the endpoint: 429 with Retry-After, or 503)
        and basic auth, the same for every endpoint; True when the request was answered
        here."""
        server = self.server
        cfg = server.config
        path = urlsplit(self.path).path.rstrip("/").removesuffix(".json")
        with server.counter_lock:
            server.requests_seen += 1
            n = server.requests_by_path[path] = server.requests_by_path.get(path, 0) + 1
        if cfg.fail_429_every and n % cfg.fail_429_every == 0:
            self._send(
                HTTPStatus.TOO_MANY_REQUESTS,
                {
                    "error": "APIRateLimitExceeded",
                    "description": "Number of allowed incremental export API requests per "
                    "minute exceeded",
                },
                {"Retry-After": str(cfg.retry_after)},
            )
            return True
        if cfg.fail_5xx_every and n % cfg.fail_5xx_every == 0:
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"error": "ServiceUnavailable", "description": "Please try again later"},
            )
            return True
        if not self._authorised():
            self._send(
                HTTPStatus.UNAUTHORIZED,
                {"error": "Couldn't authenticate you"},
                {"WWW-Authenticate": 'Basic realm="Web Password"'},
            )
            return True
        return False

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self._refused():
            return
        if not _TICKETS_PATH.match(urlsplit(self.path).path):
            self._send(
                HTTPStatus.NOT_FOUND, {"error": "InvalidEndpoint", "description": "Not found"}
            )
            return
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self._send(
                HTTPStatus.BAD_REQUEST,
                {"error": "Unprocessable JSON", "description": "the body is not valid JSON"},
            )
            return
        status, answer = self.server.tickets.create(body)
        delay = self.server.config.post_delay_seconds
        if delay:  # the ticket exists; the answer is late (a client may die waiting)
            time.sleep(delay)
        headers = {}
        if status == HTTPStatus.CREATED:
            headers["Location"] = str(answer["ticket"]["url"])
        self._send(status, answer, headers)

    def do_GET(self) -> None:
        if self._refused():
            return
        parts = urlsplit(self.path)
        if _TICKETS_PATH.match(parts.path):
            external = parse_qs(parts.query).get("external_id")
            if not external:
                self._send(
                    HTTPStatus.BAD_REQUEST,
                    {"error": "InvalidValue", "description": "external_id is required here"},
                )
                return
            self._send(HTTPStatus.OK, self.server.tickets.find(external[-1]))
            return
        if _EVENTS_PATH.match(parts.path):
            try:
                body = self._events_page(parse_qs(parts.query, keep_blank_values=True))
            except _ApiError as exc:
                self._send(exc.status, exc.body)
                return
            self._send(HTTPStatus.OK, body)
            return
        match = _PATH.match(parts.path)
        if not match:
            self._send(
                HTTPStatus.NOT_FOUND,
                {"error": "InvalidEndpoint", "description": "Not found"},
            )
            return
        try:
            body = self._page(match.group(1), parse_qs(parts.query, keep_blank_values=True))
        except _ApiError as exc:
            self._send(exc.status, exc.body)
            return
        self._send(HTTPStatus.OK, body)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        cfg = self.server.config
        return decoded == f"{cfg.email}/token:{cfg.token}"

    def _page(self, stream: str, params: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str) -> str | None:
            values = params.get(name)
            return values[-1] if values else None

        per_page_raw = one("per_page")
        per_page = _per_page(per_page_raw)
        include = {x for v in params.get("include", []) for x in v.split(",") if x}
        exclude_deleted = (one("exclude_deleted") or "").lower() == "true"
        data = self.server.data
        keys, versions = data.current(stream)
        cursor = one("cursor")
        start_time = one("start_time")
        from_start = False
        if cursor:
            try:
                position = decode_cursor(cursor)
            except ValueError as exc:
                raise _ApiError(
                    HTTPStatus.BAD_REQUEST,
                    {"error": "InvalidPaginationParameter", "description": str(exc)},
                ) from exc
            index = bisect_right(keys, position)
        elif start_time:
            start = _start_time(start_time, data.now(), "start_time must be an integer")
            position = (start, -1)
            index = bisect_right(keys, position)
            from_start = True
        else:
            raise _ApiError(
                HTTPStatus.BAD_REQUEST,
                {
                    "error": "InvalidValue",
                    "description": "start_time or cursor is required",
                },
            )
        store = data.streams[stream]
        items: list[dict[str, Any]] = []
        metric_sets: list[dict[str, Any]] = []
        last = position
        first: tuple[int, int] | None = None
        i = index
        while i < len(versions) and len(items) < per_page:
            v = versions[i]
            i += 1
            last = (v.ts, v.item_id)
            obj = store.read(v)
            if stream == "tickets":
                ticket = obj["ticket"]
                if exclude_deleted and ticket.get("status") == "deleted":
                    continue
                items.append(ticket)
                if obj.get("metric_set") is not None:
                    metric_sets.append(obj["metric_set"])
            else:
                items.append(obj)
            if first is None:
                first = last
        end_of_stream = i >= len(versions)
        # nothing at or after start_time yet: the cursor stays at start_time
        after_cursor = encode_cursor(last[0], max(last[1], 0))
        before_cursor = None if (first is None or from_start) else encode_cursor(*first)
        body: dict[str, Any] = {
            "after_cursor": after_cursor,
            "after_url": self._url(stream, after_cursor, per_page_raw, include),
            "before_cursor": before_cursor,
            "before_url": self._url(stream, before_cursor, per_page_raw, include)
            if before_cursor
            else None,
            "end_of_stream": end_of_stream,
            stream: items,
        }
        if stream == "tickets" and "metric_sets" in include:
            body["metric_sets"] = metric_sets
        return body

    def _events_page(self, params: dict[str, list[str]]) -> dict[str, Any]:
        """The time-based incremental ticket event export (one page)."""

        def one(name: str) -> str | None:
            values = params.get(name)
            return values[-1] if values else None

        per_page = _per_page(one("per_page"))
        data = self.server.data
        start = _start_time(one("start_time"), data.now(), "start_time is required (an integer)")
        include = {x for v in params.get("include", []) for x in v.split(",") if x}
        keys, versions = data.current("ticket_events")
        store = data.streams["ticket_events"]
        i = bisect_right(keys, (start, -1))
        events: list[dict[str, Any]] = []
        last_ts: int | None = None
        while i < len(versions) and (
            len(events) < per_page or (last_ts is not None and versions[i].ts == last_ts)
        ):
            v = versions[i]
            i += 1
            event = store.read(v)
            if "comment_events" not in include:
                event["child_events"] = [
                    c for c in event.get("child_events") or [] if c.get("event_type") != "Comment"
                ]
            events.append(event)
            last_ts = v.ts
        end_time = last_ts if last_ts is not None else start
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        query = {"start_time": str(end_time)}
        if include:
            query["include"] = ",".join(sorted(include))
        if one("per_page"):
            query["per_page"] = str(per_page)
        return {
            "ticket_events": events,
            "next_page": f"http://{host}/api/v2/incremental/ticket_events.json?{urlencode(query)}",
            "count": len(events),
            "end_of_stream": i >= len(versions),
            "end_time": end_time,
        }

    def _url(self, stream: str, cursor: str, per_page: str | None, include: set[str]) -> str:
        query: dict[str, str] = {"cursor": cursor}
        if per_page:
            query["per_page"] = per_page
        if include:
            query["include"] = ",".join(sorted(include))
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}/api/v2/incremental/{stream}/cursor.json?{urlencode(query)}"


class StubServer:
    """A running stand-in (background thread). Use :func:`start_stub` to create one."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def requests_seen(self) -> int:
        return self._server.requests_seen

    @property
    def increment(self) -> int:
        return self._server.data.increment

    @property
    def deliveries(self) -> int:
        return self._server.data.deliveries

    @property
    def tickets(self) -> TicketStore:
        """Tickets created through ``POST /api/v2/tickets`` (tests solve them here)."""
        return self._server.tickets

    @property
    def config(self) -> StubConfig:
        """Fault injection, changeable while the stand-in runs."""
        return self._server.config

    def set_increment(self, k: int | None) -> None:
        """Serve deliveries 1..k from now on (None: all)."""
        self._server.data.set_increment(k)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server.data.close()

    def __enter__(self) -> StubServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _make_server(
    data: Path,
    *,
    port: int = 0,
    email: str = "demo@example.com",
    token: str = "demo-token",
    fail_429_every: int = 0,
    fail_5xx_every: int = 0,
    retry_after: int = 1,
    increment: int | None = None,
) -> _Server:
    zd = ZendeskData(Path(data), increment)
    config = StubConfig(email, token, fail_429_every, fail_5xx_every, retry_after)
    try:
        return _Server(("127.0.0.1", port), zd, config)
    except OSError as exc:
        zd.close()
        raise CxError(f"cannot listen on 127.0.0.1:{port}: {exc}; pick another --port") from exc


def start_stub(data: Path, **kwargs: Any) -> StubServer:
    """Start the stand-in in a background thread (``port=0``: a free port)."""
    server = _make_server(Path(data), **kwargs)
    thread = threading.Thread(
        target=server.serve_forever, name="zendesk-api-stub", kwargs={"poll_interval": 0.1}
    )
    thread.daemon = True
    thread.start()
    return StubServer(server, thread)


def serve(data: Path, **kwargs: Any) -> None:
    """Serve until interrupted (Ctrl-C); prints the base URL to use as ``zendesk.base_url``.
    ``kwargs`` as :func:`_make_server` takes them."""
    server = _make_server(Path(data), **kwargs)
    email = server.config.email
    print(
        f"Zendesk stand-in on {server.base_url} (increment {server.data.increment} of "
        f"{server.data.deliveries}); auth {email}/token:<token>. Ctrl-C to stop.",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.data.close()
