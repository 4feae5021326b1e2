"""Order CSV parsing: typed columns, time zones, decimals, bad rows."""

from __future__ import annotations

import io
from typing import Any

import orjson

from cxscore.settings import OrdersSettings
from cxscore.sources.common import Rejection
from cxscore.sources.orders import parse_orders

HEADER = "order_id,customer_email,ordered_at,amount,currency,status,updated_at\n"


def parse(data: bytes, tz: str = "UTC") -> tuple[list[tuple[Any, ...]], list[Rejection]]:
    rows: list[tuple[Any, ...]] = []
    rejections: list[Rejection] = []
    for item in parse_orders(io.BytesIO(data), OrdersSettings(timezone=tz)):
        (rejections if isinstance(item, Rejection) else rows).append(item)  # type: ignore[arg-type]
    return rows, rejections


def test_orders_typed_columns_time_zones_and_rejections() -> None:
    data = (
        "\ufeff"
        + HEADER
        + "o-1,A@Example.com,2026-03-08T02:30:00,19.90,EUR,placed,2026-03-08T09:00:00+01:00\n"
        + "o-2,b@example.com,2026-01-05 10:00:00Z,1e3,USD,refunded,2026-01-06 10:00:00\n"
        + "o-3,,2026-01-05,,,,\n"  # incomplete: loaded with NULLs
        + "o-4,c@example.com,tomorrow,5,EUR,placed,2026-01-05T10:00:00Z\n"
        + "o-5,c@example.com,2026-01-05T10:00:00Z,5 EUR,EUR,placed,2026-01-05T10:00:00Z\n"
        + "o-6,c@example.com,2026-01-05T10:00:00Z,5\n"
        + "o-7,d@example.com,2026-01-05T10:00:00Z,NaN,EUR,placed,2026-01-05T10:00:00Z\n"
        + "o-8,e@example.com,2026-01-05T10:00:00Z,7.5,EUR,placed,2026-01-05T10:00:00Z,\n"
    ).encode()
    rows, rejections = parse(data, tz="America/New_York")
    assert [r[0] for r in rows] == ["o-1", "o-2", "o-3", "o-8"]
    assert rows[0][:7] == (
        "o-1",
        "A@Example.com",
        "2026-03-08T07:30:00+00:00",  # naive, in the spring-forward gap: shifted forward
        "19.90",
        "EUR",
        "placed",
        "2026-03-08T08:00:00+00:00",
    )
    assert rows[1][2:4] == ("2026-01-05T10:00:00+00:00", "1E+3")
    assert rows[1][6] == "2026-01-06T15:00:00+00:00"
    assert rows[2][:7] == ("o-3", None, "2026-01-05T05:00:00+00:00", None, None, None, None)
    assert [r[8] for r in rows] == [2, 3, 4, 9]
    assert orjson.loads(rows[0][7]) == {
        "order_id": "o-1",
        "customer_email": "A@Example.com",
        "ordered_at": "2026-03-08T02:30:00",
        "amount": "19.90",
        "currency": "EUR",
        "status": "placed",
        "updated_at": "2026-03-08T09:00:00+01:00",
    }
    assert [(r.line, r.reason) for r in rejections] == [
        (5, "ordered_at: unparseable timestamp 'tomorrow'"),
        (6, "amount: '5 EUR' is not a decimal"),
        (7, "wrong column count: expected 7, found 4"),
        (8, "amount: 'NaN' is not a decimal"),
    ]


def test_orders_header_in_any_order_and_a_foreign_header() -> None:
    data = b"status,order_id,amount,extra\nplaced,o-1,3.5,x\n"
    rows, rejections = parse(data)
    assert rejections == []
    assert rows[0][:7] == ("o-1", None, None, "3.5", None, "placed", None)
    assert orjson.loads(rows[0][7])["extra"] == "x"
    rows, rejections = parse(b"id,name\n1,a\n2,b\n")
    assert rows == []
    assert [r.line for r in rejections] == [1, 2, 3]
    assert rejections[0].reason.startswith("bad header: header has no order_id column")
    assert parse(b"") == ([], [])
    assert parse(HEADER.encode()) == ([], [])
