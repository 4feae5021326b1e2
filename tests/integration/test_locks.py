"""Warehouse locks: one build at a time across processes, extract locks with a timeout, and
load batches left running by a dead process closed (cxscore.locks, cxscore.load.batches)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from typer.testing import CliRunner

from cxscore.locks import BUILD_LOCK, LockTimeout, acquire, extract_lock
from tests.helpers import query

pytestmark = pytest.mark.pg


@contextlib.contextmanager
def holding(url: str, name: str, application: str) -> Iterator[psycopg2.extensions.connection]:
    """Another session (another process, as far as PostgreSQL can tell) holds ``name``."""
    conn = psycopg2.connect(url, application_name=application)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_lock(hashtext(%s))", (name,))
    try:
        yield conn
    finally:
        conn.close()


def test_a_second_build_waits_then_exits_1_naming_the_holder(pg_url: str, tmp_path: Path) -> None:
    from cxscore.cli import app

    env = {
        "CX_WAREHOUSE__URL": pg_url,
        "CX_STATE_DIR": str(tmp_path),
        "CX_SCORECARD__BUILD_LOCK_WAIT_SECONDS": "1",
    }
    with holding(pg_url, BUILD_LOCK, "cxscore build run-A") as holder:
        pid = holder.get_backend_pid()
        started = time.monotonic()
        result = CliRunner().invoke(app, ["build"], env=env)
        waited = time.monotonic() - started
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert f"the warehouse lock cxscore.build is held by pid {pid} (cxscore build run-A" in text
    assert "gave up after 1 s (scorecard.build_lock_wait_seconds)" in text
    assert 1.0 <= waited < 30


def test_the_lock_is_taken_as_soon_as_the_holder_ends(pg_url: str) -> None:
    with holding(pg_url, BUILD_LOCK, "cxscore build run-B") as holder:
        threading.Timer(1.0, holder.close).start()
        conn = psycopg2.connect(pg_url)
        conn.autocommit = True
        try:
            started = time.monotonic()
            acquire(conn, BUILD_LOCK, 30, "scorecard.build_lock_wait_seconds")
            assert 0.8 < time.monotonic() - started < 10
        finally:
            conn.close()


def test_an_extract_gives_up_after_its_lock_wait(pg_url: str, tmp_path: Path) -> None:
    from cxscore.extract import extract_source
    from cxscore.settings import load_settings

    settings = load_settings(
        environ={"CX_LANDING_DIR": str(tmp_path), "CX_LOAD__LOCK_WAIT_SECONDS": "0.5"}
    )
    with (
        holding(pg_url, extract_lock("orders"), "cxscore extract orders (stuck)"),
        pytest.raises(LockTimeout, match=r"cxscore\.extract\.orders is held by pid \d+ \(cxscore"),
    ):
        extract_source(settings, "orders", url=pg_url, run_id="t-lock")
    # nothing was opened while waiting
    assert query(pg_url, "select count(*) from meta.load_batches where run_id = 't-lock'") == [(0,)]


def test_batches_left_running_by_a_dead_process_are_closed(pg_url: str) -> None:
    from cxscore.load.batches import close_stale_batches

    rows = query(
        pg_url,
        "insert into meta.load_batches (source, stream, run_id) values "
        "('orders', 'orders', 't-stale'), ('qualtrics', 'qualtrics', 't-stale') "
        "returning batch_id, source",
    )
    ids = {source: batch for batch, source in rows}
    # a qualtrics extract is alive (it holds its lock); the orders one died
    with holding(pg_url, extract_lock("qualtrics"), "cxscore extract qualtrics"):
        assert close_stale_batches(pg_url) == [ids["orders"]]
    assert query(
        pg_url,
        "select source, status, coalesce(error, '') like 'abandoned:%%' from meta.load_batches "
        "where run_id = 't-stale' order by source",
    ) == [("orders", "failed", True), ("qualtrics", "running", False)]
    assert close_stale_batches(pg_url) == [ids["qualtrics"]]  # now nobody holds it


def test_a_lock_session_of_a_vanished_client_is_dropped_by_the_server_soon(pg_url: str) -> None:
    """A killed container sends no FIN: server-side keepalives (30 s idle, 3 x 10 s) end its
    session, and its lock, within about a minute instead of the OS default of two hours."""
    from cxscore.locks import open_lock_connection

    conn = open_lock_connection(pg_url, "keepalive check")
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select current_setting('tcp_keepalives_idle'), "
                "current_setting('tcp_keepalives_count'), current_setting('application_name')"
            )
            assert cur.fetchone() == ("30", "3", "cxscore keepalive check")
    finally:
        conn.close()
