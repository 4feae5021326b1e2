"""New small files load in groups (one transaction for many files): the same rows, ledger
and rejections as one file at a time, a failing file settles alone, and a group the
warehouse refuses is loaded again file by file so that the error names its file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxscore.errors import CxError
from cxscore.extract import extract_source
from cxscore.load import file_groups
from cxscore.settings import load_settings
from cxscore.warehouse import init_warehouse
from tests.helpers import ctr, jsonl, query, write

pytestmark = pytest.mark.pg

CONNECT = "ivr/amazon_connect"
TABLE = "raw.amazon_connect__contact_records"


def _landing(tmp_path: Path) -> Path:
    """Seven files: five good ones, one with a rejected record (under the limit), one in a
    shape the vendor never writes (a JSON array)."""
    landing = tmp_path / "landing"
    for n in range(1, 6):
        write(landing / CONNECT / f"f{n}.jsonl", jsonl(ctr(n), ctr(n + 10)))
    write(landing / CONNECT / "f6.jsonl", jsonl(ctr(6), ctr(16), ctr(26)) + b"{oops\n")
    write(landing / CONNECT / "f7.json", b"[" + jsonl(ctr(7)).strip() + b"]")
    return landing


def _state(url: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
    rows = query(url, f"select _source_file, count(*), min(_batch_id) from {TABLE} group by 1")
    ledger = query(
        url,
        "select path, rows_read, rows_loaded, rows_rejected, batch_id, complete "
        "from meta.loaded_files order by path",
    )
    rejected = query(
        url, "select _source_file, _line, _batch_id from raw.rejected_rows order by 1, 2"
    )
    return sorted(rows), ledger, rejected


@pytest.mark.parametrize("group_files", [2, 500])
def test_groups_load_what_single_files_load(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, group_files: int
) -> None:
    monkeypatch.setattr(file_groups, "GROUP_FILES", group_files)
    settings = load_settings(
        environ={"CX_LANDING_DIR": str(_landing(tmp_path)), "CX_LOAD__MAX_REJECT_PCT": "30"}
    )

    with pytest.raises(CxError) as failure:
        extract_source(settings, "amazon_connect", url=fresh_db, run_id="r1")

    assert "file ivr/amazon_connect/f7.json was not loaded: " in str(failure.value)
    rows, ledger, rejected = _state(fresh_db)
    assert rows == [(f"{CONNECT}/f{n}.jsonl", 3 if n == 6 else 2, 1) for n in range(1, 7)]
    assert ledger == [
        (f"{CONNECT}/f{n}.jsonl", 4 if n == 6 else 2, 3 if n == 6 else 2, int(n == 6), 1, True)
        for n in range(1, 7)
    ]
    # f6's bad line, and f7 recorded as one rejection of the whole file
    assert rejected == [(f"{CONNECT}/f6.jsonl", 4, 1), (f"{CONNECT}/f7.json", None, 1)]
    batch = query(fresh_db, "select status, files, rows_read, rows_loaded from meta.load_batches")
    assert batch == [("failed", 7, 14, 13)]  # 5 x 2 + 4 read; f6 rejects 1

    # the same tree loaded one file at a time (no group) gives the same state
    monkeypatch.setattr(file_groups, "SMALL_FILE_BYTES", -1)
    with pytest.raises(CxError):
        extract_source(settings, "amazon_connect", url=fresh_db, run_id="r2")
    # the retry's rejection of f7 replaced the first one's
    retried = [(f"{CONNECT}/f6.jsonl", 4, 1), (f"{CONNECT}/f7.json", None, 2)]
    assert _state(fresh_db) == (rows, ledger, retried)


def test_a_group_the_warehouse_refuses_is_loaded_file_by_file(
    fresh_db: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    for n in range(1, 5):
        write(landing / CONNECT / f"f{n}.jsonl", jsonl(ctr(n)))
    init_warehouse(fresh_db)
    query(  # a rule of this warehouse that the parser does not know
        fresh_db,
        f"alter table {TABLE} add constraint no_c3 check (contact_id <> 'c-3')",
    )
    settings = load_settings(environ={"CX_LANDING_DIR": str(landing)})

    with pytest.raises(CxError) as failure:
        extract_source(settings, "amazon_connect", url=fresh_db)

    assert f"file {CONNECT}/f3.jsonl could not be loaded into {TABLE}: " in str(failure.value)
    assert 'violates check constraint "no_c3"' in str(failure.value)
    loaded = query(fresh_db, "select path from meta.loaded_files order by 1")
    assert loaded == [(f"{CONNECT}/f{n}.jsonl",) for n in (1, 2, 4)]
    assert query(fresh_db, f"select contact_id from {TABLE} order by 1") == [
        ("c-1",),
        ("c-2",),
        ("c-4",),
    ]
