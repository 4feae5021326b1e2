"""The registry of sources (cxscore.registry) agrees with every place that names sources:
the settings, the loaders, the raw tables, the suites, the dbt sources and macros."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import yaml

from cxscore.paths import dbt_project_dir, expectations_dir
from cxscore.registry import (
    FILE_SOURCES,
    KEY_PREFIX,
    RAW_ROW_KEYS,
    RAW_TABLES,
    SOURCE_NAMES,
    TEXT_TABLES,
    SourceName,
    raw_asset_uri,
    source_key,
)
from cxscore.settings import Settings, SourcesSettings

SQL_DIR = Path(__file__).resolve().parents[2] / "src" / "cxscore" / "warehouse" / "sql"


def test_names_agree_with_settings_and_loaders() -> None:
    from cxscore.load.landing import file_sources

    assert SOURCE_NAMES == ("zendesk", "amazon_connect", "qualtrics", "orders")
    assert get_args(SourceName) == SOURCE_NAMES
    assert set(SOURCE_NAMES) <= set(SourcesSettings.model_fields)
    assert FILE_SOURCES == ("amazon_connect", "qualtrics", "orders")
    assert set(FILE_SOURCES) <= set(file_sources(Settings()))


def test_every_raw_table_exists_in_the_warehouse_scripts_and_dbt_sources() -> None:
    ddl = "\n".join(p.read_text(encoding="utf-8") for p in sorted(SQL_DIR.glob("*.sql")))
    sources = yaml.safe_load(
        (dbt_project_dir() / "models" / "staging" / "_raw__sources.yml").read_text("utf-8")
    )
    dbt_raw = {t["name"] for s in sources["sources"] if s["name"] == "raw" for t in s["tables"]}
    every = {t for tables in RAW_TABLES.values() for t in tables}
    for table in every:
        assert re.search(rf"raw\.{table}\b", ddl), table
    # text stays in raw: the text tables are no dbt source, every other raw table is
    assert dbt_raw == every - set(TEXT_TABLES)
    # every raw table names the key of its rows, in columns its DDL declares
    assert set(RAW_ROW_KEYS) == every
    for table, key in RAW_ROW_KEYS.items():
        body = re.search(rf"raw\.{table} \((.*?)\n\);", ddl, re.S)
        assert body, table
        for column in key.split(", "):
            assert re.search(rf"^\s+{column}\s", body.group(1), re.M), (table, column)
    assert raw_asset_uri("crm__orders") == "cxscore://cx_warehouse/raw.crm__orders"


def test_every_raw_table_has_a_suite() -> None:
    suites = {p.stem for p in expectations_dir().rglob("*.yml")}
    names = " ".join(sorted(suites))
    for tables in RAW_TABLES.values():
        for table in tables:
            assert table in names, (table, names)


def test_key_prefixes_agree_with_the_dbt_macro() -> None:
    macro = (dbt_project_dir() / "macros" / "source_key.sql").read_text(encoding="utf-8")
    spelled = dict(re.findall(r"'(\w+)': '(\w+)'", macro))
    assert spelled == KEY_PREFIX
    assert source_key("amazon_connect", "c-1") == "connect:c-1"
    assert source_key("zendesk", 42) == "zendesk:42"
