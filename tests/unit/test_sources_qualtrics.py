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


def only_response(
    fixture: str, settings: QualtricsSettings | None = None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The one response of a one-response fixture, without its payload, and the payload."""
    rows, rejections = parse((FIXTURES / fixture).read_bytes(), settings)
    assert rejections == []
    assert len(rows) == 1
    response_id, end_date, finished, status, payload, line = rows[0]
    return (response_id, end_date, finished, status, line), orjson.loads(payload)


def test_real_current_layout_export() -> None:
    response, doc = only_response("export_current_format.csv")
    assert response == ("R_2YPOQ602ER1jkf1", "2017-07-18T08:28:48+00:00", "1", "0", 4)
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
    response, doc = only_response("export_legacy_format.csv")
    assert response == ("R_2YPOQ602ER1jkf1", "2017-07-18T08:28:48+00:00", "1", "0", 3)
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


def test_declared_time_zone_wins_over_the_setting() -> None:
    # row 3 declares {"ImportId":"endDate","timeZone":"America/Denver"}: the configured
    # zone (here Tokyo) is only the fallback for files that declare none
    settings = QualtricsSettings(timezone="Asia/Tokyo")
    rows, rejections = parse((FIXTURES / "export_choice_text_denver.csv").read_bytes(), settings)
    assert rejections == []
    assert [(r[0], r[1]) for r in rows] == [
        ("R_5rYfeErcBsS3nsA", "2026-03-08T02:01:40+00:00"),  # 19:01:40 MST (UTC-7)
        ("R_5rHTV2kfYGjFPeB", "2026-03-08T09:01:02+00:00"),  # 03:01:02 MDT (UTC-6)
        ("R_5n9pjLJcwZa3sxC", "2026-03-08T16:00:04+00:00"),
        ("R_7tL5n8AUnJqLKBD", "2026-03-09T14:12:30+00:00"),
    ]
    utc = CURRENT.replace(
        '"{""ImportId"":""endDate""}"', '"{""ImportId"":""endDate"",""timeZone"":""Z""}"'
    )
    rows, _ = parse((utc + "x,2026-07-01 12:00:00,0,1,R_1,5,9,2,,,,\n").encode(), settings)
    assert rows[0][1] == "2026-07-01T12:00:00+00:00"  # "Z" means UTC
    unknown = CURRENT.replace(
        '"{""ImportId"":""endDate""}"', '"{""ImportId"":""endDate"",""timeZone"":""Mars/Base""}"'
    )
    rows, rejections = parse((unknown + "x,2026-07-01 12:00:00,0,1,R_1,5,9,2,,,,\n").encode())
    assert rows == []
    assert [r.line for r in rejections] == [1, 2, 3, 4]
    assert rejections[3].reason == (
        "EndDate: the file declares the time zone 'Mars/Base' (header row 3), which is not a "
        "known IANA zone"
    )


def test_choice_text_export_status_words_and_labels() -> None:
    settings = QualtricsSettings.model_validate(
        {
            "questions": {"comment": "QID4_TEXT"},
            "choice_labels": {
                "csat": {
                    "Very dissatisfied": 1,
                    "Dissatisfied": 2,
                    "Neither satisfied nor dissatisfied": 3,
                    "Satisfied": 4,
                    "Very satisfied": 5,
                },
                "nps": {"0 - Not at all likely": 0, "10 - Extremely likely": 10},
            },
        }
    )
    data = (FIXTURES / "export_choice_text_denver.csv").read_bytes()
    rows, rejections = parse(data, settings)
    assert rejections == []
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("R_5rYfeErcBsS3nsA", "1", "0"),  # True, IP Address
        ("R_5rHTV2kfYGjFPeB", "1", "0"),
        ("R_5n9pjLJcwZa3sxC", "1", "1"),  # Survey Preview
        ("R_7tL5n8AUnJqLKBD", "0", "0"),  # False
    ]
    docs = [orjson.loads(r[4]) for r in rows]
    assert [(d["csat"], d["nps"], d["comment"]) for d in docs] == [
        ("5", "10", "Nothing, it was great"),
        ("2", "2", "Delivery was late"),  # a number stays a number
        (None, None, ""),
        ("3", None, ""),
    ]
    assert docs[0]["columns"]["QID1"] == "Very satisfied"  # the exported text is kept
    assert docs[0]["customer_email"] == "ana@example.com"
    # without choice_labels the labels stay as exported (staging counts them invalid)
    rows, _ = parse(data)
    assert orjson.loads(rows[0][4])["csat"] == "Very satisfied"


def test_insights_layout_2016_as_qualtrics_own_test_writes_it() -> None:
    response, doc = only_response("export_insights_qualtrics_test.csv")
    assert response == ("test1", "2016-04-04T10:22:13+00:00", "1", "0", 4)
    assert doc["layout"] == "current"
    assert doc["csat"] == "answer"  # QID1 as exported; staging judges it invalid
    assert doc["columns"]["responseId"] == "test1"
    assert doc["columns"]["Location-LocationAccuracy"] == "-1"
    assert len(doc["columns"]) == 15


def test_insights_layout_2017_dash_import_ids_and_response_id() -> None:
    settings = QualtricsSettings(timezone="America/Denver")  # no zone declared: the setting
    rows, rejections = parse((FIXTURES / "export_insights_layout_2017.csv").read_bytes(), settings)
    assert rejections == []
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in rows] == [
        ("R_1GQkOnSvq5p6Yhj", "2017-03-14T15:05:47+00:00", "1", "0", 4),
        ("R_3kB0ZsVt0yq2Xre", "2017-03-14T17:41:15+00:00", "1", "0", 5),
        ("R_2VwOsXnOp5lX9mC", "2017-03-15T22:20:05+00:00", "1", "1", 6),
    ]
    docs = [orjson.loads(r[4]) for r in rows]
    # the configured QID4_TEXT matches the file's QID4-TEXT
    assert [(d["csat"], d["nps"], d["comment"], d["ticket_id"]) for d in docs] == [
        ("4", "9", "Quick and friendly, thanks!", "1043"),
        ("2", "3", "Took three e-mails to get an answer.", "1051"),
        ("5", "10", "test from the survey preview", None),
    ]
    assert docs[1]["touchpoint"] == "email_support"
    assert docs[0]["columns"]["QID4-TEXT"] == "Quick and friendly, thanks!"
