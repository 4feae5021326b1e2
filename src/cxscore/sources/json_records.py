"""Files of JSON objects, whatever their framing: one object per line (JSON Lines),
objects concatenated with no separator (Kinesis Firehose) or pretty-printed over several
lines; gzip is detected by its magic bytes, a UTF-8 BOM is skipped. The framing is detected
from the first non-blank line: when it is one complete JSON value the file is read line by
line (a row's last column = 1-based line number); otherwise it is read as a stream in
windows of ``WINDOW_BYTES`` (the last column = byte offset of the object in the decompressed
file). Memory stays flat however large the file.

What a record means is the caller's: ``JsonRecords(build, record_key=..., array_message=...)``
turns each decoded object into a row with ``build(obj, payload, line)`` (which raises
``BadRecord`` to reject it). Every byte read is a row or a ``Rejection``: a line or segment
that is not JSON, not an object or not UTF-8, and an unreadable (truncated, corrupt) tail,
with its line or byte offset. A broken object among concatenated ones is rejected alone:
reading resynchronises at the next object (``_resync``). A file that is one JSON array
fails whole with ``FileShapeError(array_message)``. Used by ``sources.amazon_connect``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import orjson

from cxscore.errors import CxError
from cxscore.sources.common import (
    UNREADABLE,
    BadRecord,
    Rejection,
    Row,
    raw_text_of,
    surrogate_error,
    without_nul,
)

_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
_WS = re.compile(r"[ \t\n\r]*")  # JSON whitespace (not \x1c-\x1f, NBSP, ...: those are junk)
# Where the next object probably starts after a broken one: a "{" after a "}" or a newline.
_RESYNC = re.compile(r"(?<=\})\s*\{|\n\s*\{")
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"


class FileShapeError(CxError):
    """A file in a shape the vendor never writes (the whole file fails)."""


def dump_json(obj: Any) -> bytes:
    """JSON bytes for an object read by the stdlib decoder (which allows big integers)."""
    try:
        data = orjson.dumps(obj)
    except orjson.JSONEncodeError:
        data = json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")
    if b"\\u0000" in data:
        return dump_json(without_nul(obj))  # no NUL is left: no second round
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


WINDOW_BYTES = 8 << 20  # concatenated files are parsed in windows of about this size


def _safe_cut(data: bytes) -> int | None:
    """The end of the last object in ``data`` (searched in its last MiB) that is verified
    complete: the text between the two boundaries around it parses as one object. None when
    there is no such object (a very large record: the window grows)."""
    bounds = list(_BOUNDARY.finditer(data, max(0, len(data) - (1 << 20))))
    for i in range(len(bounds) - 1, 0, -1):
        segment = data[bounds[i - 1].end() - 1 : bounds[i].start() + 1]
        try:
            _loads(segment)
        except _JSONDecodeError:
            continue
        return bounds[i].start() + 1
    return None


_READ_BYTES = 1 << 20
# A line longer than this is handed on in pieces (no newline at their end): concatenated
# files need no newlines, and reading one whole would hold the whole file in memory.
PIECE_BYTES = 4 << 20


def _lines(stream: IO[bytes]) -> Iterator[bytes | Rejection]:
    """The file's lines (read in chunks, so that what was decompressed before an error is
    kept: a partial last line is yielded as it is and judged like any other). A
    read/decompression error ends the file with one Rejection (line = the line where
    reading stopped) whose reason names the (decompressed) byte offset: the unreadable
    tail is counted as one rejected record."""
    lineno = 0
    offset = 0
    pending = b""
    # read1: at most one buffer of decompressed data per call, so an error loses nothing
    # that was decompressed before it
    read = getattr(stream, "read1", stream.read)
    try:
        while chunk := read(_READ_BYTES):
            parts = (pending + chunk).split(b"\n")
            pending = parts.pop()
            for part in parts:
                lineno += 1
                offset += len(part) + 1
                yield part + b"\n"
            if len(pending) >= PIECE_BYTES:  # a Firehose file has no newlines: hand on
                offset += len(pending)  # pieces (joined again by the line reader)
                yield pending
                pending = b""
    except (OSError, EOFError, zlib.error) as exc:
        failure: BaseException | None = exc
    else:
        failure = None
    if pending:
        lineno += 1
        offset += len(pending)
        yield pending
    if failure is not None:
        yield Rejection(
            lineno + 1,
            f"{UNREADABLE} from byte offset {offset} of its decompressed data, after line "
            f"{lineno} (corrupt or truncated?): {failure}",
            None,
        )


def _one_value_per_line(first: bytes) -> bool:
    if len(first) >= PIECE_BYTES and first[-1:] != b"\n":
        return False  # a piece of a very long first line: read as a stream
    try:
        _loads(first)
    except _JSONDecodeError:
        pass
    else:
        return True
    text = first.decode("utf-8", "surrogateescape")
    pos = _WS.match(text).end()  # type: ignore[union-attr]
    try:
        _, end = _DECODER.raw_decode(text, pos)
    except ValueError as exc:
        # an object continued on the next line (pretty-printed) -> read as a stream
        return not (isinstance(exc, json.JSONDecodeError) and exc.pos >= len(text.rstrip()))
    # several objects on one line (Firehose) -> stream; garbage after one -> bad line
    return not text[end:].lstrip().startswith("{")


_BOUNDARY = re.compile(rb"\}\s*\{")
_LEADING_WS = re.compile(rb"\s*")
_MAX_EXTENSIONS = 8


_MAX_RESYNC_TRIES = 1000


class JsonRecords:
    """Reads files of one kind of JSON record (see the module docstring)."""

    def __init__(
        self,
        build: Callable[[dict[str, Any], bytes, int], Row],
        *,
        record_key: str,
        array_message: str,
    ) -> None:
        self._build = build
        self.record_key = record_key  # a key every record has: a resync hint
        self.array_message = array_message

    def parse(self, stream: IO[bytes]) -> Iterator[Row | Rejection]:
        """Rows (see ``COLUMNS``) and rejections from one CTR file, in file order."""
        head = stream.read(2)
        stream.seek(0)
        if head == _GZIP_MAGIC:
            import gzip

            stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
        lines = _lines(stream)
        skipped = 0  # bytes of blank lines before the first record
        lineno = 0
        for item in lines:
            if isinstance(item, Rejection):
                yield item
                return
            lineno += 1
            if lineno == 1 and item.startswith(_BOM):
                item = item[len(_BOM) :]
                skipped += len(_BOM)
            if item.strip():
                first = item
                break
            skipped += len(item)
        else:
            return
        if first.lstrip()[:1] == b"[":
            raise FileShapeError(self.array_message)
        if _one_value_per_line(first):
            yield from self._parse_lines(first, lineno, lines)
        else:
            yield from self._parse_concatenated_stream(first, skipped, lines)

    def _parse_concatenated_stream(
        self, first: bytes, base: int, lines: Iterator[bytes | Rejection]
    ) -> Iterator[Row | Rejection]:
        """Concatenated or pretty-printed objects, read in windows of ``WINDOW_BYTES``: each
        window is cut after its last object that is verified complete, so memory stays flat
        however large the file (a window grows only while no such cut exists)."""
        parts = [first]
        size = len(first)
        failure: Rejection | None = None
        for item in lines:
            if isinstance(item, Rejection):
                failure = item
                break
            parts.append(item)
            size += len(item)
            if size >= WINDOW_BYTES:
                data = b"".join(parts)
                cut = _safe_cut(data)
                if cut is None:
                    parts = [data]
                    continue
                yield from self._parse_concatenated_fast(data[:cut], base)
                base += cut
                parts = [data[cut:]]
                size = len(parts[0])
        data = b"".join(parts)
        yield from self._parse_concatenated_fast(data, base)
        if failure is not None:  # _line of a concatenated file is a byte offset
            yield failure._replace(line=base + len(data))

    def _parse_lines(
        self, first: bytes, first_lineno: int, rest: Iterable[bytes | Rejection]
    ) -> Iterator[Row | Rejection]:
        lineno = first_lineno - 1
        loads = _loads
        decode_error = _JSONDecodeError
        pending: Iterable[bytes | Rejection] = (first,)
        carry = b""
        for source in (pending, rest):
            for line in source:
                if type(line) is not bytes:
                    if carry:
                        yield from self._parse_lines(carry, lineno + 1, ())
                    yield line  # type: ignore[misc]  # a read error (Rejection)
                    return
                if carry:
                    line = carry + line
                    carry = b""
                if len(line) >= PIECE_BYTES and line[-1:] != b"\n":
                    carry = line  # a piece of a very long line
                    continue
                lineno += 1
                try:
                    rec = loads(line)
                except decode_error as exc:
                    if not line.strip():
                        continue
                    yield from self._split_line(line, lineno, str(exc))
                    continue
                if line[-1:] == b"\n":
                    line = line[:-2] if line[-2:] == b"\r\n" else line[:-1]
                yield self._record(rec, line, lineno)
        if carry:  # the file ends with a very long line without a newline
            yield from self._parse_lines(carry + b"\n", lineno + 1, ())

    def _split_line(self, line: bytes, lineno: int, error: str) -> Iterator[Row | Rejection]:
        """A line that is not one JSON value: several concatenated objects (each keeps the
        line number; a broken one among them is rejected alone), or one broken value."""
        body = line.rstrip(b"\r\n")
        items = list(self._parse_concatenated_fast(body, 0))
        if len(items) <= 1 and all(isinstance(item, Rejection) for item in items):
            text = body.decode("utf-8", "surrogateescape")
            reason = surrogate_error(text) or f"invalid JSON: {error}"
            yield Rejection(lineno, reason, raw_text_of(body))
            return
        for item in items:
            if isinstance(item, Rejection):
                yield item._replace(line=lineno)
            else:
                yield (*item[:-1], lineno)

    def _parse_concatenated_fast(self, data: bytes, base: int) -> Iterator[Row | Rejection]:
        """Concatenated objects, split at ``}{`` (optionally with whitespace between) and parsed
        with orjson. A candidate that does not parse is extended to the next boundary (a
        ``}{`` inside a string); when that does not help, the rest of the file goes to the
        precise streaming decoder, which reports and resynchronises. Splitting where both sides
        parse is exactly what a streaming decoder does (a complete object ends at its closing
        brace), so both paths give the same records."""
        loads = _loads
        decode_error = _JSONDecodeError
        start = _LEADING_WS.match(data).end()  # type: ignore[union-attr]
        if start >= len(data):
            return
        extensions = 0
        for boundary in _BOUNDARY.finditer(data, start):
            end = boundary.start() + 1
            segment = data[start:end]
            try:
                rec = loads(segment)
            except decode_error:
                extensions += 1
                if extensions > _MAX_EXTENSIONS:
                    break
                continue
            extensions = 0
            yield self._record(rec, segment, base + start)
            start = boundary.end() - 1
        else:
            segment = data[start:].rstrip()
            try:
                rec = loads(segment)
            except decode_error:
                pass
            else:
                yield self._record(rec, segment, base + start)
                return
        yield from self._parse_concatenated(data[start:], base + start)

    def _record(self, rec: Any, segment: bytes, at: int) -> Row | Rejection:
        """The row of one decoded value (``segment``: its bytes, the payload), or why not."""
        if type(rec) is not dict:
            return Rejection(at, "not a JSON object", raw_text_of(segment))
        if b"\\u0000" in segment:
            segment = orjson.dumps(without_nul(rec))
        try:
            return self._build(rec, segment, at)
        except BadRecord as bad:
            return Rejection(at, str(bad), raw_text_of(segment))

    def _resync(self, text: str, start: int) -> int:
        """Where the next record starts after a broken one: the first ``{`` from which a
        complete JSON object decodes that is a record (it has ``record_key``) or follows a
        ``}`` or a newline (objects nested in the broken record follow ``:``, ``,`` or ``[``).
        So the rejection holds exactly the broken record's bytes and never swallows the records
        after it. After many failed tries: the next ``{`` that follows a ``}`` or a newline;
        else the end."""
        pos = start
        for _ in range(_MAX_RESYNC_TRIES):
            pos = text.find("{", pos)
            if pos < 0:
                return len(text)
            before = text[max(0, pos - 64) : pos].rstrip(" \t\r")
            boundary = not before or before[-1] in "}\n"
            try:
                obj, _end = _DECODER.raw_decode(text, pos)
            except ValueError:
                pos += 1
                continue
            if type(obj) is dict and (boundary or self.record_key in obj):
                return pos
            pos += 1
        found = _RESYNC.search(text, pos)
        return found.end() - 1 if found else len(text)

    def _parse_concatenated(self, data: bytes, base: int) -> Iterator[Row | Rejection]:
        text = data.decode("utf-8", "surrogateescape")
        ascii_only = text.isascii()
        n = len(text)
        pos = 0
        # byte offset of `pos`, maintained incrementally for non-ASCII text
        mark_pos, mark_bytes = 0, 0

        def offset(at: int) -> int:
            nonlocal mark_pos, mark_bytes
            if ascii_only:
                return base + at
            mark_bytes += len(text[mark_pos:at].encode("utf-8", "surrogateescape"))
            mark_pos = at
            return base + mark_bytes

        while True:
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if pos >= n:
                return
            at = offset(pos)
            try:
                obj, end = _DECODER.raw_decode(text, pos)
            except ValueError as exc:
                nxt = self._resync(text, pos + 1)
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                segment = text[pos:nxt].rstrip(" \t\n\r")
                reason = surrogate_error(segment) or f"invalid JSON at byte offset {at}: {msg}"
                yield Rejection(at, reason, raw_text_of(segment))
                pos = nxt
                continue
            segment = text[pos:end]
            pos = end
            if type(obj) is not dict:
                yield Rejection(at, "not a JSON object", raw_text_of(segment))
                continue
            try:
                payload = dump_json(obj)
            except (UnicodeEncodeError, ValueError, TypeError):
                reason = surrogate_error(segment) or "JSON that PostgreSQL cannot store"
                yield Rejection(at, reason, raw_text_of(segment))
                continue
            try:
                yield self._build(obj, payload, at)
            except BadRecord as bad:
                yield Rejection(at, str(bad), raw_text_of(segment))
