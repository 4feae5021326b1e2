"""Streaming rows into PostgreSQL with ``COPY ... FROM STDIN`` (text format).

Rows are encoded lazily and handed to psycopg2's ``copy_expert`` through a file-like
object, so a file of any size streams in bounded memory, in one ``COPY`` per table.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable, Iterator
from typing import Any, TypeVar, cast

T = TypeVar("T")

CHUNK_BYTES = 1 << 18  # rows are handed to libpq in chunks of about this size

_NULL = b"\\N"


def escape_text(value: str) -> bytes:
    """A str as a COPY text field (backslash, tab, newline, CR escaped; NUL -> U+FFFD)."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value or "\x00" in value:
        value = (
            value.replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\x00", "\ufffd")
        )
    return value.encode("utf-8", "replace")


def escape_bytes(value: bytes) -> bytes:
    """UTF-8 bytes (a JSON document) as a COPY text field."""
    if b"\\" in value:
        value = value.replace(b"\\", b"\\\\")
    if b"\t" in value or b"\n" in value or b"\r" in value:
        value = value.replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
    return value


def encode_field(value: object) -> bytes:
    if value is None:
        return _NULL
    kind = type(value)
    if kind is bytes:
        return escape_bytes(value)  # type: ignore[arg-type]
    if kind is str:
        return escape_text(value)  # type: ignore[arg-type]
    if kind is int:
        return str(value).encode()
    return escape_text(str(value))


def encode_rows(rows: Iterable[tuple[object, ...]], suffix: bytes = b"") -> Iterator[bytes]:
    """COPY text lines, grouped into chunks; ``suffix`` (pre-encoded trailing fields, e.g.
    ``\\t<batch>\\t<file>``) is appended to every row."""
    end = suffix + b"\n"
    enc = encode_field
    t_bytes, t_str, t_none = bytes, str, type(None)
    esc_b, esc_t = escape_bytes, escape_text
    null = _NULL
    buf: list[bytes] = []
    size = 0
    for row in rows:
        parts = []
        for value in row:
            kind = type(value)
            if kind is t_none:
                parts.append(null)
            elif kind is t_str:
                parts.append(esc_t(value))  # type: ignore[arg-type]
            elif kind is t_bytes:
                parts.append(esc_b(value))  # type: ignore[arg-type]
            else:
                parts.append(enc(value))
        line = b"\t".join(parts) + end
        buf.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield b"".join(buf)
            buf = []
            size = 0
    if buf:
        yield b"".join(buf)


class ChunkReader:
    """A read()-able view of an iterator of byte chunks, for ``cursor.copy_expert``."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        for chunk in self._chunks:
            if chunk:
                self.bytes += len(chunk)
                return chunk
        return b""

    def readline(self, size: int = -1) -> bytes:  # pragma: no cover - copy_expert uses read
        return self.read(size)


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_DONE = object()


def prefetched(
    items: Iterable[T], depth: int = 8, *, join_timeout: float | None = None
) -> Generator[T, None, None]:
    """The items, produced by a background thread at most ``depth`` items ahead of the
    consumer (counting the one being produced), so that producing the next ones overlaps
    with using the previous ones: parsing rows while libpq sends the chunks before them
    (it releases the GIL while it waits for the server), fetching the next page of an API
    while a page is stored. Errors in the producer are re-raised here when their turn
    comes; closing this generator stops the producer at its next item (``join_timeout``:
    how long to wait for it then; None: until it stops)."""
    pipe: queue.SimpleQueue[object] = queue.SimpleQueue()
    slots = threading.Semaphore(depth)
    stop = threading.Event()

    def produce() -> None:
        source = iter(items)
        while True:
            while not slots.acquire(timeout=0.05):
                if stop.is_set():
                    return
            if stop.is_set():
                return
            try:
                item = next(source)
            except StopIteration:
                pipe.put(_DONE)
                return
            except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread
                pipe.put(_Failure(exc))
                return
            pipe.put(item)

    worker = threading.Thread(target=produce, name="cxscore-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            got = pipe.get()
            if got is _DONE:
                return
            if isinstance(got, _Failure):
                raise got.exc
            slots.release()  # the producer may make one more
            yield cast(T, got)
    finally:
        stop.set()
        worker.join(join_timeout)


def copy_rows(
    cursor: Any,
    table: str,
    columns: Iterable[str],
    chunks: Iterable[bytes],
    *,
    background: bool = False,
) -> int:
    """COPY the encoded chunks into ``table``; returns the bytes sent. ``background``:
    produce the chunks in a thread (for large inputs; see :func:`prefetched`)."""
    source = iter(chunks) if not background else prefetched(chunks)
    reader = ChunkReader(source)
    sql = f"copy {table} ({', '.join(columns)}) from stdin"
    try:
        cursor.copy_expert(sql, reader, size=CHUNK_BYTES)
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
    return reader.bytes


REJECTED_COLUMNS = (
    "source",
    "stream",
    "reason",
    "raw_text",
    "_line",
    "_source_file",
    "_source_cursor",
    "_batch_id",
)


def copy_rejections(
    cursor: Any,
    rejections: Iterable[Any],
    *,
    source: str,
    stream: str,
    batch_id: int,
    source_file: str | None = None,
    source_cursor: str | None = None,
) -> None:
    """COPY :class:`~cxscore.sources.common.Rejection` s into raw.rejected_rows."""
    rows = (
        (source, stream, r.reason, r.raw_text, r.line, source_file, source_cursor, batch_id)
        for r in rejections
    )
    copy_rows(cursor, "raw.rejected_rows", REJECTED_COLUMNS, encode_rows(rows))
