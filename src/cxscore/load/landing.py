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


def unchanged(landing: LandingFile, previous: Loaded | None) -> bool:
    """Whether a listed file is the one loaded before, without reading it: recorded as
    completely loaded with the size and listed version (ETag or mtime) the listing shows."""
    return (
        previous is not None
        and previous.complete
        and landing.version is not None
        and previous.version == landing.version
        and previous.size == landing.size
    )


def known_files(
    conn: psycopg2.extensions.connection, source: str, paths: list[str] | None = None
) -> dict[str, Loaded]:
    """meta.loaded_files of a source, by path (one query per run, not one per file); with
    ``paths``, only the rows of those paths."""
    query = (
        "select path, size_bytes, sha256, listed_version, complete from meta.loaded_files "
        "where source = %s"
    )
    with conn.cursor() as cur:
        if paths is None:
            cur.execute(query, (source,))
        else:
            cur.execute(query + " and path = any(%s)", (source, paths))
        rows = cur.fetchall()
    conn.commit()
    return {r[0]: Loaded(int(r[1]), r[2], r[3], bool(r[4])) for r in rows}


def loaded_versions(
    conn: psycopg2.extensions.connection, source: str, folder: str | None = None
) -> set[tuple[str, int, str | None]]:
    """(path, size, listed version) of every file of a source that ``meta.loaded_files``
    records as completely loaded: a listed file with the same three is unchanged
    (:func:`unchanged`) and skipped before anything else is made of it (a tree of 168,000
    Contact Lens files: docs/performance.md). With ``folder`` (a stream's ``path``), only
    the files under it: every path a listing of that folder makes starts with it, and the
    Amazon Connect CTRs no longer fetch the ledger rows of the Contact Lens files beside
    them."""
    query = (
        "select path, size_bytes, listed_version from meta.loaded_files "
        "where source = %s and complete and listed_version is not null"
    )
    params: tuple[object, ...] = (source,)
    if folder is not None:
        prefix = folder.rstrip("/") + "/"  # as discover_changed makes a file's path
        query += " and left(path, %s) = %s"
        params = (source, len(prefix), prefix)
    with conn.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall()
    if not conn.autocommit:
        conn.commit()
    return set(rows)


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


def _find_local(root: str) -> dict[str, tuple[int, float]]:
    """What ``fsspec``'s local ``find(root, detail=True)`` lists (every entry that is not a
    directory, recursively), as {path: (size, mtime)}: a symbolic link's own mtime and its
    target's size, directories behind links not followed. From ``os.scandir`` over an open
    directory, so that each entry's ``stat`` is an ``fstatat`` relative to its folder rather
    than a walk of the whole path: fsspec builds a dozen-key ``info`` per file, and a tree of
    167,400 Contact Lens files took 2.0 s through it, 0.8 s through ``os.scandir`` on paths
    and 0.6 s like this. Same values, so the versions recorded in ``meta.loaded_files``
    still match."""
    found: dict[str, tuple[int, float]] = {}
    pending = [root]
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
    while pending:
        folder = pending.pop()
        try:
            fd = os.open(folder, flags)
        except (FileNotFoundError, NotADirectoryError):
            continue
        prefix = folder if folder.endswith("/") else folder + "/"
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(prefix + entry.name)
                            continue
                        own = entry.stat(follow_symlinks=False)
                        size = own.st_size
                        if entry.is_symlink():
                            try:
                                size = entry.stat(follow_symlinks=True).st_size
                            except OSError:
                                size = 0
                    except FileNotFoundError:  # gone since the listing
                        continue
                    found[prefix + entry.name] = (size, own.st_mtime)
        finally:
            os.close(fd)
    return found


@dataclass(frozen=True)
class Listing:
    """The files of a source a run has to look at, and how many it skipped unread."""

    files: list[LandingFile]  # new or changed, in path order
    skipped: int  # listed, and unchanged since they were loaded completely

    @property
    def listed(self) -> int:
        return len(self.files) + self.skipped


def discover(landing_dir: str, source: FileSource) -> list[LandingFile]:
    """The source's files under its root, recursively, in path order (dotfiles skipped)."""
    return discover_changed(landing_dir, source, set()).files


def discover_changed(
    landing_dir: str, source: FileSource, loaded: set[tuple[str, int, str | None]]
) -> Listing:
    """The source's files under its root, recursively, in path order (dotfiles skipped),
    without those whose (path, size, listed version) is in ``loaded``
    (:func:`loaded_versions`): they are counted, and nothing is made of them."""
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
        return Listing([], 0)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    local = protocol in ("file", "local")
    base = root_path.rstrip("/")
    prefix = source.path.rstrip("/") + "/"
    suffixes = source.suffixes
    kept: list[tuple[str, str, int, str | None]] = []  # (url, path, size, version)
    skipped = 0
    if local:  # the hot path: a local tree of one small file per contact
        append = kept.append
        for full, (size, mtime) in _find_local(root_path).items():
            name = full[full.rfind("/") + 1 :]
            if name[:1] == "." or not name.lower().endswith(suffixes):
                continue
            rel = full[len(base) :].lstrip("/") if full.startswith(base) else name
            path, listed = prefix + rel, f"mtime={mtime}"  # as _version says
            if (path, size, listed) in loaded:
                skipped += 1
            else:
                append((full, path, size, listed))
    else:
        for full, info in fs.find(root_path, detail=True).items():
            name = full.rsplit("/", 1)[-1]
            if name.startswith(".") or not name.lower().endswith(suffixes):
                continue
            rel = full[len(base) :].lstrip("/") if full.startswith(base) else name
            path, size, version = prefix + rel, int(info.get("size") or 0), _version(info)
            if (path, size, version) in loaded:
                skipped += 1
            else:
                kept.append((fs.unstrip_protocol(full), path, size, version))
    kept.sort(key=lambda f: f[0])
    return Listing([LandingFile(*f) for f in kept], skipped)
