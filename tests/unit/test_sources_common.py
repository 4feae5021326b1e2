"""Shared parsing helpers: PostgreSQL's AT TIME ZONE rule, timestamps, CSV records, COPY."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from cxscore.load.copy import encode_rows, escape_text
from cxscore.sources.common import (
    fit_columns,
    local_to_utc,
    parse_timestamp,
    raw_text_of,
    read_csv_records,
    timestamp_text,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("local", "tz", "expected"),
    [
        # ordinary winter / summer times
        ("2026-01-15 09:00", NY, "2026-01-15T14:00:00+00:00"),
        ("2026-07-15 09:00", NY, "2026-07-15T13:00:00+00:00"),
        # spring forward: 02:30 does not exist -> offset before the transition (EST),
        # i.e. shifted forward to 03:30 EDT
        ("2026-03-08 02:30", NY, "2026-03-08T07:30:00+00:00"),
        # fall back: 01:30 happens twice -> read as standard time (EST, the second one)
        ("2026-11-01 01:30", NY, "2026-11-01T06:30:00+00:00"),
        ("2026-11-01 00:59", NY, "2026-11-01T04:59:00+00:00"),
        ("2026-11-01 02:00", NY, "2026-11-01T07:00:00+00:00"),
        ("2026-03-29 02:30", BERLIN, "2026-03-29T01:30:00+00:00"),
        ("2026-10-25 02:30", BERLIN, "2026-10-25T01:30:00+00:00"),
        # southern hemisphere (values checked against PostgreSQL 15)
        ("2026-04-05 02:30", ZoneInfo("Australia/Sydney"), "2026-04-04T16:30:00+00:00"),
        ("2026-10-04 02:30", ZoneInfo("Australia/Sydney"), "2026-10-03T16:30:00+00:00"),
        ("2026-03-08 02:30", UTC, "2026-03-08T02:30:00+00:00"),
    ],
)
def test_local_to_utc_follows_postgresql(local: str, tz: ZoneInfo, expected: str) -> None:
    assert local_to_utc(datetime.fromisoformat(local), tz).isoformat() == expected


def test_parse_timestamp_offsets_naive_and_errors() -> None:
    assert timestamp_text("2026-01-05T10:15:30Z") == "2026-01-05T10:15:30+00:00"
    assert timestamp_text("2026-01-05T10:15:30+02:00") == "2026-01-05T08:15:30+00:00"
    assert timestamp_text("2026-07-01 12:00:00", NY) == "2026-07-01T16:00:00+00:00"
    # an explicit offset wins over the configured zone
    assert timestamp_text("2026-07-01T12:00:00Z", NY) == "2026-07-01T12:00:00+00:00"
    assert parse_timestamp(None) is None
    assert parse_timestamp("") is None
    with pytest.raises(ValueError, match="unparseable timestamp 'yesterday'"):
        parse_timestamp("yesterday")
    with pytest.raises(ValueError, match="not an ISO-8601 timestamp string"):
        parse_timestamp(1767600000)


def test_csv_records_lines_bom_multiline_and_bad_utf8() -> None:
    data = b'\xef\xbb\xbfa,b\r\n1,"two\nlines"\r\n\r\n3,\xff\xfe\r\n4,NUL\x00here\r\n'
    records = list(read_csv_records(data))
    assert [r.line for r in records] == [1, 2, 5, 6]
    assert records[0].fields == ["a", "b"]
    assert records[1].fields == ["1", "two\nlines"]
    assert records[1].raw == '1,"two\nlines"'
    assert records[2].error == "not valid UTF-8: byte(s) ff fe at character 2 of the record"
    assert raw_text_of(records[2].raw) == "3,\ufffd\ufffd"
    assert records[3].fields == ["4", "NUL\ufffdhere"]
    assert records[3].error is None


def test_fit_columns_tolerates_only_a_trailing_empty_column() -> None:
    assert fit_columns(["1", "2"], ["a", "b"]) == ["1", "2"]
    assert fit_columns(["1", "2", ""], ["a", "b"]) == ["1", "2"]
    assert fit_columns(["1"], ["a", ""]) == ["1", ""]
    assert fit_columns(["1", "2", "3"], ["a", "b"]) is None
    assert fit_columns(["1"], ["a", "b"]) is None


def test_copy_text_escaping() -> None:
    assert escape_text("a\\b\tc\nd\re\x00") == "a\\\\b\\tc\\nd\\re\ufffd".encode()
    chunks = list(encode_rows([(1, None, "x\ty", b'{"a":"\\n"}')], b"\t7\tf"))
    assert chunks == [b'1\t\\N\tx\\ty\t{"a":"\\\\n"}\t7\tf\n']


def test_prefetched_keeps_order_reraises_and_stops_early() -> None:
    import threading
    import time

    from cxscore.load.copy import prefetched

    assert list(prefetched(iter([b"a", b"b", b"c"]), depth=1)) == [b"a", b"b", b"c"]

    def failing() -> Iterator[bytes]:
        yield b"a"
        raise ValueError("parser bug")

    got = prefetched(failing())
    assert next(got) == b"a"
    with pytest.raises(ValueError, match="parser bug"):
        next(got)

    produced: list[int] = []

    def endless() -> Iterator[bytes]:
        for i in range(10**9):
            produced.append(i)
            yield b"x"

    before = threading.active_count()
    stream = prefetched(endless(), depth=2)
    assert next(stream) == b"x"
    time.sleep(0.2)
    assert 1 <= len(produced) <= 3  # the one taken and at most 2 ahead
    stream.close()  # the producer thread stops instead of running on
    assert threading.active_count() == before
    assert len(produced) < 10
