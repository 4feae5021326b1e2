"""Extract and load throughput: Amazon Connect CTR files -> raw, end to end.

Generates about 1M realistic contact trace records (``CX_BENCH_CTR_RECORDS`` to change) as
line-delimited JSON files of 100k records, loads them with ``extract_source`` (read +
parse + COPY, one transaction per file, as production does) into a fresh database, and
compares with the baseline measured in the same run: a plain ``COPY`` of the very same
rows, already encoded, from files on disk into the same table. Also reported: the parse +
encode rate of one core without the database, and the rate for concatenated (Firehose)
files.

PostgreSQL: ``CX_BENCH_PG_URL`` (a server URL whose database part is an admin DB), else
the local server at 127.0.0.1:5432 when it answers, else an embedded one in a temporary
directory. The benchmark database is created and dropped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import psycopg2

from benchmarks import _pg
from cxscore.load.copy import encode_rows, escape_text
from cxscore.sources import amazon_connect

PER_FILE = 100_000
TABLE = amazon_connect.TABLE
COLUMNS = (*amazon_connect.COLUMNS, "_batch_id", "_source_file")

_TEMPLATE = (
    '{"AWSAccountId":"123456789012","AWSContactTraceRecordFormatVersion":"2017-03-10",'
    '"Agent":{"ARN":"arn:aws:connect:eu-west-1:123456789012:instance/4b1e/agent/%(agent)s",'
    '"AfterContactWorkDuration":%(acw)d,"AfterContactWorkEndTimestamp":"%(acw_end)s",'
    '"AfterContactWorkStartTimestamp":"%(disc)s","AgentInteractionDuration":%(talk)d,'
    '"ConnectedToAgentTimestamp":"%(answer)s","CustomerHoldDuration":0,"HierarchyGroups":null,'
    '"LongestHoldDuration":0,"NumberOfHolds":0,"RoutingProfile":{"Name":"Basic"},'
    '"Username":"agent%(agent)s"},"AgentConnectionAttempts":1,'
    '"Attributes":{"customer_email":"customer%(n)d@example.com","ivr_menu":"billing",'
    '"self_service_complete":"false"},"Channel":"VOICE","ContactId":"%(cid)s",'
    '"CustomerEndpoint":{"Address":"+1555%(phone)07d","Type":"TELEPHONE_NUMBER"},'
    '"DisconnectReason":"CUSTOMER_DISCONNECT","DisconnectTimestamp":"%(disc)s",'
    '"InitialContactId":null,"InitiationMethod":"INBOUND","InitiationTimestamp":"%(init)s",'
    '"InstanceARN":"arn:aws:connect:eu-west-1:123456789012:instance/4b1e",'
    '"LastUpdateTimestamp":"%(last)s","MediaStreams":[{"Type":"AUDIO"}],"NextContactId":null,'
    '"PreviousContactId":null,"Queue":{"ARN":"arn:aws:connect:eu-west-1:123456789012:'
    'instance/4b1e/queue/7d2c","DequeueTimestamp":"%(answer)s","Duration":%(wait)d,'
    '"EnqueueTimestamp":"%(enq)s","Name":"Support"},"Recording":null,"Recordings":null,'
    '"SystemEndpoint":{"Address":"+15550000000","Type":"TELEPHONE_NUMBER"},'
    '"TransferCompletedTimestamp":null,"TransferredToEndpoint":null}\n'
)


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _records(start: int, count: int) -> bytes:
    base = 1_767_600_000  # 2026-01-05
    parts = []
    for n in range(start, start + count):
        t = base + n * 3
        wait = n % 90
        talk = 60 + n % 400
        parts.append(
            _TEMPLATE
            % {
                "n": n,
                "cid": f"{n:08x}-1f2e-4d3c-9b8a-{n * 7919 % 16**12:012x}",
                "agent": f"{n % 300:04d}",
                "phone": n % 10_000_000,
                "init": _iso(t),
                "enq": _iso(t + 20),
                "answer": _iso(t + 20 + wait),
                "disc": _iso(t + 20 + wait + talk),
                "acw_end": _iso(t + 50 + wait + talk),
                "last": _iso(t + 60 + wait + talk),
                "wait": wait,
                "talk": talk,
                "acw": 30,
            }
        )
    return "".join(parts).encode()


def _plain_copy(url: str, encoded: list[Path]) -> float:
    """Seconds for a plain COPY of pre-encoded rows, one COPY + commit per file."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("truncate " + TABLE)
        conn.commit()
        started = time.perf_counter()
        for path in encoded:
            with conn.cursor() as cur, path.open("rb") as fh:
                cur.copy_expert(f"copy {TABLE} ({', '.join(COLUMNS)}) from stdin", fh, 1 << 18)
            conn.commit()
        return time.perf_counter() - started
    finally:
        conn.close()


def main() -> list[str]:
    from cxscore.extract import extract_source
    from cxscore.settings import load_settings
    from cxscore.warehouse import init_warehouse

    total = int(os.environ.get("CX_BENCH_CTR_RECORDS", "1000000"))
    work = Path(tempfile.mkdtemp(prefix="cxbench-load-"))
    try:
        landing = work / "landing"
        folder = landing / "ivr" / "amazon_connect"
        folder.mkdir(parents=True)
        files = []
        for i, start in enumerate(range(0, total, PER_FILE)):
            path = folder / f"ctr-{i:04d}.jsonl"
            path.write_bytes(_records(start, min(PER_FILE, total - start)))
            files.append(path)
        size_mb = sum(p.stat().st_size for p in files) / 1e6

        # the same rows, encoded for COPY, for the baseline (not timed)
        encoded = []
        parse_seconds = 0.0
        for path in files:
            out = work / (path.name + ".copy")
            suffix = b"\t1\t" + escape_text(f"ivr/amazon_connect/{path.name}")
            started = time.process_time()
            with path.open("rb") as fh:
                data = b"".join(
                    encode_rows(
                        (r for r in amazon_connect.parse_contact_records(fh) if type(r) is tuple),
                        suffix,
                    )
                )
            parse_seconds += time.process_time() - started
            out.write_bytes(data)
            encoded.append(out)

        firehose = work / "firehose.json"
        sample = min(total, 100_000)
        firehose.write_bytes(_records(0, sample).replace(b"}\n", b"}"))
        started = time.process_time()
        with firehose.open("rb") as fh:
            n_fire = sum(1 for r in amazon_connect.parse_contact_records(fh) if type(r) is tuple)
        fire_seconds = time.process_time() - started

        with _pg.server() as server, _pg.scratch_database(server, "cxbench_load") as url:
            init_warehouse(url)
            settings = load_settings(environ={"CX_LANDING_DIR": str(landing)})
            started = time.perf_counter()
            cpu = time.process_time()
            summary = extract_source(settings, "amazon_connect", url=url)
            ours = time.perf_counter() - started
            ours_cpu = time.process_time() - cpu
            loaded = summary["rows_loaded"]
            baseline = _plain_copy(url, encoded)
            # a second run finds every file unchanged (hashing only)
            started = time.perf_counter()
            extract_source(settings, "amazon_connect", url=url)
            rerun = time.perf_counter() - started
            with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
                cur.execute("select count(*) from " + TABLE)
                row = cur.fetchone()
            copied = int(row[0]) if row else 0
        assert loaded == total and copied == total, (loaded, copied, total)
        ours_rate = total / ours
        base_rate = total / baseline
        return [
            f"Connect CTR: {total:,} records in {len(files)} JSONL files ({size_mb:,.0f} MB); "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
            f"extract_source (read + parse + COPY): {ours:6.1f} s = {ours_rate:9,.0f} records/s "
            f"(loader process CPU {ours_cpu:.1f} s = {total / ours_cpu:,.0f} records/CPU-s)",
            f"plain COPY of the same encoded rows:  {baseline:6.1f} s = "
            f"{base_rate:9,.0f} records/s",
            f"ratio end-to-end / plain COPY: {ours_rate / base_rate:.0%} (goal >= 40%)",
            f"parse + encode, one core: {total / parse_seconds:,.0f} records/CPU-s",
            f"concatenated (Firehose) parse, one core: {n_fire / fire_seconds:,.0f} records/CPU-s",
            f"re-run over unchanged files (size + mtime from the listing, skip): {rerun:.1f} s",
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for line in main():
        print(line)
