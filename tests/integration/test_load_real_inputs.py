"""Real inputs into real PostgreSQL (issue 15): vendor variants, poison values, truncated
files, a failing source, unchanged files skipped without being read; and the dbt build
succeeds on what was loaded."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

import cxscore.extract
from cxscore.errors import CxError
from cxscore.extract import extract_sources
from cxscore.load import files as load_files
from cxscore.load import landing as load_landing
from cxscore.settings import Settings, load_settings
from tests import helpers
from tests.helpers import jsonl, query, write

pytestmark = pytest.mark.pg

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CONNECT = "ivr/amazon_connect"


def settings_for(landing: Path, tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        environ={
            "CX_LANDING_DIR": str(landing),
            "CX_IDENTITY__HASH_KEY": "test-hmac-key",
            "CX_STATE_DIR": str(tmp_path / "state"),
            **env,
        }
    )


def ctr(n: int, **extra: Any) -> dict[str, Any]:
    """An answered, queued call (helpers.ctr with queue and agent fields)."""
    fields: dict[str, Any] = {
        "Queue": {"Name": "Support", "EnqueueTimestamp": "2026-01-05T10:00:10Z", "Duration": 20},
        "Agent": {
            "ConnectedToAgentTimestamp": "2026-01-05T10:00:30Z",
            "AgentInteractionDuration": 200,
            "CustomerHoldDuration": 0,
            "AfterContactWorkDuration": 30,
        },
    }
    return helpers.ctr(n, **{**fields, **extra})


def manifest(url: str) -> list[tuple[Any, ...]]:
    return query(
        url,
        "select source, path, rows_read, rows_loaded, rows_rejected, complete "
        "from meta.loaded_files order by source, path",
    )


def test_poison_values_are_rejected_and_the_dbt_build_succeeds(
    fresh_db: str, tmp_path: Path
) -> None:
    from cxscore.transform import build_models

    landing = tmp_path / "landing"
    poison_queue = ctr(2)
    poison_queue["Queue"]["Duration"] = "twenty"
    poison_agent = ctr(3)
    poison_agent["Agent"]["CustomerHoldDuration"] = "1E+200000"
    write(
        landing / CONNECT / "2026/01/05/a.jsonl",
        jsonl(ctr(1), poison_queue, poison_agent, ctr(4)),
    )
    write(
        landing / "crm/orders/2026-01-05.csv",
        b"order_id,customer_email,ordered_at,amount,currency,status,updated_at\n"
        b"o-1,ana@example.com,2026-01-05T10:00:00Z,19.90,EUR,placed,2026-01-05T10:00:00Z\n"
        b"o-2,bo@example.com,2026-01-05T11:00:00Z,1E+200000,EUR,placed,2026-01-05T11:00:00Z\n"
        b"o-3,bo@example.com,2026-01-05T12:00:00Z,NaN,EUR,placed,2026-01-05T12:00:00Z\n"
        b"o-4,cy@example.com,2026-01-05T13:00:00Z,1E+3,EUR,placed,2026-01-05T13:00:00Z\n",
    )
    survey = landing / "survey/qualtrics"
    survey.mkdir(parents=True)
    for name in (
        "export_choice_text_denver.csv",
        "export_insights_layout_2017.csv",
        "export_current_format.csv",
    ):
        shutil.copy(FIXTURES / "qualtrics" / name, survey / name)
    settings = settings_for(
        landing,
        tmp_path,
        CX_LOAD__MAX_REJECT_PCT="60",
        CX_SOURCES__QUALTRICS__TIMEZONE="Asia/Tokyo",
        CX_SOURCES__QUALTRICS__CHOICE_LABELS=orjson.dumps(
            {"csat": {"Very satisfied": 5, "Dissatisfied": 2}}
        ).decode(),
    )
    summary = extract_sources(settings, ["amazon_connect", "qualtrics", "orders"], url=fresh_db)
    assert summary["rows_read"] == summary["rows_loaded"] + summary["rows_rejected"]
    assert manifest(fresh_db) == [
        ("amazon_connect", f"{CONNECT}/2026/01/05/a.jsonl", 4, 2, 2, True),
        ("orders", "crm/orders/2026-01-05.csv", 4, 2, 2, True),
        ("qualtrics", "survey/qualtrics/export_choice_text_denver.csv", 4, 4, 0, True),
        ("qualtrics", "survey/qualtrics/export_current_format.csv", 1, 1, 0, True),
        ("qualtrics", "survey/qualtrics/export_insights_layout_2017.csv", 3, 3, 0, True),
    ]
    assert query(
        fresh_db,
        "select source, _line, reason from raw.rejected_rows order by source, _line",
    ) == [
        ("amazon_connect", 2, "Queue.Duration: 'twenty' is not a decimal"),
        (
            "amazon_connect",
            3,
            "Agent.CustomerHoldDuration: '1E+200000' is out of PostgreSQL's numeric range",
        ),
        ("orders", 3, "amount: '1E+200000' is out of PostgreSQL's numeric range"),
        ("orders", 4, "amount: 'NaN' is not a decimal"),
    ]
    assert query(fresh_db, "select order_id, amount::text from raw.crm__orders order by 1") == [
        ("o-1", "19.90"),
        ("o-4", "1000"),
    ]
    # the declared zone wins over the setting (Tokyo): 19:01:40 MST = 02:01:40 UTC
    assert query(
        fresh_db,
        "select response_id, to_char(end_date at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
        "finished, status from raw.qualtrics__responses "
        "where _source_file like '%denver%' order by end_date",
    ) == [
        ("R_5rYfeErcBsS3nsA", "2026-03-08 02:01:40", "1", "0"),
        ("R_5rHTV2kfYGjFPeB", "2026-03-08 09:01:02", "1", "0"),
        ("R_5n9pjLJcwZa3sxC", "2026-03-08 16:00:04", "1", "1"),
        ("R_7tL5n8AUnJqLKBD", "2026-03-09 14:12:30", "0", "0"),
    ]

    build = build_models(settings, url=fresh_db, full_refresh=True, alert=False)
    assert build["success"] is True
    assert query(
        fresh_db,
        "select response_id, csat, is_scored, is_csat_invalid from "
        "staging.stg_qualtrics__responses order by response_id",
    ) == [
        ("R_1GQkOnSvq5p6Yhj", 4, True, False),  # Insights layout, QID4-TEXT etc.
        ("R_2VwOsXnOp5lX9mC", 5, False, False),  # Status 1: survey preview
        ("R_2YPOQ602ER1jkf1", 2, True, False),
        ("R_3kB0ZsVt0yq2Xre", 2, True, False),
        ("R_5n9pjLJcwZa3sxC", None, False, False),  # "Survey Preview"
        ("R_5rHTV2kfYGjFPeB", 2, True, False),  # "Dissatisfied" -> 2
        ("R_5rYfeErcBsS3nsA", 5, True, False),  # "Very satisfied" -> 5
        ("R_7tL5n8AUnJqLKBD", None, False, True),  # unmapped label: invalid, not finished
    ]
    assert query(
        fresh_db,
        "select contact_id, queue_duration_seconds::int from "
        "staging.stg_amazon_connect__contact_records order by 1",
    ) == [("c-1", 20), ("c-4", 20)]


def test_a_json_array_of_ctrs_fails_the_file_saying_how_to_convert(
    fresh_db: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    array = b"[\n" + b",\n".join(orjson.dumps(ctr(i)) for i in range(3)) + b"\n]\n"
    write(landing / CONNECT / "pasted.json", array)
    write(landing / CONNECT / "good.jsonl", jsonl(ctr(7)))
    with pytest.raises(CxError) as failure:
        extract_sources(settings_for(landing, tmp_path), ["amazon_connect"], url=fresh_db)
    message = str(failure.value)
    assert f"amazon_connect: file {CONNECT}/pasted.json was not loaded: the file holds a JSON " in (
        message
    )
    assert "jq -c '.[]' FILE > FILE.jsonl" in message
    assert manifest(fresh_db) == [("amazon_connect", f"{CONNECT}/good.jsonl", 1, 1, 0, True)]
    [(line, reason)] = query(
        fresh_db, "select _line, reason from raw.rejected_rows where _source_file like '%pasted%'"
    )
    assert line is None and reason.startswith("the file holds a JSON array; Amazon Connect")


def test_a_truncated_gzip_keeps_what_was_read_and_is_read_again(
    fresh_db: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    records = [ctr(i, Attributes={"pad": "x" * (i % 97)}) for i in range(2000)]
    path = write(landing / CONNECT / "cut.json.gz", gzip.compress(jsonl(*records))[:-200])
    settings = settings_for(landing, tmp_path)
    first = extract_sources(settings, ["amazon_connect"], url=fresh_db)
    [(_, _, read, loaded, rejected, complete)] = manifest(fresh_db)
    assert (read, loaded + rejected, rejected, complete) == (read, read, 2, False)
    assert first["rows_read"] == read and first["files"] == 1
    [(line, reason)] = query(
        fresh_db,
        "select _line, reason from raw.rejected_rows where reason like 'file unreadable%'",
    )
    assert line == loaded + 2
    assert reason.startswith("file unreadable from byte offset ")
    # not recorded as done: the next run reads it again (same result, nothing doubled)
    load_files.ReadCounter.bytes = 0
    second = extract_sources(settings, ["amazon_connect"], url=fresh_db)
    assert load_files.ReadCounter.bytes == path.stat().st_size
    assert (second["files"], second["files_skipped"], second["rows_loaded"]) == (1, 0, loaded)
    assert query(fresh_db, "select count(*) from raw.amazon_connect__contact_records") == [
        (loaded,)
    ]
    # the complete file arrives: loaded whole, and recorded as complete
    write(path, gzip.compress(jsonl(*records)))
    extract_sources(settings, ["amazon_connect"], url=fresh_db)
    assert manifest(fresh_db) == [("amazon_connect", f"{CONNECT}/cut.json.gz", 2000, 2000, 0, True)]
    assert query(fresh_db, "select count(*) from raw.rejected_rows") == [(0,)]


def test_a_failing_source_does_not_stop_the_others(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    write(landing / CONNECT / "a.jsonl", jsonl(ctr(1)))
    shutil.copy(FIXTURES / "qualtrics" / "export_current_format.csv", tmp_path / "q.csv")
    write(landing / "survey/qualtrics/q.csv", (tmp_path / "q.csv").read_bytes())
    write(
        landing / "crm/orders/o.csv",
        b"order_id,customer_email,ordered_at,amount,currency,status,updated_at\n"
        b"o-1,a@example.com,2026-01-05T10:00:00Z,1,EUR,placed,2026-01-05T10:00:00Z\n",
    )
    real_discover = load_landing.discover_changed

    def discover(landing_dir: str, source: load_landing.FileSource, loaded: Any) -> Any:
        if source.name == "amazon_connect":  # what s3fs raises for a bucket policy denial
            raise PermissionError(13, "Access Denied", "s3://bucket/ivr/amazon_connect")
        return real_discover(landing_dir, source, loaded)

    monkeypatch.setattr(load_landing, "discover_changed", discover)
    with pytest.raises(CxError) as failure:
        extract_sources(  # one after another, in this process (where the patch is)
            settings_for(landing, tmp_path, CX_LOAD__PARALLEL_SOURCES="1"),
            ["amazon_connect", "qualtrics", "orders"],
            url=fresh_db,
        )
    assert str(failure.value) == (
        "extract failed:\n  amazon_connect: PermissionError: [Errno 13] Access Denied: "
        "'s3://bucket/ivr/amazon_connect'"
    )
    assert [r[:2] for r in manifest(fresh_db)] == [
        ("orders", "crm/orders/o.csv"),
        ("qualtrics", "survey/qualtrics/q.csv"),
    ]
    assert query(fresh_db, "select source, status from meta.load_batches order by batch_id") == [
        ("amazon_connect", "failed"),
        ("qualtrics", "succeeded"),
        ("orders", "succeeded"),
    ]


def test_sources_load_in_parallel_processes_and_a_failing_one_stops_none(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    write(
        landing / "survey/qualtrics/q.csv",
        (FIXTURES / "qualtrics" / "export_current_format.csv").read_bytes(),
    )
    write(
        landing / "crm/orders/o.csv",
        b"order_id,customer_email,ordered_at,amount,currency,status,updated_at\n"
        b"o-1,a@example.com,2026-01-05T10:00:00Z,1,EUR,placed,2026-01-05T10:00:00Z\n",
    )

    def in_this_process(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a source was extracted in the calling process")

    monkeypatch.setattr(cxscore.extract, "_extract", in_this_process)  # the children have none
    settings = settings_for(
        landing,
        tmp_path,
        CX_LOAD__PARALLEL_SOURCES="2",
        CX_SOURCES__AMAZON_CONNECT__PATH="nosuchprotocol://bucket/ivr",  # fails in its process
    )
    with pytest.raises(CxError) as failure:
        extract_sources(settings, ["amazon_connect", "qualtrics", "orders"], url=fresh_db)

    assert str(failure.value).startswith(
        "extract failed:\n  amazon_connect: cannot open 'nosuchprotocol://bucket/ivr': "
        "Protocol not known: nosuchprotocol"
    )
    assert [r[:3] for r in manifest(fresh_db)] == [
        ("orders", "crm/orders/o.csv", 1),
        ("qualtrics", "survey/qualtrics/q.csv", 1),
    ]
    assert query(fresh_db, "select source, status from meta.load_batches order by source") == [
        ("amazon_connect", "failed"),
        ("orders", "succeeded"),
        ("qualtrics", "succeeded"),
    ]


def test_live_progress_of_parallel_extracts_reaches_the_caller(
    fresh_db: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    landing = tmp_path / "landing"
    write(landing / CONNECT / "a.jsonl", jsonl(ctr(1), ctr(2), ctr(3)))
    write(
        landing / "crm/orders/o.csv",
        b"order_id,customer_email,ordered_at,amount,currency,status,updated_at\n"
        b"o-1,a@example.com,2026-01-05T10:00:00Z,1,EUR,placed,2026-01-05T10:00:00Z\n",
    )
    settings = settings_for(landing, tmp_path, CX_LOAD__PARALLEL_SOURCES="2")

    totals = extract_sources(settings, ["amazon_connect", "orders"], url=fresh_db, progress=True)

    assert {k: v["rows_loaded"] for k, v in totals["sources"].items()} == {
        "amazon_connect": 3,
        "orders": 1,
    }
    shown = capfd.readouterr().err  # the caller's live display, fed by the two processes
    assert "amazon_connect" in shown and "orders" in shown and "rows          3" in shown


def test_unchanged_files_are_skipped_without_reading_them(fresh_db: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    paths = [
        write(
            landing / CONNECT / f"2026/01/{day:02d}/{hour:02d}.jsonl", jsonl(ctr(day * 100 + hour))
        )
        for day in range(1, 4)
        for hour in range(24)
    ]
    settings = settings_for(landing, tmp_path)
    extract_sources(settings, ["amazon_connect"], url=fresh_db)
    load_files.ReadCounter.bytes = load_files.ReadCounter.files = 0
    again = extract_sources(settings, ["amazon_connect"], url=fresh_db)
    assert (again["files"], again["files_skipped"]) == (0, 72)
    assert (load_files.ReadCounter.bytes, load_files.ReadCounter.files) == (0, 0)
    # touched (new mtime, same bytes): hashed once while parsing, found unchanged, skipped,
    # and its new mtime remembered
    stat = paths[5].stat()
    os.utime(paths[5], (stat.st_atime, stat.st_mtime + 60))
    touched = extract_sources(settings, ["amazon_connect"], url=fresh_db)
    assert (touched["files"], touched["files_skipped"]) == (0, 72)
    assert load_files.ReadCounter.bytes == stat.st_size
    load_files.ReadCounter.bytes = 0
    extract_sources(settings, ["amazon_connect"], url=fresh_db)
    assert load_files.ReadCounter.bytes == 0
    # changed content: replaced
    write(paths[6], jsonl(ctr(1), ctr(2)))
    changed = extract_sources(settings, ["amazon_connect"], url=fresh_db)
    assert (changed["files"], changed["rows_loaded"]) == (1, 2)
    assert query(fresh_db, "select count(*) from raw.amazon_connect__contact_records") == [(73,)]


def test_a_label_export_without_choice_labels_raises_the_warning_check(
    fresh_db: str, tmp_path: Path
) -> None:
    from cxscore.quality import run_checks

    landing = tmp_path / "landing"
    survey = landing / "survey/qualtrics"
    survey.mkdir(parents=True)
    shutil.copy(FIXTURES / "qualtrics" / "export_choice_text_denver.csv", survey / "a.csv")
    settings = settings_for(landing, tmp_path, CX_QUALITY__MIN_TIMESTAMP="2026-01-01T00:00:00Z")
    batch = extract_sources(settings, ["qualtrics"], url=fresh_db)["batches"][0]
    outcome = run_checks(settings, stage="raw", url=fresh_db, run_id="t-labels", alert=False)
    [result] = [
        r
        for r in outcome.results
        if r.expectation == "scored_responses_have_a_valid_answer" and r.batch_id == batch
    ]
    # 2 scored responses (IP Address, True); one holds only labels, the other an NPS of 2
    assert (result.success, result.severity) == (False, "warning")
    assert result.observed_value == (
        "1 of 2 scored responses hold no valid CSAT, NPS or CES (50.00%); answers exported "
        "as choice text need sources.qualtrics.choice_labels"
    )
    assert result.threshold == (
        "<= 0.1 of scored responses in the batch hold no valid CSAT, NPS or CES"
    )


def test_a_parallel_sources_failure_shows_no_credential(
    fresh_db: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A source's process logs and reports its failure with the credentials of a URL hidden,
    as the calling process would (its stderr is the caller's: no log filter of the CLI's)."""
    landing = tmp_path / "landing"
    write(
        landing / "crm/orders/o.csv",
        b"order_id,customer_email,ordered_at,amount,currency,status,updated_at\n"
        b"o-1,a@example.com,2026-01-05T10:00:00Z,1,EUR,placed,2026-01-05T10:00:00Z\n",
    )
    settings = settings_for(
        landing,
        tmp_path,
        CX_LOAD__PARALLEL_SOURCES="2",
        CX_SOURCES__AMAZON_CONNECT__PATH="nosuchprotocol://reader:Hunter2-landing-key@bucket/ivr",
    )
    with pytest.raises(CxError) as failure:
        extract_sources(settings, ["amazon_connect", "orders"], url=fresh_db)

    assert str(failure.value).startswith(
        "extract failed:\n  amazon_connect: cannot open 'nosuchprotocol://reader:***@bucket/ivr'"
    )
    logged = capfd.readouterr().err
    assert "amazon_connect: extract failed" in logged  # the child's log line, traceback too
    assert "Hunter2-landing-key" not in logged
