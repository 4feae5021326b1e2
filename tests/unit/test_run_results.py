"""The dbt build summary read from a target directory (what the Airflow producer leaves)
agrees with the rules of the in-process summary: counts, failures, tested ids, severities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxscore.transform import summarise_run_results


def _write(target: Path, results: list[dict[str, object]], attached: dict[str, str]) -> None:
    target.mkdir(parents=True)
    (target / "run_results.json").write_text(
        json.dumps({"elapsed_time": 12.34, "results": results}), encoding="utf-8"
    )
    nodes: dict[str, dict[str, str | None]] = {
        uid: {"attached_node": model} for uid, model in attached.items()
    }
    nodes["model.p.a"] = {"attached_node": None}
    (target / "manifest.json").write_text(json.dumps({"nodes": nodes}), encoding="utf-8")


def test_summary_of_a_build_with_a_warning_and_a_failure(tmp_path: Path) -> None:
    target = tmp_path / "target"
    _write(
        target,
        [
            {"unique_id": "seed.p.s", "status": "success", "message": "INSERT 3"},
            {"unique_id": "model.p.a", "status": "success", "message": "SELECT 10"},
            {"unique_id": "model.p.b", "status": "error", "message": "division by zero"},
            {"unique_id": "model.p.c", "status": "skipped", "message": None},
            {"unique_id": "test.p.t1", "status": "pass", "failures": 0, "message": None},
            {"unique_id": "test.p.t2", "status": "warn", "failures": 4, "message": "Got 4"},
            {"unique_id": "test.p.t3", "status": "fail", "failures": 1, "message": "Got 1"},
        ],
        {"test.p.t1": "model.p.a", "test.p.t2": "model.p.a", "test.p.t3": "model.p.b"},
    )
    summary = summarise_run_results(target)
    assert (summary["models"], summary["seeds"]) == (1, 1)
    assert (summary["tests_passed"], summary["tests_warned"], summary["tests_failed"]) == (1, 1, 1)
    assert summary["tested"] == ["test.p.t1", "test.p.t2", "test.p.t3"]
    assert [
        (f["unique_id"], f["severity"], f["failures"], f["relation"])
        for f in summary["test_failures"]
    ] == [
        ("test.p.t2", "warn", 4, "model.p.a"),
        ("test.p.t3", "error", 1, "model.p.b"),
    ]
    assert [(f["node"], f["status"]) for f in summary["failures"]] == [
        ("model.p.b", "error"),
        ("test.p.t3", "fail"),
    ]
    assert summary["success"] is False
    assert summary["seconds"] == 12.3


def test_a_warning_alone_is_a_success(tmp_path: Path) -> None:
    target = tmp_path / "target"
    _write(
        target,
        [
            {"unique_id": "model.p.a", "status": "success", "message": "SELECT 1"},
            {"unique_id": "test.p.t2", "status": "warn", "failures": 2, "message": "Got 2"},
        ],
        {"test.p.t2": "model.p.a"},
    )
    summary = summarise_run_results(target)
    assert summary["success"] is True
    assert summary["failures"] == []
    assert [f["severity"] for f in summary["test_failures"]] == ["warn"]


def test_no_run_results_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        summarise_run_results(tmp_path)
