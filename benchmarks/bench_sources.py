"""Real inputs at scale (issue 15): no re-reading history, and flat memory as files grow.

(a) No-op run: a landing tree of a year of hourly Connect files (``CX_BENCH_HOURLY_FILES``,
    default 8,760, under ``YYYY/MM/DD/HH.jsonl``) is loaded once; then an extract with
    nothing new is timed against the time of listing that tree with fsspec (the floor any
    run pays), and the bytes of file bodies it reads are counted (goal: 0).
(b) Peak RSS: one loader process per file (a fresh Python each, reporting its own
    ``VmHWM``, see ``benchmarks/_rss.py``) loads a big Firehose (concatenated JSON) file of
    ``CX_BENCH_FIREHOSE_MB`` (default 1,000) and a big Qualtrics CSV of
    ``CX_BENCH_QUALTRICS_MB`` (default 500) against a 10 MB file of the same kind. Goal:
    big / 10 MB under 2x.

PostgreSQL as in bench_load (``CX_BENCH_PG_URL``, the local server, or an embedded one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import _pg
from benchmarks._rss import own_peak_rss_mb
from benchmarks.bench_load import _records

QUALTRICS_HEADER = (
    "StartDate,EndDate,Status,Finished,ResponseId,Q1,Q2,Q3,Q4,ticket_id,contact_id\n"
    "Start Date,End Date,Response Type,Finished,Response ID,CSAT,NPS,CES,Comment,ticket_id,"
    "contact_id\n"
    '"{""ImportId"":""startDate"",""timeZone"":""America/Denver""}",'
    '"{""ImportId"":""endDate"",""timeZone"":""America/Denver""}","{""ImportId"":""status""}",'
    '"{""ImportId"":""finished""}","{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}",'
    '"{""ImportId"":""QID2""}","{""ImportId"":""QID3""}","{""ImportId"":""QID4_TEXT""}",'
    '"{""ImportId"":""ticket_id""}","{""ImportId"":""contact_id""}"\n'
)


def _qualtrics_rows(start: int, count: int) -> bytes:
    parts = []
    for n in range(start, start + count):
        day = 1 + n % 28
        parts.append(
            f"2026-02-{day:02d} 10:00:00,2026-02-{day:02d} 10:0{n % 10}:00,0,1,R_{n:012d},"
            f"{1 + n % 5},{n % 11},{1 + n % 7},"
            f'"Comment number {n}, with a comma and some words about the service",'
            f"{100000 + n},\n"
        )
    return "".join(parts).encode()


def _write_file(path: Path, kind: str, megabytes: float) -> int:
    """Write a file of about ``megabytes`` MB; returns its record count."""
    target = int(megabytes * 1e6)
    written = records = 0
    with path.open("wb") as fh:
        if kind == "qualtrics":
            fh.write(QUALTRICS_HEADER.encode())
        while written < target:
            if kind == "qualtrics":
                chunk = _qualtrics_rows(records, 10_000)
            else:
                chunk = _records(records, 5_000).replace(b"}\n", b"}")  # Firehose: no newlines
            fh.write(chunk)
            written += len(chunk)
            records += 10_000 if kind == "qualtrics" else 5_000
    return records


def _child(source: str, landing: str, url: str) -> None:
    """The loader process of (b): one extract of one source, summary on stdout."""
    from cxscore.extract import extract_sources
    from cxscore.settings import load_settings

    settings = load_settings(environ={"CX_LANDING_DIR": landing, "CX_LOAD__MAX_REJECT_PCT": "0"})
    summary = extract_sources(settings, [source], url=url)
    result = {k: summary[k] for k in ("rows_read", "rows_loaded", "rows_rejected")}
    print(json.dumps({**result, "peak_rss_mb": own_peak_rss_mb()}))


def _peak_rss(source: str, landing: Path, url: str) -> tuple[float, dict[str, int], float]:
    """(peak RSS in MB, the extract summary, seconds) of one loader process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_sources", "--child", source, str(landing), url],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"loader process for {source} exited with {proc.returncode}")
    result = json.loads(out)
    return result.pop("peak_rss_mb"), result, time.perf_counter() - started


def _noop_run(url: str, work: Path, hours: int) -> list[str]:
    import fsspec

    from cxscore.extract import extract_sources
    from cxscore.load import files as load_files
    from cxscore.settings import load_settings

    landing = work / "hourly"
    root = landing / "ivr" / "amazon_connect"
    base = 1_767_225_600  # 2026-01-01T00:00:00Z
    for h in range(hours):
        stamp = time.gmtime(base + h * 3600)
        folder = root / time.strftime("%Y/%m/%d", stamp)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / time.strftime("%H.jsonl", stamp)).write_bytes(_records(h * 3, 3))
    tree_mb = sum(p.stat().st_size for p in root.rglob("*.jsonl")) / 1e6
    settings = load_settings(environ={"CX_LANDING_DIR": str(landing)})
    started = time.perf_counter()
    first = extract_sources(settings, ["amazon_connect"], url=url)
    first_seconds = time.perf_counter() - started
    assert first["files"] == hours, first

    listing = []
    for _ in range(3):
        started = time.perf_counter()
        fs, path = fsspec.core.url_to_fs(str(root))
        found = fs.find(path, detail=True)
        listing.append(time.perf_counter() - started)
        assert len(found) == hours
    runs = []
    for _ in range(3):
        load_files.ReadCounter.bytes = load_files.ReadCounter.files = 0
        started = time.perf_counter()
        summary = extract_sources(settings, ["amazon_connect"], url=url)
        runs.append(time.perf_counter() - started)
        assert summary["files_skipped"] == hours and summary["files"] == 0, summary
        assert load_files.ReadCounter.bytes == 0, load_files.ReadCounter.bytes
    list_s, run_s = min(listing), min(runs)
    return [
        f"(a) landing tree: {hours:,} hourly Connect files ({tree_mb:.1f} MB) in "
        f"YYYY/MM/DD folders; first load {first_seconds:.1f} s",
        f"    listing the tree (fsspec find): {list_s * 1000:7.0f} ms",
        f"    extract with nothing new:       {run_s * 1000:7.0f} ms "
        f"({run_s / list_s:.1f}x the listing); file bodies read: "
        f"{load_files.ReadCounter.bytes} bytes in {load_files.ReadCounter.files} files "
        "(goal 0)",
    ]


def _memory(url: str, work: Path) -> list[str]:
    lines = []
    for kind, source, sub, name, big_mb in (
        (
            "firehose",
            "amazon_connect",
            "ivr/amazon_connect",
            "ctr.json",
            float(os.environ.get("CX_BENCH_FIREHOSE_MB", "1000")),
        ),
        (
            "qualtrics",
            "qualtrics",
            "survey/qualtrics",
            "export.csv",
            float(os.environ.get("CX_BENCH_QUALTRICS_MB", "500")),
        ),
    ):
        results = {}
        for label, mb in (("10 MB", 10.0), (f"{big_mb:g} MB", big_mb)):
            landing = work / f"{kind}-{mb:g}"
            folder = landing / sub
            folder.mkdir(parents=True)
            records = _write_file(folder / name, kind, mb)
            size = (folder / name).stat().st_size / 1e6
            rss, summary, seconds = _peak_rss(source, landing, url)
            assert summary["rows_loaded"] == records and summary["rows_rejected"] == 0, summary
            results[label] = rss
            lines.append(
                f"(b) {kind:9} {size:7.0f} MB, {records:>9,} records: peak RSS {rss:6.0f} MB "
                f"({seconds:.0f} s)"
            )
            shutil.rmtree(landing)
        small, big = results.values()
        lines.append(f"    {kind}: peak RSS big / 10 MB = {big / small:.2f}x (goal < 2x)")
    return lines


def main() -> list[str]:
    from cxscore.warehouse import init_warehouse

    hours = int(os.environ.get("CX_BENCH_HOURLY_FILES", "8760"))
    work = Path(tempfile.mkdtemp(prefix="cxbench-sources-"))
    try:
        with _pg.server() as server, _pg.scratch_database(server, "cxbench_sources") as url:
            init_warehouse(url)
            lines = [
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
                *_noop_run(url, work, hours),
            ]
            lines += _memory(url, work)
        return lines
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(*sys.argv[2:5])
    else:
        for line in main():
            print(line)
