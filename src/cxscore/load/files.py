"""Loading file sources (Connect CTR, Qualtrics, orders) into raw, each file exactly once.

* Files are found recursively under ``landing_dir`` + the source's ``path`` (a local path
  or any fsspec URL) and handled in path order.
* ``meta.loaded_files`` remembers each file's size and sha256: an unchanged file is
  skipped; a changed file replaces its earlier rows (its rows in the raw table and in
  raw.rejected_rows are deleted, then it is loaded again).
* Each file loads in ONE transaction together with its manifest row: a process killed
  mid-file leaves nothing of it, and the next run loads it whole.
* A file whose rejected share exceeds ``load.max_reject_pct`` is not loaded (its
  transaction rolls back) but its rejected rows are recorded under the (failed) batch, so
  the problem is visible; the run carries on with the other files and fails at the end.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import psycopg2
import psycopg2.extensions

from cxscore.errors import CxError
from cxscore.load.copy import copy_rejections, copy_rows, encode_rows, escape_text
from cxscore.settings import Settings
from cxscore.sources import amazon_connect, contact_lens, orders, qualtrics
from cxscore.sources.common import Rejection, Row

log = logging.getLogger(__name__)

# files larger than this are parsed in a background thread while the COPY sends
BACKGROUND_BYTES = 4 << 20

Parser = Callable[[IO[bytes]], Iterator[Row | Rejection]]
ProgressHook = Callable[[str, int], None]  # (event, rows) for live progress


@dataclass(frozen=True)
class FileSource:
    """A file source: where its files are and how they become rows of which table."""

    name: str
    stream: str
    table: str
    columns: tuple[str, ...]
    suffixes: tuple[str, ...]
    path: str
    parse: Parser
    # the parser also takes the file's path (Contact Lens: the contact id is in the name)
    parse_with_path: Callable[[IO[bytes], str], Iterator[Row | Rejection]] | None = None


def file_sources(settings: Settings) -> dict[str, FileSource]:
    cfg = settings.sources
    return {
        "amazon_connect": FileSource(
            amazon_connect.SOURCE,
            amazon_connect.STREAM,
            amazon_connect.TABLE,
            amazon_connect.COLUMNS,
            amazon_connect.SUFFIXES,
            cfg.amazon_connect.path,
            amazon_connect.parse_contact_records,
        ),
        "qualtrics": FileSource(
            qualtrics.SOURCE,
            qualtrics.STREAM,
            qualtrics.TABLE,
            qualtrics.COLUMNS,
            qualtrics.SUFFIXES,
            cfg.qualtrics.path,
            functools.partial(qualtrics.parse_responses, settings=cfg.qualtrics),
        ),
        "orders": FileSource(
            orders.SOURCE,
            orders.STREAM,
            orders.TABLE,
            orders.COLUMNS,
            orders.SUFFIXES,
            cfg.orders.path,
            functools.partial(orders.parse_orders, settings=cfg.orders),
        ),
        "contact_lens": FileSource(
            contact_lens.SOURCE,
            contact_lens.STREAM,
            contact_lens.TABLE,
            contact_lens.COLUMNS,
            contact_lens.SUFFIXES,
            cfg.amazon_connect.contact_lens_path,
            lambda fh: iter(()),
            parse_with_path=contact_lens.parse_contact_lens,
        ),
    }


@dataclass(frozen=True)
class LandingFile:
    url: str  # what fsspec opens
    path: str  # what is recorded (_source_file, meta.loaded_files.path)
    size: int


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


def _is_url(path: str) -> bool:
    return "://" in path


def source_root(landing_dir: str, path: str) -> str:
    """Where a source's files are: ``path`` itself when absolute or a URL, else under the
    landing dir."""
    if _is_url(path) or os.path.isabs(path):
        return path
    if _is_url(landing_dir):
        return landing_dir.rstrip("/") + "/" + path.lstrip("/")
    return os.path.join(landing_dir, path)


def discover(landing_dir: str, source: FileSource) -> list[LandingFile]:
    """The source's files under its root, recursively, in path order (dotfiles skipped)."""
    import fsspec

    root = source_root(landing_dir, source.path)
    try:
        fs, root_path = fsspec.core.url_to_fs(root)
    except (ImportError, ValueError) as exc:
        raise CxError(
            f"{source.name}: cannot open {root!r}: {exc} (check landing_dir and "
            f"sources.{source.name}.path; remote URLs need their fsspec package, e.g. s3fs)"
        ) from exc
    if not fs.exists(root_path):
        log.info("%s: %s does not exist yet: no files", source.name, root)
        return []
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    found = fs.find(root_path, detail=True)
    files = []
    base = root_path.rstrip("/")
    for full, info in sorted(found.items()):
        name = full.rsplit("/", 1)[-1]
        if name.startswith(".") or not name.lower().endswith(source.suffixes):
            continue
        rel = full[len(base) :].lstrip("/") if full.startswith(base) else name
        url = full if protocol in ("file", "local") else fs.unstrip_protocol(full)
        files.append(
            LandingFile(url, source.path.rstrip("/") + "/" + rel, int(info.get("size") or 0))
        )
    return files


def _open(url: str) -> Any:
    import fsspec

    return fsspec.open(url, "rb").open()


def sha256_of(url: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with _open(url) as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class _Counted:
    """Wraps a parser's output: counts rows/rejections and keeps the rejections."""

    def __init__(self, items: Iterator[Row | Rejection], hook: ProgressHook | None) -> None:
        self._items = items
        self._hook = hook
        self.loaded = 0
        self.rejections: list[Rejection] = []

    def rows(self) -> Iterator[Row]:
        rejections = self.rejections
        hook = self._hook
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
                rejections.append(item)  # type: ignore[arg-type]
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
) -> FileResult:
    """Load one file in one transaction (skip it when unchanged). Never raises for bad
    content: a failed file is reported in the result (status ``failed``)."""
    started = time.monotonic()
    try:
        sha, size = sha256_of(landing.url)
    except OSError as exc:
        return FileResult(
            landing.path,
            "failed",
            error=f"{source.name}: file {landing.path} cannot be read: {exc}",
        )
    with conn.cursor() as cur:
        cur.execute(
            "select sha256, size_bytes from meta.loaded_files where source = %s and path = %s",
            (source.name, landing.path),
        )
        previous = cur.fetchone()
    conn.commit()
    if previous is not None and previous[0] == sha and int(previous[1]) == size:
        return FileResult(landing.path, "skipped")
    counted: _Counted | None = None
    try:
        with conn.cursor() as cur:
            if previous is not None:
                cur.execute(f"delete from {source.table} where _source_file = %s", (landing.path,))
            cur.execute(
                "delete from raw.rejected_rows where source = %s and _source_file = %s",
                (source.name, landing.path),
            )
            suffix = b"\t" + str(batch_id).encode() + b"\t" + escape_text(landing.path)
            with _open(landing.url) as fh:
                parsed = (
                    source.parse_with_path(fh, landing.path)
                    if source.parse_with_path is not None
                    else source.parse(fh)
                )
                counted = _Counted(parsed, hook)
                copy_rows(
                    cur,
                    source.table,
                    (*source.columns, "_batch_id", "_source_file"),
                    encode_rows(counted.rows(), suffix),
                    background=landing.size > BACKGROUND_BYTES,
                )
            rejected = len(counted.rejections)
            read = counted.loaded + rejected
            if read and rejected * 100.0 > max_reject_pct * read:
                raise FileRejected(_too_many(landing.path, read, rejected, counted, max_reject_pct))
            copy_rejections(
                cur,
                counted.rejections,
                source=source.name,
                stream=source.stream,
                batch_id=batch_id,
                source_file=landing.path,
            )
            cur.execute(
                "insert into meta.loaded_files (source, path, size_bytes, sha256, rows_read, "
                "rows_loaded, rows_rejected, batch_id) values (%s, %s, %s, %s, %s, %s, %s, %s) "
                "on conflict (source, path) do update set size_bytes = excluded.size_bytes, "
                "sha256 = excluded.sha256, rows_read = excluded.rows_read, "
                "rows_loaded = excluded.rows_loaded, rows_rejected = excluded.rows_rejected, "
                "batch_id = excluded.batch_id, loaded_at = now()",
                (source.name, landing.path, size, sha, read, counted.loaded, rejected, batch_id),
            )
        conn.commit()
    except FileRejected as exc:
        conn.rollback()
        assert counted is not None
        _record_failed_rejections(conn, source, landing, batch_id, counted.rejections)
        return FileResult(
            landing.path,
            "failed",
            rows_read=counted.loaded + len(counted.rejections),
            rows_loaded=0,
            rows_rejected=len(counted.rejections),
            seconds=time.monotonic() - started,
            error=str(exc),
            reasons=[r.reason for r in counted.rejections[:5]],
        )
    except (psycopg2.Error, OSError) as exc:
        # includes errors raised while the COPY reads the file (psycopg2 re-raises them as
        # QueryCanceled "error in .read() call: ...")
        conn.rollback()
        message = (
            f"{source.name}: file {landing.path} could not be loaded into {source.table}: "
            f"{str(exc).strip()}"
        )
        return FileResult(landing.path, "failed", seconds=time.monotonic() - started, error=message)
    read = counted.loaded + len(counted.rejections)
    return FileResult(
        landing.path,
        "replaced" if previous is not None else "loaded",
        rows_read=read,
        rows_loaded=counted.loaded,
        rows_rejected=len(counted.rejections),
        seconds=time.monotonic() - started,
        reasons=[r.reason for r in counted.rejections[:5]],
    )


def _too_many(path: str, read: int, rejected: int, counted: _Counted, max_reject_pct: float) -> str:
    first = "; ".join(
        f"line {r.line}: {r.reason}" if r.line is not None else r.reason
        for r in counted.rejections[:3]
    )
    return (
        f"file {path}: {rejected} of {read} records rejected "
        f"({rejected * 100.0 / read:.1f}% > load.max_reject_pct={max_reject_pct:g}%); the file "
        f"was not loaded (its rejected rows are in raw.rejected_rows). First reasons: {first}. "
        "Fix or replace the file and run the extract again."
    )


def _record_failed_rejections(
    conn: psycopg2.extensions.connection,
    source: FileSource,
    landing: LandingFile,
    batch_id: int,
    rejections: list[Rejection],
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
        copy_rejections(
            cur,
            rejections,
            source=source.name,
            stream=source.stream,
            batch_id=batch_id,
            source_file=landing.path,
        )
    conn.commit()
