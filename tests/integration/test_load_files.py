"""File sources into real PostgreSQL: exact row counts, rejections, replacement, idempotency."""

from __future__ import annotations

import gzip
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from cxscore.errors import CxError
from cxscore.extract import extract_source, extract_sources
from cxscore.settings import Settings, load_settings
from tests.helpers import ctr, jsonl, query, write

pytestmark = pytest.mark.pg

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CONNECT = "ivr/amazon_connect"


def settings_for(landing: Path, **env: str) -> Settings:
    return load_settings(environ={"CX_LANDING_DIR": str(landing), **env})


def counts(url: str, table: str) -> dict[str, int]:
    rows = query(url, f"select _source_file, count(*) from {table} group by 1")
    return {str(k): int(v) for k, v in rows}


def rejected(url: str, source: str) -> list[tuple[Any, ...]]:
    return query(
        url,
        "select _source_file, _line, reason, raw_text from raw.rejected_rows "
        "where source = %s order by _source_file, _line",
        (source,),
    )


def test_connect_files_exact_counts_then_a_rerun_adds_nothing(
    fresh_db: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    root = landing / CONNECT
    write(
        root / "2026/01/05/a.jsonl",
        jsonl(ctr(1), ctr(2), ctr(1))  # c-1 twice: at-least-once delivery, both kept
        + b"{not json\n"
        + jsonl(ctr(4, DisconnectTimestamp="2026-01-05 25:00"))
        + b'{"ContactId": "c-5", "Attributes": {"name": "Ren\xe9e"}}\n'
        + jsonl(ctr(6, Attributes={"note": "nul\x00here"})),
    )
    write(root / "2026/01/05/b.json", b"".join(orjson.dumps(ctr(n)) for n in (7, 8)))
    write(root / "2026/01/06/c.json.gz", gzip.compress(jsonl(ctr(9), ctr(10))))
    write(root / "2026/01/06/empty.jsonl", b"")
    write(root / "2026/01/06/readme.txt", b"not a CTR file")
    write(root / "2026/01/06/.partial.jsonl", jsonl(ctr(99)))
    settings = settings_for(landing, CX_LOAD__MAX_REJECT_PCT="50")

    summary = extract_source(settings, "amazon_connect", url=fresh_db, run_id="run-1")

    assert (summary["files"], summary["files_skipped"]) == (4, 0)
    assert (summary["rows_read"], summary["rows_loaded"], summary["rows_rejected"]) == (11, 8, 3)
    table = "raw.amazon_connect__contact_records"
    assert counts(fresh_db, table) == {
        f"{CONNECT}/2026/01/05/a.jsonl": 4,
        f"{CONNECT}/2026/01/05/b.json": 2,
        f"{CONNECT}/2026/01/06/c.json.gz": 2,
    }
    assert query(fresh_db, f"select count(distinct contact_id) from {table}") == [(7,)]
    lines = query(
        fresh_db, f"select _line from {table} where _source_file like '%%b.json' order by 1"
    )
    assert lines == [(0,), (len(orjson.dumps(ctr(7))),)]  # byte offsets in Firehose files
    note = query(fresh_db, f"select payload->'Attributes'->>'note' from {table} where _line = 7")
    assert note == [("nul\ufffdhere",)]
    assert query(
        fresh_db,
        f"select initiation_timestamp, last_update_timestamp from {table} where contact_id = 'c-2'",
    ) == [(datetime(2026, 1, 5, 10, tzinfo=UTC), datetime(2026, 1, 5, 10, 2, tzinfo=UTC))]
    bad = rejected(fresh_db, "amazon_connect")
    assert [(r[1], r[2].split(":")[0]) for r in bad] == [
        (4, "invalid JSON"),
        (5, "DisconnectTimestamp"),
        (6, "not valid UTF-8"),
    ]
    assert bad[2][3] == '{"ContactId": "c-5", "Attributes": {"name": "Ren\ufffde"}}'
    manifest = query(
        fresh_db,
        "select path, rows_read, rows_loaded, rows_rejected from meta.loaded_files "
        "where source = 'amazon_connect' order by path",
    )
    assert manifest == [
        (f"{CONNECT}/2026/01/05/a.jsonl", 7, 4, 3),
        (f"{CONNECT}/2026/01/05/b.json", 2, 2, 0),
        (f"{CONNECT}/2026/01/06/c.json.gz", 2, 2, 0),
        (f"{CONNECT}/2026/01/06/empty.jsonl", 0, 0, 0),
    ]
    batch = query(
        fresh_db,
        "select source, stream, run_id, status, files, rows_read, rows_loaded, rows_rejected "
        "from meta.load_batches",
    )
    assert batch == [("amazon_connect", "contact_records", "run-1", "succeeded", 4, 11, 8, 3)]

    again = extract_source(settings, "amazon_connect", url=fresh_db, run_id="run-2")
    assert (again["files"], again["files_skipped"], again["rows_read"]) == (0, 4, 0)
    assert sum(counts(fresh_db, table).values()) == 8
    assert len(rejected(fresh_db, "amazon_connect")) == 3
    statuses = query(fresh_db, "select run_id, status, files from meta.load_batches order by 1")
    assert statuses == [("run-1", "succeeded", 4), ("run-2", "succeeded", 0)]


@pytest.mark.parametrize("by_path", [5000, 0], ids=["ledger-rows-by-path", "whole-ledger"])
def test_a_changed_file_replaces_its_rows_and_rejections(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by_path: int
) -> None:
    # the changed file's ledger row is what makes it replace its rows: read by path, or
    # with the source's whole ledger when there are many files to load
    monkeypatch.setattr("cxscore.extract.KNOWN_BY_PATH_MAX", by_path)
    landing = tmp_path / "landing"
    first = write(landing / CONNECT / "a.jsonl", jsonl(ctr(1), ctr(2)) + b"garbage\n")
    write(landing / CONNECT / "b.jsonl", jsonl(ctr(3)))
    settings = settings_for(landing, CX_LOAD__MAX_REJECT_PCT="50")
    extract_source(settings, "amazon_connect", url=fresh_db)
    table = "raw.amazon_connect__contact_records"
    assert counts(fresh_db, table) == {f"{CONNECT}/a.jsonl": 2, f"{CONNECT}/b.jsonl": 1}
    assert len(rejected(fresh_db, "amazon_connect")) == 1

    first.write_bytes(jsonl(ctr(1), ctr(2), ctr(3), ctr(4)))  # the corrected delivery
    summary = extract_source(settings, "amazon_connect", url=fresh_db)

    assert (summary["files"], summary["files_skipped"], summary["rows_loaded"]) == (1, 1, 4)
    assert counts(fresh_db, table) == {f"{CONNECT}/a.jsonl": 4, f"{CONNECT}/b.jsonl": 1}
    assert rejected(fresh_db, "amazon_connect") == []
    assert query(
        fresh_db,
        "select rows_read, rows_loaded, rows_rejected, batch_id from meta.loaded_files "
        "where path = %s",
        (f"{CONNECT}/a.jsonl",),
    ) == [(4, 4, 0, 2)]
    assert query(fresh_db, f"select distinct _batch_id from {table} order by 1") == [(1,), (2,)]


def test_a_file_over_the_reject_limit_fails_but_its_rejections_stay_visible(
    fresh_db: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    bad = write(landing / CONNECT / "bad.jsonl", jsonl(ctr(1)) + b"{oops\n" + jsonl(ctr(3)))
    write(landing / CONNECT / "good.jsonl", jsonl(ctr(4), ctr(5)))
    settings = settings_for(landing)  # default max_reject_pct = 1%

    with pytest.raises(CxError) as failure:
        extract_source(settings, "amazon_connect", url=fresh_db, run_id="r1")

    message = str(failure.value)
    assert f"file {CONNECT}/bad.jsonl: 1 of 3 records rejected (33.3% > " in message
    assert "line 2: invalid JSON" in message
    table = "raw.amazon_connect__contact_records"
    assert counts(fresh_db, table) == {f"{CONNECT}/good.jsonl": 2}  # the good file loaded
    assert [(r[0], r[1]) for r in rejected(fresh_db, "amazon_connect")] == [
        (f"{CONNECT}/bad.jsonl", 2)
    ]
    assert query(fresh_db, "select path from meta.loaded_files") == [(f"{CONNECT}/good.jsonl",)]
    batch = query(
        fresh_db,
        "select status, files, rows_read, rows_loaded, rows_rejected, error from meta.load_batches",
    )
    assert batch[0][:5] == ("failed", 2, 5, 2, 1)
    assert "bad.jsonl" in batch[0][5]

    # Retried unchanged: fails again, its rejected rows are not duplicated.
    with pytest.raises(CxError):
        extract_source(settings, "amazon_connect", url=fresh_db, run_id="r2")
    assert len(rejected(fresh_db, "amazon_connect")) == 1
    assert query(fresh_db, "select _batch_id from raw.rejected_rows") == [(2,)]

    bad.write_bytes(jsonl(ctr(1), ctr(2), ctr(3)))  # fixed upstream
    summary = extract_source(settings, "amazon_connect", url=fresh_db, run_id="r3")
    assert (summary["files"], summary["rows_loaded"], summary["rows_rejected"]) == (1, 3, 0)
    assert rejected(fresh_db, "amazon_connect") == []
    assert sum(counts(fresh_db, table).values()) == 5


def test_real_qualtrics_exports_and_orders_load_with_exact_values(
    fresh_db: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    survey = landing / "survey/qualtrics/2017"
    survey.mkdir(parents=True)
    for name in ("export_current_format.csv", "export_legacy_format.csv"):
        shutil.copyfile(FIXTURES / "qualtrics" / name, survey / name)
    write(
        landing / "crm/orders/orders-1.csv",
        b"order_id,customer_email,ordered_at,amount,currency,status,updated_at\n"
        b"o-1,a@example.com,2026-11-01 01:30:00,19.90,EUR,placed,2026-11-01T01:30:00-05:00\n"
        b"o-2,b@example.com,2026-03-08 02:30:00,5,USD,refunded,2026-03-08 03:30:00\n"
        b"o-3,c@example.com,2026-03-08,5\n",
    )
    settings = settings_for(
        landing,
        CX_LOAD__MAX_REJECT_PCT="50",
        CX_SOURCES__QUALTRICS__TIMEZONE="Europe/Zurich",
        CX_SOURCES__ORDERS__TIMEZONE="America/New_York",
    )

    summary = extract_sources(settings, ["qualtrics", "orders"], url=fresh_db)

    assert summary["sources"]["qualtrics"]["rows_loaded"] == 2
    assert (summary["rows_read"], summary["rows_loaded"], summary["rows_rejected"]) == (5, 4, 1)
    responses = query(
        fresh_db,
        "select response_id, end_date, finished, status, payload->>'layout', "
        "payload->>'csat', payload->'columns'->>'QID2_TEXT', payload->'columns'->>'Q2', _line "
        "from raw.qualtrics__responses order by _source_file",
    )
    end = datetime(2017, 7, 18, 6, 28, 48, tzinfo=UTC)  # 08:28:48 CEST
    assert responses == [
        ("R_2YPOQ602ER1jkf1", end, "1", "0", "current", "2", "Hello World!", None, 4),
        ("R_2YPOQ602ER1jkf1", end, "1", "0", "legacy", None, None, "Hello World!", 3),
    ]
    # The loader's local -> UTC rule agrees with PostgreSQL's AT TIME ZONE, DST edges too.
    agreement = query(
        fresh_db,
        "select order_id, ordered_at, (payload->>'ordered_at')::timestamp "
        "at time zone 'America/New_York', amount::text, updated_at from raw.crm__orders "
        "order by order_id",
    )
    assert [(r[0], r[1] == r[2], r[3]) for r in agreement] == [
        ("o-1", True, "19.90"),
        ("o-2", True, "5"),
    ]
    assert agreement[0][1] == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert agreement[1][1] == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert agreement[1][4] == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert [(r[0], r[1], r[2]) for r in rejected(fresh_db, "orders")] == [
        ("crm/orders/orders-1.csv", 4, "wrong column count: expected 7, found 4")
    ]


def test_two_extracts_of_one_source_at_once_load_each_file_once(
    fresh_db: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    for i in range(6):
        write(landing / CONNECT / f"f{i}.jsonl", jsonl(*(ctr(i * 100 + n) for n in range(300))))
    settings = settings_for(landing)
    extract_source(settings, "amazon_connect", url=fresh_db)  # creates the tables first
    query(fresh_db, "truncate raw.amazon_connect__contact_records, meta.loaded_files")
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(extract_source(settings, "amazon_connect", url=fresh_db))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(r["files"] for r in results) == [0, 6]
    assert sorted(r["files_skipped"] for r in results) == [0, 6]
    assert query(fresh_db, "select count(*) from raw.amazon_connect__contact_records") == [(1800,)]


def test_missing_landing_dir_is_an_empty_successful_run(fresh_db: str, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "nowhere")
    summary = extract_sources(settings, ["amazon_connect", "orders"], url=fresh_db)
    assert (summary["files"], summary["rows_read"]) == (0, 0)
    assert query(fresh_db, "select source, status from meta.load_batches order by 1") == [
        ("amazon_connect", "succeeded"),
        ("orders", "succeeded"),
    ]


def test_fsspec_urls_work_for_the_landing_dir(fresh_db: str) -> None:
    import fsspec

    root = f"memory://cx-{fresh_db.rsplit('/', 1)[-1]}/landing"
    with fsspec.open(f"{root}/crm/orders/2026/01/a.csv", "wb") as fh:
        fh.write(
            b"order_id,customer_email,ordered_at,amount,currency,status,updated_at\n"
            b"o-1,a@example.com,2026-01-05T10:00:00Z,9.5,EUR,placed,2026-01-05T10:00:00Z\n"
        )
    settings = load_settings(environ={"CX_LANDING_DIR": root})
    first = extract_sources(settings, ["orders"], url=fresh_db)
    second = extract_sources(settings, ["orders"], url=fresh_db)
    assert (first["files"], first["rows_loaded"]) == (1, 1)
    assert (second["files"], second["files_skipped"]) == (0, 1)
    assert query(fresh_db, "select path from meta.loaded_files") == [("crm/orders/2026/01/a.csv",)]


def test_cli_extract_prints_a_summary_and_exits_1_naming_a_bad_file(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from cxscore.cli import app

    landing = tmp_path / "landing"
    write(landing / CONNECT / "a.jsonl", jsonl(ctr(1), ctr(2)))
    monkeypatch.setenv("CX_WAREHOUSE__URL", fresh_db)
    monkeypatch.setenv("CX_LANDING_DIR", str(landing))
    runner = CliRunner()
    result = runner.invoke(app, ["extract", "all", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["files"], summary["rows_loaded"], summary["rows_rejected"]) == (1, 2, 0)
    assert set(summary["sources"]) == {"amazon_connect", "qualtrics", "orders"}

    write(landing / CONNECT / "b.jsonl", b"{broken\n")
    result = runner.invoke(app, ["extract", "amazon_connect"])
    assert result.exit_code == 1
    assert f"file {CONNECT}/b.jsonl: 1 of 1 records rejected" in " ".join(result.output.split())


def test_the_ledger_of_one_folder_is_read_without_the_files_of_another(fresh_db: str) -> None:
    """A stream reads the ledger rows of its own folder only: the CTRs' listing is compared
    with the CTR rows, not with the 168,000 Contact Lens rows of the same source (a folder
    whose name merely starts the same way is another folder)."""
    import psycopg2

    from cxscore.load.landing import loaded_versions
    from cxscore.warehouse import init_warehouse

    init_warehouse(fresh_db)
    rows = [
        ("amazon_connect", f"{CONNECT}/2026/12/01/a.json", 10, "mtime=1.0", True),
        ("amazon_connect", "ivr/contact_lens/2026/12/01/c1.json", 20, "mtime=2.0", True),
        ("amazon_connect", f"{CONNECT}_old/b.json", 30, "mtime=3.0", True),
        ("amazon_connect", f"{CONNECT}/2026/12/01/torn.json.gz", 40, "mtime=4.0", False),
        ("orders", f"{CONNECT}/elsewhere.csv", 50, "mtime=5.0", True),
    ]
    conn = psycopg2.connect(fresh_db)
    try:
        with conn.cursor() as cur:
            for source, path, size, version, complete in rows:
                cur.execute(
                    "insert into meta.loaded_files (source, path, size_bytes, sha256, rows_read, "
                    "rows_loaded, rows_rejected, batch_id, listed_version, complete) "
                    "values (%s, %s, %s, 'x', 1, 1, 0, 1, %s, %s)",
                    (source, path, size, version, complete),
                )
        conn.commit()
        ctr = {(f"{CONNECT}/2026/12/01/a.json", 10, "mtime=1.0")}
        assert loaded_versions(conn, "amazon_connect", CONNECT) == ctr
        assert loaded_versions(conn, "amazon_connect", CONNECT + "/") == ctr
        assert loaded_versions(conn, "amazon_connect", "ivr/contact_lens") == {
            ("ivr/contact_lens/2026/12/01/c1.json", 20, "mtime=2.0")
        }
        assert len(loaded_versions(conn, "amazon_connect")) == 3  # the whole source
    finally:
        conn.close()
