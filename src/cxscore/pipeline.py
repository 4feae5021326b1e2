"""One complete pipeline run in-process: the path `cxscore run` and the tests drive.

extract + load every configured source (one failing source never stops the others) -> raw
checks -> the quality gate (an open quarantine stops here: exit code 3, the last good
scorecard stays) -> dbt build into ``marts_build`` -> scorecard checks (a critical failure
stops here: exit code 3, nothing is published) -> publish to ``marts``. The Airflow DAGs
call the same functions task by task; ``cxscore build`` is :func:`build_scorecard`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from cxscore.errors import CxError, QualityGateFailed
from cxscore.runs import new_run_id
from cxscore.settings import Settings

if TYPE_CHECKING:
    from cxscore.dbt_process import DbtProcess
    from cxscore.quality.results import CheckOutcome

log = logging.getLogger(__name__)


class StageTimes:
    """Wall seconds per stage of a run: the ``stages`` of its summary (``cxscore run
    --json``). ``begin``/``end`` are called around each stage (a benchmark overrides them to
    read the peak memory of each stage)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.begin(name)
        started = time.monotonic()
        try:
            yield
        finally:
            elapsed = time.monotonic() - started
            self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 2)
            self.end(name)

    def begin(self, name: str) -> None:
        """Called when a stage starts."""

    def end(self, name: str) -> None:
        """Called when a stage ends (also when it failed)."""


def check_scorecard(settings: Settings, *, url: str, run_id: str) -> CheckOutcome:
    """The scorecard suites on the build candidate (``marts_build``). Raises
    QualityGateFailed (exit code 3) on a critical failure: the build is not published."""
    from cxscore.quality import run_checks
    from cxscore.warehouse import transaction

    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute("select max(build_id) from meta.dbt_builds")
        row = cur.fetchone()
    build_id = row[0] if row else None
    outcome = run_checks(settings, stage="marts", url=url, run_id=run_id)
    if build_id is not None:  # the verdict on this very build: publish reads it
        with transaction(url) as conn, conn.cursor() as cur:
            cur.execute(
                "update meta.dbt_builds set checked_run_id = %s, checks_passed = %s "
                "where build_id = %s",
                (run_id, not outcome.critical_failures, build_id),
            )
    if outcome.critical_failures:
        raise QualityGateFailed(
            f"run {run_id}: {len(outcome.critical_failures)} critical scorecard check(s) "
            "failed on the new build (schema marts_build); it was NOT published: the marts "
            f"BI reads keep the last good build.\n{outcome.describe()}"
        )
    return outcome


def publish_scorecard(url: str, *, run_id: str) -> dict[str, Any]:
    """Copy the checked build to ``marts`` in one transaction (cxscore.publish)."""
    from cxscore.publish import publish_marts

    return publish_marts(url, run_id=run_id)


def build_scorecard(
    settings: Settings,
    *,
    url: str,
    run_id: str,
    full_refresh: bool = False,
    select: str | None = None,
    stages: StageTimes | None = None,
    dbt_process: DbtProcess | None = None,
) -> dict[str, Any]:
    """gate -> dbt build -> scorecard checks -> publish (``cxscore build``), holding the
    warehouse build lock throughout (one writer of marts_build and marts at a time); then
    the owner alerts on the published build. ``dbt_process``: dbt started ahead
    (:mod:`cxscore.dbt_process`), else dbt runs in this process."""
    from cxscore.locks import BUILD_LOCK, held
    from cxscore.quality.gate import enforce_gate
    from cxscore.transform import build_models

    stages = stages or StageTimes()

    with held(
        url,
        BUILD_LOCK,
        wait_seconds=settings.scorecard.build_lock_wait_seconds,
        setting="scorecard.build_lock_wait_seconds",
        purpose=f"build {run_id}",
    ):
        with stages.stage("gate"):
            enforce_gate(settings, url=url, run_id=run_id)
        with stages.stage("dbt build"):
            built = build_models(
                settings,
                url=url,
                run_id=run_id,
                full_refresh=full_refresh,
                select=select,
                dbt_process=dbt_process,
            )
        with stages.stage("scorecard checks"):
            marts = check_scorecard(settings, url=url, run_id=run_id)
        with stages.stage("publish"):
            published = publish_scorecard(url, run_id=run_id)
    with stages.stage("owner alerts"):
        notified = notify_owners_after_publish(settings, url=url, run_id=run_id)
    return {
        **built,
        "run_id": run_id,
        "scorecard_checks": len(marts.results),
        "scorecard_checks_failed_warning": len(marts.warning_failures),
        "published": sum(published["relations"].values()),
        "owner_messages": notified,
        "stages": dict(stages.seconds),
    }


def notify_owners_after_publish(settings: Settings, *, url: str, run_id: str) -> int:
    """Owner status alerts and hourly signals on the build just published (never before
    publish: a build the gate stopped alerts nobody). Returns the messages sent."""
    from cxscore.signals import notify_owners

    summary = notify_owners(settings, url=url, run_id=run_id)
    hourly = summary["hourly_signals"]
    return int(summary["status_alerts"]["messages"]) + sum(
        int(part.get("messages", 0)) for part in hourly.values() if isinstance(part, dict)
    )


def extract_all(
    settings: Settings,
    *,
    url: str,
    run_id: str,
    progress: bool = False,
    on_done: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Extract every configured source; a source that fails (any exception) is recorded and
    the others still run (``on_done(source)`` as each ends). Returns (totals, {source:
    error})."""
    from cxscore.extract import configured_sources, extract_each

    totals: dict[str, Any] = {"rows_loaded": 0, "rows_rejected": 0, "sources": {}}
    failed: dict[str, str] = {}
    names = configured_sources(settings)
    per_source = extract_each(
        settings, names, url=url, run_id=run_id, progress=progress, on_done=on_done
    )
    for source, summary in per_source.items():
        if summary["error"]:  # one source never stops the others
            log.error("extract of %s failed; the other sources go on: %s", source, summary["error"])
            failed[source] = summary["error"]
            continue
        totals["sources"][source] = {
            k: summary.get(k)
            for k in ("rows_read", "rows_loaded", "rows_rejected", "files", "seconds")
        }
        if summary.get("sentiment"):  # the scoring pass of the source's text (part of seconds)
            totals["sources"][source]["sentiment"] = {
                k: summary["sentiment"].get(k) for k in ("messages", "scored", "seconds")
            }
        totals["rows_loaded"] += int(summary.get("rows_loaded") or 0)
        totals["rows_rejected"] += int(summary.get("rows_rejected") or 0)
    return totals, failed


def run_pipeline(
    settings: Settings,
    *,
    progress: bool = False,
    run_id: str | None = None,
    stages: StageTimes | None = None,
) -> dict[str, Any]:
    """``cxscore run``: extract -> raw checks -> :func:`build_scorecard`. The summary's
    ``stages`` holds the wall seconds of each stage."""
    from cxscore.quality.gate import run_raw_checks
    from cxscore.warehouse import ensure_warehouse

    run_id = run_id or new_run_id()
    stages = stages or StageTimes()
    url = ensure_warehouse(settings)
    started = time.monotonic()
    dbt_process = None
    early = None
    try:
        if settings.load.parallel_sources > 1:
            # the sources load in processes of their own: meanwhile a thread of this one
            # imports Great Expectations (3-5 s of every run), then checks the sources that
            # have ended (EarlyRawChecks), and dbt is imported in the process that will build
            # (1.5-4 core-seconds of every run; cxscore.dbt_process)
            from cxscore.dbt_process import DbtProcess
            from cxscore.extract import configured_sources
            from cxscore.quality.gate import EarlyRawChecks
            from cxscore.transform import parse_ahead

            early = EarlyRawChecks(
                settings, url=url, run_id=run_id, sources=configured_sources(settings)
            )
            dbt_process = DbtProcess()
            parse_ahead(settings, dbt_process, url=url)  # the manifest, while the sources load
        with stages.stage("extract"):
            extracted, failed = extract_all(
                settings,
                url=url,
                run_id=run_id,
                progress=progress,
                on_done=early.source_done if early is not None else None,
            )
        with stages.stage("raw checks"):
            if early is not None:
                raw, _ = early.finish()
            else:
                raw, _ = run_raw_checks(settings, url=url, run_id=run_id)
        failed_note = "".join(f"\nextract of {s} failed: {e}" for s, e in sorted(failed.items()))
        try:
            built = build_scorecard(
                settings, url=url, run_id=run_id, stages=stages, dbt_process=dbt_process
            )
        except QualityGateFailed as exc:
            raise QualityGateFailed(f"{exc}{failed_note}") from exc
    finally:
        if early is not None:
            early.close()  # a run that stopped during its extract
        if dbt_process is not None:
            dbt_process.close()  # a run that stopped before its build
    summary = {
        "run_id": run_id,
        "seconds": round(time.monotonic() - started, 1),
        "rows_loaded": extracted["rows_loaded"],
        "rows_rejected": extracted["rows_rejected"],
        "raw_checks_failed_warning": len(raw.warning_failures),
        "models_built": built.get("models", 0),
        "dbt_tests_failed": built.get("tests_failed", 0),
        "scorecard_checks_failed": built["scorecard_checks_failed_warning"],
        "published_rows": built["published"],
        "sources_failed": sorted(failed),
        "sources": extracted["sources"],
        "stages": dict(stages.seconds),
    }
    if failed:
        raise CxError(
            f"run {run_id}: {len(failed)} source(s) failed to extract; the others were "
            f"loaded, checked, built and published.{failed_note}"
        )
    return summary
