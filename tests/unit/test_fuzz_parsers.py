"""Fuzzing every parser of ``cxscore.sources`` (issue 22), a bounded budget for ``make test``.

Each test draws mutations of real vendor files and synthetic ones (``tests/fuzzing.py``:
truncations, byte flips, NULs, BOMs, duplicated and reordered lines, huge fields, wrong
encodings, random JSON values in any field) and checks the invariants listed there. The
budget is fixed and the run is deterministic (``derandomize``): a failure shows the same
shrunk input on every machine. The long campaign is ``make fuzz``.

The regression tests at the end are inputs the fuzzer found that broke a parser.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxscore.settings import QualtricsSettings
from cxscore.sources import amazon_connect, contact_lens, qualtrics, zendesk
from cxscore.sources.common import Rejection
from tests.fuzzing import (
    CONTACT_LENS_PATH,
    DrawChooser,
    InvariantBroken,
    Outcome,
    RandomChooser,
    Target,
    check,
    targets,
)

pytestmark = pytest.mark.fuzz

TARGETS = targets()
BUDGET = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzzed_inputs_keep_the_invariants(name: str) -> None:
    target = TARGETS[name]
    tried = 0

    @BUDGET
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        nonlocal tried
        tried += 1
        check(target, target.mutate(DrawChooser(data)))

    fuzz()
    assert tried >= 100  # the budget was spent on inputs, not skipped


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_the_seeds_parse_cleanly(name: str) -> None:
    """Unmutated seeds load rows and reject nothing: mutations start from valid files."""
    target = TARGETS[name]
    for seed in target.seeds:
        outcome = check(target, seed)
        assert outcome.file_error is None
        assert outcome.rows
        assert outcome.rejections == []


@pytest.mark.parametrize(
    ("row", "broken"),
    [
        (("a\x00b", b"{}"), "column 0 of a row holds a NUL character"),
        (("a", b'{"k":"\\u0000"}'), "column 1 of a row holds a NUL character"),
        (("a", b'{"k":"\\ud83d"}'), "column 1 of a row is not valid UTF-8"),
        (("a", b'{"k":NaN}'), "column 1 of a row: not valid JSON"),
        ((2**63, b"{}"), "column 0 of a row: 9223372036854775808 is out of bigint"),
        (("a",), "a row of 1 values, not"),
    ],
)
def test_the_checker_catches_a_broken_parser(row: tuple[object, ...], broken: str) -> None:
    """The invariants can fail: rows COPY or jsonb would refuse are caught."""
    target = Target(
        "broken",
        (2,),
        [b"x"],
        lambda data: Outcome([row], []),
        lambda ch, data: data,
        lambda data, outcome: None,
    )
    with pytest.raises(InvariantBroken, match=re.escape(broken)):
        check(target, b"x")


def test_mutations_are_deterministic_per_seed() -> None:
    target = TARGETS["amazon_connect"]
    chooser, again = RandomChooser(5), RandomChooser(5)
    first = [target.mutate(chooser) for _ in range(5)]
    assert [target.mutate(again) for _ in range(5)] == first
    assert len(set(first)) > 1
    assert any(m not in target.seeds for m in first)


# --------------------------------------------------------------------------- regressions


def _items(items: Iterable[Any]) -> tuple[list[tuple[object, ...]], list[Rejection]]:
    rows: list[tuple[object, ...]] = []
    rejections: list[Rejection] = []
    for item in items:
        if isinstance(item, Rejection):
            rejections.append(item)
        else:
            rows.append(item)
    return rows, rejections


def test_contact_lens_nul_characters_become_replacement_characters() -> None:
    """Found by the fuzzer: a NUL in any string of the document went into ``payload`` as
    ``\\u0000``, which jsonb refuses (the whole file failed in COPY)."""
    doc = {
        "Channel": "VOICE\x00",
        "LanguageCode": "en-US",
        "CustomerMetadata": {"ContactId": "c-\x001"},
        "Transcript": [{"Content": "hello\x00", "a\x00b": 1}],
    }
    rows, rejections = _items(
        contact_lens.parse_contact_lens(io.BytesIO(orjson.dumps(doc)), CONTACT_LENS_PATH)
    )
    assert rejections == []
    [(contact_id, channel, language, _, _, payload, line)] = rows
    assert (contact_id, channel, language, line) == ("c-\ufffd1", "VOICE\ufffd", "en-US", 1)
    assert b"\\u0000" not in payload  # type: ignore[operator]
    assert orjson.loads(payload)["Transcript"] == [{"Content": "hello\ufffd", "a\ufffdb": 1}]  # type: ignore[arg-type]


def test_ctr_text_columns_hold_no_nul_and_big_integers_do_not_crash() -> None:
    """Found by the fuzzer: a NUL in ContactId/Channel reached the text columns (COPY
    fails), and a ContactId object holding an integer over 64 bits raised TypeError
    (Firehose files: the stdlib decoder keeps big integers)."""
    base = {
        "InitiationTimestamp": "2026-03-01T10:00:00Z",
        "DisconnectTimestamp": "2026-03-01T10:05:00Z",
        "LastUpdateTimestamp": "2026-03-01T10:05:00Z",
    }
    data = b"".join(
        json.dumps(record).encode() + b"\n"
        for record in (
            {**base, "ContactId": "a\x00b", "Channel": "\x00", "InitiationMethod": "IN\x00"},
            {**base, "ContactId": {"n": 2**70}, "Channel": [2**64, "x\x00"]},
        )
    )
    rows, rejections = _items(amazon_connect.parse_contact_records(io.BytesIO(data)))
    assert rejections == []
    assert [row[:3] for row in rows] == [
        ("a\ufffdb", "\ufffd", "IN\ufffd"),
        # JSON lines read integers over 64 bits as floats (orjson), as the payload does
        ('{"n":1.1805916207174113e+21}', '[1.8446744073709552e+19,"x\ufffd"]', None),
    ]
    # concatenated (Firehose) after a broken record: the stdlib decoder keeps big integers
    firehose = b'{"ContactId": oops}' + data.replace(b"}\n", b"}")
    rows, rejections = _items(amazon_connect.parse_contact_records(io.BytesIO(firehose)))
    assert [r.raw_text for r in rejections] == ['{"ContactId": oops}']
    assert [row[:3] for row in rows] == [
        ("a\ufffdb", "\ufffd", "IN\ufffd"),
        ('{"n": 1180591620717411303424}', '[18446744073709551616, "x\ufffd"]', None),
    ]


def test_ctr_junk_control_characters_between_records_are_rejected_not_skipped() -> None:
    """Found by the fuzzer: ``\\x1c``-``\\x1f`` (and other non-JSON whitespace) were skipped
    silently as if they were blanks: a file of junk gave no row and no rejection."""
    rows, rejections = _items(amazon_connect.parse_contact_records(io.BytesIO(b"\x1c")))
    assert rows == []
    assert [(r.line, r.raw_text) for r in rejections] == [(0, "\x1c")]


def test_zendesk_text_columns_hold_no_nul() -> None:
    """Found by the fuzzer: a NUL in a ticket's status or via.channel reached a text column
    (COPY fails on the whole page)."""
    page = zendesk.parse_page(
        "tickets",
        {
            "tickets": [
                {
                    "id": 1,
                    "created_at": "2026-03-01T10:00:00Z",
                    "updated_at": "2026-03-01T10:00:00Z",
                    "status": "op\x00en",
                    "via": {"channel": {"k": "\x00"}},
                }
            ]
        },
    )
    assert page.rejections == []
    [row] = page.rows["tickets"]
    assert row[3:5] == ("op\ufffden", '{"k":"\ufffd"}')


def test_qualtrics_a_declared_zone_too_long_for_a_file_name_is_rejected() -> None:
    """Found by the fuzzer: a huge timeZone in the EndDate ImportId cell raised OSError
    (file name too long) from ZoneInfo instead of rejecting the file's rows."""
    zone = "Europe/" + "x" * 5000
    data = (
        b"EndDate,ResponseId\nEnd Date,Response ID\n"
        b'"{""ImportId"":""endDate"",""timeZone"":""' + zone.encode() + b'""}",'
        b'"{""ImportId"":""_recordId""}"\n'
        b"2026-03-01 10:00:00,R_1\n"
    )
    rows, rejections = _items(qualtrics.parse_responses(io.BytesIO(data), QualtricsSettings()))
    assert rows == []
    assert len(rejections) == 4
    assert rejections[0].reason.startswith("EndDate: the file declares the time zone 'Europe/xxx")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # current layout: the ImportId row (3) is wider than the tags row (1)
        (
            b"EndDate,ResponseId\nEnd Date,Response ID\n"
            b'"{""ImportId"":""endDate""}","{""ImportId"":""_recordId""}",'
            b'"{""ImportId"":""QID1""}"\n'
            b"2026-03-01 10:00:00,R_1,5\n",
            [("R_1", "2026-03-01T10:00:00+00:00")],
        ),
        # current layout: the tags row is wider than the ImportId row
        (
            b"EndDate,ResponseId,Q1,Q2\nEnd Date,Response ID,CSAT,NPS\n"
            b'"{""ImportId"":""endDate""}","{""ImportId"":""_recordId""}"\n'
            b"2026-03-01 10:00:00,R_2,5,9\n",
            [("R_2", "2026-03-01T10:00:00+00:00")],
        ),
        # legacy layout: the labels row is wider than the codes row
        (
            b"V1,V2\nResponseID,EndDate,Q1\nR_3,2026-03-01 10:00:00,4\n",
            [("R_3", "2026-03-01T10:00:00+00:00")],
        ),
    ],
)
def test_qualtrics_header_rows_of_different_widths_do_not_crash(
    data: bytes, expected: list[tuple[str, str]]
) -> None:
    """Found by the fuzzer: header rows of different lengths raised ValueError (zip strict)
    or IndexError instead of loading or rejecting the rows."""
    rows, rejections = _items(qualtrics.parse_responses(io.BytesIO(data), QualtricsSettings()))
    assert rejections == []
    assert [(row[0], row[1]) for row in rows] == expected
