"""Shared fixtures. Each test session gets a fresh database, dropped afterwards, on:

1. the PostgreSQL at $CX_TEST_PG_URL (a server URL; its database part is the admin DB), else
2. postgresql://postgres@127.0.0.1:5432/postgres when it answers, else
3. an embedded PostgreSQL (pgserver) in a temporary directory.

Tests never see the developer's own CX_* settings or cxscore.yml: the environment is
scrubbed and each test runs in a temporary working directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from tests.helpers import scratch_database

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DEFAULT_LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _reachable(url: str) -> bool:
    try:
        with contextlib.closing(psycopg2.connect(url, connect_timeout=3)):
            return True
    except psycopg2.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of an admin database on a PostgreSQL server the tests may create databases on."""
    explicit = os.environ.get("CX_TEST_PG_URL")
    if explicit:
        if not _reachable(explicit):
            pytest.exit(f"CX_TEST_PG_URL={explicit} is not reachable", returncode=1)
        yield explicit
        return
    if os.environ.get("CX_TEST_EMBEDDED") != "1" and _reachable(DEFAULT_LOCAL_PG):
        yield DEFAULT_LOCAL_PG
        return
    from cxscore.warehouse import start_embedded

    tmp = Path(tempfile.mkdtemp(prefix="cxpg-"))
    url = start_embedded(tmp / "pg")
    yield url
    import pgserver

    with contextlib.suppress(Exception):
        pgserver.get_server(tmp / "pg", cleanup_mode="stop").cleanup()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, initialised warehouse database for this test session (dropped afterwards)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with scratch_database(pg_server_url, f"cxtest_{worker}") as url:
        yield url


@pytest.fixture
def fresh_db(pg_server_url: str) -> Iterator[str]:
    """An empty (not initialised) database for one test, dropped afterwards."""
    with scratch_database(pg_server_url, "cxtest_fn", init=False) as url:
        yield url


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer CX_* settings or ./cxscore.yml leak into tests."""
    for name in list(os.environ):
        if name.startswith("CX_") and not name.startswith(("CX_TEST_", "CX_BENCH_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
