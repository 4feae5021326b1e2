"""Synthetic world generation throughput (``cxscore generate``) on one core.

Generates a world of ``CX_BENCH_GENERATE_CUSTOMERS`` customers (default 20,000) over
``CX_BENCH_GENERATE_DAYS`` days (default 30) into a temporary directory and counts every
record written (contact records incl. duplicates, Zendesk ticket and user versions, order
rows, survey responses). Baseline, measured in the same run: serialising the same number
of records with ``orjson`` and writing them to a file, with no simulation at all, i.e. the
floor any generator writing JSON from Python pays. The ratio says how much the simulation
(journeys, queues, lifecycles, formats) costs on top.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import orjson

from cxscore.generate import generate_world

RECORD_KEYS = (
    "contact_records",
    "duplicate_records",
    "ticket_versions",
    "user_versions",
    "order_rows",
    "survey_responses",
)


def _baseline(n: int, path: Path) -> float:
    """Seconds to serialise and write ``n`` CTR-shaped dicts with orjson."""
    start = time.perf_counter()
    with path.open("wb") as fh:
        for i in range(n):
            rec = {
                "ContactId": f"{i:08x}-0000-4000-8000-000000000000",
                "Channel": "VOICE",
                "InitiationMethod": "INBOUND",
                "InitiationTimestamp": "2026-03-02T10:00:00Z",
                "DisconnectTimestamp": "2026-03-02T10:05:00Z",
                "LastUpdateTimestamp": "2026-03-02T10:06:00Z",
                "Queue": {"Name": "Support", "Duration": i % 97},
                "Agent": {"Username": "agent", "AgentInteractionDuration": i % 600},
                "Attributes": {"ivr_menu": "support"},
                "CustomerEndpoint": {"Address": "+14155550123", "Type": "TELEPHONE_NUMBER"},
            }
            fh.write(orjson.dumps(rec) + b"\n")
    return time.perf_counter() - start


def main() -> list[str]:
    customers = int(os.environ.get("CX_BENCH_GENERATE_CUSTOMERS", "20000"))
    days = int(os.environ.get("CX_BENCH_GENERATE_DAYS", "30"))
    tmp = Path(tempfile.mkdtemp(prefix="cxbench-gen-"))
    try:
        start = time.perf_counter()
        summary = generate_world(
            tmp / "world",
            days=days,
            customers=customers,
            seed=7,
            start=date(2026, 3, 2),
            increments=1,
            progress=False,
        )
        seconds = time.perf_counter() - start
        records = sum(int(summary.get(k, 0)) for k in RECORD_KEYS)
        size = sum(p.stat().st_size for p in (tmp / "world").rglob("*") if p.is_file())
        base = _baseline(records, tmp / "baseline.jsonl")
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rate = records / seconds
    base_rate = records / base
    interactions = summary["contact_records"] + summary["tickets"]
    return [
        f"world: {customers:,} customers x {days} days -> {records:,} records "
        f"({interactions:,} contacts + tickets), {size / 2**20:,.0f} MiB on disk",
        f"generate: {seconds:.1f} s = {rate:,.0f} records/s",
        f"baseline (orjson dumps + write, same record count): {base:.1f} s = "
        f"{base_rate:,.0f} records/s",
        f"ratio generate/baseline: {seconds / base:.1f}x the time of plain serialisation",
        f"peak RSS of this process: {peak_mib:,.0f} MiB",
    ]


if __name__ == "__main__":
    for line in main():
        print(line)
