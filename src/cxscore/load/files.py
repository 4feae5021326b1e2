"""Loading file sources (Connect CTR, Qualtrics, orders) into raw, each file exactly once
(finding the files and what is known of them: :mod:`cxscore.load.landing`).

* Files are found recursively under ``landing_dir`` + the source's ``path`` (a local path
  or any fsspec URL) and handled in path order.
* ``meta.loaded_files`` remembers each file's size, sha256 and listed version (ETag or
  mtime): a file whose listed size and version are unchanged is skipped without being
  read; any other file is hashed while it is parsed (one read), and a changed file
  replaces its earlier rows (its rows in the raw table and in raw.rejected_rows are
  deleted, then it is loaded again). A file that could not be read to its end (a truncated
  .gz) is recorded as incomplete and read again on every run.
* Each file loads in ONE transaction together with its manifest row: a process killed
  mid-file leaves nothing of it, and the next run loads it whole. (New small files share
  one transaction with other new small files: :mod:`cxscore.load.file_groups`.)
* A file whose rejected share exceeds ``load.max_reject_pct`` is not loaded (its
  transaction rolls back) but its rejected rows are recorded under the (failed) batch, so
  the problem is visible; the run carries on with the other files and fails at the end.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.extensions

from cxscore.errors import CxError
from cxscore.load.copy import REJECTED_COLUMNS, copy_rows, encode_field, encode_rows, escape_text
from cxscore.load.landing import FileSource, LandingFile, Loaded, known_files, unchanged
from cxscore.quality.day_counts import forget_file_counts
from cxscore.redaction import redact_text
from cxscore.sources.common import UNREADABLE, Rejection, Row

log = logging.getLogger(__name__)

# files larger than this are parsed in a background thread while the COPY sends
BACKGROUND_BYTES = 4 << 20

ProgressHook = Callable[[str, int], None]  # (event, rows) for live progress


# one meta.loaded_files row per loaded file: "values %s" takes one tuple per file
LEDGER_UPSERT = (
    "insert into meta.loaded_files (source, path, size_bytes, sha256, rows_read, "
    "rows_loaded, rows_rejected, batch_id, listed_version, complete) values %s "
    "on conflict (source, path) do update set size_bytes = excluded.size_bytes, "
    "sha256 = excluded.sha256, rows_read = excluded.rows_read, "
    "rows_loaded = excluded.rows_loaded, rows_rejected = excluded.rows_rejected, "
    "batch_id = excluded.batch_id, loaded_at = now(), "
    "listed_version = excluded.listed_version, complete = excluded.complete"
)


class ReadCounter:
    """Bytes read from landing files by this process (the benchmarks read it)."""

    bytes = 0
    files = 0


@dataclass
class FileResult:
    path: str
    status: str  # loaded | replaced | skipped | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    error: str | None = None
    reasons: list[str] = field(default_factory=list)
    complete: bool = True  # False: the file could not be read to its end (kept, retried)


def open_landing(url: str) -> Any:
    import fsspec

    return fsspec.open(url, "rb").open()


DRAIN_BYTES = 1 << 18


class HashingReader(io.RawIOBase):
    """A landing file as read by a parser: every byte is hashed (sha256) and counted once,
    even when the parser seeks back to the start to sniff the format. ``drain()`` reads what
    the parser left, so that the digest covers the whole file."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self._pos = 0
        self._hashed = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = {io.SEEK_SET: offset, io.SEEK_CUR: self._pos + offset}.get(whence)
        if target is None or target > self._hashed:
            raise io.UnsupportedOperation("a landing file is read forward only")
        self._fh.seek(target)
        self._pos = target
        return target

    def readinto(self, buffer: Any) -> int:
        data = self._fh.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._took(data)
        return n

    def _took(self, data: bytes) -> None:
        end = self._pos + len(data)
        if end > self._hashed:
            self.digest.update(data[self._hashed - self._pos :])
            ReadCounter.bytes += end - self._hashed
            self._hashed = end
        self._pos = end

    @property
    def size(self) -> int:
        return self._hashed

    def drain(self) -> None:
        """Read and hash the rest, in 256 KiB reads. Usually the parser read it all: one
        empty read (a zeroed 1 MiB buffer a file, as before, cost about 0.5 ms of page
        faults on each of the many small Contact Lens files)."""
        if self._pos < self._hashed:
            self.seek(self._hashed)
        while data := self._fh.read(DRAIN_BYTES):
            self._took(data)


def parse_landing(source: Any, fh: Any, path: str, buffer_size: int) -> tuple[HashingReader, Any]:
    """Start parsing an open landing file: its reader (hash and size of every byte read) and
    the parser's row iterator over a buffered stream of it."""
    ReadCounter.files += 1
    reader = HashingReader(fh)
    stream = io.BufferedReader(reader, buffer_size)
    if source.parse_with_path is not None:
        return reader, source.parse_with_path(stream, path)
    return reader, source.parse(stream)


def row_suffix(batch_id: int, path: str) -> bytes:
    """The ``_batch_id`` and ``_source_file`` columns every ``COPY`` row of a file ends with."""
    return b"\t" + str(batch_id).encode() + b"\t" + escape_text(path)


class RejectionSpool:
    """Rejections of one file, encoded for COPY into a temporary file that spills to disk
    past a few MB (a file with millions of bad records does not fill memory); the first
    ones are kept for messages."""

    KEEP = 5

    def __init__(self, source: str, stream: str, batch_id: int, source_file: str) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115
        self._suffix = (
            b"\t" + b"\t".join(encode_field(v) for v in (source_file, None, batch_id)) + b"\n"
        )
        self._prefix = b"\t".join(encode_field(v) for v in (source, stream)) + b"\t"
        self.count = 0
        self.first: list[Rejection] = []

    def add(self, rejection: Rejection) -> None:
        self.count += 1
        if len(self.first) < self.KEEP:
            self.first.append(rejection)
        self._file.write(
            self._prefix
            + b"\t".join(
                encode_field(v) for v in (rejection.reason, rejection.raw_text, rejection.line)
            )
            + self._suffix
        )

    def copy(self, cursor: Any) -> None:
        if not self.count:
            return
        self._file.seek(0)
        cursor.copy_expert(
            f"copy raw.rejected_rows ({', '.join(REJECTED_COLUMNS)}) from stdin", self._file
        )

    def close(self) -> None:
        self._file.close()


class CountedRows:
    """Wraps a parser's output: counts rows, spools the rejections."""

    def __init__(
        self, items: Iterator[Row | Rejection], hook: ProgressHook | None, spool: RejectionSpool
    ) -> None:
        self._items = items
        self._hook = hook
        self.loaded = 0
        self.spool = spool
        self.incomplete = False  # the file could not be read to its end
        self.error: CxError | None = None  # the file is in a shape the vendor never writes

    @property
    def rejected(self) -> int:
        return self.spool.count

    def rows(self) -> Iterator[Row]:
        try:
            yield from self._each(self.spool.add, self._hook)
        except CxError as exc:  # raised after the COPY: psycopg2 would wrap it
            self.error = exc

    def _each(self, add: Callable[[Rejection], None], hook: ProgressHook | None) -> Iterator[Row]:
        loaded = 0
        tick = 50_000
        for item in self._items:
            if type(item) is tuple:
                loaded += 1
                if loaded == tick and hook is not None:
                    hook("rows", 50_000)
                    tick += 50_000
                yield item
            else:
                if item.reason.startswith(UNREADABLE):  # type: ignore[union-attr]
                    self.incomplete = True
                add(item)  # type: ignore[arg-type]
        self.loaded = loaded
        if hook is not None:
            hook("rows", loaded - (tick - 50_000))


class FileRejected(CxError):
    """A file's rejected share is over the limit."""


def load_file(
    conn: psycopg2.extensions.connection,
    source: FileSource,
    landing: LandingFile,
    *,
    batch_id: int,
    max_reject_pct: float,
    hook: ProgressHook | None = None,
    known: dict[str, Loaded] | None = None,
) -> FileResult:
    """Load one file in one transaction. Never raises for bad content: a failed file is
    reported in the result (status ``failed``).

    A file whose size and listed version (ETag or mtime) match ``meta.loaded_files`` is
    skipped without being read. Any other file is parsed while it is hashed; when its
    sha256 turns out to be the one already loaded (only its mtime moved), the work is rolled
    back and it counts as skipped. ``known``: ``meta.loaded_files`` of the source
    (:func:`known_files`), looked up here when not given."""
    started = time.monotonic()
    if known is None:
        known = {
            path: loaded
            for path, loaded in known_files(conn, source.name).items()
            if path == landing.path
        }
    previous = known.get(landing.path)
    if unchanged(landing, previous):
        return FileResult(landing.path, "skipped")
    spool = RejectionSpool(source.name, source.stream, batch_id, landing.path)
    counted: CountedRows | None = None
    try:
        with conn.cursor() as cur:
            if previous is not None:
                forget_file_counts(cur, source.table, landing.path)  # the checks count again
                cur.execute(f"delete from {source.table} where _source_file = %s", (landing.path,))
            cur.execute(
                "delete from raw.rejected_rows where source = %s and _source_file = %s",
                (source.name, landing.path),
            )
            suffix = row_suffix(batch_id, landing.path)
            with open_landing(landing.url) as fh:
                reader, parsed = parse_landing(source, fh, landing.path, 1 << 20)
                counted = CountedRows(parsed, hook, spool)
                copy_rows(
                    cur,
                    source.table,
                    (*source.columns, "_batch_id", "_source_file"),
                    encode_rows(counted.rows(), suffix),
                    background=landing.size > BACKGROUND_BYTES,
                )
                if counted.error is not None:
                    raise counted.error
                reader.drain()
            sha, size = reader.digest.hexdigest(), reader.size
            if (
                previous is not None
                and previous.complete
                and not counted.incomplete
                and (previous.sha256, previous.size) == (sha, size)
            ):
                conn.rollback()  # the same content: keep what is loaded, remember the version
                cur.execute(
                    "update meta.loaded_files set listed_version = %s "
                    "where source = %s and path = %s",
                    (landing.version, source.name, landing.path),
                )
                conn.commit()
                spool.close()
                return FileResult(landing.path, "skipped", seconds=time.monotonic() - started)
            rejected = counted.rejected
            read = counted.loaded + rejected
            if read and rejected * 100.0 > max_reject_pct * read:
                raise FileRejected(
                    too_many_rejected(landing.path, read, rejected, counted, max_reject_pct)
                )
            spool.copy(cur)
            cur.execute(
                LEDGER_UPSERT,
                (
                    (
                        source.name,
                        landing.path,
                        size,
                        sha,
                        read,
                        counted.loaded,
                        rejected,
                        batch_id,
                        landing.version,
                        not counted.incomplete,
                    ),
                ),
            )
        conn.commit()
    except FileRejected as exc:
        conn.rollback()
        assert counted is not None
        read = counted.loaded + counted.rejected
        return failed_with_rejections(conn, source, landing, spool, str(exc), started, read)
    except (CxError, psycopg2.Error, OSError) as exc:
        # CxError: a file in a shape the vendor never writes; psycopg2.Error includes errors
        # raised while the COPY reads the file (QueryCanceled "error in .read() call: ...")
        conn.rollback()
        spool.close()
        return failed_to_load(conn, source, landing, batch_id, exc, started)
    spool.close()
    read = counted.loaded + counted.rejected
    return FileResult(
        landing.path,
        "replaced" if previous is not None else "loaded",
        rows_read=read,
        rows_loaded=counted.loaded,
        rows_rejected=counted.rejected,
        seconds=time.monotonic() - started,
        reasons=[r.reason for r in spool.first],
        complete=not counted.incomplete,
    )


def failed_with_rejections(
    conn: psycopg2.extensions.connection,
    source: FileSource,
    landing: LandingFile,
    spool: RejectionSpool,
    message: str,
    started: float,
    rows_read: int,
) -> FileResult:
    """A file over the reject limit (its rows rolled back): its rejections are recorded
    under the failed batch, so that the problem is visible."""
    record_failed_rejections(conn, source, landing, spool)
    spool.close()
    return FileResult(
        landing.path,
        "failed",
        rows_read=rows_read,
        rows_loaded=0,
        rows_rejected=spool.count,
        seconds=time.monotonic() - started,
        error=redact_text(message),
        reasons=[r.reason for r in spool.first],
    )


def failed_to_load(
    conn: psycopg2.extensions.connection,
    source: FileSource,
    landing: LandingFile,
    batch_id: int,
    exc: Exception,
    started: float,
) -> FileResult:
    """A file that could not be loaded at all (nothing of it is in the warehouse). A file
    in a shape the vendor never writes (CxError) is recorded as one rejection of the file;
    a read or warehouse error is reported."""
    if isinstance(exc, CxError):
        shape = RejectionSpool(source.name, source.stream, batch_id, landing.path)
        shape.add(Rejection(None, str(exc), None))
        record_failed_rejections(conn, source, landing, shape)
        shape.close()
        return FileResult(
            landing.path,
            "failed",
            seconds=time.monotonic() - started,
            error=f"{source.name}: file {landing.path} was not loaded: {exc}",
            reasons=[str(exc)],
        )
    message = (
        f"{source.name}: file {landing.path} could not be loaded into {source.table}: "
        f"{str(exc).strip()}"
    )
    return FileResult(landing.path, "failed", seconds=time.monotonic() - started, error=message)


def too_many_rejected(
    path: str, read: int, rejected: int, counted: CountedRows, max_reject_pct: float
) -> str:
    first = "; ".join(
        f"line {r.line}: {r.reason}" if r.line is not None else r.reason
        for r in counted.spool.first[:3]
    )
    return (
        f"file {path}: {rejected} of {read} records rejected "
        f"({rejected * 100.0 / read:.1f}% > load.max_reject_pct={max_reject_pct:g}%); the file "
        f"was not loaded (its rejected rows are in raw.rejected_rows). First reasons: {first}. "
        "Fix or replace the file and run the extract again."
    )


def record_failed_rejections(
    conn: psycopg2.extensions.connection,
    source: FileSource,
    landing: LandingFile,
    spool: RejectionSpool,
) -> None:
    """Keep a failed file's rejected rows visible: they replace those of earlier failed
    attempts; the rejected rows of the version still loaded (if any) stay."""
    with conn.cursor() as cur:
        cur.execute(
            "delete from raw.rejected_rows r where r.source = %s and r._source_file = %s "
            "and r._batch_id is distinct from (select f.batch_id from meta.loaded_files f "
            "where f.source = %s and f.path = %s)",
            (source.name, landing.path, source.name, landing.path),
        )
        spool.copy(cur)
    conn.commit()
