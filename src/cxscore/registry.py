"""The sources cxscore extracts: one registry that the CLI, the settings, the extract, the
raw checks, the gate and both DAGs read (``docs/sources.md``).

Standard library only: the DAG files import it while the DAG processor parses them.
Adding a source means one entry here, its parser in :mod:`cxscore.sources`, its loader
(:mod:`cxscore.load`), its raw table (``warehouse/sql``) and its suites (``expectations/``);
``tests/unit/test_registry.py`` checks that the entry and those places agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SourceName = Literal["zendesk", "amazon_connect", "qualtrics", "orders"]

# the raw table every text source's sentiment scores go to (signals.md, "Scoring")
SENTIMENT_TABLE = "sentiment__message_scores"
# raw tables that hold customer text: scored at load time, never read past raw (signals.md,
# "nothing past raw holds text"), so they are not dbt sources
TEXT_TABLES = ("zendesk__ticket_comments", "amazon_connect__contact_lens")


@dataclass(frozen=True)
class Source:
    """A source: how it is reached and which raw tables (schema ``raw``) it loads."""

    name: SourceName
    kind: Literal["api", "files"]
    raw_tables: tuple[str, ...]
    title: str


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "zendesk",
            "api",
            (
                "zendesk__tickets",
                "zendesk__ticket_metric_sets",
                "zendesk__users",
                "zendesk__ticket_comments",
                SENTIMENT_TABLE,
            ),
            "Zendesk tickets, users and comments (incremental export API)",
        ),
        Source(
            "amazon_connect",
            "files",
            ("amazon_connect__contact_records", "amazon_connect__contact_lens", SENTIMENT_TABLE),
            "Amazon Connect contact records and Contact Lens output (landing files)",
        ),
        Source(
            "qualtrics",
            "files",
            ("qualtrics__responses", SENTIMENT_TABLE),
            "Qualtrics survey response exports (landing files)",
        ),
        Source("orders", "files", ("crm__orders",), "CRM orders (landing files)"),
    )
}

# per raw table, the columns no two of its rows share: a record version of the Zendesk API
# (id + updated_at), a line of a landing file, a comment, a scored message. "Nothing loaded
# twice" is checked on these (tests, the soak benchmark).
RAW_ROW_KEYS: dict[str, str] = {
    "zendesk__tickets": "id, updated_at",
    "zendesk__ticket_metric_sets": "id, updated_at",
    "zendesk__users": "id, updated_at",
    "zendesk__ticket_comments": "comment_id",
    "amazon_connect__contact_records": "_source_file, _line",
    "amazon_connect__contact_lens": "_source_file, _line",
    "qualtrics__responses": "_source_file, _line",
    "crm__orders": "_source_file, _line",
    SENTIMENT_TABLE: "message_id",
}

SOURCE_NAMES: tuple[str, ...] = tuple(SOURCES)
FILE_SOURCES: tuple[str, ...] = tuple(n for n, s in SOURCES.items() if s.kind == "files")
# source -> raw tables it loads (the Asset outlets of its task group in cx_ingest)
RAW_TABLES: dict[str, tuple[str, ...]] = {n: s.raw_tables for n, s in SOURCES.items()}

# Assets: ``cxscore://cx_warehouse/raw.<table>``: scheme cxscore, host = the Airflow
# connection of the warehouse, path = the schema-qualified table. A logical name, stable
# across deployments (the physical host lives in the connection).
ASSET_SCHEME = "cxscore"
WAREHOUSE_CONN_ID = "cx_warehouse"


def raw_asset_uri(table: str) -> str:
    """The Asset URI of a raw table (see above)."""
    return f"{ASSET_SCHEME}://{WAREHOUSE_CONN_ID}/raw.{table}"


# The canonical id of a source record is '<prefix>:<vendor id>' (sources.md): interaction
# ids ('connect:<ContactId>', 'zendesk:<ticket id>') and customer ids ('zendesk:<user id>').
# dbt spells the same prefixes in its macro source_key (a test keeps them equal).
KEY_PREFIX: dict[str, str] = {"amazon_connect": "connect", "zendesk": "zendesk"}


def source_key(source: str, vendor_id: object) -> str:
    """``source_key("amazon_connect", "abc") == "connect:abc"``."""
    return f"{KEY_PREFIX[source]}:{vendor_id}"


def unknown_sources(names: list[str] | tuple[str, ...]) -> list[str]:
    """The names that are not sources (for the CLI's and extract's error messages)."""
    return [n for n in names if n not in SOURCES]
