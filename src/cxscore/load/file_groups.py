"""New small files loaded in groups: one transaction for many files.

A landing tree can hold hundreds of thousands of small files (Amazon Connect writes one
Contact Lens output file per analysed contact). Loaded one by one, each pays a fixed cost
of its own: a ``COPY``, the delete of earlier rejections, the ledger row and a commit
(about 1.3 ms of the 1.7 ms a typical Contact Lens file took). Here new files up to
:data:`SMALL_FILE_BYTES` are parsed (and hashed) into memory one by one, then up to
:data:`GROUP_FILES` files or :data:`GROUP_BYTES` of rows go to the warehouse together:
one ``COPY`` of their rows, one of their rejections, one ledger insert, one commit.

What a file load promises still holds for every file of a group (``cxscore.load.files``):
its rows and its ``meta.loaded_files`` row commit together (a process killed mid-group
leaves nothing of the group, and the next run loads it whole); every record read is loaded
or rejected; a file over the reject limit, in a shape the vendor never writes, or that
cannot be read, fails on its own and leaves the rest of the group alone. When the group's
transaction fails (the warehouse refused a row), it is rolled back and its files are loaded
again one by one, so that the error names its file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from cxscore.errors import CxError
from cxscore.load.copy import ChunkReader, encode_rows
from cxscore.load.files import (
    LEDGER_UPSERT,
    CountedRows,
    FileResult,
    ProgressHook,
    RejectionSpool,
    failed_to_load,
    failed_with_rejections,
    load_file,
    open_landing,
    parse_landing,
    row_suffix,
    too_many_rejected,
)
from cxscore.load.landing import FileSource, LandingFile, Loaded

# new files up to this size (as listed) load in groups
SMALL_FILE_BYTES = 1 << 20
# a group goes to the warehouse when it holds this many files or this many bytes of rows
GROUP_FILES = 500
GROUP_BYTES = 16 << 20


@dataclass
class _Parsed:
    """A file of the group, parsed, waiting for the group's transaction."""

    landing: LandingFile
    rows: bytes  # COPY text lines, with the batch and path fields
    spool: RejectionSpool
    loaded: int
    sha256: str
    size: int
    complete: bool
    seconds: float


class FileGroup:
    """Collects new small files of one source and loads them in one transaction each
    :data:`GROUP_FILES` files (:meth:`add`, then :meth:`flush` at the end)."""

    def __init__(
        self,
        conn: psycopg2.extensions.connection,
        source: FileSource,
        *,
        batch_id: int,
        max_reject_pct: float,
        hook: ProgressHook | None = None,
    ) -> None:
        self._conn = conn
        self._source = source
        self._batch_id = batch_id
        self._max_reject_pct = max_reject_pct
        self._hook = hook
        self._files: list[_Parsed] = []
        self._bytes = 0

    @staticmethod
    def takes(landing: LandingFile, known: dict[str, Loaded]) -> bool:
        """Whether a file loads in a group: new (not in ``meta.loaded_files``; a file that
        failed before is new) and small. A changed file replaces its rows one file at a time
        (``load_file``)."""
        return landing.path not in known and landing.size <= SMALL_FILE_BYTES

    def add(self, landing: LandingFile) -> list[FileResult]:
        """Parse one file into the group. Returns the results settled now: the file's own
        when it failed, the whole group's when this file filled it."""
        started = time.monotonic()
        source = self._source
        spool = RejectionSpool(source.name, source.stream, self._batch_id, landing.path)
        try:
            with open_landing(landing.url) as fh:
                reader, parsed = parse_landing(source, fh, landing.path, 1 << 16)
                counted = CountedRows(parsed, self._hook, spool)
                suffix = row_suffix(self._batch_id, landing.path)
                rows = b"".join(encode_rows(counted.rows(), suffix))
                if counted.error is not None:
                    raise counted.error
                reader.drain()
        except (CxError, OSError) as exc:  # a shape the vendor never writes; unreadable
            spool.close()
            return [failed_to_load(self._conn, source, landing, self._batch_id, exc, started)]
        read = counted.loaded + counted.rejected
        if read and counted.rejected * 100.0 > self._max_reject_pct * read:
            message = too_many_rejected(
                landing.path, read, counted.rejected, counted, self._max_reject_pct
            )
            return [
                failed_with_rejections(self._conn, source, landing, spool, message, started, read)
            ]
        self._files.append(
            _Parsed(
                landing,
                rows,
                spool,
                counted.loaded,
                reader.digest.hexdigest(),
                reader.size,
                not counted.incomplete,
                time.monotonic() - started,
            )
        )
        self._bytes += len(rows)
        if len(self._files) >= GROUP_FILES or self._bytes >= GROUP_BYTES:
            return self.flush()
        return []

    def flush(self) -> list[FileResult]:
        """Load the files collected so far in one transaction; returns their results."""
        files, self._files, self._bytes = self._files, [], 0
        if not files:
            return []
        source = self._source
        try:
            with self._conn.cursor() as cur:
                # rejections of earlier failed attempts at these files
                cur.execute(
                    "delete from raw.rejected_rows where source = %s and _source_file = any(%s)",
                    (source.name, [f.landing.path for f in files]),
                )
                cur.copy_expert(
                    f"copy {source.table} "
                    f"({', '.join((*source.columns, '_batch_id', '_source_file'))}) from stdin",
                    ChunkReader(f.rows for f in files),
                )
                for f in files:
                    f.spool.copy(cur)
                psycopg2.extras.execute_values(
                    cur,
                    LEDGER_UPSERT,
                    [
                        (
                            source.name,
                            f.landing.path,
                            f.size,
                            f.sha256,
                            f.loaded + f.spool.count,
                            f.loaded,
                            f.spool.count,
                            self._batch_id,
                            f.landing.version,
                            f.complete,
                        )
                        for f in files
                    ],
                    page_size=len(files),
                )
            self._conn.commit()
        except psycopg2.Error:
            # the warehouse refused something: each file on its own, so the error names it
            self._conn.rollback()
            for f in files:
                f.spool.close()
            return [
                load_file(
                    self._conn,
                    source,
                    f.landing,
                    batch_id=self._batch_id,
                    max_reject_pct=self._max_reject_pct,
                    known={},  # new files: their rows were counted in progress already
                )
                for f in files
            ]
        results = []
        for f in files:
            results.append(
                FileResult(
                    f.landing.path,
                    "loaded",
                    rows_read=f.loaded + f.spool.count,
                    rows_loaded=f.loaded,
                    rows_rejected=f.spool.count,
                    seconds=f.seconds,
                    reasons=[r.reason for r in f.spool.first],
                    complete=f.complete,
                )
            )
            f.spool.close()
        return results
