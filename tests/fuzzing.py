"""Fuzzing the parsers (issue 22): mutators, targets and the invariants every input must keep.

Shared by the bounded hypothesis run in ``make test`` (``tests/unit/test_fuzz_parsers.py``,
``tests/integration/test_fuzz_load.py``) and the long campaign of ``make fuzz``
(``benchmarks/bench_fuzz.py``). A mutation draws its choices from a :class:`Chooser`: a
``random.Random`` for the campaign, hypothesis's ``data.draw`` for the tests (so that a
failure shrinks to a small input).

Seeds are the real vendor files of ``tests/fixtures`` and files of a small synthetic world
(``cxscore.generate``), in every variant a vendor writes: Connect CTRs as JSON lines, as
Firehose concatenated JSON, gzip-compressed; Qualtrics current / legacy / Insights layouts;
orders CSV; Contact Lens documents; Zendesk tickets (with metric sets), users and ticket
events pages.

Invariants, for every input:

* the parser yields only rows and :class:`Rejection`\\ s, or raises :class:`CxError` (the
  file-level error the loader reports as a failed file); any other exception is a bug;
* a row has one value per column, each storable by ``COPY`` as it is: ``None``, a ``str``
  without NUL and valid UTF-8, an ``int`` in ``bigint``, or ``bytes`` that are a JSON
  document ``jsonb`` accepts (valid UTF-8, no ``\\u0000``, no lone surrogate);
* a rejection has a reason and storable raw text;
* nothing is silently dropped: a Zendesk page accounts for every item (``items = rows +
  rejections``), a Contact Lens file gives exactly one row or rejection, a CTR file with any
  content gives at least one row or rejection or a file-level error.

The database-side invariants (``rows_read = rows_loaded + rows_rejected`` per file, raw and
rejected rows counted, the dbt build of staging succeeding on what loaded) are checked by
``tests/integration/test_fuzz_load.py``.
"""

from __future__ import annotations

import atexit
import functools
import gzip
import io
import json
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import orjson

from cxscore.errors import CxError
from cxscore.settings import OrdersSettings, QualtricsSettings
from cxscore.sources import amazon_connect, contact_lens, orders, qualtrics, zendesk
from cxscore.sources import zendesk_ticket_events as ticket_events
from cxscore.sources.common import Rejection

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BIGINT = 2**63
BOM = b"\xef\xbb\xbf"


class Chooser(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...


class RandomChooser:
    """Choices from a seeded ``random.Random`` (the long campaign)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser:
    """Choices drawn by hypothesis (``st.data()``), so failures shrink."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self._data = data
        self._st = st

    def integer(self, lo: int, hi: int) -> int:
        return int(self._data.draw(self._st.integers(lo, hi)))


def pick(ch: Chooser, seq: list[Any] | tuple[Any, ...]) -> Any:
    return seq[ch.integer(0, len(seq) - 1)]


# --------------------------------------------------------------------------- random values

_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ufeff",
    "NaN",
    "Infinity",
    "-0",
    "1E+200000",
    "1e-20000",
    "99999999999999999999",
    "2026-13-45T99:99:99Z",
    "2026-03-01T10:00:00Z",
    "2026-03-01 10:00:00",
    "0000-00-00",
    "'; drop table raw.crm__orders; --",
    "\\N",
    "\\",
    "\t\n\r",
    '","',
    "null",
    "true",
    "[]",
    "{}",
    "é",
    "日本語",
    "🙂",
    "\u202e",
    "\ud83d",  # a lone surrogate (JSON "\ud83d" decodes to it)
)
_NUMBERS: tuple[Any, ...] = (
    0,
    -1,
    1,
    2**31,
    -(2**31) - 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**200,
    0.5,
    -0.0,
    1e308,
    1e-308,
    float("nan"),
    float("inf"),
    float("-inf"),
)


def random_json(ch: Chooser, depth: int = 2) -> Any:
    """Any JSON value, hostile ones first: NUL, surrogates, huge and non-finite numbers."""
    kind = ch.integer(0, 7 if depth > 0 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return bool(ch.integer(0, 1))
    if kind == 2:
        return pick(ch, _NUMBERS)
    if kind == 3:
        return ch.integer(-(2**70), 2**70)
    if kind == 4:
        return pick(ch, _STRINGS)
    if kind == 5:
        return "".join(chr(ch.integer(0, 0x10FFFF)) for _ in range(ch.integer(0, 6)))
    if kind == 6:
        return [random_json(ch, depth - 1) for _ in range(ch.integer(0, 3))]
    return {pick(ch, _STRINGS): random_json(ch, depth - 1) for _ in range(ch.integer(0, 3))}


def dump_json(value: Any) -> bytes:
    """JSON as a careless producer writes it: NaN/Infinity tokens and lone surrogates as
    ``\\ud83d`` escapes are written, not refused."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True, separators=(",", ":")).encode()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def mutate_json_value(ch: Chooser, doc: Any) -> Any:
    """``doc`` with one field (any depth) replaced by a random value, deleted, or added."""
    paths = list(_paths(doc))
    path = pick(ch, paths)
    new = random_json(ch)
    if not path:
        return new
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    action = ch.integer(0, 5)
    if action == 0 and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == 1 and isinstance(parent, dict):
        parent[pick(ch, _STRINGS)] = new
    else:
        parent[path[-1]] = new
    return doc


# --------------------------------------------------------------------------- byte mutations


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [data]


def _mutate_once(ch: Chooser, data: bytes, huge: int) -> bytes:
    n = len(data)
    at = ch.integer(0, n)
    kind = ch.integer(0, 10)
    if kind == 0:  # truncation
        return data[:at]
    if kind == 1 and n:  # byte flip
        i = min(at, n - 1)
        return data[:i] + bytes([data[i] ^ (1 << ch.integer(0, 7))]) + data[i + 1 :]
    if kind == 2:  # NUL byte(s)
        return data[:at] + b"\x00" * ch.integer(1, 3) + data[at:]
    if kind == 3:  # BOM, at the start or anywhere
        at = 0 if ch.integer(0, 1) else at
        return data[:at] + BOM + data[at:]
    if kind == 4:  # a duplicated line
        lines = _lines(data)
        i = ch.integer(0, len(lines) - 1)
        return b"".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if kind == 5:  # reordered lines
        lines = _lines(data)
        i, j = ch.integer(0, len(lines) - 1), ch.integer(0, len(lines) - 1)
        lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines)
    if kind == 6:  # a huge field: a long run of one character (no separator)
        filler = pick(ch, (b"A", b"9", b"\xc3\xa9", b" ", b'"', b"\\"))
        return data[:at] + filler * ch.integer(1, huge) + data[at:]
    if kind == 7:  # wrong encoding of the whole file
        text = data.decode("utf-8", "replace")
        codec = pick(ch, ("latin-1", "cp1252", "utf-16", "utf-16-le", "utf-32", "shift_jis"))
        return text.encode(codec, "replace")
    if kind == 8:  # random bytes inserted
        return data[:at] + bytes(ch.integer(0, 255) for _ in range(ch.integer(1, 16))) + data[at:]
    if kind == 9:  # a deleted span
        return data[:at] + data[at + ch.integer(1, 64) :]
    # line endings: CRLF <-> LF, or a lone CR
    return data.replace(b"\n", pick(ch, (b"\r\n", b"\r", b"\n\n")))


def mutate_bytes(ch: Chooser, data: bytes, *, huge: int = 20_000) -> bytes:
    for _ in range(ch.integer(1, 3)):
        data = _mutate_once(ch, data, huge)
    return data


def mutate_json_lines(ch: Chooser, data: bytes) -> bytes:
    """Random JSON values in the fields of one or more JSON-lines records."""
    lines = data.splitlines()
    for _ in range(ch.integer(1, 3)):
        i = ch.integer(0, len(lines) - 1)
        try:
            doc = orjson.loads(lines[i])
        except orjson.JSONDecodeError:
            continue
        lines[i] = dump_json(mutate_json_value(ch, doc))
    return b"\n".join(lines) + b"\n"


def mutate_csv_cells(ch: Chooser, data: bytes) -> bytes:
    """Random text in random cells of a CSV file (quoted as a CSV writer would, or not)."""
    import csv

    text = data.decode("utf-8", "surrogateescape")
    bom = text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    if not rows:
        return data
    for _ in range(ch.integer(1, 4)):
        r = ch.integer(0, len(rows) - 1)
        if not rows[r]:
            continue
        c = ch.integer(0, len(rows[r]) - 1)
        value = random_json(ch, 0)
        rows[r][c] = value if isinstance(value, str) else dump_json(value).decode()
    out = io.StringIO(newline="")
    csv.writer(out, quoting=pick(ch, (csv.QUOTE_MINIMAL, csv.QUOTE_ALL))).writerows(rows)
    text = ("\ufeff" if bom else "") + out.getvalue()
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate: written as its (invalid) UTF-8 bytes
        return text.encode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------- targets


@dataclass
class Outcome:
    rows: list[tuple[Any, ...]]
    rejections: list[Rejection]
    file_error: str | None = None  # the CxError of a file-level failure


class InvariantBroken(AssertionError):
    """The parser kept going but broke an invariant (the message says which)."""


@dataclass
class Target:
    name: str
    columns: tuple[int, ...]  # the row lengths allowed (tickets: tickets and metric sets)
    seeds: list[bytes]
    run: Callable[[bytes], Outcome]
    structured: Callable[[Chooser, bytes], bytes]  # format-aware mutation
    accounting: Callable[[bytes, Outcome], None]
    suffix: str = ""  # the landing file name suffix (loaded by test_fuzz_load)

    def mutate(self, ch: Chooser, seed: bytes | None = None) -> bytes:
        data = seed if seed is not None else pick(ch, self.seeds)
        way = ch.integer(0, 3)
        if way == 0:
            data = self.structured(ch, data)
        elif way == 1:
            data = mutate_bytes(ch, self.structured(ch, data))
        else:
            data = mutate_bytes(ch, data)
        return data


def _collect(items: Iterator[Any]) -> Outcome:
    outcome = Outcome([], [])
    try:
        for item in items:
            if isinstance(item, Rejection):
                outcome.rejections.append(item)
            elif isinstance(item, tuple):
                outcome.rows.append(item)
            else:
                raise InvariantBroken(f"the parser yielded {type(item).__name__}: {item!r:.200}")
    except CxError as exc:
        outcome.file_error = str(exc)
    return outcome


def _storable_text(value: str, what: str) -> None:
    if "\x00" in value:
        raise InvariantBroken(f"{what} holds a NUL character: {value!r:.200}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvariantBroken(f"{what} is not valid UTF-8 ({exc}): {value!r:.200}") from None


def _jsonb_value(value: Any, what: str) -> None:
    if isinstance(value, str):
        _storable_text(value, what)
    elif isinstance(value, dict):
        for key, child in value.items():
            _storable_text(key, f"{what} key")
            _jsonb_value(child, what)
    elif isinstance(value, list):
        for child in value:
            _jsonb_value(child, what)


def check(target: Target, data: bytes) -> Outcome:
    """Parse ``data``; raise :class:`InvariantBroken` (or the parser's own unexpected
    exception) when an invariant does not hold."""
    outcome = target.run(data)
    for row in outcome.rows:
        if len(row) not in target.columns:
            raise InvariantBroken(f"a row of {len(row)} values, not {target.columns}: {row!r:.300}")
        for index, value in enumerate(row):
            what = f"column {index} of a row"
            if value is None:
                continue
            if type(value) is int:
                if not -BIGINT <= value < BIGINT:
                    raise InvariantBroken(f"{what}: {value} is out of bigint")
            elif type(value) is str:
                _storable_text(value, what)
            elif type(value) is bytes:
                try:
                    text = value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InvariantBroken(f"{what}: JSON not valid UTF-8 ({exc})") from None
                try:
                    doc = json.loads(text, parse_constant=_no_constant)
                except ValueError as exc:
                    raise InvariantBroken(f"{what}: not valid JSON ({exc}): {text:.200}") from None
                _jsonb_value(doc, what)
            else:
                raise InvariantBroken(f"{what}: a {type(value).__name__} ({value!r:.100})")
    for rejection in outcome.rejections:
        if not isinstance(rejection.reason, str) or not rejection.reason:
            raise InvariantBroken(f"a rejection without a reason: {rejection!r:.300}")
        _storable_text(rejection.reason, "a rejection's reason")
        if rejection.raw_text is not None:
            _storable_text(rejection.raw_text, "a rejection's raw text")
        if rejection.line is not None and type(rejection.line) is not int:
            raise InvariantBroken(f"a rejection's line is {rejection.line!r}")
    if outcome.file_error is not None:
        _storable_text(outcome.file_error, "a file error")
    target.accounting(data, outcome)
    return outcome


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON that jsonb accepts")


def _something_unless_empty(data: bytes, outcome: Outcome) -> None:
    if outcome.file_error is not None or outcome.rows or outcome.rejections:
        return
    body = data
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError):
            raise InvariantBroken("an unreadable .gz gave neither rows nor a rejection") from None
    if body.removeprefix(BOM).strip():
        raise InvariantBroken(f"{len(body)} bytes of content gave no row and no rejection")


def _one_item(data: bytes, outcome: Outcome) -> None:
    if len(outcome.rows) + len(outcome.rejections) != 1 or outcome.file_error is not None:
        raise InvariantBroken(
            f"a Contact Lens file gave {len(outcome.rows)} rows, {len(outcome.rejections)} "
            f"rejections, error {outcome.file_error!r} (expected exactly one row or rejection)"
        )


def _no_check(data: bytes, outcome: Outcome) -> None:
    return None


# --------------------------------------------------------------------------- seeds


@functools.cache
def world_dir() -> Path:
    """A small synthetic world (generated once per process)."""
    from cxscore.generate import generate_world

    out = Path(tempfile.mkdtemp(prefix="cxfuzz-world-"))
    atexit.register(shutil.rmtree, out, True)
    generate_world(out, days=3, customers=80, seed=22, start=date(2026, 3, 1))
    return out


def _ctr_records() -> list[Any]:
    records: list[Any] = []
    for path in sorted((world_dir() / "landing").rglob("cx-ctr-*")):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        decoder = json.JSONDecoder()
        text, pos = data.decode(), 0
        while pos < len(text):
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            record, pos = decoder.raw_decode(text, pos)
            records.append(record)
    return records


@functools.cache
def ctr_seeds() -> list[bytes]:
    records = _ctr_records()[:6]
    lines = b"".join(orjson.dumps(r) + b"\n" for r in records)
    firehose = b"".join(orjson.dumps(r) for r in records)
    pretty = b"".join(json.dumps(r, indent=2).encode() + b"\n" for r in records[:2])
    return [
        lines,
        firehose,
        pretty,
        gzip.compress(lines, mtime=0),
        gzip.compress(firehose, mtime=0),
    ]


@functools.cache
def qualtrics_seeds() -> list[bytes]:
    seeds = [p.read_bytes() for p in sorted((FIXTURES / "qualtrics").glob("*.csv"))]
    for path in sorted((world_dir() / "landing" / "survey").rglob("*.csv"))[:2]:
        seeds.append(path.read_bytes())
    return seeds


@functools.cache
def orders_seeds() -> list[bytes]:
    seeds = []
    for path in sorted((world_dir() / "landing" / "crm").rglob("*.csv"))[:2]:
        lines = path.read_bytes().splitlines(keepends=True)
        seeds.append(b"".join(lines[:8]))
    return seeds


@functools.cache
def contact_lens_seeds() -> list[bytes]:
    seeds = [p.read_bytes() for p in sorted((FIXTURES / "contact_lens").glob("*.json"))]
    for path in sorted((world_dir() / "landing").rglob("*_analysis_*.json"))[:2]:
        seeds.append(path.read_bytes())
    return seeds


def _delivery(stream: str) -> list[Any]:
    path = world_dir() / "zendesk" / stream / "delivery-0001.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()[:4]]


@functools.cache
def zendesk_seeds(stream: str) -> list[bytes]:
    items = _delivery(stream)
    if stream == "tickets":
        body: dict[str, Any] = {
            "tickets": [i["ticket"] for i in items],
            "metric_sets": [i["metric_set"] for i in items if i.get("metric_set")],
        }
    elif stream == "users":
        body = {"users": items}
    else:
        body = {"ticket_events": items, "end_time": 1772419364}
    body.update({"after_cursor": "abc", "end_of_stream": True})
    return [orjson.dumps(body), orjson.dumps(body, option=orjson.OPT_INDENT_2)]


# --------------------------------------------------------------------------- runners


def _run_ctr(data: bytes) -> Outcome:
    return _collect(amazon_connect.parse_contact_records(io.BytesIO(data)))


def _run_qualtrics(data: bytes) -> Outcome:
    return _collect(qualtrics.parse_responses(io.BytesIO(data), QualtricsSettings()))


def _run_orders(data: bytes) -> Outcome:
    return _collect(orders.parse_orders(io.BytesIO(data), OrdersSettings()))


CONTACT_LENS_PATH = (
    "ivr/contact_lens/Analysis/Voice/2026/03/02/"
    "a52d317a-bef6-4142-aa94-fa3531de18a1_analysis_2026-03-02T11:18:52Z.json"
)


def _run_contact_lens(data: bytes) -> Outcome:
    return _collect(contact_lens.parse_contact_lens(io.BytesIO(data), CONTACT_LENS_PATH))


def _body(data: bytes) -> dict[str, Any] | None:
    """The page body the client would hand to the parser (it retries anything else)."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _run_zendesk(stream: str, data: bytes) -> Outcome:
    body = _body(data)
    if body is None:
        return Outcome([], [], "not a JSON object: the client retries, then fails the stream")
    try:
        page = zendesk.parse_page(stream, body)
    except CxError as exc:
        return Outcome([], [], str(exc))
    rows = [row for table_rows in page.rows.values() for row in table_rows]
    outcome = Outcome(rows, list(page.rejections))
    if page.items != len(rows) + len(page.rejections):
        raise InvariantBroken(
            f"a {stream} page of {page.items} items gave {len(rows)} rows and "
            f"{len(page.rejections)} rejections"
        )
    if page.max_updated_at is not None:
        _storable_text(page.max_updated_at, "max_updated_at")
    return outcome


def _run_events(data: bytes) -> Outcome:
    body = _body(data)
    if body is None:
        return Outcome([], [], "not a JSON object: the client retries, then fails the stream")
    try:
        page = ticket_events.parse_events_page(body)
    except CxError as exc:
        return Outcome([], [], str(exc))
    if page.items != len(page.rows) + len(page.rejections):
        raise InvariantBroken(
            f"a ticket_events page of {page.items} items gave {len(page.rows)} rows and "
            f"{len(page.rejections)} rejections"
        )
    return Outcome(list(page.rows), list(page.rejections))


def _structured_json_doc(ch: Chooser, data: bytes) -> bytes:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data
    for _ in range(ch.integer(1, 4)):
        doc = mutate_json_value(ch, doc)
    return dump_json(doc)


def _structured_ctr(ch: Chooser, data: bytes) -> bytes:
    compressed = data[:2] == b"\x1f\x8b"
    body = gzip.decompress(data) if compressed else data
    if b"\n" in body.rstrip(b"\n"):
        body = mutate_json_lines(ch, body)
    else:  # Firehose: records back to back
        records = [dump_json(mutate_json_value(ch, r)) for r in _records_of(body)]
        body = b"".join(records)
    return gzip.compress(body, mtime=0) if compressed else body


def _records_of(body: bytes) -> list[Any]:
    decoder = json.JSONDecoder()
    text, pos, records = body.decode(), 0, []
    while pos < len(text):
        record, pos = decoder.raw_decode(text, pos)
        records.append(record)
    return records


def targets() -> dict[str, Target]:
    """Every parser of ``cxscore.sources``, with its seeds."""
    return {
        "amazon_connect": Target(
            "amazon_connect",
            (len(amazon_connect.COLUMNS),),
            ctr_seeds(),
            _run_ctr,
            _structured_ctr,
            _something_unless_empty,
            ".json",
        ),
        "contact_lens": Target(
            "contact_lens",
            (len(contact_lens.COLUMNS),),
            contact_lens_seeds(),
            _run_contact_lens,
            _structured_json_doc,
            _one_item,
            ".json",
        ),
        "qualtrics": Target(
            "qualtrics",
            (len(qualtrics.COLUMNS),),
            qualtrics_seeds(),
            _run_qualtrics,
            mutate_csv_cells,
            _no_check,
            ".csv",
        ),
        "orders": Target(
            "orders",
            (len(orders.COLUMNS),),
            orders_seeds(),
            _run_orders,
            mutate_csv_cells,
            _no_check,
            ".csv",
        ),
        "zendesk_tickets": Target(
            "zendesk_tickets",
            (len(zendesk.TICKET_COLUMNS), len(zendesk.METRIC_SET_COLUMNS)),
            zendesk_seeds("tickets"),
            functools.partial(_run_zendesk, "tickets"),
            _structured_json_doc,
            _no_check,
        ),
        "zendesk_users": Target(
            "zendesk_users",
            (len(zendesk.USER_COLUMNS),),
            zendesk_seeds("users"),
            functools.partial(_run_zendesk, "users"),
            _structured_json_doc,
            _no_check,
        ),
        "zendesk_ticket_events": Target(
            "zendesk_ticket_events",
            (len(ticket_events.COMMENT_COLUMNS),),
            zendesk_seeds("ticket_events"),
            _run_events,
            _structured_json_doc,
            _no_check,
        ),
    }
