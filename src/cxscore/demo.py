"""``cxscore demo``: the zero-setup showcase (what ``make demo`` runs).

1. the warehouse: the configured one, else the embedded PostgreSQL under ``.cxscore/pg``;
2. a synthetic CX world (``cxscore.generate``) split into deliveries, under
   ``<state_dir>/demo/world`` (re-used when present with the same parameters);
3. the local Zendesk API stand-in serving the world (``start_stub``);
4. a local Airflow with SQLite metadata in ``<state_dir>/airflow`` (``airflow db migrate``
   once, pool ``cx_warehouse``, connections ``cx_warehouse`` and ``zendesk_default`` as
   ``AIRFLOW_CONN_*`` environment variables);
5. per delivery not yet processed: its landing files are copied into
   ``<state_dir>/demo/landing``, the stand-in advances to that increment, then the real DAGs
   run with ``airflow dags test``: ``cx_ingest``, then ``cx_scorecard`` (closed loop on:
   its ``create_followups`` task creates follow-up tickets in the stand-in, which the next
   delivery's ingest brings back);
6. ``reports/scorecard.html`` and a compact summary in the terminal.

Re-running is safe and incremental: the world, the warehouse, the loaders' state and the
demo's own record of processed deliveries are re-used; a re-run with nothing new performs
one more (idempotent) pass and rewrites the report.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cxscore.errors import CxError
from cxscore.settings import Settings

log = logging.getLogger(__name__)

BASE_CUSTOMERS = 3000
DEMO_SEED = 7
ZENDESK_EMAIL = "demo@example.com"
ZENDESK_TOKEN = "demo-token"  # the local stand-in's token, not a secret


def increments_for(days: int) -> int:
    """Deliveries the world is split into: about one per month, 2..4 (60 days: 2, a full
    build then an incremental one)."""
    return max(2, min(4, days // 30))


def _console() -> Any:
    """A rich console on a duplicate of stderr: it keeps drawing on the terminal while
    Airflow's own output (fd 1 and 2) is sent to the run's log file."""
    from rich.console import Console

    stream = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    return Console(file=stream, force_terminal=None)


def _manifest_deliveries(world: Path) -> list[dict[str, Any]]:
    """The deliveries listed in ``world/manifest.json``: [{"k", "files", ...}], by k."""
    path = world / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CxError(f"{path}: cannot read the world's manifest ({exc})") from exc
    deliveries = manifest.get("deliveries") if isinstance(manifest, dict) else None
    if not isinstance(deliveries, list) or not deliveries:
        raise CxError(f"{path}: key 'deliveries' missing or empty")
    return sorted(deliveries, key=lambda d: int(d.get("k", 0)))


def _landing_source(world: Path, rel: str) -> tuple[Path, Path]:
    """(absolute file, path relative to the landing root) of a manifest entry."""
    for root in (world / "landing", world):
        candidate = root / rel
        if candidate.is_file():
            rel_path = Path(rel)
            if root == world and rel_path.parts and rel_path.parts[0] == "landing":
                rel_path = Path(*rel_path.parts[1:])
            return candidate, rel_path
    raise CxError(f"{world / 'manifest.json'}: listed landing file {rel!r} does not exist")


def deliver(world: Path, landing: Path, delivery: dict[str, Any]) -> int:
    """Copy one delivery's landing files into the landing dir (idempotent); returns count."""
    count = 0
    for rel in delivery.get("files") or delivery.get("landing_files") or []:
        src, rel_path = _landing_source(world, str(rel))
        dest = landing / rel_path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists() or dest.stat().st_size != src.stat().st_size:
            tmp = dest.with_name(dest.name + ".part")
            shutil.copyfile(src, tmp)
            tmp.replace(dest)  # a loader never sees a half-copied file
        count += 1
    return count


def _ensure_world(demo_dir: Path, *, days: int, customers: int, increments: int) -> Path:
    from cxscore.generate import generate_world

    world = demo_dir / "world"
    params = {"days": days, "customers": customers, "seed": DEMO_SEED, "increments": increments}
    params_file = demo_dir / "world_params.json"
    if (world / "manifest.json").exists() and params_file.exists():
        stored = json.loads(params_file.read_text(encoding="utf-8"))
        if {k: stored.get(k) for k in params} == params:
            return world
        raise CxError(
            f"{world} was generated with {stored}, not {params}: remove {demo_dir} "
            "(or run `make clean`) to start a new demo world"
        )
    if world.exists():
        shutil.rmtree(world)
    generate_world(
        world,
        days=days,
        customers=customers,
        seed=DEMO_SEED,
        increments=increments,
    )
    params_file.write_text(json.dumps(params) + "\n", encoding="utf-8")
    return world


def _read_state(path: Path) -> dict[str, Any]:
    if path.exists():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    return {"delivered": 0, "runs": []}


class DagRunner:
    """Runs the real DAGs with ``dag.test()`` in this process (the default: Airflow, GX and
    dbt are imported once for the whole demo instead of once per run), or with
    ``airflow dags test`` subprocesses (``CX_DEMO_RUNNER=subprocess``). Airflow's own
    output goes to one log file per run under ``<state_dir>/demo/logs``."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.in_process = os.environ.get("CX_DEMO_RUNNER", "inprocess") != "subprocess"
        self._bag: Any = None
        logs.mkdir(parents=True, exist_ok=True)

    def _dagbag(self) -> Any:
        if self._bag is None:
            if "airflow" in sys.modules:
                raise CxError(
                    "Airflow was imported before the demo configured it; "
                    "run with CX_DEMO_RUNNER=subprocess"
                )
            for name in list(os.environ):
                if name.startswith(("AIRFLOW__", "AIRFLOW_CONN_")):
                    del os.environ[name]
            os.environ.update(self.env)
            from airflow.dag_processing.dagbag import DagBag

            self._bag = DagBag(dag_folder=self.env["AIRFLOW__CORE__DAGS_FOLDER"])
            if self._bag.import_errors:
                raise CxError(f"DAG import errors: {self._bag.import_errors}")
        return self._bag

    def run(
        self,
        dag_id: str,
        label: str,
        conf: dict[str, Any] | None = None,
        logical_date: datetime | None = None,
    ) -> tuple[bool, float, Path]:
        """Run one DAG (for ``logical_date`` when given, e.g. a backfill of a past date);
        returns (every task succeeded, seconds, log file)."""
        log_file = self.logs / f"{label}-{dag_id}.log"
        started = time.monotonic()
        if not self.in_process:
            from cxscore.orchestration.local import dags_test

            when = logical_date.isoformat() if logical_date else None
            proc = dags_test(dag_id, self.env, conf=conf, logical_date=when)
            log_file.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr, "utf-8")
            return proc.returncode == 0, time.monotonic() - started, log_file
        with _output_to(log_file):
            dag = self._dagbag().dags[dag_id]
            if logical_date is None:
                dag_run = dag.test(run_conf=conf)
            else:
                dag_run = dag.test(run_conf=conf, logical_date=logical_date)
        state = str(getattr(dag_run, "state", "failed"))
        return state.endswith("success"), time.monotonic() - started, log_file


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout/stderr (file descriptors included) to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_demo(settings: Settings, *, days: int, scale: float) -> dict[str, Any]:
    """Run the whole showcase; returns a summary (deliveries, timings, report path)."""
    from cxscore.orchestration.dbt_cosmos import ensure_dbt_manifest
    from cxscore.orchestration.local import airflow_env, init_airflow_home
    from cxscore.quality.gate import gate_state
    from cxscore.report import format_summary, write_report
    from cxscore.signals.outlook import owner_outlook
    from cxscore.standins.zendesk import start_stub
    from cxscore.warehouse import ensure_warehouse, redact_url

    console = _console()
    started = time.monotonic()
    state_dir = Path(settings.state_dir).resolve()
    demo_dir = state_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    landing = demo_dir / "landing"
    logs = demo_dir / "logs"
    customers = max(50, round(BASE_CUSTOMERS * scale))
    increments = increments_for(days)
    timings: dict[str, float] = {}

    console.rule("[bold]cxscore demo")
    with console.status("starting the warehouse"):
        t = time.monotonic()
        url = ensure_warehouse(settings)
        timings["warehouse"] = time.monotonic() - t
    console.print(f"warehouse: {redact_url(url)}", highlight=False, soft_wrap=True)

    with console.status(f"generating a synthetic world: {days} days, {customers} customers"):
        t = time.monotonic()
        world = _ensure_world(demo_dir, days=days, customers=customers, increments=increments)
        timings["world"] = time.monotonic() - t
    deliveries = _manifest_deliveries(world)
    console.print(f"world: {world} ({len(deliveries)} deliveries)", highlight=False)

    with console.status("preparing Airflow (SQLite metadata, pool, dbt manifest)"):
        t = time.monotonic()
        manifest = ensure_dbt_manifest()
        timings["dbt_parse"] = time.monotonic() - t
        stub = start_stub(world, port=0, email=ZENDESK_EMAIL, token=ZENDESK_TOKEN, increment=1)
    try:
        env = airflow_env(
            state_dir / "airflow",
            warehouse_url=url,
            zendesk=(stub.base_url, ZENDESK_EMAIL, ZENDESK_TOKEN),
            landing=landing,
            state=state_dir,
            extra={
                # closing the loop against the stand-in: follow-up tickets after each build,
                # back in the next delivery's ingest
                "CX_CLOSED_LOOP__ENABLED": "true",
            },
        )
        with console.status("preparing Airflow: `airflow db migrate` (first run only)"):
            t = time.monotonic()
            migrated = init_airflow_home(env)
            timings["airflow_init"] = time.monotonic() - t
        console.print(
            f"airflow: AIRFLOW_HOME={env['AIRFLOW_HOME']}"
            + (" (initialised)" if migrated else " (re-used)")
            + f"; dbt manifest {manifest}",
            highlight=False,
            soft_wrap=True,
        )
        runner = DagRunner(env, logs)
        state_file = demo_dir / "state.json"
        state = _read_state(state_file)
        todo = [d for d in deliveries if int(d.get("k", 0)) > int(state.get("delivered", 0))]
        if not todo:
            console.print("every delivery was already processed: one more idempotent pass")
            todo = [deliveries[-1]]
        gated: list[int] = []
        for delivery in todo:
            k = int(delivery.get("k", 0))
            label = f"delivery-{k:02d}"
            files = deliver(world, landing, delivery)
            stub.set_increment(k)
            with console.status(f"delivery {k}/{len(deliveries)}: cx_ingest ({files} files)"):
                ok, secs, log_file = runner.run("cx_ingest", label)
            timings[f"{label}_ingest"] = secs
            if not ok:
                gate = gate_state(url)
                if not gate.is_open:
                    raise CxError(f"cx_ingest failed for delivery {k}; see {log_file}")
                gated.append(k)
                console.print(
                    f"[yellow]delivery {k}: quarantined load batch(es) "
                    f"{sorted(gate.quarantined)}: the scorecard is not rebuilt and the alert "
                    f"was sent (cxscore quality status); log {log_file}",
                    highlight=False,
                )
                state["delivered"] = k
                state_file.write_text(json.dumps(state, indent=1), encoding="utf-8")
                continue
            console.print(
                f"delivery {k}/{len(deliveries)}: cx_ingest ok ({secs:.0f} s)", highlight=False
            )
            with console.status(f"delivery {k}/{len(deliveries)}: cx_scorecard (dbt build)"):
                ok, secs, log_file = runner.run("cx_scorecard", label)
            timings[f"{label}_scorecard"] = secs
            if not ok:
                raise CxError(f"cx_scorecard failed for delivery {k}; see {log_file}")
            console.print(
                f"delivery {k}/{len(deliveries)}: cx_scorecard ok ({secs:.0f} s)",
                highlight=False,
            )
            state["delivered"] = k
            state.setdefault("runs", []).append(
                {"k": k, "at": datetime.now(UTC).isoformat(timespec="seconds")}
            )
            state_file.write_text(json.dumps(state, indent=1), encoding="utf-8")
    finally:
        stub.stop()

    report_path = Path("reports") / "scorecard.html"
    summary = write_report(settings, report_path, url=url)
    outlook = owner_outlook(
        settings,
        url=url,
        digest_dir=report_path.parent / "digests",
        incident_week=summary.get("incident_week"),
    )
    total = time.monotonic() - started
    console.rule("[bold]scorecard")
    for line in format_summary(summary):
        console.print(line, highlight=False, soft_wrap=True)
    console.rule("[bold]owners hear it")
    for line in outlook["lines"]:
        console.print(line, highlight=False, soft_wrap=True)
    console.print(
        f"[bold green]report:[/] {report_path.resolve()}  (open it in a browser; "
        f"demo took {total:.0f} s)",
        highlight=False,
        soft_wrap=True,
    )
    return {
        "warehouse": redact_url(url),
        "world": str(world),
        "deliveries": len(deliveries),
        "processed": [int(d.get("k", 0)) for d in todo],
        "gated": gated,
        "report": str(report_path),
        "seconds": round(total, 1),
        "timings": {k: round(v, 1) for k, v in timings.items()},
        "summary": summary,
        "owners": {k: v for k, v in outlook.items() if k != "lines"},
    }
