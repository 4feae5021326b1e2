"""Order export files (CSV) -> raw.crm__orders.

Header ``order_id,customer_email,ordered_at,amount,currency,status,updated_at`` (any order,
names matched case-insensitively; extra columns are kept in the payload). ``ordered_at`` /
``updated_at`` are ISO-8601 with an optional offset; naive ones are in the configured
``sources.orders.timezone`` (PostgreSQL's ``AT TIME ZONE`` rule). ``amount`` is a decimal.
Empty cells are NULL in the typed columns and ``""`` in the payload.

Rejected: a wrong column count, invalid UTF-8, an unparseable timestamp or amount, and
every record of a file whose header has no ``order_id`` column.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from decimal import Decimal
from typing import IO

import orjson

from cxscore.settings import OrdersSettings
from cxscore.sources.common import (
    CsvRecord,
    Rejection,
    Row,
    decimal_error,
    fit_columns,
    parse_timestamp,
    read_csv_records,
    zone,
)

SOURCE = "orders"
STREAM = "orders"
TABLE = "raw.crm__orders"
FIELDS = ("order_id", "customer_email", "ordered_at", "amount", "currency", "status", "updated_at")
COLUMNS = (*FIELDS, "payload", "_line")
SUFFIXES = (".csv",)


def parse_orders(stream: IO[bytes], settings: OrdersSettings) -> Iterator[Row | Rejection]:
    """Rows (see ``COLUMNS``) and rejections from one orders file, in file order."""
    records = read_csv_records(stream)  # streamed: memory does not grow with the file
    header_record = next(records, None)
    if header_record is None:
        return
    header = [name.strip() for name in header_record.fields]
    index = {name.lower(): i for i, name in reversed(list(enumerate(header)))}
    if header_record.error or "order_id" not in index:
        reason = (
            header_record.error
            or f"header has no order_id column (expected {','.join(FIELDS)}; got {header})"
        )
        yield Rejection(header_record.line, f"bad header: {reason}", header_record.raw)
        for record in records:
            yield Rejection(record.line, f"file has a bad header: {reason}", record.raw)
        return
    positions = [index.get(name) for name in FIELDS]
    tz = zone(settings.timezone)
    for record in records:
        yield _order(record, header, positions, tz)


def _order(
    record: CsvRecord, header: list[str], positions: list[int | None], tz: tzinfo
) -> Row | Rejection:
    if record.error:
        return Rejection(record.line, record.error, record.raw)
    fields = fit_columns(record.fields, header)
    if fields is None:
        return Rejection(
            record.line,
            f"wrong column count: expected {len(header)}, found {len(record.fields)}",
            record.raw,
        )
    values = [None if i is None else (fields[i].strip() or None) for i in positions]
    order_id, email, ordered_raw, amount_raw, currency, status, updated_raw = values
    try:
        ordered_at = parse_timestamp(ordered_raw, tz)
    except ValueError as exc:
        return Rejection(record.line, f"ordered_at: {exc}", record.raw)
    try:
        updated_at = parse_timestamp(updated_raw, tz)
    except ValueError as exc:
        return Rejection(record.line, f"updated_at: {exc}", record.raw)
    amount = None
    if amount_raw is not None:
        error = decimal_error(amount_raw)
        if error is not None:
            return Rejection(record.line, f"amount: {error}", record.raw)
        amount = str(Decimal(amount_raw))
    payload = {key: cell for key, cell in zip(_keys(header), fields, strict=True)}
    return (
        order_id,
        email,
        None if ordered_at is None else ordered_at.isoformat(),
        amount,
        currency,
        status,
        None if updated_at is None else updated_at.isoformat(),
        orjson.dumps(payload),
        record.line,
    )


def _keys(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    keys = []
    for i, name in enumerate(header):
        key = name or f"_column_{i + 1}"
        seen[key] = seen.get(key, 0) + 1
        keys.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return keys
