"""The warehouse: which PostgreSQL to use, the embedded default, and idempotent initialisation.

When ``warehouse.url`` is not configured, cxscore runs a real PostgreSQL 16 from the
``pgserver`` wheel under ``warehouse.embedded_dir`` (default ``.cxscore/pg``), listening on
a Unix socket only. It keeps running after the command exits so that later commands (and
Airflow tasks) reuse it; ``cxscore warehouse up`` is idempotent.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlencode, urlsplit

import psycopg2
import psycopg2.extensions

from cxscore.errors import CxError
from cxscore.redaction import redact_text, redact_url, url_secrets  # redact_url: re-exported
from cxscore.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "cxscore"
SCHEMAS = ("raw", "meta", "staging", "intermediate", "marts", "quality")


class WarehouseError(CxError):
    """The warehouse cannot be reached or initialised; the message says what to check."""


def start_embedded(data_dir: str | Path) -> str:
    """Start (or reuse) the embedded PostgreSQL under ``data_dir``; return the cxscore DB URL."""
    import warnings

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver  # imported lazily: only needed without a configured URL

    path = Path(data_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(path, cleanup_mode=None)
    admin_url = server.get_uri()
    with contextlib.closing(psycopg2.connect(admin_url)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (EMBEDDED_DATABASE,))
            if cur.fetchone() is None:
                cur.execute(f'create database "{EMBEDDED_DATABASE}"')
    return str(server.get_uri(EMBEDDED_DATABASE))


def resolve_url(settings: Settings, *, start: bool = True) -> str:
    """The warehouse URL in use: the configured one, else the embedded server's."""
    if settings.warehouse.url:
        return settings.warehouse.url
    if not start:
        raise WarehouseError(
            "no warehouse.url configured and the embedded server was not started; "
            "run `cxscore warehouse up`"
        )
    return start_embedded(settings.warehouse.embedded_dir)


# Settings of every cxscore session (loads, checks, dbt, publish): just-in-time compilation
# off. cxscore's statements are many short ones whose estimated cost (views, CTEs, months
# of history behind a one-day filter) passes PostgreSQL's jit_above_cost, and compiling
# them cost more than it saved: 1-3 s per large statement, the raw checks of one more day
# at 100,000 customers x 90 days 10.0 -> 5.3 s (docs/performance.md, "JIT").
# An ``options`` the URL already gives for the same setting wins.
SESSION_SETTINGS = {"jit": "off"}


def session_options(options: str = "") -> str:
    """``options`` (libpq ``-c name=value`` words) plus cxscore's session settings."""
    words = [options.strip()] if options.strip() else []
    for name, value in SESSION_SETTINGS.items():
        if not re.search(rf"(^|\s|-c\s*){name}\s*=", options):
            words.append(f"-c {name}={value}")
    return " ".join(words)


def connect(url: str, **kwargs: Any) -> psycopg2.extensions.connection:
    """Open a psycopg2 connection (with cxscore's session settings) with a message that
    names the target on failure."""
    try:
        given = kwargs.pop("options", None)
        if given is None:
            given = psycopg2.extensions.parse_dsn(url).get("options", "")
        return psycopg2.connect(url, options=session_options(given), **kwargs)
    except psycopg2.OperationalError as exc:
        raise WarehouseError(
            f"cannot connect to the warehouse at {redact_url(url)}: "
            f"{redact_text(str(exc).strip(), url_secrets(url))} "
            "(check warehouse.url / CX_WAREHOUSE__URL, or unset it to use the embedded server)"
        ) from exc


@contextlib.contextmanager
def transaction(url: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection whose work commits on success and rolls back on error, then closes."""
    conn = connect(url)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def refresh_statistics(
    conn: psycopg2.extensions.connection, tables: list[str], *, target: int = 0
) -> None:
    """``ANALYZE`` the tables a load just wrote (``conn`` in autocommit). The incremental
    build's queries select a day's batches out of months of history (``_batch_id > N``):
    without fresh statistics PostgreSQL estimates a third of the table or more and sorts it
    whole (autovacuum analyses only after 10 % of a table changed, and may be off).
    ``target``: the ``default_statistics_target`` of the sample (``warehouse.statistics_target``;
    0 keeps the server's): 30 samples 9,000 rows instead of 30,000, 0.2 s instead of 0.7-0.9 s
    for 2.4 M survey responses. docs/performance.md, "Statistics after a load"."""
    with conn.cursor() as cur:
        if target:
            cur.execute("set default_statistics_target = %s", (int(target),))
        for table in tables:
            cur.execute(f"analyze {table}")
        if target:
            cur.execute("reset default_statistics_target")


def url_components(url: str) -> dict[str, Any]:
    """host/port/user/password/dbname of a postgresql:// URL (a socket dir counts as host)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = query.get("host", [None])[0] or parts.hostname or "localhost"
    return {
        "host": unquote(host),
        "port": parts.port or int(query.get("port", ["5432"])[0]),
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or "") or query.get("password", [""])[0],
        "dbname": unquote(parts.path.lstrip("/") or "postgres"),
    }


def sqlalchemy_url(url: str) -> str:
    """The same target as a SQLAlchemy URL (psycopg2 driver, cxscore's session settings in
    its ``options``), for GX."""
    if not url.startswith("postgresql+"):
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg2://" + url[len(prefix) :]
                break
        else:
            raise WarehouseError(f"not a PostgreSQL URL: {redact_url(url)}")
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "options"]
    given = [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "options"]
    query.append(("options", session_options(given[-1] if given else "")))
    return parts._replace(query=urlencode(query, safe="/", quote_via=quote)).geturl()


def init_sql() -> list[tuple[str, str]]:
    """The ordered (name, text) SQL scripts that initialise the warehouse."""
    folder = resources.files("cxscore.warehouse") / "sql"
    scripts = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return scripts


def scripts_digest() -> str:
    """The version of the warehouse objects: a digest of every init script."""
    import hashlib

    digest = hashlib.sha256()
    for name, sql in init_sql():
        digest.update(name.encode() + b"\0" + sql.encode() + b"\0")
    return digest.hexdigest()


_VERSION_TABLE = """
create table if not exists meta.warehouse_version (
    digest      text        primary key,
    applied_at  timestamptz not null default now()
)
"""


def init_warehouse(url: str) -> list[str]:
    """Create schemas, loader/quality tables, the BI role and grants; safe to repeat.

    Runs under an advisory lock so that concurrent callers (parallel Airflow tasks) serialise,
    and records the scripts' digest in ``meta.warehouse_version``. Returns the names of the
    scripts applied.
    """
    applied = []
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('cxscore.init_warehouse'))")
        for name, sql in init_sql():
            cur.execute(sql)
            applied.append(name)
        cur.execute(_VERSION_TABLE)
        cur.execute(
            "insert into meta.warehouse_version (digest) values (%s) on conflict do nothing",
            (scripts_digest(),),
        )
    log.info("warehouse initialised at %s", redact_url(url))
    return applied


def is_current(url: str) -> bool:
    """True when the init scripts of this version were applied (one cheap query)."""
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('meta.warehouse_version') is not null")
        row = cur.fetchone()
        if not (row and row[0]):
            return False
        cur.execute("select 1 from meta.warehouse_version where digest = %s", (scripts_digest(),))
        return cur.fetchone() is not None


def ensure_warehouse(settings: Settings) -> str:
    """Resolve (starting the embedded server if needed) and, when this version's objects are
    not there yet, initialise; return the URL. Every task calls this: running the DDL each
    time would take table locks next to the loaders' writes (a deadlock seen with parallel
    Celery tasks), so an initialised warehouse costs one query."""
    url = resolve_url(settings)
    if not is_current(url):
        init_warehouse(url)
    return url


@contextlib.contextmanager
def scratch_database(
    server_url: str, prefix: str = "cxscratch", *, init: bool = True
) -> Iterator[str]:
    """A new database on the server of ``server_url`` (an admin database's URL), initialised
    as a warehouse unless ``init=False``, yielded as a URL and dropped afterwards even when
    connections are still open: for tests and benchmarks, never for real data."""
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    url = urlsplit(server_url)._replace(path="/" + name).geturl()
    try:
        if init:
            init_warehouse(url)
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()
