"""Small helpers shared by tests."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import orjson
import psycopg2


def query(
    url: str, sql: str, params: tuple[object, ...] | dict[str, object] | None = None
) -> list[tuple]:
    """Run one statement and return its rows (helper for assertions)."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


# the published scorecard row by row (every column but built_at), in a stable order: what
# "the same scorecard as a full refresh / a clean run" compares
SCORECARD_ROWS = """
    select to_jsonb(s) - 'built_at'
    from marts.touchpoint_scorecard s
    order by touchpoint_id, period_grain, period_start, segment, metric
"""

# the same in one row: the row count and a checksum of those rows
SCORECARD_CHECKSUM = (
    f"select count(*), md5(string_agg(r::text, '|' order by r::text)) from ({SCORECARD_ROWS}) r"
)


def raw_key_counts(url: str) -> dict[str, tuple[int, int]]:
    """(rows, distinct row keys) per raw table (``registry.RAW_ROW_KEYS``): equal when
    nothing was loaded twice."""
    from cxscore.registry import RAW_ROW_KEYS

    counts = {}
    for table, key in RAW_ROW_KEYS.items():
        rows, distinct = query(url, f"select count(*), count(distinct ({key})) from raw.{table}")[0]
        counts[table] = (rows, distinct)
    return counts


def scratch_database(
    server_url: str, prefix: str = "cxtest", *, init: bool = True
) -> contextlib.AbstractContextManager[str]:
    """A throwaway database on the test server (cxscore.warehouse.scratch_database)."""
    from cxscore.warehouse import scratch_database as scratch

    return scratch(server_url, prefix, init=init)


# ------------------------------------------------------------------ landing-file builders


def ctr(n: int, **extra: Any) -> dict[str, Any]:
    """A minimal Amazon Connect contact trace record (``extra`` adds or replaces fields)."""
    record: dict[str, Any] = {
        "ContactId": f"c-{n}",
        "Channel": "VOICE",
        "InitiationMethod": "INBOUND",
        "InitiationTimestamp": "2026-01-05T10:00:00Z",
        "DisconnectTimestamp": "2026-01-05T10:05:00Z",
        "LastUpdateTimestamp": f"2026-01-05T10:{n % 60:02d}:00Z",
    }
    record.update(extra)
    return record


def jsonl(*records: Any) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
