"""``cxscore extract`` and the extract tasks of the ``cx_ingest`` DAG: sources -> raw.

:func:`extract_source` loads one source (what each DAG task calls);
:func:`extract_sources` loads several (the CLI, ``cxscore run``). Each run opens one row in
``meta.load_batches`` per (source, stream), running -> succeeded / failed. Two extracts of
the same source never run at once (a PostgreSQL advisory lock per source): the second one
waits and then finds the work done.
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import selectors
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from cxscore.errors import CxError
from cxscore.progress import Reporter
from cxscore.registry import (
    FILE_SOURCES,
    RAW_TABLES,
    SENTIMENT_TABLE,
    SOURCE_NAMES,
    SOURCES,
    unknown_sources,
)
from cxscore.runs import new_run_id
from cxscore.settings import Settings

if TYPE_CHECKING:
    from cxscore.load.landing import Listing

log = logging.getLogger(__name__)

# up to this many files to load, their ledger rows are read by path; past it, the source's
# whole ledger (cxscore.load.landing.known_files)
KNOWN_BY_PATH_MAX = 5000


# what an extract needs: the load bookkeeping and every raw table of the registry
_REQUIRED_TABLES = (
    "meta.load_batches",
    "meta.extract_state",
    "meta.loaded_files",
    "raw.rejected_rows",
    *dict.fromkeys(f"raw.{t}" for tables in RAW_TABLES.values() for t in tables),
)


def _new_summary(source: str, status: str, *, batches: list[int]) -> dict[str, Any]:
    """The summary of one source's extract, every count at zero."""
    counts = ("files", "files_skipped", "files_failed", "pages")
    rows = ("rows_read", "rows_loaded", "rows_rejected")
    return {
        "source": source,
        "status": status,
        **dict.fromkeys(counts + rows, 0),
        "batches": batches,
        "error": None,
    }


def configured_sources(settings: Settings) -> list[str]:
    """What ``extract all`` runs: ``sources.enabled`` when set, else every file source plus
    zendesk when ``sources.zendesk.base_url`` is set."""
    if settings.sources.enabled is not None:
        return [s for s in SOURCES if s in settings.sources.enabled]
    extra = ["zendesk"] if settings.sources.zendesk.base_url else []
    return [*extra, *FILE_SOURCES]


def ensure_objects(url: str) -> None:
    """Create the warehouse objects the loaders need when any is missing."""
    from cxscore.warehouse import init_warehouse, transaction

    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select count(*) from unnest(%s::text[]) t(name) where to_regclass(name) is null",
            (list(_REQUIRED_TABLES),),
        )
        row = cur.fetchone()
        missing = int(row[0]) if row else 0
        if not missing:  # a warehouse created before meta.loaded_files.complete existed
            cur.execute(
                "select count(*) from information_schema.columns where table_schema = 'meta' "
                "and table_name = 'loaded_files' and column_name = 'complete'"
            )
            row = cur.fetchone()
            missing = 0 if row and int(row[0]) else 1
    if missing:
        init_warehouse(url)


def extract_source(
    settings: Settings,
    source: str,
    *,
    url: str,
    run_id: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Extract and load one source into raw; returns its summary; raises CxError (after
    recording the failed batch) when anything failed."""
    if source not in SOURCES:
        raise CxError(f"unknown source {source!r}; choose one of {', '.join(SOURCE_NAMES)}")
    ensure_objects(url)
    run_id = run_id or _new_run_id()
    reporter = Reporter(progress)
    try:
        summary = _extract(settings, source, url=url, run_id=run_id, reporter=reporter)
    finally:
        reporter.close()
    if summary["error"]:
        raise CxError(summary["error"])
    return summary


def extract_sources(
    settings: Settings,
    sources: list[str] | None,
    *,
    url: str | None = None,
    run_id: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Extract several sources (None = every configured one, see
    :func:`configured_sources`); every source runs even when an earlier one failed; raises
    CxError naming every failure at the end."""
    names = configured_sources(settings) if sources is None else list(sources)
    unknown = unknown_sources(names)
    if unknown:
        raise CxError(f"unknown source(s) {unknown}; choose from {', '.join(SOURCE_NAMES)}")
    if url is None:
        from cxscore.warehouse import ensure_warehouse

        url = ensure_warehouse(settings)
    else:
        ensure_objects(url)
    run_id = run_id or _new_run_id()
    per_source = extract_each(settings, names, url=url, run_id=run_id, progress=progress)
    totals: dict[str, Any] = {
        key: sum(s[key] for s in per_source.values())
        for key in ("rows_read", "rows_loaded", "rows_rejected", "files", "files_skipped", "pages")
    }
    totals["run_id"] = run_id
    totals["batches"] = [b for s in per_source.values() for b in s["batches"]]
    totals["sources"] = per_source
    errors = [s["error"] for s in per_source.values() if s["error"]]
    if errors:
        raise CxError("extract failed:\n  " + "\n  ".join(errors))
    return totals


def extract_each(
    settings: Settings,
    names: list[str],
    *,
    url: str,
    run_id: str,
    progress: bool = False,
    on_done: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Extract each named source; a source that fails (any exception) gets a failed summary
    and never stops the others. Up to ``load.parallel_sources`` sources at once, each in a
    process of its own (:mod:`cxscore.extract_worker`; they write different tables and
    take different locks); with 1, or a single source, one after another in this
    process. ``on_done(name)`` is called in this thread as each source ends, loaded or
    failed."""
    reporter = Reporter(progress)
    try:
        workers = min(settings.load.parallel_sources, len(names))
        if workers > 1:
            return _in_processes(settings, names, url, run_id, reporter, workers, on_done)
        per_source: dict[str, dict[str, Any]] = {}
        for name in names:
            try:
                per_source[name] = _extract(
                    settings, name, url=url, run_id=run_id, reporter=reporter
                )
            except Exception as exc:  # one bad source never stops the rest
                log.exception("%s: extract failed", name)
                per_source[name] = _failed_summary(name, exc)
            if on_done is not None:
                on_done(name)
        return per_source
    finally:
        reporter.close()


def _in_processes(
    settings: Settings,
    names: list[str],
    url: str,
    run_id: str,
    reporter: Reporter,
    workers: int,
    on_done: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Extract the sources in up to ``workers`` processes at once; their progress is shown
    by ``reporter`` as it comes. Each process runs ``python -m cxscore.extract_worker``
    (the child side: arguments pickled on its stdin, ``[kind, args]`` JSON lines on its
    stdout, ``done`` last). Returns each source's summary (a failed one for a source whose
    process ended without one)."""
    pending = list(names)
    running: dict[str, subprocess.Popen[bytes]] = {}
    done: dict[str, dict[str, Any]] = {}
    selector = selectors.DefaultSelector()
    level = logging.getLogger().getEffectiveLevel()
    try:
        while pending or running:
            while pending and len(running) < workers:
                name = pending.pop(0)
                running[name] = _start(settings, name, url, run_id, level, reporter.live)
                stdout = running[name].stdout
                assert stdout is not None
                selector.register(stdout, selectors.EVENT_READ, name)
            for key, _ in selector.select(timeout=1.0):
                name = key.data
                line = key.fileobj.readline()  # type: ignore[union-attr]
                if line:
                    kind, args = json.loads(line)
                    if kind == "done":
                        done[name] = args[0]
                    else:
                        getattr(reporter, kind)(name, *args)
                    continue
                selector.unregister(key.fileobj)  # end of its output: the process ends
                code = running.pop(name).wait()
                if name not in done:
                    done[name] = _failed_summary(
                        name,
                        CxError(f"its extract process ended without a result (exit code {code})"),
                    )
                if on_done is not None:
                    on_done(name)
    finally:
        for process in running.values():  # interrupted: stop the others
            process.kill()
            process.wait()
        selector.close()
    return {name: done[name] for name in names}


def _start(
    settings: Settings, name: str, url: str, run_id: str, level: int, live: bool
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cxscore.extract_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(pickle.dumps((settings, name, url, run_id, level, live)))
    process.stdin.close()
    return process


def _failed_summary(name: str, exc: Exception) -> dict[str, Any]:
    """The summary of a source whose extract raised (its batch is already closed as failed
    by the source's own handler). An exception's text can carry a URL: its credentials are
    hidden."""
    from cxscore.redaction import redact_text

    detail = redact_text(str(exc).strip()) or type(exc).__name__
    if not isinstance(exc, CxError):
        detail = f"{type(exc).__name__}: {detail}"
    return {
        **_new_summary(name, "failed", batches=[]),
        "error": detail if detail.startswith(f"{name}:") else f"{name}: {detail}",
    }


def _new_run_id() -> str:
    """A run id for batches of a CLI run (the DAG passes Airflow's run id)."""
    return new_run_id("extract")


@contextlib.contextmanager
def _control(url: str, source: str, wait_seconds: float = 600.0) -> Iterator[Any]:
    """An autocommit connection (with keepalives) holding the source's advisory lock while
    the block runs; waits at most ``wait_seconds`` (load.lock_wait_seconds) for it."""
    from cxscore.load.batches import lock_source
    from cxscore.locks import open_lock_connection

    conn = open_lock_connection(url, f"extract {source}")
    try:
        lock_source(conn, source, wait_seconds)
        yield conn
    finally:
        conn.close()


def _extract(
    settings: Settings, source: str, *, url: str, run_id: str | None, reporter: Reporter
) -> dict[str, Any]:
    reporter.start(source)
    started = time.monotonic()
    with _control(url, source, settings.load.lock_wait_seconds) as control:
        if source == "zendesk":
            from cxscore.load.zendesk import extract_zendesk

            summary = extract_zendesk(
                settings, url=url, control=control, run_id=run_id, reporter=reporter
            )
        else:
            summary = _extract_files(
                settings, source, url=url, control=control, run_id=run_id, reporter=reporter
            )
            lens = _contact_lens_files(settings, control) if source == "amazon_connect" else None
            if lens is not None and lens.listed:
                # Contact Lens output files: their own stream (and batch) of the source
                lens_summary = _extract_files(
                    settings,
                    source,
                    url=url,
                    control=control,
                    run_id=run_id,
                    reporter=reporter,
                    key="contact_lens",
                    listing=lens,
                )
                summary = _merge_summaries(summary, lens_summary)
        comments = source != "zendesk" or settings.sources.zendesk.ticket_comments
        if source != "orders" and comments:
            from cxscore.signals.scoring import score_source

            # customer text -> sentiment scores, right after the load (signals.md)
            summary["sentiment"] = score_source(url, source, control=control, run_id=run_id)
            if summary["sentiment"]["batch_id"] is not None:
                summary["batches"].append(summary["sentiment"]["batch_id"])
        written = _written_tables(source, summary)
        if written:  # a run with nothing new analyses nothing
            from cxscore.warehouse import refresh_statistics

            refresh_statistics(control, written, target=settings.warehouse.statistics_target)
    summary["seconds"] = round(time.monotonic() - started, 2)
    reporter.finish(source, summary)
    return summary


def _written_tables(source: str, summary: dict[str, Any]) -> list[str]:
    """The tables a source's load wrote to: its raw tables (the scores table only when it
    scored something), the rejected rows and, for landing files, the ledger; none when it
    loaded, rejected and scored nothing."""
    scored = bool((summary.get("sentiment") or {}).get("messages"))
    if not (summary["rows_loaded"] or summary["rows_rejected"] or scored):
        return []
    tables = [f"raw.{t}" for t in SOURCES[source].raw_tables if t != SENTIMENT_TABLE or scored]
    if summary["rows_rejected"]:
        tables.append("raw.rejected_rows")
    if SOURCES[source].kind == "files":
        tables.append("meta.loaded_files")
    return tables


def _contact_lens_files(settings: Settings, control: Any) -> Listing:
    """The Contact Lens output files under their root that are new or changed (listed once:
    the load uses this listing; no file at all, no batch is opened)."""
    from cxscore.load.landing import discover_changed, file_sources, loaded_versions

    source = file_sources(settings)["contact_lens"]
    loaded = loaded_versions(control, source.name, source.path)
    return discover_changed(settings.landing_dir, source, loaded)


def _merge_summaries(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """One source's summary from two of its file streams."""
    merged = dict(first)
    for key in ("files", "files_skipped", "files_failed", "pages", "rows_read", "rows_loaded"):
        merged[key] = first[key] + second[key]
    merged["rows_rejected"] = first["rows_rejected"] + second["rows_rejected"]
    merged["batches"] = [*first["batches"], *second["batches"]]
    errors = [e for e in (first["error"], second["error"]) if e]
    merged["error"] = " | ".join(errors) if errors else None
    merged["status"] = "failed" if errors else "succeeded"
    return merged


def _extract_files(
    settings: Settings,
    name: str,
    *,
    url: str,
    control: Any,
    run_id: str | None,
    reporter: Reporter,
    key: str | None = None,
    listing: Listing | None = None,
) -> dict[str, Any]:
    """Load the source's new and changed landing files (``listing``: already listed) in
    one load batch."""
    from cxscore.load.batches import close_batch, open_batch
    from cxscore.load.file_groups import FileGroup
    from cxscore.load.files import ProgressHook, load_file
    from cxscore.load.landing import (
        discover_changed,
        file_sources,
        known_files,
        loaded_versions,
    )
    from cxscore.warehouse import connect

    source = file_sources(settings)[key or name]
    batch_id = open_batch(control, source.name, source.stream, run_id)
    summary = _new_summary(name, "running", batches=[batch_id])
    failures: list[str] = []
    try:
        if listing is None:
            listing = discover_changed(
                settings.landing_dir, source, loaded_versions(control, source.name, source.path)
            )
        # unchanged files were skipped by the listing, not one by one: a tree of 168,000
        # Contact Lens files, 1,800 of them new, took 2.5 s to walk through load_file, and
        # 1.2 s more to read and compare whole ledger rows (docs/performance.md)
        files = listing.files
        summary["files_skipped"] += listing.skipped
        conn = connect(url, application_name=f"cxscore load {name}")
        try:
            with conn.cursor() as cur:
                cur.execute("set time zone 'UTC'")
            conn.commit()
            # the ledger rows of the files to load (a changed file is compared by content);
            # past a few thousand paths the source's whole ledger is the cheaper query (an
            # array of the 168,000 paths of a first load took 0.8 s to send and parse)
            paths = [f.path for f in files]
            by_path = len(paths) <= KNOWN_BY_PATH_MAX
            known = known_files(conn, source.name, paths if by_path else None)
            hook: ProgressHook = lambda _event, n: reporter.rows(name, n)  # noqa: E731
            group = FileGroup(
                conn,
                source,
                batch_id=batch_id,
                max_reject_pct=settings.load.max_reject_pct,
                hook=hook,
            )
            for landing in files:
                if FileGroup.takes(landing, known):  # new small files: many per transaction
                    results = group.add(landing)
                else:
                    results = group.flush()
                    results.append(
                        load_file(
                            conn,
                            source,
                            landing,
                            batch_id=batch_id,
                            max_reject_pct=settings.load.max_reject_pct,
                            hook=hook,
                            known=known,
                        )
                    )
                for result in results:
                    _count_file(summary, failures, result, name, reporter)
            for result in group.flush():
                _count_file(summary, failures, result, name, reporter)
        finally:
            conn.close()
    except BaseException as exc:
        summary["status"] = "failed"
        from cxscore.redaction import redact_text

        # an fsspec error can name a URL with credentials: the batch row keeps none
        close_batch(control, batch_id, status="failed", counts=summary, error=redact_text(str(exc)))
        raise
    if failures:
        summary["status"] = "failed"
        summary["error"] = f"{name}: {len(failures)} file(s) failed: " + " | ".join(failures)
    else:
        summary["status"] = "succeeded"
    close_batch(control, batch_id, status=summary["status"], counts=summary, error=summary["error"])
    return summary


def _count_file(
    summary: dict[str, Any], failures: list[str], result: Any, name: str, reporter: Reporter
) -> None:
    """Add one file's result (:class:`cxscore.load.files.FileResult`) to the summary."""
    if result.status == "skipped":
        summary["files_skipped"] += 1
        return
    summary["files"] += 1
    summary["rows_read"] += result.rows_read
    summary["rows_loaded"] += result.rows_loaded
    summary["rows_rejected"] += result.rows_rejected
    if result.status == "failed":
        summary["files_failed"] += 1
        failures.append(result.error or f"{name}: file {result.path} failed")
    elif not result.complete:
        summary["files_incomplete"] = summary.get("files_incomplete", 0) + 1
        log.warning(
            "%s: file %s could not be read to its end (%s); what was read is "
            "loaded, and the file is read again on the next run",
            name,
            result.path,
            result.reasons[-1] if result.reasons else "unreadable",
        )
    reporter.step(
        name,
        "files",
        summary["files"],
        f"{result.status} {result.path}: read={result.rows_read} "
        f"loaded={result.rows_loaded} rejected={result.rows_rejected} "
        f"in {result.seconds:.1f}s",
    )
