"""Checked before published: the marts BI reads change only with a build that passed.

dbt builds the marts into the internal schema ``marts_build`` (no BI access; the incremental
state lives there). The scorecard checks run on that candidate. Only when none of their
critical expectations failed, :func:`publish_marts` copies every relation of
``marts_build`` into ``marts`` in ONE transaction: a reader of ``marts`` (the
``cx_bi_reader`` role) sees either the previous good build or the new one, never a mix and
never a build that failed its checks. A failed check leaves ``marts`` as it was.

The copy keeps each table's definition (columns, types, NOT NULL, indexes, comments:
``CREATE TABLE .. (LIKE .. INCLUDING ALL)``); a view of the build is published as a table
(a snapshot of the checked build, not a live query on the unchecked schema). Cost: one
``INSERT .. SELECT`` per mart (docs/performance.md, "Publish"). This step is PostgreSQL
SQL; on a warehouse with zero-copy clones the same contract is a clone + swap.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

BUILD_SCHEMA = "marts_build"  # where dbt builds the marts (internal)
PUBLISHED_SCHEMA = "marts"  # what BI reads: only checked builds
BI_ROLE = "cx_bi_reader"

# dbt's own scratch relations (an interrupted build can leave them behind)
_SCRATCH_SUFFIXES = ("__dbt_tmp", "__dbt_backup")


def _build_relations(cur: Any) -> list[tuple[str, str]]:
    """(name, kind) of every table or view dbt built into the build schema."""
    cur.execute(
        """
        select c.relname, c.relkind from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p')
        order by c.relname
        """,
        (BUILD_SCHEMA,),
    )
    return [
        (str(name), str(kind))
        for name, kind in cur.fetchall()
        if not any(str(name).endswith(s) for s in _SCRATCH_SUFFIXES) and "__dbt_tmp" not in name
    ]


def _published_relations(cur: Any) -> dict[str, str]:
    cur.execute(
        """
        select c.relname, c.relkind from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p')
        """,
        (PUBLISHED_SCHEMA,),
    )
    return {str(name): str(kind) for name, kind in cur.fetchall()}


def _previously_published(cur: Any) -> set[str]:
    cur.execute("select relations from meta.published_builds order by publish_id desc limit 1")
    row = cur.fetchone()
    return set((row[0] or {}).keys()) if row else set()


def publish_marts(url: str, *, run_id: str | None = None) -> dict[str, Any]:
    """Copy the checked build (``marts_build``) to ``marts`` in one transaction.

    Only the newest dbt build (``meta.dbt_builds``) is published, and only when the
    scorecard checks passed on it (:func:`cxscore.pipeline.check_scorecard` records the
    verdict): a build that changed ``marts_build`` after the checks ran is refused
    (QualityGateFailed, exit 3). Relations that an earlier publish created and that the
    build no longer has are dropped; anything else in ``marts`` is left alone. Returns
    {"relations": {name: rows}, "seconds"}. Raises CxError when the build schema holds
    nothing. The caller holds the build lock (cxscore.locks).
    """
    import psycopg2.errors
    from psycopg2 import sql

    from cxscore.errors import CxError, QualityGateFailed
    from cxscore.warehouse import transaction

    started = time.monotonic()
    published: dict[str, int] = {}
    with transaction(url) as conn, conn.cursor() as cur:
        # one publisher at a time; readers keep seeing the previous build until commit
        cur.execute("select pg_advisory_xact_lock(hashtext('cxscore.publish'))")
        cur.execute(
            "select build_id, checks_passed, checked_run_id from meta.dbt_builds "
            "order by build_id desc limit 1"
        )
        build = cur.fetchone()
        if build is None or build[1] is not True:
            state = (
                "no build was recorded"
                if build is None
                else f"build {build[0]} was never checked"
                if build[1] is None
                else f"build {build[0]} failed its scorecard checks (run {build[2]})"
            )
            raise QualityGateFailed(
                f"not published: {state}; marts keeps the last good build. Only a build "
                "whose critical scorecard checks passed is published (cxscore build)."
            )
        relations = _build_relations(cur)
        if not relations:
            raise CxError(
                f"nothing to publish: schema {BUILD_SCHEMA} holds no built marts "
                "(run the dbt build first: cxscore build)"
            )
        existing = _published_relations(cur)
        stale = (_previously_published(cur) & set(existing)) - {n for n, _ in relations}
        for name in sorted(stale):
            drop = "view" if existing[name] == "v" else "table"
            cur.execute(
                sql.SQL("drop {} if exists {}").format(
                    sql.SQL(drop), sql.Identifier(PUBLISHED_SCHEMA, name)
                )
            )
        for name, _kind in relations:
            target = sql.Identifier(PUBLISHED_SCHEMA, name)
            source = sql.Identifier(BUILD_SCHEMA, name)
            if name in existing:
                drop = "view" if existing[name] == "v" else "table"
                try:
                    cur.execute(sql.SQL("drop {} {}").format(sql.SQL(drop), target))
                except psycopg2.errors.DependentObjectsStillExist as exc:
                    raise CxError(
                        f"cannot publish {PUBLISHED_SCHEMA}.{name}: other objects depend on "
                        f"it ({str(exc).strip().splitlines()[-1]}); build views on the marts "
                        "in another schema, or as dbt models"
                    ) from exc
            cur.execute(sql.SQL("create table {} (like {} including all)").format(target, source))
            cur.execute(sql.SQL("insert into {} select * from {}").format(target, source))
            published[name] = int(cur.rowcount)
            cur.execute(
                "select obj_description(to_regclass(%s), 'pg_class')", (f"{BUILD_SCHEMA}.{name}",)
            )
            comment = cur.fetchone()
            if comment and comment[0]:
                cur.execute(
                    sql.SQL("comment on table {} is {}").format(target, sql.Literal(comment[0]))
                )
            cur.execute(sql.SQL("grant select on {} to {}").format(target, sql.Identifier(BI_ROLE)))
        seconds = round(time.monotonic() - started, 2)
        cur.execute(
            "insert into meta.published_builds (run_id, relations, seconds, build_id) "
            "values (%s, %s, %s, %s)",
            (run_id, json.dumps(published), seconds, build[0]),
        )
        cur.execute(
            "update meta.dbt_builds set published_at = now() where build_id = %s", (build[0],)
        )
    log.info(
        "published %d marts (%d rows) from %s to %s in %.1f s",
        len(published),
        sum(published.values()),
        BUILD_SCHEMA,
        PUBLISHED_SCHEMA,
        seconds,
    )
    return {"relations": published, "seconds": seconds}
