"""Amazon Connect CTR parsing: line-delimited, concatenated (Firehose), gzip, bad input."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import orjson
import pytest

from cxscore.sources.amazon_connect import parse_contact_records
from cxscore.sources.common import Rejection
from tests import helpers


def ctr(n: int, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "LastUpdateTimestamp": "2026-01-05T10:06:00Z",
        "Queue": {"Name": "Support", "EnqueueTimestamp": "2026-01-05T10:00:20Z"},
        "Agent": {"ConnectedToAgentTimestamp": "2026-01-05T10:01:00Z"},
    }
    return helpers.ctr(n, **{**fields, **extra})


def line(obj: Any) -> bytes:
    return orjson.dumps(obj) + b"\n"


def parse(data: bytes) -> tuple[list[tuple[Any, ...]], list[Rejection]]:
    rows: list[tuple[Any, ...]] = []
    rejections: list[Rejection] = []
    for item in parse_contact_records(io.BytesIO(data)):
        (rejections if isinstance(item, Rejection) else rows).append(item)  # type: ignore[arg-type]
    return rows, rejections


def test_line_delimited_rows_typed_columns_and_payload() -> None:
    data = line(ctr(1)) + line(ctr(2, InitiationTimestamp="2026-01-05T11:00:00+01:00"))
    rows, rejections = parse(data)
    assert rejections == []
    assert [r[0] for r in rows] == ["c-1", "c-2"]
    first = rows[0]
    assert first[1:6] == (
        "VOICE",
        "INBOUND",
        "2026-01-05T10:00:00Z",
        "2026-01-05T10:05:00Z",
        "2026-01-05T10:06:00Z",
    )
    assert orjson.loads(first[6]) == ctr(1)  # payload: the line as delivered
    assert first[6] == orjson.dumps(ctr(1))
    assert rows[1][3] == "2026-01-05T11:00:00+01:00"
    assert [r[7] for r in rows] == [1, 2]  # _line


def test_bad_lines_are_rejected_with_reasons_and_the_rest_loads() -> None:
    data = (
        line(ctr(1))  # 1 ok
        + b"\n"  # 2 blank: not a record
        + b'{"ContactId": "c-broken", \n'  # 3 bad JSON
        + b"[1, 2]\n"  # 4 not an object
        + line(ctr(5, Queue={"EnqueueTimestamp": "soon"}))  # 5 bad nested timestamp
        + line(ctr(6, InitiationTimestamp=1767607200))  # 6 timestamp not a string
        + b'{"ContactId": "c-7", "Channel": "caf\xe9"}\n'  # 7 latin-1 byte
        + line({"ContactId": "c-8"})  # 8 incomplete but parseable: loaded
        + line(ctr(9, Attributes={"note": "a\x00b"}))  # 9 \u0000: loaded, NUL replaced
        + orjson.dumps(ctr(10))
        + b"\r\n"  # 10 CRLF
        + line(ctr(11, TransferCompletedTimestamp="2026-13-45T99:00:00Z"))  # 11 bad top-level
        + line(ctr(12, Agent={"AfterContactWorkEndTimestamp": "later"}))  # 12 bad Agent ts
    )
    rows, rejections = parse(data)
    assert [r[0] for r in rows] == ["c-1", "c-8", "c-9", "c-10"]
    assert [r[7] for r in rows] == [1, 8, 9, 10]
    assert rows[1][1:6] == (None, None, None, None, None)
    assert orjson.loads(rows[2][6])["Attributes"]["note"] == "a\ufffdb"
    assert rows[3][6] == orjson.dumps(ctr(10))  # CR/LF stripped
    assert [(r.line, r.reason.split(":")[0]) for r in rejections] == [
        (3, "invalid JSON"),
        (4, "not a JSON object"),
        (5, "Queue.EnqueueTimestamp"),
        (6, "InitiationTimestamp"),
        (7, "not valid UTF-8"),
        (11, "TransferCompletedTimestamp"),
        (12, "Agent.AfterContactWorkEndTimestamp"),
    ]
    assert rejections[2].reason == "Queue.EnqueueTimestamp: unparseable timestamp 'soon'"
    assert rejections[4].reason.startswith("not valid UTF-8: byte(s) e9")
    assert rejections[4].raw_text == '{"ContactId": "c-7", "Channel": "caf\ufffd"}'
    assert rejections[0].raw_text == '{"ContactId": "c-broken", '


def test_concatenated_firehose_objects_use_byte_offsets() -> None:
    parts = [orjson.dumps(ctr(1)), orjson.dumps(ctr(2, Attributes={"name": "Zoë"})), b"{oops}"]
    parts.append(orjson.dumps(ctr(3)))
    data = b"".join(parts)
    rows, rejections = parse(data)
    assert [r[0] for r in rows] == ["c-1", "c-2", "c-3"]
    offsets = [0, len(parts[0]), len(parts[0]) + len(parts[1]) + len(parts[2])]
    assert [r[7] for r in rows] == offsets  # byte offsets, even after a non-ASCII record
    assert len(rejections) == 1
    assert rejections[0].line == len(parts[0]) + len(parts[1])
    assert rejections[0].raw_text == "{oops}"
    assert rejections[0].reason.startswith("invalid JSON at byte offset")
    assert orjson.loads(rows[1][6])["Attributes"]["name"] == "Zoë"


def test_pretty_printed_objects_are_read_as_a_stream() -> None:
    data = (json.dumps(ctr(1), indent=2) + "\n" + json.dumps(ctr(2), indent=2) + "\n").encode()
    rows, rejections = parse(data)
    assert rejections == []
    assert [r[0] for r in rows] == ["c-1", "c-2"]
    assert rows[1][7] == len(json.dumps(ctr(1), indent=2)) + 1


def test_several_objects_on_one_line_of_a_line_delimited_file() -> None:
    data = line(ctr(1)) + orjson.dumps(ctr(2)) + orjson.dumps(ctr(3)) + b"\n"
    rows, rejections = parse(data)
    assert rejections == []
    assert [(r[0], r[7]) for r in rows] == [("c-1", 1), ("c-2", 2), ("c-3", 2)]


def test_gzip_is_transparent_and_a_truncated_gzip_is_reported() -> None:
    plain = b"".join(line(ctr(i)) for i in range(3))
    rows, rejections = parse(gzip.compress(plain))
    assert [r[0] for r in rows] == ["c-0", "c-1", "c-2"]
    assert rejections == []
    firehose = gzip.compress(b"".join(orjson.dumps(ctr(i)) for i in range(3)))
    rows, rejections = parse(firehose)
    assert [r[7] for r in rows] == [0, len(orjson.dumps(ctr(0))), 2 * len(orjson.dumps(ctr(0)))]
    big = b"".join(line(ctr(i, Attributes={"pad": "x" * (i % 97)})) for i in range(2000))
    truncated = gzip.compress(big)[:-200]
    rows, rejections = parse(truncated)
    assert 0 < len(rows) < 2000
    # what was decompressed is loaded or rejected: the cut line (invalid JSON), then the
    # unreadable tail as one rejection naming the byte offset where reading stopped
    assert len(rejections) == 2
    cut, tail = rejections
    assert cut.line == len(rows) + 1 and cut.reason.startswith("invalid JSON")
    offset = sum(len(line(ctr(i, Attributes={"pad": "x" * (i % 97)}))) for i in range(len(rows)))
    offset += len((cut.raw_text or "").encode())
    assert tail.line == len(rows) + 2
    assert tail.reason.startswith(
        f"file unreadable from byte offset {offset} of its decompressed data, "
        f"after line {len(rows) + 1} (corrupt or truncated?): "
    )
    assert tail.raw_text is None
    records = [orjson.dumps(ctr(i)) for i in range(2000)]
    rows, rejections = parse(gzip.compress(b"".join(records))[:-200])  # Firehose, truncated
    assert 0 < len(rows) < 2000
    assert [r[7] for r in rows] == [sum(len(r) for r in records[:i]) for i in range(len(rows))]
    cut, tail = rejections
    # _line of a concatenated file is a byte offset: the cut object starts where the last
    # row ends, the unreadable tail where the cut object ends
    assert cut.line == sum(len(r) for r in records[: len(rows)])
    assert tail.line == cut.line + len((cut.raw_text or "").encode())
    assert tail.reason.startswith(f"file unreadable from byte offset {tail.line} ")


def test_a_utf8_bom_is_skipped() -> None:
    rows, rejections = parse(b"\xef\xbb\xbf" + line(ctr(1)) + line(ctr(2)))
    assert rejections == []
    assert [(r[0], r[7]) for r in rows] == [("c-1", 1), ("c-2", 2)]
    rows, rejections = parse(b"\xef\xbb\xbf" + orjson.dumps(ctr(1)) + orjson.dumps(ctr(2)))
    assert rejections == []
    assert [r[7] for r in rows] == [3, 3 + len(orjson.dumps(ctr(1)))]  # byte offsets


def test_empty_and_blank_files_have_no_records() -> None:
    assert parse(b"") == ([], [])
    assert parse(b"\n \n\n") == ([], [])
    assert parse(gzip.compress(b"")) == ([], [])


def test_firehose_split_handles_braces_in_strings_and_falls_back_on_errors() -> None:
    from cxscore.sources.amazon_connect import _READER

    parts = [
        orjson.dumps(ctr(1, Attributes={"note": "a}{b"})),
        b"  ",
        orjson.dumps(ctr(2, Attributes={"note": "x} {y}{z"})),
        orjson.dumps(ctr(3, Attributes={"name": "Zoë"})),
        b'{"ContactId": "c-bad", "Channel": }',
        orjson.dumps(ctr(4)),
        b'{"ContactId": "c-5", "Channel": "caf\xe9"}',
        orjson.dumps(ctr(6)),
    ]
    data = b"".join(parts)
    rows, rejections = parse(data)
    offsets = [sum(len(p) for p in parts[:i]) for i in range(len(parts))]
    assert [(r[0], r[7]) for r in rows] == [
        ("c-1", offsets[0]),
        ("c-2", offsets[2]),
        ("c-3", offsets[3]),
        ("c-4", offsets[5]),
        ("c-6", offsets[7]),
    ]
    assert [(r.line, r.reason.split(":")[0]) for r in rejections] == [
        (offsets[4], f"invalid JSON at byte offset {offsets[4]}"),
        (offsets[6], "not valid UTF-8"),
    ]
    assert rejections[0].raw_text == '{"ContactId": "c-bad", "Channel": }'
    assert orjson.loads(rows[0][6])["Attributes"]["note"] == "a}{b"
    # the fast split and the streaming decoder read the same records at the same offsets
    fast = [
        (type(x).__name__, x[0] if isinstance(x, tuple) else x.line)
        for x in _READER._parse_concatenated_fast(data, 0)
    ]
    slow = [
        (type(x).__name__, x[0] if isinstance(x, tuple) else x.line)
        for x in _READER._parse_concatenated(data, 0)
    ]
    assert fast == slow


def test_a_line_with_several_objects_one_broken_keeps_the_good_ones() -> None:
    data = line(ctr(1)) + orjson.dumps(ctr(2)) + b'{"ContactId": }' + orjson.dumps(ctr(3)) + b"\n"
    rows, rejections = parse(data)
    assert [(r[0], r[7]) for r in rows] == [("c-1", 1), ("c-2", 2), ("c-3", 2)]
    assert [(r.line, r.raw_text) for r in rejections] == [(2, '{"ContactId": }')]


def test_a_json_array_fails_the_file_naming_the_expected_shape() -> None:
    from cxscore.sources.json_records import FileShapeError

    for data in (
        b"[" + b",".join(orjson.dumps(ctr(i)) for i in range(2)) + b"]",
        b"\n  [\n" + orjson.dumps(ctr(1)) + b"\n]\n",
        gzip.compress(b"[" + orjson.dumps(ctr(1)) + b"]"),
    ):
        with pytest.raises(FileShapeError) as failure:
            parse(data)
        assert str(failure.value) == (
            "the file holds a JSON array; Amazon Connect contact trace records are JSON "
            "objects, one per line (JSON Lines) or concatenated as Kinesis Firehose writes "
            "them. Convert the array to one object per line, e.g. `jq -c '.[]' FILE > "
            "FILE.jsonl`, and land that instead"
        )


def test_poison_durations_reject_their_record() -> None:
    good = ctr(1, Queue={"Duration": 12.5}, Agent={"AgentInteractionDuration": "30"})
    rows, rejections = parse(
        line(good)
        + line(ctr(2, Queue={"Duration": "12 s"}))
        + line(ctr(3, Agent={"AfterContactWorkDuration": True}))
        + line(ctr(4, Agent={"CustomerHoldDuration": "NaN"}))
    )
    assert [r[0] for r in rows] == ["c-1"]
    assert [(r.line, r.reason) for r in rejections] == [
        (2, "Queue.Duration: '12 s' is not a decimal"),
        (3, "Agent.AfterContactWorkDuration: True is not a number"),
        (4, "Agent.CustomerHoldDuration: 'NaN' is not a decimal"),
    ]


def test_firehose_resync_never_folds_good_objects_into_a_rejection() -> None:
    # a broken object (cut inside a string) directly followed by two good ones: the
    # rejection holds exactly the broken bytes, both good objects load, offsets add up
    broken = b'{"ContactId": "c-1", "Channel": "VOI'
    good2, good3 = orjson.dumps(ctr(2)), orjson.dumps(ctr(3))
    first = orjson.dumps(ctr(0))
    rows, rejections = parse(first + broken + good2 + good3)
    assert [(r[0], r[7]) for r in rows] == [
        ("c-0", 0),
        ("c-2", len(first) + len(broken)),
        ("c-3", len(first) + len(broken) + len(good2)),
    ]
    assert [(r.line, r.raw_text) for r in rejections] == [(len(first), broken.decode())]


def test_concatenated_files_are_parsed_in_windows_with_the_same_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cxscore.sources import json_records

    records = [
        orjson.dumps(ctr(i, Attributes={"note": "a }{ b" * (i % 5)}), option=orjson.OPT_INDENT_2)
        for i in range(300)
    ]
    records[150] = records[150][:-40]  # one broken record in the middle
    data = b"\n".join(records)
    whole = parse(data)
    monkeypatch.setattr(json_records, "WINDOW_BYTES", 4096)  # many windows
    windowed = parse(data)

    def same(result: Any) -> Any:  # payload bytes compare as JSON (jsonb normalises them)
        rows, rejections = result
        return [(*r[:6], orjson.loads(r[6]), r[7]) for r in rows], rejections

    assert same(windowed) == same(whole)
    rows, rejections = windowed
    assert len(rows) == 299 and [r.line for r in rejections] == [
        sum(len(r) + 1 for r in records[:150])
    ]


def test_long_lines_arrive_in_pieces_and_are_joined(monkeypatch: pytest.MonkeyPatch) -> None:
    from cxscore.sources import json_records

    monkeypatch.setattr(json_records, "PIECE_BYTES", 100)
    monkeypatch.setattr(json_records, "_READ_BYTES", 64)
    lines = [line(ctr(i, Attributes={"pad": "y" * 300})) for i in range(5)]
    jsonl = b"".join(lines)
    rows, rejections = parse(jsonl)
    # a first line longer than PIECE_BYTES: read as a stream, _line = byte offsets
    assert rejections == []
    assert [(r[0], r[7]) for r in rows] == [
        (f"c-{i}", sum(len(x) for x in lines[:i])) for i in range(5)
    ]
    short = b'{"ContactId": "c-9"}\n' + jsonl  # a short first line: line by line
    rows, rejections = parse(short)
    assert rejections == [] and [r[7] for r in rows] == [1, 2, 3, 4, 5, 6]
    records = [orjson.dumps(ctr(i, Attributes={"pad": "y" * 300})) for i in range(5)]
    rows, rejections = parse(b"".join(records))  # Firehose: one "line" of 5 objects
    assert rejections == []
    assert [r[7] for r in rows] == [sum(len(r) for r in records[:i]) for i in range(5)]
    rows, rejections = parse(jsonl.rstrip(b"\n"))  # no newline at the end
    assert rejections == [] and len(rows) == 5
