"""The quality gate: the one place that decides whether the scorecard may be built.

A load batch with a failed critical check is **quarantined** (``quality.gate``, a view over
``quality.check_results``, ``quality.releases`` and ``meta.load_batches``) until a new
version of the same file or stream passes its checks, or a person releases it
(:func:`release_batch`, ``cxscore quality release``). While anything is open, no entry point
builds: ``cxscore build`` / ``run``, ``cx_scorecard``'s gate task (asset-triggered, daily,
backfill, re-run) all call :func:`enforce_gate`, which raises QualityGateFailed (exit 3)
naming the open batches and what to do. A batch that was never checked is checked first
(``enforce_gate`` runs the raw checks when the gate lists unchecked batches), so nothing is
built unchecked.

Alerts: a batch entering quarantine and a quarantine closing (released, superseded or
passing) are alerted once each (state in ``quality.alert_state``, keys ``quarantine|<id>``),
next to the per-check alerts of :mod:`cxscore.alerts`.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cxscore.errors import CxError, QualityGateFailed
from cxscore.settings import ConfigError, Settings

if TYPE_CHECKING:
    from cxscore.quality.results import CheckOutcome
    from cxscore.quality.suites import Suite

log = logging.getLogger(__name__)

BLOCKING_KINDS = ("quarantine", "table")
QUARANTINE_KEY = "quarantine|"

_GATE_SQL = """
    select kind, batch_id, source, stream, suite, table_name, expectation, column_name,
           observed_value, threshold, run_id, checked_at, loaded_at
    from quality.gate
    order by kind, batch_id nulls first, suite, expectation, column_name
"""


@dataclass
class GateState:
    """What quality.gate holds now."""

    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocking(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i["kind"] in BLOCKING_KINDS]

    @property
    def unchecked(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i["kind"] == "unchecked"]

    @property
    def quarantined(self) -> dict[int, list[dict[str, Any]]]:
        """Open quarantines: batch id -> its failed critical expectations."""
        found: dict[int, list[dict[str, Any]]] = {}
        for item in self.items:
            if item["kind"] == "quarantine":
                found.setdefault(int(item["batch_id"]), []).append(item)
        return found

    @property
    def is_open(self) -> bool:
        return bool(self.blocking)

    def for_sources(self, sources: list[str]) -> GateState:
        """The items of these sources (a table-level failure belongs to its table's source)."""
        from cxscore.registry import RAW_TABLES

        tables = {f"raw.{t}" for s in sources for t in RAW_TABLES.get(s, ())}
        return GateState(
            [i for i in self.items if i["source"] in sources or i["table_name"] in tables]
        )

    def summary(self) -> dict[str, Any]:
        return {
            "open": self.is_open,
            "quarantined_batches": sorted(self.quarantined),
            "table_failures": [_line(i) for i in self.items if i["kind"] == "table"],
            "unchecked_batches": sorted(int(i["batch_id"]) for i in self.unchecked),
            "items": [
                {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in i.items()}
                for i in self.items
            ],
        }

    def describe(self) -> str:
        """The human text `cxscore quality status` prints (and every blocked run)."""
        if not self.items:
            return "quality gate: open, nothing holds the scorecard back"
        lines = []
        if self.is_open:
            lines.append(
                f"quality gate: CLOSED: {len(self.quarantined)} quarantined load batch(es), "
                f"{sum(1 for i in self.items if i['kind'] == 'table')} table-level failure(s)"
                " hold the scorecard back"
            )
        else:
            lines.append("quality gate: open")
        for batch_id, failures in sorted(self.quarantined.items()):
            first = failures[0]
            lines.append(
                f"  batch {batch_id} ({first['source']}/{first['stream']}, loaded "
                f"{_when(first['loaded_at'])}): quarantined since run {first['run_id']}"
            )
            lines += [f"    - {_line(f)}" for f in failures[:10]]
            if len(failures) > 10:
                lines.append(f"    - ... and {len(failures) - 10} more")
        for item in self.items:
            if item["kind"] == "table":
                lines.append(f"  table check (run {item['run_id']}): {_line(item)}")
        for item in self.unchecked:
            lines.append(
                f"  batch {item['batch_id']} ({item['source']}/{item['stream']}): "
                f"{item['observed_value']}; it is checked before any build"
            )
        if self.is_open:
            from cxscore.quality.alerts import what_to_do

            lines += what_to_do(sorted(self.quarantined))
        return "\n".join(lines)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else "?"


def _line(item: dict[str, Any]) -> str:
    column = f" ({item['column_name']})" if item.get("column_name") else ""
    return (
        f"{item['expectation']}{column} on {item['table_name']}: observed "
        f"{item['observed_value']}; expected {item['threshold']}"
    )


def gate_state(url: str) -> GateState:
    """Read quality.gate."""
    from cxscore.quality.runner import ensure_gate_objects
    from cxscore.warehouse import transaction

    ensure_gate_objects(url)
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute(_GATE_SQL)
        cols = [d[0] for d in cur.description or []]
        return GateState([dict(zip(cols, row, strict=True)) for row in cur.fetchall()])


def _raw_suites(settings: Settings) -> dict[str, Suite]:
    """The raw-stage suites of the raw tables, by name."""
    from cxscore.quality.suites import load_suites

    return {
        name: suite
        for name, suite in load_suites(settings, datetime.now(UTC)).items()
        if suite.stage == "raw" and suite.schema == "raw"
    }


def raw_suites_of(settings: Settings, sources: list[str]) -> list[str]:
    """The raw-stage suites whose table one of these sources loads."""
    from cxscore.registry import RAW_TABLES

    tables = {t for s in sources for t in RAW_TABLES.get(s, ())}
    return [name for name, suite in _raw_suites(settings).items() if suite.table in tables]


def run_raw_checks(
    settings: Settings,
    *,
    url: str,
    run_id: str,
    sources: list[str] | None = None,
    suites: list[str] | None = None,
) -> tuple[CheckOutcome, GateState]:
    """The raw checks (all raw suites, the suites of ``sources``, or the named ``suites``),
    then the quarantine alerts; returns the outcome and the gate as it stands after them."""
    from cxscore.quality.runner import run_checks

    if sources is not None and suites is None:
        suites = raw_suites_of(settings, sources)
        if not suites:
            state = gate_state(url)
            return _empty_outcome(run_id), state
    outcome = run_checks(settings, suites=suites, stage="raw", url=url, run_id=run_id)
    return outcome, _gate_with_alerts(settings, url, run_id, outcome)


def _gate_with_alerts(
    settings: Settings, url: str, run_id: str, outcome: CheckOutcome
) -> GateState:
    """The gate after the raw checks, its quarantine alerts sent (counted in ``outcome``)."""
    state = gate_state(url)
    sent, errors = sync_quarantine_alerts(settings, url, run_id, state)
    outcome.alerts_sent += sent
    outcome.alert_errors += errors
    return state


def _import_gx_quietly() -> None:
    """Import GX ahead of the checks; a failure is left for the checks to report."""
    from cxscore.quality.runner import import_gx

    try:
        import_gx()
    except Exception:  # the checks import it again and say why
        log.debug("importing Great Expectations ahead of the checks failed", exc_info=True)


_RAW_REFERENCE = re.compile(r"\braw\.([a-z0-9_]+)")


def raw_tables_read(suite: Suite) -> set[str]:
    """The raw tables a suite reads: its own and every ``raw.<table>`` its file names (a
    cross-source SQL check reads other sources' tables; a name in a comment only delays
    the suite)."""
    text = suite.path.read_text(encoding="utf-8") if suite.path.is_file() else ""
    return {suite.table, *_RAW_REFERENCE.findall(text)}


class EarlyRawChecks:
    """The raw checks of ``cxscore run``, started while the sources still load.

    When a source's extract ends (:meth:`source_done`), every raw suite whose tables are
    all final (each configured source that loads one of them has ended) is validated in a
    background thread, one group at a time, while the other sources load: the first load's
    longest source (Zendesk, pages one after another) left one of 2 cores idle for its last
    half minute. A suite that reads another source's table (the survey link check reads
    tickets and contacts) waits for that source; the sentiment scores, which three sources
    write, for all three. :meth:`finish` waits for them, validates the rest and returns the
    run's outcome and the gate: the same suites on the same batches as checking them all
    after the extract (the per-source ``check`` tasks of cx_ingest do the same)."""

    def __init__(self, settings: Settings, *, url: str, run_id: str, sources: list[str]):
        from concurrent.futures import ThreadPoolExecutor

        from cxscore.registry import RAW_TABLES

        self.settings, self.url, self.run_id = settings, url, run_id
        self._reads = {
            name: raw_tables_read(suite) for name, suite in _raw_suites(settings).items()
        }
        self._pending = list(self._reads)
        self._loaders = {
            table: {s for s in sources if table in RAW_TABLES.get(s, ())}
            for tables in self._reads.values()
            for table in tables
        }
        self._ended: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cx-early-checks")
        # its first job imports GX (3-5 s), so no suite waits for it and no two threads
        # import it at once
        self._pool.submit(_import_gx_quietly)
        self._jobs: list[Any] = []
        self.started: list[str] = []  # the suites handed to the background thread

    def source_done(self, source: str) -> None:
        """``source`` has ended (loaded or failed): start the suites it was the last wait
        of."""
        from cxscore.quality.runner import run_checks

        self._ended.add(source)
        ready = [
            name
            for name in self._pending
            if all(self._loaders.get(t, set()) <= self._ended for t in self._reads[name])
        ]
        if not ready:
            return
        self._pending = [name for name in self._pending if name not in ready]
        self.started += ready
        log.info("raw checks while the other sources load: %s", ", ".join(ready))
        self._jobs.append(
            self._pool.submit(
                run_checks, self.settings, suites=ready, stage="raw", url=self.url,
                run_id=self.run_id,
            )
        )  # fmt: skip

    def finish(self) -> tuple[CheckOutcome, GateState]:
        """Wait for the early suites (the first error is raised), validate the others, then
        the quarantine alerts (as :func:`run_raw_checks`)."""
        from cxscore.quality.results import CheckOutcome
        from cxscore.quality.runner import run_checks

        try:
            done = [job.result() for job in self._jobs]
        finally:
            self.close()
        if self._pending:
            done.append(
                run_checks(
                    self.settings, suites=self._pending, stage="raw", url=self.url,
                    run_id=self.run_id,
                )
            )  # fmt: skip
        outcome = CheckOutcome(run_id=self.run_id, stage="raw")
        for part in done:
            outcome.results += part.results
            outcome.batches.update(part.batches)
            outcome.seconds += part.seconds
            outcome.alerts_sent += part.alerts_sent
            outcome.alert_errors += part.alert_errors
        return outcome, _gate_with_alerts(self.settings, self.url, self.run_id, outcome)

    def close(self) -> None:
        """No new suite starts; one that is running ends on its own (a run interrupted
        during the extract)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _empty_outcome(run_id: str) -> CheckOutcome:
    from cxscore.quality.results import CheckOutcome

    return CheckOutcome(run_id=run_id, stage="raw")


def enforce_gate(
    settings: Settings, *, url: str, run_id: str, sources: list[str] | None = None
) -> dict[str, Any]:
    """The quality gate, the one place that decides: raise QualityGateFailed (exit code 3)
    while anything holds the data back.

    ``sources=None`` (the scorecard: ``cxscore run``/``build``, cx_scorecard): every load
    batch counts. Batches that were never checked (a check task that failed or did not run)
    are checked first, so the answer covers every loaded batch; load batches left
    ``running`` by a dead process are closed first (they would hold the build's watermark
    back). Returns the gate summary when the scorecard may be built.

    ``sources=[...]`` (the ``check`` task of a source in cx_ingest): the raw suites of those
    sources run now (new batches, and their quarantined ones again), and only their batches
    count: one source's quarantine never stops another's publication."""
    if sources is not None:
        outcome, state = run_raw_checks(settings, url=url, run_id=run_id, sources=sources)
        log.log(
            logging.WARNING if outcome.critical_failures else logging.INFO, "%s", outcome.describe()
        )
        held = state.for_sources(sources)
        if outcome.critical_failures or held.is_open:
            raise QualityGateFailed(
                f"{', '.join(sources)}: critical raw check(s) failed in run {run_id}; its raw "
                f"Assets are not published and the scorecard is not rebuilt.\n{held.describe()}"
            )
        return {**outcome.summary(), "gate_open_elsewhere": state.is_open}
    from cxscore.load.batches import close_stale_batches

    close_stale_batches(url)
    state = gate_state(url)
    if state.unchecked:
        log.info(
            "quality gate: %d load batch(es) were never checked; checking them before the "
            "build: %s",
            len(state.unchecked),
            sorted(int(i["batch_id"]) for i in state.unchecked),
        )
        _, state = run_raw_checks(settings, url=url, run_id=run_id)
    if state.is_open:
        raise QualityGateFailed(f"run {run_id}: the scorecard is not rebuilt.\n{state.describe()}")
    return {"gate": "open", "run_id": run_id, "unchecked_batches": len(state.unchecked)}


# --------------------------------------------------------------------------- releases


def current_user() -> str:
    """Who releases, when no --user is given: the operating-system login."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "unknown"


def release_batch(
    settings: Settings,
    *,
    url: str,
    batch_id: int,
    reason: str,
    user: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Release a quarantined batch by hand: recorded in quality.releases (who, when, why,
    the failures it accepted); the quarantine-closed alert goes out. Raises ConfigError
    (exit 2) for an empty reason and CxError when the batch is not quarantined."""
    import json

    from cxscore.warehouse import transaction

    reason = (reason or "").strip()
    if not reason:
        raise ConfigError("--reason is required: say why this batch may be built as it is")
    state = gate_state(url)
    failures = state.quarantined.get(batch_id)
    if failures is None:
        open_ids = sorted(state.quarantined)
        raise CxError(
            f"batch {batch_id} is not quarantined; open quarantines: "
            f"{', '.join(map(str, open_ids)) or 'none'} (cxscore quality status)"
        )
    who = user or current_user()
    accepted = [{k: _jsonable(v) for k, v in f.items() if k != "kind"} for f in failures]
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute(
            "insert into quality.releases (batch_id, released_by, reason, failures) "
            "values (%s, %s, %s, %s) returning release_id, released_at",
            (batch_id, who, reason, json.dumps(accepted)),
        )
        row = cur.fetchone()
    assert row is not None
    after = gate_state(url)
    sent, errors = sync_quarantine_alerts(settings, url, run_id or f"release__{row[0]}", after)
    return {
        "batch_id": batch_id,
        "release_id": int(row[0]),
        "released_by": who,
        "released_at": row[1].isoformat(),
        "reason": reason,
        "failures_accepted": len(failures),
        "gate_open": not after.is_open,
        "still_quarantined": sorted(after.quarantined),
        "alerts_sent": sent,
        "alert_errors": errors,
    }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# --------------------------------------------------------------------------- alerts


def sync_quarantine_alerts(
    settings: Settings, url: str, run_id: str, state: GateState | None = None
) -> tuple[int, list[str]]:
    """Alert batches that entered quarantine and quarantines that closed since the last
    call (once each; state in quality.alert_state). Never raises: alerting must not hide
    the gate's answer. Returns (alerts sent, delivery errors)."""
    import psycopg2

    try:
        return _sync_quarantine_alerts(settings, url, run_id, state or gate_state(url))
    except (psycopg2.Error, CxError) as exc:
        log.error("quarantine alerts could not be evaluated: %s", exc)
        return 0, [f"quarantine alert state: {type(exc).__name__}"]


def _sync_quarantine_alerts(
    settings: Settings, url: str, run_id: str, state: GateState
) -> tuple[int, list[str]]:
    from cxscore.alerts import send_alert
    from cxscore.quality.alerts import build_quarantine_alert
    from cxscore.warehouse import transaction

    open_now = state.quarantined
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('cxscore.alert_state'))")
        cur.execute(
            "select check_key from quality.alert_state where check_key like %s and failing",
            (QUARANTINE_KEY + "%",),
        )
        was_open = {int(str(k).split("|", 1)[1]) for (k,) in cur.fetchall()}
        opened = sorted(set(open_now) - was_open)
        closed = sorted(was_open - set(open_now))
        for batch_id in opened + closed:
            cur.execute(
                "insert into quality.alert_state (check_key, failing, since, last_run_id, "
                "last_alerted_at) values (%s, %s, now(), %s, now()) on conflict (check_key) "
                "do update set failing = excluded.failing, since = now(), "
                "last_run_id = excluded.last_run_id, last_alerted_at = now()",
                (f"{QUARANTINE_KEY}{batch_id}", batch_id in open_now, run_id),
            )
        why_closed = {b: _closing_reason(cur, b) for b in closed}
    sent, errors = 0, []
    for batch_id in opened:
        alert = build_quarantine_alert(
            settings, batch_id=batch_id, failures=open_now[batch_id], run_id=run_id
        )
        errors += send_alert(settings, alert)
        sent += 1
    for batch_id in closed:
        alert = build_quarantine_alert(
            settings, batch_id=batch_id, failures=[], run_id=run_id, closed=why_closed[batch_id]
        )
        errors += send_alert(settings, alert)
        sent += 1
    return sent, errors


def _first_row(cur: Any, sql: str, batch_id: int) -> tuple[Any, ...] | None:
    cur.execute(sql, (batch_id,))
    row: tuple[Any, ...] | None = cur.fetchone()
    return row


def _closing_reason(cur: Any, batch_id: int) -> str:
    released = _first_row(
        cur,
        "select released_by, released_at, reason from quality.releases where batch_id = %s "
        "order by release_id desc limit 1",
        batch_id,
    )
    if released is not None:
        return f"released by {released[0]} at {_when(released[1])}: {released[2]}"
    superseded = _first_row(
        cur,
        "select observed_value from quality.check_results where batch_id = %s "
        "and expectation = 'quarantine_superseded' order by result_id desc limit 1",
        batch_id,
    )
    if superseded is not None:
        return str(superseded[0])
    return "its checks passed when run again"
