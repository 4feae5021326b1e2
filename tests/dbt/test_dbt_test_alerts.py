"""dbt test failures reach people: a real `dbt build` whose data test fails (warn severity:
an order status outside the documented set) posts one alert to a webhook receiver on
127.0.0.1, is not re-sent while it keeps failing, and sends one recovery message."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.dbt.world import make_settings, scratch_database
from tests.helpers import query

pytestmark = [pytest.mark.pg, pytest.mark.slow]

TEST_ID = "accepted_values_stg_crm__orders_status"


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    posts: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            posts.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", posts
    finally:
        server.shutdown()
        server.server_close()


def _order(url: str, status: str, updated_at: str, batch: int) -> None:
    query(
        url,
        "insert into raw.crm__orders (order_id, customer_email, ordered_at, amount, currency,"
        " status, updated_at, payload, _batch_id, _source_file, _line) values"
        " ('o-1', 'a@example.com', '2026-03-02T10:00:00Z', 10, 'USD', %s, %s, '{}', %s,"
        " 'orders.csv', 2)",
        (status, updated_at, batch),
    )


def test_dbt_test_failure_alerts_once_then_recovers(
    pg_server_url: str, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    from cxscore.transform import build_models

    hook_url, posts = webhook
    settings = make_settings(tmp_path / "state", CX_ALERTS__WEBHOOK_URL=hook_url)
    with scratch_database(pg_server_url) as url:
        _order(url, "shipped", "2026-03-02T11:00:00Z", 1)  # not in the documented set
        first = build_models(settings, url=url, run_id="r1")
        assert first["tests_warned"] >= 1
        assert [p["event"] for p in posts] == ["dbt_tests_failed"]
        assert TEST_ID in json.dumps(posts[0])
        assert posts[0]["run_id"] == "r1"

        build_models(settings, url=url, run_id="r2")  # still failing: no second alert
        assert len(posts) == 1

        _order(url, "fulfilled", "2026-03-03T09:00:00Z", 2)  # the corrected version wins
        third = build_models(settings, url=url, run_id="r3")
        assert third["tests_warned"] == 0
        assert [p["event"] for p in posts] == ["dbt_tests_failed", "dbt_tests_recovered"]
        state = query(
            url,
            "select failing from quality.alert_state where check_key like %s",
            (f"dbt|%{TEST_ID}%",),
        )
        assert state == [(False,)]
