"""The quality gate holds until the problem is resolved, through the real CLI (in-process),
real PostgreSQL, GX and dbt (docs/quality.md, "The gate").

One warehouse and one small generated world for the module; the tests run in order and
build on each other:

1. a good delivery builds and publishes; a file with a critical defect quarantines its
   batch and `cxscore run` exits 3;
2. nothing clears the gate by accident: a run with no new data, a single-suite
   `cxscore check`, `cxscore build` all exit 3 and BI sees the same marts;
3. a corrected version of the same file (loaded by `cxscore extract`, checked by the gate
   itself before `cxscore build`) closes the quarantine and builds;
4. `cxscore quality release` accepts a bad batch, recorded with who, when and why;
5. a critical failure of the scorecard checks leaves what cx_bi_reader sees byte-identical
   and exits 3; the next good build publishes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from typer.testing import CliRunner

from tests.helpers import SCORECARD_CHECKSUM, query, scratch_database

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]
BI_CHECKSUM = """
    select count(*),
           md5(coalesce(string_agg(to_jsonb(s)::text, '|'
               order by touchpoint_id, period_grain, period_start, segment, metric), ''))
    from marts.touchpoint_scorecard s
"""


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with contextlib.suppress(ValueError):
            payload = json.loads(body)
            if "owner" not in payload:  # owner messages: not the gate's alerts
                self.server.bodies.append(payload)  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class Gate:
    url: str
    world: Path
    landing: Path
    env: dict[str, str]
    deliveries: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    marks: dict[str, Any] = field(default_factory=dict)

    def cli(self, *args: str, extra: dict[str, str] | None = None) -> tuple[int, str]:
        from cxscore.cli import app

        result = CliRunner().invoke(app, list(args), env={**self.env, **(extra or {})})
        output = result.output  # stdout and stderr, as a terminal shows them (click 8.2)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, output

    def cli_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        """A command with ``--json``: its exit code and its summary (stdout only)."""
        from cxscore.cli import app

        result = CliRunner().invoke(app, [*args, "--json"], env=self.env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, json.loads(result.stdout)

    def bi_checksum(self) -> tuple[int, str]:
        """What the BI role sees in marts.touchpoint_scorecard (read as that role)."""
        with contextlib.closing(psycopg2.connect(self.url)) as conn, conn.cursor() as cur:
            cur.execute("set role cx_bi_reader")
            cur.execute(BI_CHECKSUM)
            row = cur.fetchone()
        assert row is not None
        return int(row[0]), str(row[1])

    def events(self) -> list[str]:
        return [str(a.get("event")) for a in self.alerts]


def _deliver(gate: Gate, k: int) -> None:
    for rel in gate.deliveries[k - 1]["landing_files"]:
        target = gate.landing / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(gate.world / "landing" / rel, target)


ORDERS = 12  # orders in each hand-made file


def _orders_file(gate: Gate, name: str, *, emails: bool, prefix: str) -> Path:
    """ORDERS orders copied from the world's order files under new ids; without
    customer_email (a required field, critical at 98 %) unless ``emails``. The whole world's
    files (21-34 orders), not only the first delivery's: the world starts 14 days before
    today, and on a Friday to Sunday start its first week holds only 6-10 orders."""
    world = gate.world / "landing"
    originals = sorted((world / "crm" / "orders").rglob("orders_*.csv"))
    rows: list[list[str]] = []
    for src in originals:
        reader = csv.reader(io.StringIO(src.read_text(encoding="utf-8")))
        header = next(reader)
        rows += [r for r in reader if len(r) == len(header)]
    email, oid = header.index("customer_email"), header.index("order_id")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    seen: set[str] = set()
    for row in rows:
        if row[oid] in seen or len(seen) == ORDERS:
            continue
        seen.add(row[oid])
        row[oid] = prefix + row[oid]
        row[email] = f"buyer{len(seen)}@example.com" if emails else ""
        writer.writerow(row)
    assert len(seen) == ORDERS
    path = gate.landing / originals[0].relative_to(world).with_name(name)  # beside a delivered file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def gate(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gate]:
    from cxscore.generate import generate_world

    tmp = tmp_path_factory.mktemp("gate")
    world = tmp / "world"
    generate_world(
        world,
        days=14,
        customers=80,
        seed=5,
        start=date.today() - timedelta(days=14),
        increments=2,
        progress=False,
    )
    deliveries = json.loads((world / "manifest.json").read_text(encoding="utf-8"))["deliveries"]
    receiver = HTTPServer(("127.0.0.1", 0), _Receiver)
    receiver.bodies = []  # type: ignore[attr-defined]
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with scratch_database(pg_server_url, "cxtest_gate") as url:
        env = {
            "CX_WAREHOUSE__URL": url,
            "CX_LANDING_DIR": str(tmp / "landing"),
            "CX_STATE_DIR": str(tmp / "state"),
            "CX_ALERTS__WEBHOOK_URL": f"http://127.0.0.1:{receiver.server_address[1]}/hook",
        }
        try:
            yield Gate(
                url,
                world,
                tmp / "landing",
                env,
                deliveries,
                receiver.bodies,  # type: ignore[attr-defined]
            )
        finally:
            receiver.shutdown()
            receiver.server_close()


def test_good_delivery_builds_then_a_critical_defect_quarantines(gate: Gate) -> None:
    _deliver(gate, 1)
    code, summary = gate.cli_json("run")
    assert code == 0, summary
    # the run's summary times each stage, in the order they ran
    stages = summary["stages"]
    assert list(stages) == [
        "extract", "raw checks", "gate", "dbt build", "scorecard checks", "publish",
        "owner alerts",
    ]  # fmt: skip
    assert stages["dbt build"] > 0 and stages["extract"] > 0
    assert summary["rows_loaded"] > 0
    assert query(gate.url, "select count(*) from meta.published_builds") == [(1,)]
    good = gate.bi_checksum()
    assert good[0] > 0

    _orders_file(gate, "orders-defect.csv", emails=False, prefix="BAD-")
    gate.alerts.clear()
    judged = query(gate.url, "select count(*), max(judged_at) from meta.status_alert_state")
    assert judged[0][0] > 0  # the published build was judged for owner status alerts
    told = query(gate.url, "select count(*) from meta.owner_notifications")
    code, out = gate.cli("run")
    assert code == 3, out
    # a build the gate stopped tells no owner anything and judges nothing
    assert query(gate.url, "select count(*) from meta.owner_notifications") == told
    assert query(gate.url, "select count(*), max(judged_at) from meta.status_alert_state") == judged
    ((batch,),) = query(gate.url, "select distinct batch_id from quality.gate")
    assert f"batch {batch} (orders/" in out and "quality release" in out
    assert query(
        gate.url, "select kind, suite, column_name from quality.gate where batch_id = %s", (batch,)
    ) == [("quarantine", "crm__orders", "customer_email")]
    assert query(
        gate.url,
        "select distinct stage from quality.check_results where batch_id = %s and not success",
        (batch,),
    ) == [("raw",)]
    assert gate.events().count("batch_quarantined") == 1
    quarantined = next(a for a in gate.alerts if a["event"] == "batch_quarantined")
    assert quarantined["batch_id"] == batch and "cxscore quality release" in quarantined["text"]
    assert gate.bi_checksum() == good
    assert query(gate.url, "select count(*) from meta.published_builds") == [(1,)]
    gate.marks.update(batch=batch, good=good)


def test_nothing_clears_the_gate_by_accident(gate: Gate) -> None:
    batch = gate.marks["batch"]
    gate.alerts.clear()
    # (a) a run with no new data
    code, out = gate.cli("run")
    assert code == 3 and f"batch {batch}" in out, out
    # (b) a single-suite check of another suite, then of the failing one
    code, out = gate.cli("check", "zendesk__users")
    assert code == 3 and f"batch {batch}" in out, out
    code, out = gate.cli("check", "crm__orders")
    assert code == 3, out
    # (c) a build on its own (what the daily DAG run and a backfill call)
    code, out = gate.cli("build")
    assert code == 3 and f"batch {batch}" in out, out
    code, out = gate.cli("quality", "status")
    assert code == 3 and f"batch {batch} (orders/" in out, out
    code, out = gate.cli("quality", "status", "--json")
    assert code == 3
    status = json.loads(out)
    assert status["quarantined_batches"] == [batch] and status["open"] is True
    assert gate.bi_checksum() == gate.marks["good"]
    assert query(gate.url, "select count(*) from meta.published_builds") == [(1,)]
    assert gate.alerts == []  # still the same quarantine: nobody is told twice


def test_a_corrected_file_is_checked_before_the_build_and_closes_the_quarantine(
    gate: Gate,
) -> None:
    batch = gate.marks["batch"]
    _orders_file(gate, "orders-defect.csv", emails=True, prefix="BAD-")  # same path, fixed
    gate.alerts.clear()
    code, out = gate.cli("extract", "orders")  # loads, does not check
    assert code == 0, out
    ((fixed,),) = query(
        gate.url, "select batch_id from meta.loaded_files where path like '%%orders-defect.csv'"
    )
    assert query(gate.url, "select kind from quality.gate") == [
        ("quarantine",),
        ("unchecked",),
    ]
    code, out = gate.cli("build")  # the gate checks the unchecked batch first
    assert code == 0, out
    assert query(
        gate.url, "select count(*) > 0 from quality.check_results where batch_id = %s", (fixed,)
    ) == [(True,)]
    assert query(
        gate.url,
        "select observed_value from quality.check_results where batch_id = %s "
        "and expectation = 'quarantine_superseded'",
        (batch,),
    ) == [
        (
            f"no rows of batch {batch} left in raw.crm__orders: its file(s) were replaced by "
            "a new version",
        )
    ]
    assert query(gate.url, "select count(*) from quality.gate") == [(0,)]
    # the check (customer_email not null) recovered, and the quarantine closed: once each
    assert sorted(gate.events()) == ["quality_check_recovered", "quarantine_closed"]
    assert query(
        gate.url, "select count(*) from marts.fct_orders where order_id like 'BAD-%%'"
    ) == [(ORDERS,)]
    assert query(gate.url, "select count(*) from meta.published_builds") == [(2,)]


def test_release_by_hand_is_recorded_and_builds(gate: Gate) -> None:
    _orders_file(gate, "orders-defect-2.csv", emails=False, prefix="REL-")
    code, out = gate.cli("run")
    assert code == 3, out
    ((batch,),) = query(gate.url, "select distinct batch_id from quality.gate")
    code, out = gate.cli("quality", "release", str(batch), "--reason", " ")
    assert code == 2, out
    gate.alerts.clear()
    code, out = gate.cli(
        "quality",
        "release",
        str(batch),
        "--reason",
        "export without e-mails, agreed with CRM",
        "--user",
        "oncall@example.com",
        "--json",
    )
    assert code == 0, out
    assert json.loads(out)["gate_open"] is True
    assert query(
        gate.url,
        "select released_by, reason, jsonb_array_length(failures), released_at > now() - "
        "interval '5 minutes' from quality.releases where batch_id = %s",
        (batch,),
    ) == [("oncall@example.com", "export without e-mails, agreed with CRM", 1, True)]
    assert gate.events() == ["quarantine_closed"]
    assert "released by oncall@example.com" in gate.alerts[0]["text"]
    code, out = gate.cli("quality", "release", str(batch), "--reason", "again")
    assert code == 1 and "not quarantined" in out, out
    code, out = gate.cli("run")
    assert code == 0, out
    assert query(
        gate.url, "select count(*) from marts.fct_orders where order_id like 'REL-%%'"
    ) == [(ORDERS,)]
    gate.marks["good"] = gate.bi_checksum()


def test_a_critical_scorecard_failure_publishes_nothing(gate: Gate, tmp_path: Path) -> None:
    suites = tmp_path / "expectations"
    shutil.copytree(REPO / "expectations", suites)
    suite = suites / "touchpoint_scorecard.yml"
    suite.write_text(
        suite.read_text(encoding="utf-8")
        + "\n  - {type: expect_table_row_count_to_be_between, max_value: 0,"
        " severity: critical, name: injected_empty_scorecard}\n",
        encoding="utf-8",
    )
    _deliver(gate, 2)
    before = query(gate.url, "select count(*) from marts.fct_interactions")[0][0]
    code, out = gate.cli("run", extra={"CX_QUALITY__EXPECTATIONS_DIR": str(suites)})
    assert code == 3, out
    assert "NOT published" in out
    assert gate.bi_checksum() == gate.marks["good"]  # byte-identical for BI
    assert query(gate.url, "select count(*) from marts.fct_interactions")[0][0] == before
    built = query(gate.url, "select count(*) from marts_build.fct_interactions")[0][0]
    assert built > before  # the new delivery was built, not published
    assert query(gate.url, "select count(*) from meta.published_builds") == [(3,)]
    code, out = gate.cli("run")
    assert code == 0, out
    assert query(gate.url, "select count(*) from marts.fct_interactions")[0][0] == built
    assert gate.bi_checksum() != gate.marks["good"]


def test_two_builds_at_once_take_turns(gate: Gate) -> None:
    """Two `cxscore build` processes on one warehouse: the second waits for the build lock
    (it says so), both succeed, and the marts are what one build gives."""
    import os
    import subprocess
    import sys

    values = query(gate.url, SCORECARD_CHECKSUM)
    published = query(gate.url, "select count(*) from meta.published_builds")[0][0]
    cxscore = Path(sys.executable).with_name("cxscore")
    env = {**os.environ, **gate.env}
    procs = [
        subprocess.Popen(
            [str(cxscore), "build"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]  # fmt: skip
    outs = [p.communicate(timeout=900)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert any("cxscore.build is held by pid" in o and "waiting up to" in o for o in outs), outs
    assert query(gate.url, "select count(*) from meta.published_builds") == [(published + 2,)]
    assert query(gate.url, SCORECARD_CHECKSUM) == values
