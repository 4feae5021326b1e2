"""Concurrent writers on one warehouse (issue 22): two ``cxscore run`` processes and an
Airflow ``cx_scorecard`` ``dag.test()`` started at once.

Each of them extracts (the two runs: every source, Zendesk through the API stand-in) and
builds, checks and publishes the scorecard. The warehouse locks (``cxscore.locks``) make
them take turns: each finishes with exit 0, or, if it waited longer than its lock wait,
exit 1 with the message naming the holder. Then nothing is corrupt: every raw row key is
unique and the raw counts are the generator's manifest (no row lost or loaded twice), no
load batch is left ``running``, every file is loaded once; and the published scorecard is
the one a single run gives: the same rows and values as a full-refresh build of the same
raw data.

Cost: one ``airflow db migrate`` (15-90 s), three builds of a small world taking turns.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.e2e.dag_worker import DagWorker
from tests.helpers import SCORECARD_ROWS, query, raw_key_counts, scratch_database

# `long`: 4-5 min on a slow 2-core machine, so it runs in `make test-long`, not in CI's
# `make test` (the one-writer rule itself is tested in tests/integration/test_locks.py)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.long,
    pytest.mark.airflow,
    pytest.mark.pg,
    pytest.mark.timeout(900),
]

REPO = Path(__file__).resolve().parents[2]
EMAIL, TOKEN = "concurrency@example.com", "concurrency-token"
HOLDER = "is held by pid"


def test_two_runs_and_a_dag_at_once_take_turns_and_agree(
    pg_server_url: str, tmp_path: Path
) -> None:
    from cxscore.demo import deliver
    from cxscore.generate import generate_world
    from cxscore.standins.zendesk import start_stub

    world = tmp_path / "world"
    generate_world(world, days=5, customers=80, seed=22, start=date(2026, 3, 2), increments=1)
    manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
    landing, state = tmp_path / "landing", tmp_path / "state"
    for delivery in manifest["deliveries"]:
        deliver(world, landing, delivery)
    stub = start_stub(world, port=0, email=EMAIL, token=TOKEN, increment=1)
    start_time = datetime.fromtimestamp(manifest["zendesk_start_time"], UTC).isoformat()
    with scratch_database(pg_server_url, "cxtest_conc") as url, contextlib.ExitStack() as stack:
        stack.callback(stub.stop)
        worker = DagWorker.start(
            tmp_path,
            warehouse_url=url,
            zendesk=(stub.base_url, EMAIL, TOKEN),
            landing=landing,
            state=state,
            extra={
                "CX_SOURCES__ZENDESK__START_TIME": start_time,
                "CX_IDENTITY__HASH_KEY": "concurrency-hmac-key",
                # the CLI's; the DAG reads its Airflow connections
                "CX_WAREHOUSE__URL": url,
                "CX_SOURCES__ZENDESK__BASE_URL": stub.base_url,
                "CX_SOURCES__ZENDESK__EMAIL": EMAIL,
                "CX_SOURCES__ZENDESK__API_TOKEN": TOKEN,
                "CX_SCORECARD__BUILD_LOCK_WAIT_SECONDS": "600",
                "CX_LOAD__LOCK_WAIT_SECONDS": "600",
            },
        )
        env = worker.env
        stack.callback(worker.stop)
        cli = str(Path(sys.executable).with_name("cxscore"))
        runs = []
        started = time.monotonic()
        for n in (1, 2):
            log = (tmp_path / f"run{n}.log").open("w")
            stack.callback(log.close)
            runs.append(
                subprocess.Popen(
                    [cli, "run"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
                )
            )
        worker.send("cx_scorecard", no_retries=True)
        dag = worker.answer()
        codes = [run.wait(timeout=600) for run in runs]
        print(f"two runs and a DAG at once: {time.monotonic() - started:.0f} s")
        outputs = [(tmp_path / f"run{n}.log").read_text(errors="replace") for n in (1, 2)]
        for code, output in zip(codes, outputs, strict=True):
            # finished, or waited its full lock wait and said who held the lock
            assert code == 0 or (code == 1 and HOLDER in output), output[-4000:]
        assert codes.count(0) >= 1, outputs
        dag_log = Path(dag["log"]).read_text(errors="replace")
        assert dag["ok"] or HOLDER in dag_log, dag_log[-6000:]

        # nothing corrupt: raw keys unique, counts as generated, no batch left running
        keys = raw_key_counts(url)
        assert all(rows == distinct for rows, distinct in keys.values()), keys
        counts = manifest["counts"]
        assert keys["amazon_connect__contact_records"][0] == (
            counts["contact_records"] + counts["duplicate_records"]
        )
        assert keys["crm__orders"][0] == counts["order_rows"]
        assert keys["qualtrics__responses"][0] == counts["survey_responses"]
        assert keys["zendesk__tickets"][0] == counts["ticket_versions"]
        assert query(url, "select count(distinct id) from raw.zendesk__users") == [
            (counts["users"],)
        ]
        landed = sum(len(d["landing_files"]) for d in manifest["deliveries"])
        assert query(url, "select count(*), count(distinct (source, path)) from meta.loaded_files")[
            0
        ] == (landed, landed)
        assert query(url, "select count(*) from meta.load_batches where status = 'running'") == [
            (0,)
        ]
        # each builder that finished built, checked and published once, in turn
        builders = codes.count(0) + (1 if dag["ok"] else 0)
        assert query(
            url, "select count(*), count(checked_run_id), count(published_at) from meta.dbt_builds"
        ) == [(builders, builders, builders)]
        waits = sum(text.count("waiting up to") for text in (*outputs, dag_log))
        print(f"exit codes {codes}, DAG ok {dag['ok']}, {waits} lock waits logged")
        assert waits >= 1  # they did collide: one waited for another's lock
        published = query(url, SCORECARD_ROWS)
        assert published

        # the scorecard a single run gives: a full refresh of the same raw data
        rebuilt = subprocess.run(
            [cli, "build", "--full-refresh"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert rebuilt.returncode == 0, rebuilt.stdout[-3000:] + rebuilt.stderr[-3000:]
        assert query(url, SCORECARD_ROWS) == published
