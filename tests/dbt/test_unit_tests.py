"""The dbt unit tests (formulas with windows, date cuts and case ladders) on real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbt import world

pytestmark = [pytest.mark.pg, pytest.mark.slow]


def test_dbt_unit_tests_pass(pg_server_url: str, tmp_path: Path) -> None:
    from cxscore.transform import build_models, run_unit_tests

    settings = world.make_settings(tmp_path)
    with world.scratch_database(pg_server_url) as url:
        build_models(settings, url=url)  # unit tests read the column types of their inputs
        summary = run_unit_tests(settings, url=url)
    assert summary["tests_failed"] == 0, summary["failures"]
    assert summary["unit_tests"] >= 15  # pain points: impact + ranking, periods_flagged
    assert summary["tests_passed"] == summary["unit_tests"]
