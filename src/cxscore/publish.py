"""Checked before published: the marts BI reads change only with a build that passed.

dbt builds the marts into the internal schema ``marts_build`` (no BI access; the incremental
state lives there). The scorecard checks run on that candidate. Only when none of their
critical expectations failed, :func:`publish_marts` copies every relation of
``marts_build`` into ``marts`` in ONE transaction: a reader of ``marts`` (the
``cx_bi_reader`` role) sees either the previous good build or the new one, never a mix and
never a build that failed its checks. A failed check leaves ``marts`` as it was.

The copy keeps each table's definition (columns, types, NOT NULL, indexes, comments:
``CREATE TABLE .. (LIKE .. INCLUDING ALL)``, the indexes made after the rows are in); a
view of the build is published as a table (a snapshot of the checked build, not a live
query on the unchecked schema). Cost: one ``INSERT .. SELECT`` per mart
(docs/performance.md, "Publish"), except for the incremental facts: a published table with
``_changed_at``, a one-column unique key and the same definition as its build gets only the
rows changed since it was published (and loses the keys the build no longer has), checked
by row count (:func:`_publish_changes`). This step is PostgreSQL SQL; on a warehouse with
zero-copy clones the same contract is a clone + swap.
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

# a table most of whose rows changed (a full refresh) is copied whole: cheaper than
# deleting and inserting nearly all of it
COPY_WHOLE_SHARE = 0.5

# where incremental facts log the keys they removed (dbt macro delete_vanished_facts)
DELETION_LOG = ("intermediate", "cx_deleted_facts")

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


# what must match between a published table and its build for the published copy to be
# brought up to date row by row: columns (name, type, not null, comment), indexes (their
# definition after "USING") and the table's comment
_DEFINITION = """
select 'column', a.attnum::text || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' ' || a.attnotnull::text || ' ' || coalesce(col_description(a.attrelid, a.attnum), '')
from pg_attribute a where a.attrelid = to_regclass(%(rel)s) and a.attnum > 0 and not a.attisdropped
union all
select 'index', i.indisunique::text || substring(pg_get_indexdef(i.indexrelid) from ' USING .*$')
from pg_index i where i.indrelid = to_regclass(%(rel)s)
union all
select 'comment', coalesce(obj_description(to_regclass(%(rel)s), 'pg_class'), '')
order by 1, 2
"""


def _changes_key(cur: Any, name: str) -> str | None:
    """The key of a build table that can be published by its changes, else None.

    Such a table (the incremental facts) has a ``_changed_at`` column, stamped ``now()`` on
    every row a build writes (macro ``select_changed_rows``), a unique index on one column,
    and the same definition as the published copy (a changed model, a new column, index
    or description is published by a whole copy)."""
    cur.execute(
        """
        select a.attname from pg_index i
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        where i.indrelid = to_regclass(%(rel)s) and i.indisunique and i.indnkeyatts = 1
          and i.indexprs is null and i.indpred is null
          and exists (select 1 from pg_attribute c where c.attrelid = i.indrelid
                      and c.attname = '_changed_at' and not c.attisdropped
                      and c.atttypid = 'timestamptz'::regtype)
        order by a.attname limit 1
        """,
        {"rel": f'"{BUILD_SCHEMA}"."{name}"'},
    )
    row = cur.fetchone()
    if row is None:
        return None
    definitions = []
    for schema in (BUILD_SCHEMA, PUBLISHED_SCHEMA):
        cur.execute(_DEFINITION, {"rel": f'"{schema}"."{name}"'})
        definitions.append(cur.fetchall())
    return str(row[0]) if definitions[0] == definitions[1] else None


def _indexes_to_build(cur: Any, name: str) -> list[tuple[bool, str]] | None:
    """The build table's indexes, to create on its published copy after the rows are in:
    one sort per index instead of every inserted row updating every index (a first
    publish of 1.56 M rows at 100,000 customers x 90 days: 15.1 -> 5.2 s). Each as
    (unique, the ``USING ...`` part of its definition). None when an index backs a
    constraint (primary key, unique, exclusion): such a table is copied with its indexes,
    as ``LIKE .. INCLUDING ALL`` makes them."""
    cur.execute(
        """
        select i.indisunique, pg_get_indexdef(i.indexrelid),
               exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
        from pg_index i
        where i.indrelid = to_regclass(quote_ident(%s) || '.' || quote_ident(%s))
        order by i.indexrelid
        """,
        (BUILD_SCHEMA, name),
    )
    indexes: list[tuple[bool, str]] = []
    for unique, definition, backs_constraint in cur.fetchall():
        if backs_constraint or " USING " not in definition:
            return None
        indexes.append((bool(unique), str(definition).split(" USING ", 1)[1]))
    return indexes


def _publish_changes(cur: Any, name: str, key: str) -> tuple[int, int] | None:
    """Bring ``marts.<name>`` up to its build by the rows changed since it was published:
    (rows in the table, rows written or removed), or None when a whole copy is the way
    (nothing published yet, or most rows changed: a full refresh).

    The published copy equals the build as it was at the last publish (nothing else writes
    to ``marts``: BI reads it through a read-only role), so every build row
    not stamped after the newest ``_changed_at`` of the copy is already there, unchanged.
    Those stamped after it replace their keys; then, when the copy holds more rows than the
    build, the keys the build no longer has (a fact deleted upstream) are removed. Equal
    row counts close the proof: the copy holds every key of the build with the build's row,
    and nothing else."""
    from psycopg2 import sql

    published = sql.Identifier(PUBLISHED_SCHEMA, name)
    build = sql.Identifier(BUILD_SCHEMA, name)
    column = sql.Identifier(key)
    cur.execute(sql.SQL("select max(_changed_at) from {}").format(published))
    row = cur.fetchone()
    watermark = row[0] if row else None
    if watermark is None:
        return None
    cur.execute(
        sql.SQL("select count(*), count(*) filter (where _changed_at > %s) from {}").format(build),
        (watermark,),
    )
    total, newer = cur.fetchone()
    if newer > COPY_WHOLE_SHARE * total:
        return None
    cur.execute(
        sql.SQL("delete from {p} where {k} in (select {k} from {b} where _changed_at > %s)").format(
            p=published, b=build, k=column
        ),
        (watermark,),
    )
    cur.execute(
        sql.SQL("insert into {} select * from {} where _changed_at > %s").format(published, build),
        (watermark,),
    )
    written = int(cur.rowcount)
    cur.execute(sql.SQL("select count(*) from {}").format(published))
    if cur.fetchone()[0] != total:
        # the keys the build removed since (its deletion log, dbt macro delete_vanished_facts),
        # unless the build has them again; then, if the counts still differ, every key the
        # build no longer has (a whole-table comparison: 0.6 s for 640,000 interactions)
        cur.execute(
            "select format_type(atttypid, atttypmod) from pg_attribute"
            " where attrelid = to_regclass(%s) and attname = %s",
            (f'"{BUILD_SCHEMA}"."{name}"', key),
        )
        key_type = sql.SQL(cur.fetchone()[0])  # a type name from the catalog
        cur.execute(
            sql.SQL(
                "delete from {p} as p where p.{k} in (select cast(d.key as {t}) from {log} as d"
                " where d.model = %s and d.deleted_at >= %s)"
                " and not exists (select 1 from {b} as b where b.{k} = p.{k})"
            ).format(p=published, b=build, k=column, t=key_type, log=sql.Identifier(*DELETION_LOG)),
            (name, watermark),
        )
        written += int(cur.rowcount)
        cur.execute(sql.SQL("select count(*) from {}").format(published))
        if cur.fetchone()[0] != total:
            cur.execute(
                sql.SQL(
                    "delete from {p} as p where not exists"
                    " (select 1 from {b} as b where b.{k} = p.{k})"
                ).format(p=published, b=build, k=column)
            )
            written += int(cur.rowcount)
            log.info("publish %s: keys the build no longer has found by comparison", name)
            cur.execute(sql.SQL("select count(*) from {}").format(published))
            if cur.fetchone()[0] != total:
                log.warning("publish %s by its changes did not add up; copying it whole", name)
                return None
    return int(total), written


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
    published: dict[str, int] = {}  # rows in each published relation
    changed: dict[str, int] = {}  # rows written to it by this publish
    modes: dict[str, str] = {}  # copy | changes
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
        for name, kind in relations:
            target = sql.Identifier(PUBLISHED_SCHEMA, name)
            source = sql.Identifier(BUILD_SCHEMA, name)
            key = _changes_key(cur, name) if kind == "r" and existing.get(name) == "r" else None
            if key is not None:
                cur.execute("savepoint cx_publish_changes")
                written = _publish_changes(cur, name, key)
                if written is not None:
                    cur.execute("release savepoint cx_publish_changes")
                    published[name], changed[name] = written
                    modes[name] = "changes"
                    continue
                cur.execute("rollback to savepoint cx_publish_changes")
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
            indexes = _indexes_to_build(cur, name)
            cur.execute(
                sql.SQL("create table {} (like {} including all{})").format(
                    target, source, sql.SQL("" if indexes is None else " excluding indexes")
                )
            )
            cur.execute(sql.SQL("insert into {} select * from {}").format(target, source))
            published[name] = changed[name] = int(cur.rowcount)
            for unique, method_and_keys in indexes or []:
                cur.execute(
                    sql.SQL("create {}index on {} using {}").format(
                        sql.SQL("unique " if unique else ""), target, sql.SQL(method_and_keys)
                    )
                )
            modes[name] = "copy"
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
        "published %d marts (%d rows, %d written; %s copied whole) from %s to %s in %.1f s",
        len(published),
        sum(published.values()),
        sum(changed.values()),
        ", ".join(n for n, m in modes.items() if m == "copy") or "none",
        BUILD_SCHEMA,
        PUBLISHED_SCHEMA,
        seconds,
    )
    return {"relations": published, "written": changed, "modes": modes, "seconds": seconds}
