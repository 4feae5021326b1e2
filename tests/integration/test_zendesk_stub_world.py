"""The stand-in serving a generated world, one delivery after another, like a real account
that keeps changing between runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from cxscore.generate import generate_world
from cxscore.standins.zendesk import StubServer, start_stub

AUTH = ("demo@example.com/token", "demo-token")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zdw") / "w"
    generate_world(
        out, days=21, customers=150, seed=3, start=date(2026, 3, 2), increments=3, progress=False
    )
    return out


@pytest.fixture
def stub(world: Path) -> Iterator[StubServer]:
    server = start_stub(world, port=0, increment=1, fail_429_every=7, retry_after=0)
    try:
        yield server
    finally:
        server.stop()


def _drain(
    stub: StubServer, stream: str, first: dict[str, Any]
) -> tuple[list[Any], list[Any], str]:
    """Follow after_url until end_of_stream, retrying 429s; returns items, metric sets, cursor."""
    url = f"{stub.base_url}/api/v2/incremental/{stream}/cursor.json"
    start: dict[str, Any] = {**first, "per_page": 40}
    if stream == "tickets":
        start["include"] = "metric_sets"
    params: dict[str, Any] | None = start
    items: list[Any] = []
    metric_sets: list[Any] = []
    while True:
        resp = requests.get(url, params=params, auth=AUTH, timeout=10)
        if resp.status_code == 429:
            assert resp.headers["Retry-After"] == "0"
            continue
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items += body[stream]
        metric_sets += body.get("metric_sets", [])
        if body["end_of_stream"]:
            return items, metric_sets, body["after_cursor"]
        url, params = body["after_url"], None


def _versions(world: Path, stream: str, k: int) -> list[dict[str, Any]]:
    path = world / "zendesk" / stream / f"delivery-{k:04d}.jsonl"
    objs = [json.loads(x) for x in path.read_text().splitlines()]
    return [o["ticket"] for o in objs] if stream == "tickets" else objs


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_incremental_runs_see_each_delivery_once(world: Path, stub: StubServer) -> None:
    manifest = json.loads((world / "manifest.json").read_text())
    cutoffs = [_ts(d["zendesk_cutoff"]) for d in manifest["deliveries"]]
    first = {"start_time": manifest["zendesk_start_time"]}
    cursors = {"tickets": first, "users": first}
    for k in (1, 2, 3):
        stub.set_increment(k)
        for stream in ("tickets", "users"):
            items, metric_sets, cursor = _drain(stub, stream, cursors[stream])
            cursors[stream] = {"cursor": cursor}
            ids = [i["id"] for i in items]
            assert len(ids) == len(set(ids)), "a run never sees an item twice"
            expected = {v["id"]: v for v in _versions(world, stream, k)}
            assert {i["id"]: i["updated_at"] for i in items} == {
                i: v["updated_at"] for i, v in expected.items()
            }
            keys = [(_ts(i["updated_at"]), i["id"]) for i in items]
            assert keys == sorted(keys)
            if k > 1:
                assert all(u >= cutoffs[k - 2] for u, _ in keys)  # only what changed since
            if stream == "tickets":
                live = [i["id"] for i in items if i["status"] != "deleted"]
                assert [m["ticket_id"] for m in metric_sets] == live
        # an exhausted stream stays exhausted until the next delivery
        again = requests.get(
            f"{stub.base_url}/api/v2/incremental/tickets/cursor.json",
            params={**cursors["tickets"]},
            auth=AUTH,
            timeout=10,
        )
        if again.status_code == 429:
            again = requests.get(again.url, auth=AUTH, timeout=10)
        assert again.json()["tickets"] == [] and again.json()["end_of_stream"] is True
    assert stub.requests_seen > 10
