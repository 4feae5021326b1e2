"""Fuzzed files into real PostgreSQL and dbt (issue 22): what loads is accounted for and
never fails the dbt build.

A handful of fuzz survivors per file source (mutated files that still give rows, most with
rejections too; ``tests/fuzzing.py``) land in a fresh warehouse and are extracted like any
delivery. Then, per file: ``rows_read = rows_loaded + rows_rejected``; the raw table holds
``rows_loaded`` rows of it and ``raw.rejected_rows`` ``rows_rejected``, the counts the parser
gave; no file fails in ``COPY``. Then the whole ``dbt build`` (staging to the scorecard,
data tests included) succeeds on those rows, and staging holds rows of every file source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cxscore.extract import extract_sources
from cxscore.load.landing import file_sources
from cxscore.settings import load_settings
from tests.fuzzing import RandomChooser, check, targets
from tests.helpers import query

pytestmark = [pytest.mark.pg, pytest.mark.slow, pytest.mark.fuzz]

PER_SOURCE = 4
# landing path (under the landing dir) of the n-th fuzzed file of each file target
PATHS = {
    "amazon_connect": "ivr/amazon_connect/2026/03/0{n}/fuzz-{n}.json",
    "contact_lens": "ivr/contact_lens/Analysis/Voice/2026/03/0{n}/"
    "fuzz{n}_analysis_2026-03-0{n}T10:00:00Z.json",
    "qualtrics": "survey/qualtrics/fuzz-{n}.csv",
    "orders": "crm/orders/fuzz-{n}.csv",
}


def survivors(name: str, count: int, seed: int) -> list[tuple[bytes, int, int]]:
    """``count`` fuzzed files of target ``name`` that still load rows (with their rows and
    rejections as the parser counts them), the ones with rejections first; deterministic."""
    target = targets()[name]
    chooser = RandomChooser(seed)
    found: list[tuple[bytes, int, int]] = []
    with_rejections = 0
    # a Contact Lens file is one row or one rejection: its survivors reject nothing
    wanted = 0 if name == "contact_lens" else count // 2
    for _ in range(5000):
        data = target.mutate(chooser)
        outcome = check(target, data)
        if outcome.file_error is not None or not outcome.rows:
            continue
        if outcome.rejections:
            with_rejections += 1
        elif with_rejections < wanted:
            continue  # first half: files that also reject records
        found.append((data, len(outcome.rows), len(outcome.rejections)))
        if len(found) == count:
            return found
    raise AssertionError(f"{name}: fewer than {count} fuzzed files load rows")


def test_fuzz_survivors_load_accounted_for_and_the_staging_build_succeeds(
    fresh_db: str, tmp_path: Path
) -> None:
    from cxscore.transform import build_models

    landing = tmp_path / "landing"
    expected: dict[str, tuple[int, int]] = {}
    for name, pattern in PATHS.items():
        for n, (data, rows, rejections) in enumerate(survivors(name, PER_SOURCE, 22), start=1):
            rel = pattern.format(n=n)
            (landing / rel).parent.mkdir(parents=True, exist_ok=True)
            (landing / rel).write_bytes(data)
            expected[rel] = (rows, rejections)
    settings = load_settings(
        environ={
            "CX_LANDING_DIR": str(landing),
            "CX_IDENTITY__HASH_KEY": "test-hmac-key",
            "CX_STATE_DIR": str(tmp_path / "state"),
            "CX_LOAD__MAX_REJECT_PCT": "100",  # every survivor loads, whatever it rejects
        }
    )
    summary = extract_sources(settings, ["amazon_connect", "qualtrics", "orders"], url=fresh_db)
    assert summary["rows_read"] == summary["rows_loaded"] + summary["rows_rejected"]
    manifest = {
        path: (read, loaded, rejected, complete)
        for path, read, loaded, rejected, complete in query(
            fresh_db,
            "select path, rows_read, rows_loaded, rows_rejected, complete from meta.loaded_files",
        )
    }
    assert set(manifest) == set(expected)  # every file loaded (none failed in COPY)
    tables = {name: source.table for name, source in file_sources(settings).items()}
    counted: dict[str, Any] = {}
    for rel in expected:
        read, loaded, rejected, _complete = manifest[rel]
        table = next(tables[k] for k, pattern in PATHS.items() if rel.startswith(pattern[:8]))
        in_raw = query(fresh_db, f"select count(*) from {table} where _source_file = %s", (rel,))
        in_rejected = query(
            fresh_db, "select count(*) from raw.rejected_rows where _source_file = %s", (rel,)
        )
        counted[rel] = (read, loaded, rejected, in_raw[0][0], in_rejected[0][0])
    assert counted == {
        rel: (rows + rejections, rows, rejections, rows, rejections)
        for rel, (rows, rejections) in expected.items()
    }

    build = build_models(settings, url=fresh_db, full_refresh=True, alert=False)
    assert build["success"] is True, build.get("failures")
    assert build["tests_failed"] == 0
    loaded = {
        source: sum(v[1] for rel, v in expected.items() if rel.startswith(prefix))
        for source, prefix in (("orders", "crm/"), ("qualtrics", "survey/"))
    }
    assert loaded["orders"] > 0 and loaded["qualtrics"] > 0
    staged = query(
        fresh_db,
        "select (select count(*) from staging.stg_crm__orders), "
        "(select count(*) from staging.stg_qualtrics__responses), "
        "(select count(*) from staging.stg_amazon_connect__contact_records)",
    )[0]
    assert all(n > 0 for n in staged), staged
