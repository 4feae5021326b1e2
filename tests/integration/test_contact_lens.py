"""Contact Lens output files (AWS's published examples, tests/fixtures/contact_lens) into real
PostgreSQL: one raw row per file, the redacted variant preferred, customer turns scored, the
vendor's customer sentiment kept as score / 5, and the batches pass their GX suites."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cxscore.extract import extract_source
from cxscore.settings import load_settings
from cxscore.signals.scoring import contact_lens_messages
from tests.conftest import FIXTURES
from tests.helpers import query

pytestmark = pytest.mark.pg

LENS = FIXTURES / "contact_lens"
VOICE_ID = "11111111-2222-3333-4444-555555555555"
CHAT_ID = "b49644f6-672f-445c-b209-f76b36482830"


def _landing(tmp_path: Path, *, with_original: bool = True) -> Path:
    root = tmp_path / "landing" / "ivr" / "contact_lens" / "Analysis"
    files = {
        f"Voice/Redacted/2020/02/04/{VOICE_ID}_analysis_redacted_2020-02-04T21:14:16Z.json": (
            "voice_analysis_redacted.json"
        ),
        f"Chat/Redacted/2022/11/30/{CHAT_ID}_analysis_redacted_2022-11-30T10:00:00Z.json": (
            "chat_analysis_redacted.json"
        ),
    }
    if with_original:
        files[f"Voice/2020/02/04/{VOICE_ID}_analysis_2020-02-04T21:14:16Z.json"] = (
            "voice_analysis.json"
        )
        files[f"Chat/2022/11/30/{CHAT_ID}_analysis_2022-11-30T10:00:00Z.json"] = (
            "chat_analysis.json"
        )
    for target, name in files.items():
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(LENS / name, path)
    return tmp_path / "landing"


def test_the_published_examples_parse_into_customer_turns_and_vendor_scores() -> None:
    import json

    voice = json.loads((LENS / "voice_analysis_redacted.json").read_text())
    language, turns, vendor = contact_lens_messages(voice)
    assert language == "en-US" and vendor == 3.1
    assert turns and all("[PII]" not in t or "PII" in t for _, t in turns)
    assert turns[0][1].startswith("Just hello.")  # the customer's first turn, not the agent's
    chat = json.loads((LENS / "chat_analysis_redacted.json").read_text())
    language, turns, vendor = contact_lens_messages(chat)
    assert vendor == 0  # chat: OverallSentiment.DetailsByParticipantRole.CUSTOMER
    assert turns and all(t for _, t in turns)  # MESSAGE items of the CUSTOMER only


def test_contact_lens_files_load_and_score_redacted_first(fresh_db: str, tmp_path: Path) -> None:
    landing = _landing(tmp_path)
    settings = load_settings(environ={"CX_LANDING_DIR": str(landing)})
    summary = extract_source(settings, "amazon_connect", url=fresh_db, run_id="r1")
    assert summary["status"] == "succeeded"
    assert sorted(
        query(
            fresh_db,
            "select contact_id, channel, language_code, is_redacted "
            "from raw.amazon_connect__contact_lens",
        )
    ) == [
        (VOICE_ID, "VOICE", "en-US", False),
        (VOICE_ID, "VOICE", "en-US", True),
        (CHAT_ID, "CHAT", "en-US", False),
        (CHAT_ID, "CHAT", "en-US", True),
    ]
    vendor = dict(
        query(
            fresh_db,
            "select record_id, score from raw.sentiment__message_scores "
            "where message_kind = 'contact_lens_overall'",
        )
    )
    assert vendor == {VOICE_ID: pytest.approx(0.62), CHAT_ID: 0.0}
    turns = query(
        fresh_db,
        "select count(*), count(score), min(language), bool_and(language_source = 'declared') "
        "from raw.sentiment__message_scores where message_kind = 'transcript_turn' "
        "and record_id = %s",
        (VOICE_ID,),
    )
    assert turns[0][0] > 0 and turns[0][2] == "en" and turns[0][3] is True
    # the redacted variant was the one scored: no '[PII]'-free original was read twice
    assert query(
        fresh_db,
        "select count(*) from raw.sentiment__message_scores where record_id = %s "
        "and message_kind = 'contact_lens_overall'",
        (VOICE_ID,),
    ) == [(1,)]
    # the next run reads nothing new and scores nothing again
    again = extract_source(settings, "amazon_connect", url=fresh_db, run_id="r2")
    assert again["sentiment"]["messages"] == 0

    from cxscore.quality.gate import run_raw_checks

    outcome, state = run_raw_checks(settings, url=fresh_db, run_id="c1", sources=["amazon_connect"])
    assert outcome.batches.get("amazon_connect__contact_lens")
    failed = query(
        fresh_db,
        "select suite, expectation, observed_value from quality.check_results "
        "where not success and severity = 'critical'",
    )
    assert failed == []
    assert [i for i in state.items if i["kind"] != "table"] == []


def test_a_file_that_is_no_contact_lens_document_is_rejected(fresh_db: str, tmp_path: Path) -> None:
    root = tmp_path / "landing" / "ivr" / "contact_lens" / "Analysis" / "Voice"
    root.mkdir(parents=True)
    (root / "x_analysis_2020-02-04T21:14:16Z.json").write_text('[{"ContactId": "x"}]')
    (root / f"{VOICE_ID}_analysis_2020-02-04T21:14:16Z.json").write_bytes(
        (LENS / "voice_analysis.json").read_bytes()
    )
    settings = load_settings(
        environ={"CX_LANDING_DIR": str(tmp_path / "landing"), "CX_LOAD__MAX_REJECT_PCT": "100"}
    )
    extract_source(settings, "amazon_connect", url=fresh_db, run_id="r1")
    assert query(fresh_db, "select stream, reason from raw.rejected_rows") == [
        ("contact_lens", "not a Contact Lens analysis document (expected a JSON object with "
         "Transcript)"),
    ]  # fmt: skip
