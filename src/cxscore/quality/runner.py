"""Run the suites with Great Expectations (GX Core 1.x) on the warehouse, SQL pushed down.

GX is imported here lazily, once per process, and one ephemeral context with one PostgreSQL
data source serves every suite of a run. Per suite:

1. does the table exist? (a missing table is a failed ``expect_table_to_exist`` result);
2. ``table`` scope: schema checks and whole-table SQL (freshness, volume, missing days) on a
   table asset;
3. ``batch`` scope: every load batch not yet checked for this suite (``meta.load_batches``
   rows whose ``_batch_id`` has rows in the table and no result in quality.check_results)
   is validated on its own query asset, so yesterday's good rows cannot hide today's gap;
4. quarantined batches (``quality.gate``, kind ``quarantine``) are looked at again: one
   with no rows left (its files were replaced by new versions), or a stream batch (Zendesk)
   followed by a later batch of the same stream that passed, is closed with a passing
   ``quarantine_superseded`` result; any other is validated again (a partly replaced batch
   may pass now). A batch released by a person is no longer quarantined.

Results are appended to quality.check_results; alerts go out on state changes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cxscore.quality.results import (
    MAX_DETAIL_ROWS,
    CheckOutcome,
    CheckResult,
    result_of,
    superseded_result,
    write_results,
)
from cxscore.quality.suites import STAGES, ExpectationSpec, Suite, load_suites
from cxscore.settings import ConfigError, Settings

if TYPE_CHECKING:
    from types import ModuleType

log = logging.getLogger(__name__)


def import_gx() -> ModuleType:
    """Import great_expectations quietly (about 10 s the first time in a process)."""
    for name in ("great_expectations", "great_expectations._docs_decorators"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    # some GX modules pin their own logger to INFO at import time
    for name, item in list(logging.root.manager.loggerDict.items()):
        if not (name.startswith("great_expectations") and isinstance(item, logging.Logger)):
            continue
        if 0 < item.level < logging.WARNING:
            item.setLevel(logging.WARNING)
    return gx


def run_checks(
    settings: Settings,
    *,
    suites: list[str] | None = None,
    stage: str = "raw",
    url: str | None = None,
    run_id: str | None = None,
    alert: bool = True,
) -> CheckOutcome:
    """Validate the suites of ``stage`` (or the named ``suites``); record and alert.

    Returns the outcome; what a critical failure stops is the gate's decision
    (:func:`cxscore.quality.gate.enforce_gate`; the scorecard checks: ``check_scorecard``).
    """
    from cxscore.runs import new_run_id
    from cxscore.warehouse import ensure_warehouse

    started = time.monotonic()
    # microseconds kept: the latest check of a batch is the one with the newest checked_at
    now = datetime.now(UTC)
    if stage not in STAGES:
        raise ConfigError(f"unknown check stage {stage!r}; choose one of {', '.join(STAGES)}")
    available = load_suites(settings, now)
    if suites:
        unknown = [s for s in suites if s not in available]
        if unknown:
            raise ConfigError(
                f"unknown suite(s) {', '.join(unknown)}; the suites are: "
                f"{', '.join(available)} (files in the expectations folder)"
            )
        selected = [available[s] for s in suites]
    else:
        selected = [s for s in available.values() if s.stage == stage]
    run_id = run_id or new_run_id("check")
    url = url or ensure_warehouse(settings)
    ensure_gate_objects(url)
    outcome = CheckOutcome(run_id=run_id, stage=stage)

    done = _validate_suites(
        url, selected, timezone=settings.business_timezone, workers=settings.quality.parallel_suites
    )
    for suite in selected:  # in suite order, however they ran
        results, batches = done[suite.name]
        outcome.results.extend(results)
        outcome.batches[suite.name] = batches
    write_results(url, run_id, outcome.results, now)
    outcome.seconds = time.monotonic() - started
    log.info("quality checks %s: %s", run_id, outcome.describe())
    if alert:
        import psycopg2

        from cxscore.errors import CxError
        from cxscore.quality.alerts import alert_on_check_changes

        try:
            sent, errors = alert_on_check_changes(settings, outcome, url=url)
        except (psycopg2.Error, CxError) as exc:  # alerting must not hide the results
            log.error("alerting failed (quality.alert_state): %s", exc)
            sent, errors = 0, [f"alert state: {type(exc).__name__}: {exc}"]
        outcome.alerts_sent = sent
        outcome.alert_errors = errors
    outcome.seconds = time.monotonic() - started
    return outcome


def _validate_suites(
    url: str, suites: list[Suite], *, timezone: str, workers: int
) -> dict[str, tuple[list[CheckResult], list[int]]]:
    """Run each suite once; with ``workers`` > 1, that many at a time in threads, each with
    its own validator (GX context, engine and connections), taking the suites of the
    largest tables first: the work is the warehouse's, and one validator left one of 2
    cores idle for a third of a first run's checks (docs/performance.md). The validators
    are made and closed in this thread (GX and SQLAlchemy register them globally)."""
    workers = max(1, min(workers, len(suites)))
    if workers == 1:
        validator = _Validator(url, timezone=timezone)
        try:
            return {suite.name: _run_suite(validator, suite) for suite in suites}
        finally:
            validator.close()
    pending = queue.SimpleQueue[Suite]()
    for suite in _largest_first(url, suites):
        pending.put(suite)
    done: dict[str, tuple[list[CheckResult], list[int]]] = {}

    def work(validator: _Validator) -> None:
        while True:
            try:
                suite = pending.get_nowait()
            except queue.Empty:
                return
            done[suite.name] = _run_suite(validator, suite)

    validators: list[_Validator] = []
    try:
        for _ in range(workers):
            validators.append(_Validator(url, timezone=timezone))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cx-checks") as pool:
            for future in [pool.submit(work, v) for v in validators]:
                future.result()  # the first error of a suite is the run's
    finally:
        for validator in validators:
            validator.close()
    return done


def _run_suite(validator: _Validator, suite: Suite) -> tuple[list[CheckResult], list[int]]:
    started = time.monotonic()
    results, batches = validator.run_suite(suite)
    log.info(
        "suite %s: %d result(s), %d batch(es) in %.1f s",
        suite.name,
        len(results),
        len(batches),
        time.monotonic() - started,
    )
    return results, batches


def _largest_first(url: str, suites: list[Suite]) -> list[Suite]:
    """The suites by the size of their tables on disk, largest first (a missing table: 0)."""
    from cxscore.warehouse import transaction

    names = [suite.qualified_table for suite in suites]
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select name, coalesce(pg_total_relation_size(to_regclass(name)), 0) "
            "from unnest(%s::text[]) as name",
            (names,),
        )
        size = dict(cur.fetchall())
    return sorted(suites, key=lambda suite: -size.get(suite.qualified_table, 0))


def ensure_gate_objects(url: str) -> None:
    """A warehouse initialised before the gate existed gets its objects (idempotent)."""
    from cxscore.warehouse import init_warehouse, transaction

    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select to_regclass('quality.gate') is null or to_regclass('meta.dbt_builds') is null"
        )
        row = cur.fetchone()
    if row is not None and row[0]:
        init_warehouse(url)


class _Validator:
    """One GX context and data source for a whole run."""

    def __init__(self, url: str, *, timezone: str) -> None:
        from cxscore.warehouse import WarehouseError, redact_url, sqlalchemy_url

        self.url = url
        self.timezone = timezone  # the business days the day-count templates judge
        self.gx = import_gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context = self.gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        from great_expectations.datasource.fluent.interfaces import TestConnectionError

        connection = sqlalchemy_url(url)
        try:
            if urlsplit(connection).hostname:
                self.source = self.context.data_sources.add_postgres(
                    name="cx_warehouse", connection_string=connection
                )
            else:  # Unix socket (the embedded server): GX's PostgresDsn demands a host name
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "a PostgresDatasource may be better"
                    self.source = self.context.data_sources.add_sql(
                        name="cx_warehouse", connection_string=connection
                    )
        except TestConnectionError as exc:
            raise WarehouseError(
                f"Great Expectations cannot connect to the warehouse at {redact_url(url)}: "
                f"{str(exc).strip().splitlines()[0]}"
            ) from exc
        self._bare_queries: set[str] = set()
        self._limit_column_probes()

    def _limit_column_probes(self) -> None:
        """GX learns a query asset's column names by executing the bare query and reading
        the result's keys (``column_reflection_fallback``); psycopg2 would first pull the
        whole batch to the client. That one statement (exactly our asset's query text) gets
        LIMIT 0: same columns, no rows. Every metric query wraps the asset's query, so none
        is touched. GX builds its engines internally: the hook is on the Engine class and
        removed in close()."""
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        bare = self._bare_queries

        def probe_without_rows(
            conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
        ) -> tuple[str, Any]:
            if statement.strip() in bare:
                return f"{statement.strip()} LIMIT 0", params
            return statement, params

        event.listen(Engine, "before_cursor_execute", probe_without_rows, retval=True)
        self._probe_hook = probe_without_rows

    def close(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.remove(Engine, "before_cursor_execute", self._probe_hook)
        engine = getattr(self.source, "_cached_engine", None) or self.source.get_engine()
        engine.dispose()

    # ------------------------------------------------------------------ queries
    def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        from cxscore.warehouse import transaction

        with transaction(self.url) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def _table_exists(self, suite: Suite) -> bool:
        rows = self._fetch("select to_regclass(%s) is not null", (suite.qualified_table,))
        return bool(rows[0][0])

    def _new_batches(self, suite: Suite) -> list[int]:
        """Finished load batches with rows in the table and no result yet for this suite."""
        assert suite.batch_column is not None
        sql = (
            "select b.batch_id from meta.load_batches b "
            "where b.status <> 'running' "
            "and not exists (select 1 from quality.check_results r "
            "                where r.suite = %s and r.batch_id = b.batch_id) "
            f"and exists (select 1 from {suite.qualified_table} t "
            f"            where t.{suite.batch_column} = b.batch_id) "
            "order by b.batch_id"
        )
        return [int(row[0]) for row in self._fetch(sql, (suite.name,))]

    # ------------------------------------------------------------------ suites
    def run_suite(self, suite: Suite) -> tuple[list[CheckResult], list[int]]:
        exists = self._table_exists(suite)
        results = [
            CheckResult.of(
                suite,
                expectation="expect_table_to_exist",
                column_name=None,
                severity="critical",
                success=exists,
                observed_value="present" if exists else "missing",
                threshold="present",
                batch_id=None,
                details={}
                if exists
                else {
                    "message": f"table {suite.qualified_table} does not exist; "
                    + (
                        "run the dbt build (cxscore build) first"
                        if suite.stage == "marts"
                        else "run cxscore warehouse init"
                    )
                },
            )
        ]
        if not exists:
            return results, []
        table_specs = suite.scoped("table")
        if table_specs:
            with warnings.catch_warnings():
                # GX 1.14 deprecates schema_name for "the schema in the datasource's connection
                # configuration", which its PostgreSQL datasource does not have (schema_ is
                # None) and which could not serve suites in several schemas; the argument
                # still works, and its removal would fail every check test loudly
                warnings.filterwarnings(
                    "ignore", "`schema_name` is deprecated", category=DeprecationWarning
                )
                asset = self.source.add_table_asset(
                    name=f"{suite.name}__table",
                    table_name=suite.table,
                    schema_name=suite.checked_schema,
                )
            batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
            results += self._validate(suite, batch, table_specs, None)
        results += self._validate_days(suite, suite.scoped("days"))
        batch_specs = suite.scoped("batch")
        batches = self._new_batches(suite) if batch_specs else []
        passed: dict[int, bool] = {}
        for batch_id in batches:
            found = self._validate_batch(suite, batch_specs, batch_id)
            passed[batch_id] = not any(r.severity == "critical" and not r.success for r in found)
            results += found
        rechecked = []
        for batch_id, source, stream in self._quarantined(suite) if batch_specs else []:
            if batch_id in passed:
                continue
            rechecked.append(batch_id)
            results += self._recheck(suite, batch_specs, batch_id, source, stream, passed)
        return results, batches + rechecked

    def _validate_batch(
        self, suite: Suite, specs: list[ExpectationSpec], batch_id: int
    ) -> list[CheckResult]:
        name = f"{suite.name}__batch_{batch_id}"
        batch = self._query_batch(name, self._batch_query(suite, batch_id))
        sql_batch = None
        if any(spec.reads_plain_rows for spec in specs) and (
            suite.derived or suite.decompress_payload
        ):
            sql_batch = self._query_batch(
                f"{name}__sql", self._batch_query(suite, batch_id, sql=True)
            )
        return self._validate(suite, batch, specs, batch_id, sql_batch=sql_batch)

    def _batch_query(self, suite: Suite, batch_id: int, *, sql: bool = False) -> str:
        """The rows of one load batch with the suite's derived columns.

        For GX's column expectations, ``OFFSET 0`` keeps PostgreSQL from inlining this query
        into each metric query, so a derived column is computed once per row, not once for
        every metric that reads it (a null check and a range check each do); and with
        ``decompress_payload`` the jsonb record is read from an in-memory copy made once per
        row, not decompressed again for every field read. The SQL checks and the uniqueness
        expectations (``sql=True``) read the plain query: they use few columns, a fenced
        subquery cannot be scanned in parallel, and GX's uniqueness query reads the batch
        twice (rows joined with their grouped keys), which computed every derived column
        of every row twice (docs/quality.md, "Per-batch validation")."""
        derived = "".join(f", ({expr}) as {name}" for name, expr in suite.derived.items())
        rows = f"{suite.qualified_table} AS t WHERE t.{suite.batch_column} = {int(batch_id)}"
        if sql or not (suite.derived or suite.decompress_payload):
            return f"SELECT t.*{derived} FROM {rows}"
        if suite.decompress_payload:
            columns = ", ".join(
                "(case when jsonb_typeof(t.payload) = 'object' "
                "then t.payload || '{}'::jsonb else t.payload end) AS payload"
                if name == "payload"
                else f"t.{_quoted(name)}"
                for name in self._columns(suite)
            )
            rows = f"(SELECT {columns} FROM {rows} OFFSET 0) AS t"
        return f"SELECT t.*{derived} FROM {rows} OFFSET 0"

    def _columns(self, suite: Suite) -> list[str]:
        """The table's column names in order."""
        found = self._fetch(
            "select attname from pg_attribute where attrelid = to_regclass(%s) "
            "and attnum > 0 and not attisdropped order by attnum",
            (suite.qualified_table,),
        )
        return [str(row[0]) for row in found]

    def _query_batch(self, name: str, query: str) -> Any:
        """A GX batch over the rows of ``query`` (a query asset, replaced if it exists; its
        column probe runs with LIMIT 0)."""
        self._bare_queries.add(query)
        if name in {a.name for a in self.source.assets}:
            self.source.delete_asset(name)
        asset = self.source.add_query_asset(name=name, query=query)
        return asset.add_batch_definition_whole_table("whole").get_batch()

    def _validate_days(self, suite: Suite, specs: list[ExpectationSpec]) -> list[CheckResult]:
        """The day-count templates (scope ``days``), per column: bring the column's day
        counts up to date with the new batches, then validate on them (one row per day)."""
        from cxscore.quality.day_counts import counts_query, refresh_day_counts
        from cxscore.warehouse import connect

        assert suite.batch_column is not None or not specs
        results: list[CheckResult] = []
        for column in sorted({str(spec.column) for spec in specs}):
            with contextlib.closing(connect(self.url)) as conn:
                refresh_day_counts(
                    conn,
                    table=suite.qualified_table,
                    column=column,
                    batch_column=str(suite.batch_column),
                    timezone=self.timezone,
                )
            query = counts_query(table=suite.qualified_table, column=column, timezone=self.timezone)
            batch = self._query_batch(f"{suite.name}__days__{column}", query)
            results += self._validate(suite, batch, [s for s in specs if s.column == column], None)
        return results

    def _quarantined(self, suite: Suite) -> list[tuple[int, str, str]]:
        """The batches this suite holds in quarantine (quality.gate), oldest first."""
        rows = self._fetch(
            "select distinct g.batch_id, coalesce(b.source, ''), coalesce(b.stream, '') "
            "from quality.gate g left join meta.load_batches b on b.batch_id = g.batch_id "
            "where g.kind = 'quarantine' and g.suite = %s order by 1",
            (suite.name,),
        )
        return [(int(b), str(src), str(stream)) for b, src, stream in rows]

    def _recheck(
        self,
        suite: Suite,
        specs: list[ExpectationSpec],
        batch_id: int,
        source: str,
        stream: str,
        passed: dict[int, bool],
    ) -> list[CheckResult]:
        """Look at a quarantined batch again: superseded (closed), or validated again."""
        from cxscore.registry import FILE_SOURCES

        assert suite.batch_column is not None
        left = self._fetch(
            f"select count(*) from {suite.qualified_table} where {suite.batch_column} = %s",
            (batch_id,),
        )[0][0]
        if not left:
            return [
                superseded_result(
                    suite,
                    batch_id,
                    f"no rows of batch {batch_id} left in {suite.qualified_table}: "
                    "its file(s) were replaced by a new version",
                )
            ]
        if source and source not in FILE_SOURCES:
            later = self._later_passing_batch(suite, source, stream, batch_id, passed)
            if later is not None:
                return [
                    superseded_result(
                        suite,
                        batch_id,
                        f"superseded by batch {later} of {source}/{stream}, which passed",
                    )
                ]
        return self._validate_batch(suite, specs, batch_id)

    def _later_passing_batch(
        self, suite: Suite, source: str, stream: str, batch_id: int, passed: dict[int, bool]
    ) -> int | None:
        """A later batch of the same stream whose latest check of this suite passed."""
        rows = self._fetch(
            """
            select n.batch_id,
                   exists (select 1 from quality.check_results r
                           where r.suite = %s and r.batch_id = n.batch_id),
                   exists (select 1 from quality.check_results r
                           where r.suite = %s and r.batch_id = n.batch_id
                             and r.severity = 'critical' and not r.success
                             and r.checked_at = (select max(x.checked_at)
                                                 from quality.check_results x
                                                 where x.suite = r.suite
                                                   and x.batch_id = r.batch_id))
            from meta.load_batches n
            where n.source = %s and n.stream = %s and n.batch_id > %s
            order by n.batch_id desc
            """,
            (suite.name, suite.name, source, stream, batch_id),
        )
        for later, checked, failing in rows:
            if int(later) in passed:
                if passed[int(later)]:
                    return int(later)
            elif checked and not failing:
                return int(later)
        return None

    def _validate(
        self,
        suite: Suite,
        batch: Any,
        specs: list[ExpectationSpec],
        batch_id: int | None,
        *,
        sql_batch: Any = None,
    ) -> list[CheckResult]:
        """Validate specs on one GX batch (the SQL and uniqueness expectations on
        ``sql_batch`` if given: ``ExpectationSpec.reads_plain_rows``).

        Column expectations first run in BASIC format without example values: a query for
        examples (LIMIT n) scans the whole batch when there are none, i.e. whenever the
        check passes. Only the failing ones are validated again for up to 20 examples.
        SQL expectations run in COMPLETE format: their few returned rows carry the
        observed values."""
        found: dict[int, CheckResult] = {}
        plain = sql_batch or batch
        lean = {"result_format": "BASIC", "partial_unexpected_count": 0}
        examples = {"result_format": "BASIC", "partial_unexpected_count": MAX_DETAIL_ROWS}
        for rows, reads_plain in ((batch, False), (plain, True)):
            column_specs = [
                (i, s)
                for i, s in enumerate(specs)
                if not s.is_sql and s.reads_plain_rows == reads_plain
            ]
            found.update(self._run(suite, rows, column_specs, lean, batch_id))
            failed = [
                (i, s)
                for i, s in column_specs
                if not found[i].success and "unexpected_count" in found[i].details
            ]
            for index, result in self._run(suite, rows, failed, examples, batch_id).items():
                listed = result.details.get("partial_unexpected_list")
                if listed is not None:
                    found[index].details["partial_unexpected_list"] = listed
        sql_specs = [(i, s) for i, s in enumerate(specs) if s.is_sql]
        found.update(self._run(suite, plain, sql_specs, "COMPLETE", batch_id))
        return [found[i] for i in sorted(found)]

    def _run(
        self,
        suite: Suite,
        batch: Any,
        group: list[tuple[int, ExpectationSpec]],
        result_format: str | dict[str, Any],
        batch_id: int | None,
    ) -> dict[int, CheckResult]:
        if not group:
            return {}
        gx_suite = self.gx.ExpectationSuite(name=f"{suite.name}__{len(group)}")
        for index, spec in group:
            gx_suite.add_expectation(self._expectation(spec, index))
        validation = batch.validate(gx_suite, result_format=result_format)
        specs = dict(group)
        results: dict[int, CheckResult] = {}
        for item in validation.results:
            index = int(item.expectation_config.meta["cx_index"])
            results[index] = result_of(suite, specs[index], item, batch_id)
        return results

    def _expectation(self, spec: ExpectationSpec, index: int) -> Any:
        cls = getattr(self.gx.expectations, spec.gx_class_name, None)
        if cls is None:
            raise ConfigError(
                f"{spec.where}: unknown GX expectation type {spec.type!r} "
                "(use the snake_case name of a GX Core expectation, e.g. "
                "expect_column_values_to_not_be_null, or unexpected_rows_expectation)"
            )
        try:
            return cls(**spec.kwargs, meta={"cx_index": index, "cx_name": spec.name})
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{spec.where}: invalid arguments for {spec.type}: {exc}") from exc


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
