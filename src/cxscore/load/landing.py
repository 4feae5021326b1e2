"""The landing area: which file sources exist, where their files are (any fsspec URL), what
the listing says about each file (size, ETag or mtime), and what ``meta.loaded_files``
remembers of it. Reading and loading a file is :mod:`cxscore.load.files`."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import psycopg2.extensions

from cxscore.errors import CxError
from cxscore.settings import Settings
from cxscore.sources import amazon_connect, contact_lens, orders, qualtrics
from cxscore.sources.common import Rejection, Row

log = logging.getLogger(__name__)

Parser = Callable[[IO[bytes]], Iterator[Row | Rejection]]


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
    version: str | None = None  # ETag or mtime from the listing (None: unknown)


@dataclass(frozen=True)
class Loaded:
    """What meta.loaded_files says about a file."""

    size: int
    sha256: str
    version: str | None
    complete: bool


# listing keys that change whenever an object's content does, most specific first
_VERSION_KEYS = (
    "ETag",
    "etag",
    "md5Hash",
    "mtime",
    "LastModified",
    "last_modified",
    "updated",
    "created",
)


def _version(info: dict[str, Any]) -> str | None:
    for key in _VERSION_KEYS:
        value = info.get(key)
        if value not in (None, ""):
            return f"{key}={value}"
    return None


def known_files(conn: psycopg2.extensions.connection, source: str) -> dict[str, Loaded]:
    """meta.loaded_files of a source, by path (one query per run, not one per file)."""
    with conn.cursor() as cur:
        cur.execute(
            "select path, size_bytes, sha256, listed_version, complete from meta.loaded_files "
            "where source = %s",
            (source,),
        )
        rows = cur.fetchall()
    conn.commit()
    return {r[0]: Loaded(int(r[1]), r[2], r[3], bool(r[4])) for r in rows}


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

    from cxscore.redaction import redact_text, redact_url

    root = source_root(landing_dir, source.path)
    shown = redact_url(root)  # a URL's credentials never reach a message
    try:
        fs, root_path = fsspec.core.url_to_fs(root)
    except (ImportError, ValueError) as exc:
        raise CxError(
            f"{source.name}: cannot open {shown!r}: {redact_text(str(exc))} (check landing_dir and "
            f"sources.{source.name}.path; remote URLs need their fsspec package, e.g. s3fs)"
        ) from exc
    if not fs.exists(root_path):
        log.info("%s: %s does not exist yet: no files", source.name, shown)
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
            LandingFile(
                url,
                source.path.rstrip("/") + "/" + rel,
                int(info.get("size") or 0),
                _version(info),
            )
        )
    return files
