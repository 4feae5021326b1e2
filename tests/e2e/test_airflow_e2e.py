"""End to end through real Airflow (`airflow dags test`), real PostgreSQL, real GX and dbt:
a small synthetic world delivered in two increments, then a delivery with a critical
defect that must stop before dbt, record its results and alert a local receiver.

One isolated AIRFLOW_HOME (SQLite, `airflow db migrate` once per module: ~15 s idle, up to
90 s on a loaded 2-core machine) and one warehouse database for the module; the DAG runs
go through one long-lived worker process (tests/e2e/dag_worker.py: `dag.test()` in-process,
so Airflow, GX and dbt are imported once). The tests run in order and build on each other.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.dag_worker import DagWorker
from tests.helpers import (
    SCORECARD_CHECKSUM,
    SCORECARD_ROWS,
    query,
    raw_key_counts,
    scratch_database,
)

pytestmark = [pytest.mark.slow, pytest.mark.airflow, pytest.mark.pg, pytest.mark.timeout(1500)]

for _module in (
    "cxscore.generate",
    "cxscore.extract",
    "cxscore.quality",
    "cxscore.transform",
    "cxscore.alerts",
):
    if importlib.util.find_spec(_module) is None:
        pytest.skip(f"{_module} is not there yet", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
EMAIL, TOKEN = "e2e@example.com", "e2e-token-123"
RAW_TABLES = (
    "zendesk__tickets",
    "zendesk__users",
    "amazon_connect__contact_records",
    "qualtrics__responses",
    "crm__orders",
)


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with contextlib.suppress(ValueError):
            payload = json.loads(body)
            # owner messages (status alerts, signals: tests/integration/test_owner_signals.py)
            # are counted in meta.owner_notifications, not mixed with the quality alerts here
            if "owner" not in payload:
                self.server.bodies.append(payload)  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


@dataclass
class E2E:
    url: str
    world: Path
    landing: Path
    state: Path
    env: dict[str, str]
    stub: Any
    alerts: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    worker: DagWorker
    marks: dict[str, Any] = field(default_factory=dict)


def _dags_test(
    e2e: E2E,
    dag_id: str,
    conf: dict[str, Any] | None = None,
    logical_date: datetime | None = None,
    no_retries: bool = False,
) -> tuple[int, str]:
    """Run one DAG with dag.test() in the worker; (0 when every task succeeded, the log)."""
    return e2e.worker.run(dag_id, conf=conf, logical_date=logical_date, no_retries=no_retries)


SLACK_SECRET_PATH = "/services/T0E2E/B0E2E/E2eSlackSecretPath"


def _free_port() -> int:
    import socket

    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raw_counts(url: str) -> dict[str, int]:
    return {t: query(url, f"select count(*) from raw.{t}")[0][0] for t in RAW_TABLES}


@pytest.fixture(scope="module")
def e2e(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    from cxscore.generate import generate_world
    from cxscore.standins.zendesk import start_stub

    tmp = tmp_path_factory.mktemp("e2e")
    database = scratch_database(pg_server_url, prefix="cxtest_e2e")
    url = database.__enter__()
    world = tmp / "world"
    generate_world(
        world,
        days=16,
        customers=120,
        seed=11,
        start=datetime.now(UTC).date() - timedelta(days=16),
        increments=2,
        progress=False,
    )
    deliveries = json.loads((world / "manifest.json").read_text(encoding="utf-8"))["deliveries"]
    receiver = HTTPServer(("127.0.0.1", 0), _Receiver)
    receiver.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    stub = start_stub(world, port=0, email=EMAIL, token=TOKEN, increment=1)
    landing, state = tmp / "landing", tmp / "state"
    worker = DagWorker.start(
        tmp,
        warehouse_url=url,
        zendesk=(stub.base_url, EMAIL, TOKEN),
        landing=landing,
        state=state,
        extra={
            "CX_ALERTS__WEBHOOK_URL": f"http://127.0.0.1:{receiver.server_address[1]}/hook",
            # an unreachable Zendesk fails in seconds (test_one_source_down_...)
            "CX_SOURCES__ZENDESK__MAX_RETRIES": "1",
            "CX_SOURCES__ZENDESK__BACKOFF_SECONDS": "0",
            # a receiver that is down, whose path is the secret (as Slack's): it must appear
            # in no log, XCom or rendered field (test_no_secret_in_airflow_metadata_or_logs)
            "CX_ALERTS__SLACK_WEBHOOK_URL": f"http://127.0.0.1:{_free_port()}{SLACK_SECRET_PATH}",
        },
    )
    alerts: list[dict[str, Any]] = receiver.bodies  # type: ignore[attr-defined]
    try:
        yield E2E(url, world, landing, state, worker.env, stub, alerts, deliveries, worker)
    finally:
        worker.stop()
        with contextlib.suppress(Exception):  # the last test stops it already
            stub.stop()
        receiver.shutdown()
        receiver.server_close()
        database.__exit__(None, None, None)


def test_first_delivery_through_both_dags(e2e: E2E) -> None:
    from cxscore.demo import deliver

    files = deliver(e2e.world, e2e.landing, e2e.deliveries[0])
    rc, out = _dags_test(e2e, "cx_ingest")
    assert rc == 0, out[-6000:]
    counts = _raw_counts(e2e.url)
    assert all(n > 0 for n in counts.values()), counts
    loaded = query(e2e.url, "select count(*) from meta.loaded_files")[0][0]
    assert loaded == files
    raw_runs = query(
        e2e.url,
        "select count(distinct run_id) from quality.check_results where run_id like 'manual__%'",
    )[0][0]
    assert raw_runs == 1

    rc, out = _dags_test(e2e, "cx_scorecard")
    assert rc == 0, out[-6000:]
    rows = query(e2e.url, "select count(*), max(built_at) from marts.touchpoint_scorecard")[0]
    assert rows[0] > 0
    interactions = query(e2e.url, "select count(*) from marts.fct_interactions")[0][0]
    week_total = query(
        e2e.url,
        "select sum(value) from marts.touchpoint_scorecard where metric = 'interactions' "
        "and period_grain = 'week' and segment = 'all'",
    )[0][0]
    assert int(week_total) == interactions  # every interaction counted once per grain
    report = e2e.state / "reports" / "scorecard.html"
    assert report.exists() and "touchpoint scorecard" in report.read_text(encoding="utf-8")
    # notify_owners judged the published build (the owners' status alert state)
    assert query(e2e.url, "select count(*) from meta.status_alert_state")[0][0] > 0
    e2e.marks.update(counts=counts, built_at=rows[1], scorecard_rows=rows[0])


def test_rerun_loads_nothing_twice(e2e: E2E) -> None:
    rc, out = _dags_test(e2e, "cx_ingest")
    assert rc == 0, out[-6000:]
    assert _raw_counts(e2e.url) == e2e.marks["counts"]


def test_second_delivery_updates_incrementally(e2e: E2E) -> None:
    from cxscore.demo import deliver

    deliver(e2e.world, e2e.landing, e2e.deliveries[1])
    e2e.stub.set_increment(2)
    before = query(e2e.url, "select max(period_start) from marts.touchpoint_scorecard")[0][0]
    rc, out = _dags_test(e2e, "cx_ingest")
    assert rc == 0, out[-6000:]
    counts = _raw_counts(e2e.url)
    for table in ("zendesk__tickets", "amazon_connect__contact_records", "crm__orders"):
        assert counts[table] > e2e.marks["counts"][table], table
    rc, out = _dags_test(e2e, "cx_scorecard")
    assert rc == 0, out[-6000:]
    after, built = query(
        e2e.url, "select max(period_start), max(built_at) from marts.touchpoint_scorecard"
    )[0]
    assert after > before  # the new days reached the scorecard
    assert built > e2e.marks["built_at"]
    # incremental: rows of periods nothing touched keep their earlier build time
    kept = query(
        e2e.url,
        "select count(*) from marts.touchpoint_scorecard where built_at <= %s",
        (e2e.marks["built_at"],),
    )[0][0]
    assert kept > 0
    e2e.marks["built_at"] = built
    e2e.marks["counts"] = counts


def test_full_refresh_param_rebuilds_the_same_scorecard(e2e: E2E) -> None:
    incremental = query(e2e.url, SCORECARD_ROWS)
    told = query(e2e.url, "select count(*) from meta.owner_notifications")[0][0]
    rc, out = _dags_test(e2e, "cx_scorecard", conf={"full_refresh": True})
    assert rc == 0, out[-6000:]
    # a full refresh of the same data tells no owner anything again
    assert query(e2e.url, "select count(*) from meta.owner_notifications")[0][0] == told
    stale = query(
        e2e.url,
        "select count(*) from marts.touchpoint_scorecard where built_at <= %s",
        (e2e.marks["built_at"],),
    )[0][0]
    assert stale == 0  # every row rebuilt
    rebuilt = query(e2e.url, SCORECARD_ROWS)
    assert len(rebuilt) == len(incremental)
    assert rebuilt == incremental  # spec: full refresh == any sequence of incremental builds
    e2e.marks["built_at"] = query(e2e.url, "select max(built_at) from marts.touchpoint_scorecard")[
        0
    ][0]


def test_backfill_of_a_past_date_changes_nothing(e2e: E2E) -> None:
    """A run for a past logical date (a backfill, or re-running an old run) loads nothing
    twice and leaves the scorecard as it is: extraction follows the loaders' state, not
    the date."""
    before = raw_key_counts(e2e.url)
    assert all(rows == distinct for rows, distinct in before.values()), before
    files = query(e2e.url, "select count(*) from meta.loaded_files")[0][0]
    scorecard = query(e2e.url, SCORECARD_CHECKSUM)[0]
    assert scorecard[0] > 0
    past = datetime.combine(date.today() - timedelta(days=10), datetime.min.time(), UTC)

    rc, out = _dags_test(e2e, "cx_ingest", logical_date=past)
    assert rc == 0, out[-6000:]
    assert raw_key_counts(e2e.url) == before  # no duplicate raw rows, no row lost
    assert query(e2e.url, "select count(*) from meta.loaded_files")[0][0] == files
    told = query(e2e.url, "select count(*) from meta.owner_notifications")[0][0]
    rc, out = _dags_test(e2e, "cx_scorecard", logical_date=past)
    assert rc == 0, out[-6000:]
    assert query(e2e.url, SCORECARD_CHECKSUM)[0] == scorecard  # same rows, same values
    assert query(e2e.url, "select count(*) from meta.owner_notifications")[0][0] == told
    # both runs were real runs of that past logical date (Airflow's metadata database)
    with contextlib.closing(sqlite3.connect(Path(e2e.env["AIRFLOW_HOME"]) / "airflow.db")) as db:
        runs = db.execute(
            "select dag_id, state from dag_run where logical_date like ? order by dag_id",
            (f"{past:%Y-%m-%d} 00:00:00%",),
        ).fetchall()
    assert runs == [("cx_ingest", "success"), ("cx_scorecard", "success")], runs
    e2e.marks["built_at"] = query(e2e.url, "select max(built_at) from marts.touchpoint_scorecard")[
        0
    ][0]


DBT_WARN_TEST = "test.cxscore.accepted_values_stg_crm__orders_status"
INJECTED_ORDER = """
    insert into raw.crm__orders (order_id, customer_email, ordered_at, amount, currency, status,
                                 updated_at, payload, _batch_id, _source_file, _line)
    select 'E2E-WARN-1', 'e2e-warn@example.com', now() - interval '1 day', 10, 'USD', 'shipped',
           now() - interval '1 day', '{}', max(_batch_id), 'e2e-injected.csv', 2
    from raw.crm__orders
"""


def test_dbt_test_failures_on_the_scheduled_path_alert_the_owners(e2e: E2E) -> None:
    """A warn-level dbt test that starts failing in cx_scorecard's build (an order status
    outside the documented set) fails no task, so the producer's post-build callback must
    alert it, as `cxscore build` does; and its recovery once the row is gone."""
    query(e2e.url, INJECTED_ORDER)
    e2e.alerts.clear()
    try:
        rc, out = _dags_test(e2e, "cx_scorecard", conf={"full_refresh": True})
        assert rc == 0, out[-6000:]  # a warning does not fail the run
        failed = [a for a in e2e.alerts if a.get("event") == "dbt_tests_failed"]
        assert len(failed) == 1, e2e.alerts
        assert DBT_WARN_TEST in json.dumps(failed[0])
        assert failed[0]["severity"] == "warning"
        state = query(
            e2e.url,
            "select failing from quality.alert_state where check_key like %s",
            (f"dbt|{DBT_WARN_TEST}%",),
        )
        assert state == [(True,)]
    finally:
        query(e2e.url, "delete from raw.crm__orders where order_id = 'E2E-WARN-1'")
    e2e.alerts.clear()
    rc, out = _dags_test(e2e, "cx_scorecard", conf={"full_refresh": True})
    assert rc == 0, out[-6000:]
    assert [a["event"] for a in e2e.alerts] == ["dbt_tests_recovered"], e2e.alerts
    e2e.marks["built_at"] = query(e2e.url, "select max(built_at) from marts.touchpoint_scorecard")[
        0
    ][0]


def _write_bad_orders(e2e: E2E, *, fixed: bool = False) -> Path:
    """A new orders file whose rows all lack customer_email (a required field), or with
    ``fixed`` its corrected version (same path)."""
    src = sorted((e2e.landing / "crm" / "orders").rglob("*.csv"))[0]
    text = src.read_bytes().decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    email = header.index("customer_email")
    oid = header.index("order_id")
    rows = [r for r in reader if len(r) == len(header) and "\ufffd" not in "".join(r)][:40]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for n, r in enumerate(rows):
        r[email] = f"fixed{n}@example.com" if fixed else ""
        r[oid] = "BAD-" + r[oid]
        writer.writerow(r)
    bad = src.with_name(f"orders-defect-{date.today():%Y%m%d}.csv")
    bad.write_text(buf.getvalue(), encoding="utf-8")
    return bad


def test_critical_failure_stops_before_dbt_and_alerts(e2e: E2E) -> None:
    _write_bad_orders(e2e)
    e2e.alerts.clear()
    rc, out = _dags_test(e2e, "cx_ingest")
    assert rc != 0, "cx_ingest should fail on a critical check"
    failed = query(
        e2e.url,
        "select run_id, table_name, column_name from quality.check_results "
        "where severity = 'critical' and not success order by result_id desc",
    )
    assert failed, "no critical failure recorded"
    assert any("crm__orders" in t and (c or "") == "customer_email" for _, t, c in failed), failed
    # alerted: the check alert and/or the task-failure alert reached the local receiver
    assert e2e.alerts, "no alert received"
    assert any("crm__orders" in json.dumps(a) for a in e2e.alerts), e2e.alerts

    rc, out = _dags_test(e2e, "cx_scorecard")
    assert rc != 0, "cx_scorecard must not build on failed raw checks"
    assert "quarantined" in out
    built = query(e2e.url, "select max(built_at) from marts.touchpoint_scorecard")[0][0]
    assert built == e2e.marks["built_at"]  # dbt did not run
    # the other sources were checked and published all the same
    states = _task_states(e2e, "cx_ingest")
    assert states["orders.check"] == "failed" and states["orders.emit_assets"] == "upstream_failed"
    for source in ("zendesk", "amazon_connect", "qualtrics"):
        assert states[f"{source}.emit_assets"] == "success", states


def _size(path: Path) -> int:
    return path.stat().st_size


def _task_states(e2e: E2E, dag_id: str) -> dict[str, str]:
    """task id -> state in the newest run of ``dag_id`` (Airflow's metadata database)."""
    with contextlib.closing(sqlite3.connect(Path(e2e.env["AIRFLOW_HOME"]) / "airflow.db")) as db:
        (run_id,) = db.execute(
            "select run_id from dag_run where dag_id = ? order by id desc limit 1", (dag_id,)
        ).fetchone()
        rows = db.execute(
            "select task_id, state from task_instance where dag_id = ? and run_id = ?",
            (dag_id, run_id),
        ).fetchall()
    return {task: str(state) for task, state in rows}


def test_the_gate_holds_until_the_file_is_fixed(e2e: E2E) -> None:
    """Nothing clears the quarantine by accident: another ingest with no new data, the
    daily (non-asset) cx_scorecard run, a backfill of a past date. A corrected version of
    the same file closes it, and the next runs build."""
    built = e2e.marks["built_at"]
    rc, _ = _dags_test(e2e, "cx_ingest")  # (a) no new data
    assert rc != 0
    assert _task_states(e2e, "cx_ingest")["orders.check"] == "failed"
    rc, out = _dags_test(e2e, "cx_scorecard")  # (c) the daily fallback
    assert rc != 0 and "quarantined" in out
    past = datetime.combine(date.today() - timedelta(days=3), datetime.min.time(), UTC)
    rc, out = _dags_test(e2e, "cx_scorecard", logical_date=past)  # (d) a backfill
    assert rc != 0 and "quarantined" in out
    assert _task_states(e2e, "cx_scorecard")["raw_checks_gate"] == "failed"
    assert query(e2e.url, "select max(built_at) from marts.touchpoint_scorecard")[0][0] == built
    (open_batch,) = {b for (b,) in query(e2e.url, "select batch_id from quality.gate")}

    _write_bad_orders(e2e, fixed=True)  # the same file, corrected
    e2e.alerts.clear()
    rc, out = _dags_test(e2e, "cx_ingest")
    assert rc == 0, out[-6000:]
    assert query(e2e.url, "select count(*) from quality.gate") == [(0,)]
    assert "quarantine_closed" in [a.get("event") for a in e2e.alerts]
    rc, out = _dags_test(e2e, "cx_scorecard")
    assert rc == 0, out[-6000:]
    assert query(e2e.url, "select max(built_at) from marts.touchpoint_scorecard")[0][0] > built
    assert query(
        e2e.url,
        "select count(*) from quality.check_results where batch_id = %s "
        "and expectation = 'quarantine_superseded' and success",
        (open_batch,),
    ) == [(1,)]
    e2e.marks["built_at"] = query(e2e.url, "select max(built_at) from marts.touchpoint_scorecard")[
        0
    ][0]


def test_report_from_the_warehouse(e2e: E2E, tmp_path: Path) -> None:
    from cxscore.report import write_report
    from cxscore.settings import load_settings

    # as the BI role would: a login that only has cx_bi_reader (marts + check results)
    role = f"cx_e2e_bi_{uuid.uuid4().hex[:6]}"
    query(e2e.url, f'create role "{role}" login; grant cx_bi_reader to "{role}"')
    bi_url = urlsplit(e2e.url)._replace(netloc=f"{role}@{urlsplit(e2e.url).netloc.split('@')[-1]}")
    out = tmp_path / "scorecard.html"
    try:
        summary = write_report(load_settings(), out, url=bi_url.geturl())
    finally:
        query(e2e.url, f'revoke cx_bi_reader from "{role}"; drop role "{role}"')
    page = out.read_text(encoding="utf-8")
    assert summary["touchpoints"] > 0 and summary["weeks"] >= 2
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    for status in ("green", "amber", "red", "low_sample", "no_data", "no_target"):
        assert f"s-{status}" in page
    shutil.copy(out, e2e.state / "e2e-report.html")


def test_one_source_down_does_not_stop_the_others(e2e: E2E) -> None:
    """Zendesk unreachable: its extract fails (and alerts), the three file sources are
    still loaded, checked and published; the run ends failed."""
    e2e.stub.stop()
    # new data for a file source: Connect delivers records at least once, a re-sent file
    # under a new name is valid input
    ctr = max((p for p in (e2e.landing / "ivr").rglob("*") if p.is_file()), key=_size)
    shutil.copyfile(ctr, ctr.with_name("resent-" + ctr.name))
    before = _raw_counts(e2e.url)["amazon_connect__contact_records"]
    e2e.alerts.clear()
    rc, _ = _dags_test(e2e, "cx_ingest", no_retries=True)
    assert rc != 0
    states = _task_states(e2e, "cx_ingest")
    assert states["zendesk.extract"] == "failed", states
    assert states["zendesk.emit_assets"] == "upstream_failed", states
    for source in ("amazon_connect", "qualtrics", "orders"):
        for step in ("extract", "check", "emit_assets"):
            assert states[f"{source}.{step}"] == "success", (source, step, states)
    assert _raw_counts(e2e.url)["amazon_connect__contact_records"] > before
    assert any(
        a.get("event") == "task_failed" and a.get("task_id") == "zendesk.extract"
        for a in e2e.alerts
    ), e2e.alerts


def test_no_secret_in_airflow_metadata_or_logs(e2e: E2E) -> None:
    """After every run above (alerts sent to a Slack receiver that is down, dbt builds with
    the PII hashing key): the webhook's secret path and the HMAC key material appear
    nowhere in Airflow's metadata (XCom, rendered template fields, ...) or the logs."""
    from cxscore.settings import load_settings
    from cxscore.transform import hash_key, hmac_pads

    airflow_home = Path(e2e.env["AIRFLOW_HOME"])
    files = [p for p in [*airflow_home.rglob("*"), *(airflow_home.parent / "logs").rglob("*")]]
    files = [p for p in files if p.is_file()]
    key = hash_key(load_settings(environ={"CX_STATE_DIR": str(e2e.state)}))
    ipad, opad = hmac_pads(key)
    everything = b"".join(p.read_bytes() for p in files)
    assert b"alert delivery failed on slack (http://127.0.0.1:" in everything  # it did fail
    for secret in (
        SLACK_SECRET_PATH.encode(),
        b"E2eSlackSecretPath",
        key,
        ipad.encode(),
        opad.encode(),
        b"cx.hmac_ipad=",
    ):
        assert secret not in everything, secret
    with contextlib.closing(sqlite3.connect(airflow_home / "airflow.db")) as db:
        rendered = db.execute("select count(*) from rendered_task_instance_fields").fetchone()
        xcoms = db.execute("select count(*) from xcom").fetchone()
    assert rendered[0] > 0 and xcoms[0] > 0  # the scan above did see both
