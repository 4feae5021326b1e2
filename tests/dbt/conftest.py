"""Fixtures for the dbt tests: one built warehouse per module (dbt builds take seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbt.world import insert_world, make_settings, scratch_database


@pytest.fixture(scope="module")
def built_world(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A warehouse holding the hand-made world, built once with a full refresh."""
    from cxscore.transform import build_models

    state = tmp_path_factory.mktemp("state")
    with scratch_database(pg_server_url) as url:
        insert_world(url)
        summary = build_models(make_settings(state), url=url, full_refresh=True)
        assert summary["tests_failed"] == 0, summary["failures"]
        yield url


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"
