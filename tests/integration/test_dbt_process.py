"""dbt in a process of its own (cxscore.dbt_process): the protocol, a build's summary and
failures as the caller sees them in-process, and the fallbacks. Real dbt, real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

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


def test_a_build_in_the_dbt_process_reports_each_node(fresh_db: str, tmp_path: Path) -> None:
    project = _project(tmp_path / "probe")
    command = [
        "build",
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
    ]
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
