"""Survey comments are scored when their file is loaded (real PostgreSQL): the declared
UserLanguage first, one score row per response, never the text, never scored twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxscore.extract import extract_source
from cxscore.generate.formats import Response, current_header
from cxscore.settings import load_settings
from tests.helpers import query

pytestmark = pytest.mark.pg

COMMENTS = {
    "R_de": ("DE", "Eine Katastrophe, ich bin wütend und sehr enttäuscht"),
    "R_hu": ("HU", "Borzalmas, nagyon rossz szolgáltatás, dühös vagyok"),
    "R_en": ("EN", "Great help, thank you so much"),
    "R_ru": ("RU", "Это ужасный сервис"),
    "R_none": ("EN", ""),
}


def _write(path: Path, ids: list[str]) -> None:
    lines = [current_header()]
    for i, rid in enumerate(ids):
        r = Response()
        r.response_id = rid
        r.end = 1767258000 + 3600 * i
        r.csat = "3"
        r.language, r.comment = COMMENTS[rid]
        lines.append(",".join(f'"{v}"' for v in r.current_row()).encode() + b"\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))


def test_survey_comments_scored_once_in_their_declared_language(
    fresh_db: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    settings = load_settings(environ={"CX_LANDING_DIR": str(landing)})
    _write(landing / "survey" / "qualtrics" / "a.csv", list(COMMENTS))
    summary = extract_source(settings, "qualtrics", url=fresh_db, run_id="r1")
    assert summary["rows_loaded"] == 5
    assert summary["sentiment"] == {**summary["sentiment"], "messages": 4, "scored": 3}
    rows = {
        r[0]: r[1:]
        for r in query(
            fresh_db,
            "select record_id, language, language_source, scorer, score, message_kind "
            "from raw.sentiment__message_scores",
        )
    }
    assert set(rows) == {"R_de", "R_hu", "R_en", "R_ru"}  # an empty comment is no message
    assert rows["R_de"][:3] == ("de", "declared", "afinn-mt") and rows["R_de"][3] < 0
    assert rows["R_hu"][:2] == ("hu", "declared") and rows["R_hu"][3] < 0
    assert rows["R_en"][2] == "vader" and rows["R_en"][3] > 0.5
    assert rows["R_ru"][0] == "ru" and rows["R_ru"][2:4] == (None, None)  # unscored
    assert {r[4] for r in rows.values()} == {"survey_comment"}
    first = query(fresh_db, "select max(_scored_at) from raw.sentiment__message_scores")

    # an overlapping export with the same responses: nothing is scored again
    _write(landing / "survey" / "qualtrics" / "b.csv", ["R_de", "R_hu"])
    again = extract_source(settings, "qualtrics", url=fresh_db, run_id="r2")
    assert again["sentiment"]["messages"] == 0
    assert query(
        fresh_db, "select count(*), max(_scored_at) from raw.sentiment__message_scores"
    ) == [(4, first[0][0])]


def test_a_scoring_pass_reads_the_batches_after_the_last_one_that_succeeded(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxscore.signals import scoring
    from cxscore.warehouse import connect

    def through() -> int:
        conn = connect(fresh_db)
        try:
            conn.autocommit = True
            return scoring.scored_through(conn, "qualtrics")
        finally:
            conn.close()

    landing = tmp_path / "landing"
    settings = load_settings(environ={"CX_LANDING_DIR": str(landing)})
    _write(landing / "survey" / "qualtrics" / "a.csv", ["R_de", "R_en"])
    first = extract_source(settings, "qualtrics", url=fresh_db, run_id="r1")
    assert first["sentiment"]["messages"] == 2
    assert through() == first["sentiment"]["batch_id"]

    # the next file loads, but its scoring pass fails: the point does not move
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("scorer crashed")

    _write(landing / "survey" / "qualtrics" / "b.csv", ["R_hu", "R_ru"])
    monkeypatch.setattr(scoring, "score_text", broken)
    with pytest.raises(RuntimeError, match="scorer crashed"):
        extract_source(settings, "qualtrics", url=fresh_db, run_id="r2")
    monkeypatch.undo()
    assert query(fresh_db, "select count(*) from raw.qualtrics__responses") == [(4,)]
    assert through() == first["sentiment"]["batch_id"]

    # a run with no new file scores what the failed pass left behind ...
    query(fresh_db, "delete from raw.sentiment__message_scores where record_id = 'R_de'")
    retried = extract_source(settings, "qualtrics", url=fresh_db, run_id="r3")
    assert retried["files"] == 0
    assert retried["sentiment"]["messages"] == 2
    assert through() == retried["sentiment"]["batch_id"] > first["sentiment"]["batch_id"]
    # ... and only that: R_de's batch was scored by an earlier pass, it is not read again
    assert [r[0] for r in query(
        fresh_db, "select record_id from raw.sentiment__message_scores order by 1"
    )] == ["R_en", "R_hu", "R_ru"]  # fmt: skip


def test_the_run_summary_counts_each_sources_scoring_pass(fresh_db: str, tmp_path: Path) -> None:
    from cxscore.pipeline import extract_all
    from cxscore.warehouse import init_warehouse

    init_warehouse(fresh_db)  # as cxscore run does before its extract
    landing = tmp_path / "landing"
    settings = load_settings(
        environ={"CX_LANDING_DIR": str(landing), "CX_SOURCES__ENABLED": '["qualtrics"]'}
    )
    _write(landing / "survey" / "qualtrics" / "a.csv", list(COMMENTS))
    totals, failed = extract_all(settings, url=fresh_db, run_id="r1")
    assert failed == {}
    scoring = totals["sources"]["qualtrics"]["sentiment"]
    assert (scoring["messages"], scoring["scored"]) == (4, 3)
    assert scoring["seconds"] >= 0
