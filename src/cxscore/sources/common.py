"""What every connector shares: rejections, timestamps, text hygiene.

A parser yields, in file order, either a row tuple (the typed columns + payload + line of
its raw table, see each connector's ``COLUMNS``) or a :class:`Rejection`. The loader adds
``_batch_id`` and ``_source_file`` / ``_source_cursor`` and streams the rows with ``COPY``.

Values in a row tuple are ``None`` (SQL NULL), ``str``, ``int`` or ``bytes`` (a JSON
document, UTF-8); the loader escapes them for ``COPY``'s text format.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import IO, Any, NamedTuple
from zoneinfo import ZoneInfo

Row = tuple[object, ...]

# The reason of the rejection that ends a file that cannot be read to its end (a corrupt or
# truncated .gz): such a file is loaded up to there but not recorded as complete.
UNREADABLE = "file unreadable"

NUL = "\x00"
REPLACEMENT = "\ufffd"


class BadRecord(Exception):
    """A record that parses (JSON, CSV) but cannot be loaded; the message is the reason
    the parser records on its :class:`Rejection`."""


class Rejection(NamedTuple):
    """A record that could not be read: where it was, why, and its raw text."""

    line: int | None
    reason: str
    raw_text: str | None


def clean_text(text: str) -> str:
    """Text PostgreSQL can store: NUL characters (not allowed in text/jsonb) become U+FFFD."""
    return text.replace(NUL, REPLACEMENT) if NUL in text else text


def without_nul(value: Any) -> Any:
    """A parsed JSON value with every string (keys too) cleaned by :func:`clean_text`
    (PostgreSQL text and jsonb refuse NUL)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def raw_text_of(data: bytes | str) -> str:
    """The raw text of a rejected record, storable as it is: invalid UTF-8 bytes and NULs
    become U+FFFD (the reason says which bytes were wrong)."""
    if isinstance(data, bytes):
        text = data.decode("utf-8", "replace")
    else:
        text = data.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return clean_text(text)


def surrogate_error(text: str) -> str | None:
    """For text decoded with ``surrogateescape``: a reason if it held invalid UTF-8 bytes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end].encode("utf-8", "surrogateescape").hex(" ")
        return f"not valid UTF-8: byte(s) {bad} at character {exc.start} of the record"
    return None


def zone(name: str) -> tzinfo:
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def local_to_utc(naive: datetime, tz: tzinfo) -> datetime:
    """A naive wall-clock time in ``tz`` as an aware UTC datetime, the way PostgreSQL's
    ``timestamp AT TIME ZONE tz`` reads it: a time repeated when summer time ends is read
    with the offset in force after the transition (standard time); a time skipped when it
    starts is read with the offset in force before it, i.e. shifted forward."""
    if tz is UTC:
        return naive.replace(tzinfo=UTC)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    # Either ambiguous (both readings exist) or in a gap (neither does).
    round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip == naive:  # ambiguous: fold=1 is the offset after the transition
        return second.astimezone(UTC)
    return first.astimezone(UTC)  # gap: fold=0 is the offset before the transition


def parse_timestamp(value: object, tz: tzinfo = UTC) -> datetime | None:
    """An ISO-8601 timestamp (offset optional; naive -> ``tz``) as aware UTC, None for
    null/empty; ValueError when it cannot be read."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an ISO-8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"unparseable timestamp {value!r}") from None
    if parsed.tzinfo is None:
        return local_to_utc(parsed, tz)
    return parsed.astimezone(UTC)


def timestamp_text(value: object, tz: tzinfo = UTC) -> str | None:
    """Like :func:`parse_timestamp` but as the UTC ISO text that goes into ``COPY``."""
    parsed = parse_timestamp(value, tz)
    return None if parsed is None else parsed.isoformat()


_FIELD_LIMIT = 1 << 27


class CsvRecord(NamedTuple):
    """One CSV record: its first physical line (1-based), its fields and its raw text."""

    line: int
    fields: list[str]
    raw: str
    error: str | None


def read_csv_records(data: bytes | IO[bytes]) -> Iterator[CsvRecord]:
    """The records of a CSV file, with line numbers and raw text, never raising on content.

    ``data`` is the file's bytes or a binary stream, which is read incrementally (memory
    stays flat however large the file). The text is decoded as UTF-8 with
    ``surrogateescape`` (``error`` names the bad bytes, if any); a UTF-8 BOM is dropped;
    NUL characters become U+FFFD; records may span lines (quoted newlines); blank lines are
    not records.
    """
    stream: IO[bytes] = io.BytesIO(data) if isinstance(data, bytes) else data
    text = io.TextIOWrapper(
        stream,
        encoding="utf-8",
        errors="surrogateescape",
        newline="",
    )
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)  # long free-text comments are fine
    lines = _CapturingLines(_clean_lines(text))
    reader = csv.reader(lines)
    try:
        while True:
            start = lines.count + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raw = raw_text_of(lines.take().rstrip("\r\n"))
                yield CsvRecord(start, [], raw, f"unreadable CSV: {exc}")
                continue
            raw = lines.take().rstrip("\r\n")
            if not fields:
                continue
            error = surrogate_error(raw)
            yield CsvRecord(start, fields, raw_text_of(raw) if error else raw, error)
    finally:
        text.detach()  # leave the caller's stream open


def _clean_lines(text: Iterable[str]) -> Iterator[str]:
    first = True
    for line in text:
        if first:
            first = False
            if line.startswith("\ufeff"):
                line = line[1:]
        yield clean_text(line)


class _CapturingLines:
    """A line iterator that remembers the lines consumed since the last ``take()``."""

    def __init__(self, source: Iterator[str]) -> None:
        self._source = source
        self._taken: list[str] = []
        self.count = 0

    def __iter__(self) -> _CapturingLines:
        return self

    def __next__(self) -> str:
        line = next(self._source)
        self._taken.append(line)
        self.count += 1
        return line

    def take(self) -> str:
        text = "".join(self._taken)
        self._taken = []
        return text


def fit_columns(fields: list[str], header: list[str]) -> list[str] | None:
    """The fields padded/trimmed to the header when only a trailing empty column differs
    (trailing commas); None when the count is really wrong."""
    n = len(header)
    if len(fields) == n:
        return fields
    if len(fields) == n + 1 and fields[-1] == "":
        return fields[:-1]
    if len(fields) == n - 1 and header[-1] == "":
        return [*fields, ""]
    return None


# PostgreSQL's numeric: at most 131072 digits before the decimal point, 16383 after.
_NUMERIC_MAX_ADJUSTED = 131071
_NUMERIC_MAX_SCALE = 16383
_NUMBER_TEXT = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_INT4 = 1 << 31


def decimal_error(text: str) -> str | None:
    """None when ``text`` is a finite decimal PostgreSQL's ``numeric`` accepts, else why
    not (``NaN``, ``1E+200000``, ``5 EUR``, ``1_000`` are refused)."""
    if not _NUMBER_TEXT.fullmatch(text):
        return f"{text!r} is not a decimal"
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return f"{text!r} is not a decimal"
    exponent = number.as_tuple().exponent
    too_big = bool(number) and number.adjusted() > _NUMERIC_MAX_ADJUSTED
    too_fine = isinstance(exponent, int) and -exponent > _NUMERIC_MAX_SCALE
    if too_big or too_fine:
        return f"{text!r} is out of PostgreSQL's numeric range"
    return None


def number_error(value: Any, *, integer: bool = False) -> str | None:
    """For a JSON value that staging casts to ``numeric`` (or ``integer``): None when the
    cast will succeed (null included), else why it would fail."""
    if value is None:
        return None
    kind = type(value)
    if kind is int:
        if integer and not -_INT4 <= value < _INT4:
            return f"{value!r} is out of the integer range"
        if not integer and len(str(abs(value))) > _NUMERIC_MAX_ADJUSTED:
            return "an integer out of PostgreSQL's numeric range"
        return None
    if kind is float:
        if integer:
            return f"{value!r} is not an integer"
        if value != value or value in (float("inf"), float("-inf")):
            return f"{value!r} is not a finite number"
        return None
    if kind is str:
        if integer:
            if not _INTEGER_TEXT.fullmatch(value):
                return f"{value!r} is not an integer"
            if not -_INT4 <= int(value) < _INT4:
                return f"{value!r} is out of the integer range"
            return None
        return decimal_error(value)
    return f"{value!r} is not a number"
