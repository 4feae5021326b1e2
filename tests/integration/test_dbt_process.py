"""dbt in a process of its own (cxscore.dbt_process): the protocol, a build's summary and
failures as the caller sees them in-process, and the fallbacks. Real dbt, real PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from cxscore.dbt_process import DbtProcess
from cxscore.transform import TransformError, _Outcome, _raise_on_failure
from cxscore.warehouse import url_components

PROFILE = """\
probe:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "{{ env_var('PROBE_HOST') }}"
      port: "{{ env_var('PROBE_PORT') | int }}"
      user: "{{ env_var('PROBE_USER') }}"
      password: "{{ env_var('DBT_ENV_SECRET_PROBE_PASSWORD', '') }}"
      dbname: "{{ env_var('PROBE_DBNAME') }}"
      schema: probe
      threads: 2
"""


def _project(folder: Path) -> Path:
    """A two-model dbt project: `good` builds, `bad` divides by zero, `good` is tested."""
    (folder / "models").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(
        "name: probe\nversion: '1.0'\nconfig-version: 2\nprofile: probe\n", encoding="utf-8"
    )
    (folder / "profiles.yml").write_text(PROFILE, encoding="utf-8")
    (folder / "models" / "good.sql").write_text(
        "select 1 as id union all select 2", encoding="utf-8"
    )
    (folder / "models" / "bad.sql").write_text(
        "{{ config(materialized='table') }} select 1 / 0 as boom", encoding="utf-8"
    )
    (folder / "models" / "schema.yml").write_text(
        "version: 2\nmodels:\n  - name: good\n    columns:\n      - name: id\n"
        "        data_tests: [unique, not_null]\n",
        encoding="utf-8",
    )
    return folder


def _env(url: str) -> dict[str, str]:
    parts = url_components(url)
    return {
        "PROBE_HOST": str(parts["host"]),
        "PROBE_PORT": str(parts["port"]),
        "PROBE_USER": str(parts["user"]),
        "DBT_ENV_SECRET_PROBE_PASSWORD": str(parts["password"] or ""),
        "PROBE_DBNAME": str(parts["dbname"]),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def _command(tmp_path: Path, *args: str) -> list[str]:
    """``dbt <args>`` on the probe project (written to ``tmp_path``)."""
    project = _project(tmp_path / "probe")
    paths = ("--project-dir", str(project), "--profiles-dir", str(project))
    return [*args, *paths, "--target-path", str(tmp_path / "t"), "--log-path", str(tmp_path)]


def test_a_build_in_the_dbt_process_reports_each_node(fresh_db: str, tmp_path: Path) -> None:
    command = _command(tmp_path, "build")
    answer = DbtProcess().invoke(command, _env(fresh_db))
    assert answer is not None
    summary = answer["summary"]
    # good built and its two tests passed; bad failed with PostgreSQL's own message
    assert (summary["models"], summary["tests_passed"], summary["tests_failed"]) == (1, 2, 0)
    assert summary["success"] is False
    [failure] = summary["failures"]
    assert failure["node"] == "model.probe.bad"
    assert "division by zero" in failure["message"]
    # the process's own peak memory: dbt imported and a build run (about 150 MB and more)
    assert 50 < answer["peak_rss_mb"] < 2000
    # the caller raises exactly as for a build in its own process
    with pytest.raises(TransformError, match=r"dbt build failed: 1 node\(s\):\n  model.probe.bad"):
        _raise_on_failure(summary, _Outcome(answer["exception"]), "dbt build")


def _parsed_then_changed(tmp_path: Path, url: str, build_env: dict[str, str]) -> int:
    """Parse ahead for `dbt build`, change model `good` (2 -> 3 rows) once the parse has
    written its manifest, then build with ``build_env``; the rows of `good` built."""
    command = _command(tmp_path, "build")
    parse = ["parse", *command[1:]]
    process = DbtProcess()
    process.parse_ahead(parse, command, _env(url))
    manifest = tmp_path / "t" / "manifest.json"
    deadline = time.monotonic() + 120
    while not manifest.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert manifest.exists()
    (tmp_path / "probe" / "models" / "good.sql").write_text(
        "select 1 as id union all select 2 union all select 3", encoding="utf-8"
    )
    answer = process.invoke(command, build_env)
    assert answer is not None and answer["summary"]["models"] == 1
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from probe.good")
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def test_a_build_parsed_ahead_runs_the_project_as_it_was_parsed(
    fresh_db: str, tmp_path: Path
) -> None:
    # the manifest parsed ahead is the build's: the change made after it is not built
    assert _parsed_then_changed(tmp_path, fresh_db, _env(fresh_db)) == 2


def test_a_build_with_another_environment_than_parsed_for_parses_again(
    fresh_db: str, tmp_path: Path
) -> None:
    env = {**_env(fresh_db), "PROBE_EXTRA": "1"}
    assert _parsed_then_changed(tmp_path, fresh_db, env) == 3


def test_a_dbt_process_never_asked_stops_when_closed() -> None:
    process = DbtProcess()
    child = process._proc
    assert child is not None
    process.close()
    assert child.returncode == 0
    assert process.invoke(["--version"], {}) is None  # one request per process, none left


def test_a_dbt_process_gone_before_the_request_leaves_dbt_to_the_caller() -> None:
    process = DbtProcess()
    child = process._proc
    assert child is not None
    child.kill()
    child.wait()
    assert process.invoke(["--version"], {}) is None


def test_the_dbt_process_answers_a_command_without_nodes() -> None:
    answer = DbtProcess().invoke(["--version"], {})
    assert answer is not None
    assert answer["exception"] is None
    summary = answer["summary"]
    assert (summary["success"], summary["models"], summary["failures"]) == (True, 0, [])


def test_a_dbt_process_exits_when_its_run_is_killed(fresh_db: str, tmp_path: Path) -> None:
    """A run killed outright (SIGKILL: no cleanup) while its dbt process works leaves no dbt
    process working on: here during a query of 120 s, gone within seconds."""
    command = _command(tmp_path, "show", "--inline", "select pg_sleep(120)")
    script = (
        "import json, sys; from cxscore.dbt_process import DbtProcess; p = DbtProcess();"
        " print(p._proc.pid, flush=True); p.invoke(*json.loads(sys.argv[1]))"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, json.dumps([command, _env(fresh_db)])],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    # wait until the query runs, then kill the run
    deadline = time.monotonic() + 120
    while not _sleeping_queries(fresh_db) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sleeping_queries(fresh_db) == 1 and _alive(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 15
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    # gone well before the query's 120 s (its transaction never commits: PostgreSQL rolls it
    # back when the statement ends and finds the client gone)
    assert not _alive(child)


def _sleeping_queries(url: str) -> int:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "select count(*) from pg_stat_activity where query like %s and pid <> pg_backend_pid()",
            ("%pg_sleep(120)%",),
        )
        row = cur.fetchone()
        return int(row[0]) if row else 0


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, reaped by init soon, counts as gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            return not any(line.startswith("State:\tZ") for line in fh)
    except FileNotFoundError:
        return False
