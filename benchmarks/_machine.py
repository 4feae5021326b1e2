"""How fast this machine is, by a fixed reference workload that does not use cxscore's code.

The scale benchmark's seconds depend on the machine as much as on cxscore: the same code
took 298 s from an empty warehouse on one 2-core machine and 453-960 s on others
(docs/performance.md). A fixed workload timed in the same run says which: its seconds
change with the machine and its load, never with cxscore's code, so two runs of a
benchmark on different machines compare through the ratio of their reference times.

Two parts, each the kind of work a load is made of:

- ``python_cpu_s``: CPU seconds of one Python thread building, serialising (orjson),
  parsing back, hashing (sha256), CSV-writing and timestamp-parsing 60,000 fixed records;
- ``postgres_s``: wall seconds of PostgreSQL taking a ``COPY`` of 100,000 fixed rows of
  JSON (about 40 MB) into a ``jsonb`` table with a primary key, then one aggregate over
  them (parse, index, WAL, a scan), in a scratch table of the given database.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import time
from datetime import datetime

import orjson
import psycopg2

from benchmarks import _pg

RECORDS = 60_000
ROWS = 100_000


def _record(i: int) -> dict[str, object]:
    return {
        "id": f"r{i:08d}",
        "ended_at": f"2026-0{1 + i % 9}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+00:00",
        "queue": ("billing", "returns", "delivery", "account")[i % 4],
        "seconds": i % 3_600,
        "score": (i % 11) - 5,
        "comment": "the parcel arrived late and the agent was helpful " * (1 + i % 3),
        "tags": [f"t{i % 7}", f"t{i % 13}"],
    }


def python_cpu_seconds() -> float:
    """CPU seconds of the fixed Python workload (best of two: the machine's speed, less
    the moments another process took the core)."""
    best = float("inf")
    for _ in range(2):
        started = time.process_time()
        digest = hashlib.sha256()
        out = io.StringIO()
        writer = csv.writer(out)
        for i in range(RECORDS):
            blob = orjson.dumps(_record(i))
            back = orjson.loads(blob)
            digest.update(blob)
            moment = datetime.fromisoformat(str(back["ended_at"]))
            writer.writerow((back["id"], moment.isoformat(), back["queue"], back["seconds"]))
        best = min(best, time.process_time() - started)
    return best


def _copy_buffer() -> io.BytesIO:
    lines = []
    for i in range(ROWS):
        payload = orjson.dumps(_record(i)).replace(b"\\", b"\\\\")
        lines.append(b"%d\t%s\n" % (i, payload))
    return io.BytesIO(b"".join(lines))


def postgres_seconds(url: str) -> float:
    """Wall seconds of the fixed PostgreSQL workload in a scratch table of ``url``'s
    database (dropped afterwards)."""
    buffer = _copy_buffer()
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("drop table if exists public.cxbench_reference")
        conn.commit()
        started = time.perf_counter()
        cur.execute("create table public.cxbench_reference (id bigint primary key, payload jsonb)")
        cur.copy_expert("copy public.cxbench_reference (id, payload) from stdin", buffer)
        conn.commit()
        cur.execute(
            "select payload->>'queue', count(*), sum((payload->>'seconds')::int)"
            " from public.cxbench_reference group by 1"
        )
        cur.fetchall()
        seconds = time.perf_counter() - started
        cur.execute("drop table public.cxbench_reference")
        conn.commit()
        return seconds


def reference(url: str) -> dict[str, float]:
    """The machine's reference times: ``python_cpu_s`` and ``postgres_s``."""
    return {
        "python_cpu_s": round(python_cpu_seconds(), 2),
        "postgres_s": round(postgres_seconds(url), 2),
    }


def describe(ref: dict[str, float]) -> str:
    return (
        f"machine reference (benchmarks/_machine.py): Python {ref['python_cpu_s']:.2f} core-s, "
        f"PostgreSQL COPY {ref['postgres_s']:.2f} s"
    )


if __name__ == "__main__":
    import sys

    print(describe(reference(sys.argv[1] if len(sys.argv) > 1 else _pg.LOCAL_PG)))
