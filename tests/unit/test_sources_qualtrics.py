"""Qualtrics export parsing: the real vendor files (both layouts) and hand-made edge cases."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson

from cxscore.settings import QualtricsSettings
from cxscore.sources.common import Rejection
from cxscore.sources.qualtrics import parse_responses

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qualtrics"


def parse(
    data: bytes, settings: QualtricsSettings | None = None
) -> tuple[list[tuple[Any, ...]], list[Rejection]]:
    rows: list[tuple[Any, ...]] = []
    rejections: list[Rejection] = []
    for item in parse_responses(io.BytesIO(data), settings or QualtricsSettings()):
        (rejections if isinstance(item, Rejection) else rows).append(item)  # type: ignore[arg-type]
    return rows, rejections


def test_real_current_layout_export() -> None:
    rows, rejections = parse((FIXTURES / "export_current_format.csv").read_bytes())
    assert rejections == []
    assert len(rows) == 1
    response_id, end_date, finished, status, payload, line = rows[0]
    assert (response_id, end_date, finished, status, line) == (
        "R_2YPOQ602ER1jkf1",
        "2017-07-18T08:28:48+00:00",
        "1",
        "0",
        4,
    )
    doc = orjson.loads(payload)
    assert doc["layout"] == "current"
    assert doc["csat"] == "2"  # QID1 (the default csat question)
    assert doc["nps"] is None and doc["ces"] is None and doc["comment"] is None
    assert doc["ticket_id"] is None and doc["touchpoint"] is None
    columns = doc["columns"]
    assert len(columns) == 20
    assert columns["QID1"] == "2"
    assert columns["QID2_TEXT"] == "Hello World!"
    assert columns["_recordId"] == "R_2YPOQ602ER1jkf1"
    assert columns["QID2_TEXT_eae5a8d0e7fd4bd183e983e5Topics"] == ""
    assert columns["userLanguage"] == "DE"


def test_real_legacy_layout_export() -> None:
    rows, rejections = parse((FIXTURES / "export_legacy_format.csv").read_bytes())
    assert rejections == []
    assert len(rows) == 1
    response_id, end_date, finished, status, payload, line = rows[0]
    assert (response_id, end_date, finished, status, line) == (
        "R_2YPOQ602ER1jkf1",
        "2017-07-18T08:28:48+00:00",
        "1",
        "0",
        3,
    )
    doc = orjson.loads(payload)
    assert doc["layout"] == "legacy"
    assert doc["csat"] is None  # default QID1 is not a legacy code
    assert doc["columns"]["ResponseID"] == "R_2YPOQ602ER1jkf1"  # V1 -> its label
    assert doc["columns"]["Q1"] == "2"
    assert doc["columns"]["Q2"] == "Hello World!"
    assert doc["columns"]["LocationAccuracy"] == "-1"
    assert len(doc["columns"]) == 15  # the trailing comma's empty column is not kept
    # configured names match the first header row in legacy files
    custom = QualtricsSettings.model_validate(
        {"questions": {"csat": "Q1", "comment": "Q2"}, "timezone": "Europe/Zurich"}
    )
    rows, _ = parse((FIXTURES / "export_legacy_format.csv").read_bytes(), custom)
    doc = orjson.loads(rows[0][4])
    assert (doc["csat"], doc["comment"]) == ("2", "Hello World!")
    assert rows[0][1] == "2017-07-18T06:28:48+00:00"  # CEST -> UTC


CURRENT = (
    "StartDate,EndDate,Status,Finished,ResponseId,Q1,Q1,Q3,Q4,ticket_id,contact_id,touchpoint\n"
    "Start,End,Type,Done,Id,How satisfied?,Recommend?,Effort?,Comment,ticket_id,contact_id,tp\n"
    '"{""ImportId"":""startDate""}","{""ImportId"":""endDate""}","{""ImportId"":""status""}",'
    '"{""ImportId"":""finished""}","{""ImportId"":""_recordId""}","{""ImportId"":""QID1""}",'
    '"{""ImportId"":""QID2""}","{""ImportId"":""QID3""}","{""ImportId"":""QID4_TEXT""}",'
    '"{""ImportId"":""ticket_id""}","{""ImportId"":""contact_id""}",'
    '"{""ImportId"":""touchpoint""}"\n'
)


def test_current_layout_ids_win_over_repeated_tags_and_dst_edges() -> None:
    data = (
        CURRENT
        + '2026-03-08 01:00:00,2026-03-08 02:30:00,0,1,R_1,5,9,2,"great, thanks",42,,\n'
        + "2026-11-01 01:00:00,2026-11-01 01:30:00,0,1,R_2,,,,,,c-9,chat_support\n"
        + "x,2026-11-01 03:00:00,0,1,R_3,1,2\n"  # wrong column count
        + "x,not a date,0,1,R_4,1,2,3,,,,\n"  # unparseable EndDate
        + "x,,1,0,R_5,abc,11,0,,,,\n"  # no EndDate, out-of-range answers: loaded
    ).encode()
    settings = QualtricsSettings(timezone="America/New_York")
    rows, rejections = parse(data, settings)
    assert [r[0] for r in rows] == ["R_1", "R_2", "R_5"]
    assert rows[0][1] == "2026-03-08T07:30:00+00:00"  # skipped hour: shifted forward
    assert rows[1][1] == "2026-11-01T06:30:00+00:00"  # repeated hour: standard time
    assert rows[2][1] is None
    first = orjson.loads(rows[0][4])
    assert {k: first[k] for k in ("csat", "nps", "ces", "comment", "ticket_id", "contact_id")} == {
        "csat": "5",
        "nps": "9",
        "ces": "2",
        "comment": "great, thanks",
        "ticket_id": "42",
        "contact_id": None,
    }
    second = orjson.loads(rows[1][4])
    assert (second["csat"], second["comment"], second["contact_id"], second["touchpoint"]) == (
        None,
        "",
        "c-9",
        "chat_support",
    )
    assert orjson.loads(rows[2][4])["csat"] == "abc"  # raw text; validity is judged later
    assert [(r.line, r.reason) for r in rejections] == [
        (6, "wrong column count: expected 12, found 7"),
        (7, "EndDate: unparseable timestamp 'not a date'"),
    ]
    assert rejections[0].raw_text == "x,2026-11-01 03:00:00,0,1,R_3,1,2"


def test_bad_bytes_multiline_comments_and_unknown_layouts() -> None:
    data = CURRENT.encode() + (
        b'x,2026-01-01 10:00:00,0,1,R_1,5,9,2,"line one\nline two",,,\n'
        b"x,2026-01-01 10:00:00,0,1,R_2,5,9,2,caf\xe9,,,\n"
        b"x,2026-01-01 10:00:00,0,1,R_3,5,9,2,ok,,,\n"
    )
    rows, rejections = parse(data)
    assert [(r[0], r[5]) for r in rows] == [("R_1", 4), ("R_3", 7)]
    assert orjson.loads(rows[0][4])["comment"] == "line one\nline two"
    assert len(rejections) == 1
    assert rejections[0].line == 6
    assert rejections[0].reason.startswith("not valid UTF-8: byte(s) e9")
    assert rejections[0].raw_text == "x,2026-01-01 10:00:00,0,1,R_2,5,9,2,caf\ufffd,,,"
    latin1 = CURRENT.replace("Recommend?", "Empfehlung für uns?").encode("latin-1")
    rows, rejections = parse(latin1 + b"x,2026-01-01 10:00:00,0,1,R_9,5,9,2,ok,,,\n")
    assert rows == []
    assert [r.line for r in rejections] == [1, 2, 3, 4]
    assert rejections[0].reason.startswith("the file's header row 2 is unreadable: not valid")
    rows, rejections = parse(b"a,b\n1,2\n3,4\n")
    assert rows == []
    assert [r.line for r in rejections] == [1, 2, 3]
    assert rejections[0].reason.startswith("unrecognised Qualtrics export layout")
    assert parse(b"") == ([], [])
    assert parse(CURRENT.encode()) == ([], [])  # headers only: no responses
