"""A load killed with SIGKILL in the middle of a file leaves nothing of that file; the re-run
leaves exactly the rows of a clean run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg2
import pytest

from cxscore.extract import extract_source
from cxscore.settings import load_settings
from tests.helpers import query, scratch_database

pytestmark = [pytest.mark.pg, pytest.mark.slow]

CONNECT = "ivr/amazon_connect"
BIG = 60_000
SMALL = 50
TABLE = "raw.amazon_connect__contact_records"


def _records(prefix: str, n: int) -> bytes:
    return b"".join(
        orjson.dumps(
            {
                "ContactId": f"{prefix}-{i}",
                "Channel": "VOICE",
                "InitiationMethod": "INBOUND",
                "InitiationTimestamp": "2026-01-05T10:00:00Z",
                "DisconnectTimestamp": "2026-01-05T10:05:00Z",
                "LastUpdateTimestamp": "2026-01-05T10:06:00Z",
                "Attributes": {"pad": "x" * (i % 50)},
            }
        )
        + b"\n"
        for i in range(n)
    )


@pytest.fixture
def clean_db(pg_server_url: str) -> Iterator[str]:
    with scratch_database(pg_server_url, "cxtest_clean", init=False) as url:
        yield url


def _copy_progress(url: str) -> int:
    rows = query(
        url,
        "select coalesce(max(tuples_processed), 0) from pg_stat_progress_copy "
        "where datname = current_database() and relid::regclass::text = %s",
        (TABLE,),
    )
    return int(rows[0][0])


def _fingerprint(url: str) -> list[tuple[object, ...]]:
    """Count and a digest of every loaded row (file, line, id, payload), computed in SQL."""
    return query(
        url,
        "select count(*), md5(string_agg(concat_ws('|', _source_file, _line, contact_id, "
        f"payload::text), ',' order by _source_file, _line)) from {TABLE}",
    )


def test_sigkill_mid_copy_then_rerun_equals_a_clean_run(
    fresh_db: str, clean_db: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    (landing / CONNECT).mkdir(parents=True)
    (landing / CONNECT / "a-small.jsonl").write_bytes(_records("small", SMALL))
    (landing / CONNECT / "b-big.jsonl").write_bytes(_records("big", BIG))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CX_")},
        "CX_WAREHOUSE__URL": fresh_db,
        "CX_LANDING_DIR": str(landing),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cxscore.cli", "extract", "amazon_connect"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        progress = 0
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(psycopg2.Error):
                progress = _copy_progress(fresh_db)
            if progress > 2_000:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the load finished before it could be killed"
        assert 2_000 < progress < BIG
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The server notices the dead client and rolls its transaction back.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        alive = query(
            fresh_db,
            "select count(*) from pg_stat_activity where datname = current_database() "
            "and application_name like 'cxscore %%'",
        )
        if alive == [(0,)]:
            break
        time.sleep(0.05)

    # Nothing of the big file, all of the small one (committed before the kill).
    assert query(fresh_db, f"select _source_file, count(*) from {TABLE} group by 1") == [
        (f"{CONNECT}/a-small.jsonl", SMALL)
    ]
    assert query(fresh_db, "select path from meta.loaded_files") == [(f"{CONNECT}/a-small.jsonl",)]
    assert query(fresh_db, "select status from meta.load_batches") == [("running",)]

    settings = load_settings(environ={"CX_LANDING_DIR": str(landing)})
    summary = extract_source(settings, "amazon_connect", url=fresh_db)
    assert (summary["files"], summary["files_skipped"], summary["rows_loaded"]) == (1, 1, BIG)
    assert query(fresh_db, "select batch_id, status from meta.load_batches order by 1") == [
        (1, "failed"),
        (2, "succeeded"),
    ]

    extract_source(settings, "amazon_connect", url=clean_db)
    assert query(fresh_db, f"select count(*) from {TABLE}") == [(SMALL + BIG,)]
    assert _fingerprint(fresh_db) == _fingerprint(clean_db)
    assert query(fresh_db, "select count(*) from raw.rejected_rows") == [(0,)]
