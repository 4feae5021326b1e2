"""Connections -> Settings, resolved the way a task resolves them (AIRFLOW_CONN_* env)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cxscore.orchestration.connections import (
    connection_json_for_url,
    settings_from_connections,
    url_from_connection,
)
from cxscore.registry import RAW_TABLES, raw_asset_uri
from cxscore.warehouse import url_components

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]


def _conn(**kwargs: object) -> object:
    from airflow.sdk import Connection

    return Connection(conn_id="x", conn_type="postgres", **kwargs)  # type: ignore[arg-type]


def test_url_from_tcp_connection() -> None:
    conn = _conn(host="db.internal", port=6432, login="cx", password="p@ss/word", schema="cx")
    url = url_from_connection(conn)
    assert url == "postgresql://cx:p%40ss%2Fword@db.internal:6432/cx"
    assert url_components(url) == {
        "host": "db.internal",
        "port": 6432,
        "user": "cx",
        "password": "p@ss/word",
        "dbname": "cx",
    }


def test_url_from_socket_connection_round_trips() -> None:
    url = "postgresql://postgres@/cxscore?host=/tmp/pg%20dir/sock&port=5432"
    conn = _conn(
        **{k: v for k, v in json.loads(connection_json_for_url(url)).items() if k != "conn_type"}
    )
    assert url_from_connection(conn) == url
    assert url_components(url_from_connection(conn))["host"] == "/tmp/pg dir/sock"


def test_settings_from_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CX_WAREHOUSE",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "wh",
                "port": 5433,
                "login": "u",
                "password": "secret-pw",
                "schema": "cx",
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_ZENDESK_DEFAULT",
        json.dumps(
            {
                "conn_type": "http",
                "host": "https://acme.zendesk.com/",
                "login": "agent@acme.test",
                "password": "tok-123456",
            }
        ),
    )
    monkeypatch.setenv("CX_BUSINESS_TIMEZONE", "Europe/Paris")
    settings = settings_from_connections()
    assert settings.warehouse.url == "postgresql://u:secret-pw@wh:5433/cx"
    assert settings.sources.zendesk.base_url == "https://acme.zendesk.com"
    assert settings.sources.zendesk.email == "agent@acme.test"
    assert settings.sources.zendesk.api_token is not None
    assert settings.sources.zendesk.api_token.get_secret_value() == "tok-123456"
    assert settings.business_timezone == "Europe/Paris"  # the CX_* settings still apply


def test_missing_connections_keep_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_CX_WAREHOUSE", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_ZENDESK_DEFAULT", raising=False)
    monkeypatch.setenv("CX_WAREHOUSE__URL", "postgresql://me@localhost:5432/mine")
    settings = settings_from_connections()
    assert settings.warehouse.url == "postgresql://me@localhost:5432/mine"
    assert settings.sources.zendesk.base_url is None


def test_asset_uris_are_logical_names() -> None:
    """One Asset per raw table, named after the connection and the table (registry)."""
    assert raw_asset_uri("crm__orders") == "cxscore://cx_warehouse/raw.crm__orders"
    assert RAW_TABLES["orders"] == ("crm__orders",)


def test_dbt_executable_is_the_projects(monkeypatch: pytest.MonkeyPatch) -> None:
    from cxscore.orchestration.dbt_cosmos import dbt_executable

    monkeypatch.delenv("CX_DBT_EXECUTABLE", raising=False)
    assert dbt_executable() == str(Path(sys.executable).parent / "dbt")
    monkeypatch.setenv("CX_DBT_EXECUTABLE", "/opt/dbt/bin/dbt")
    assert dbt_executable() == "/opt/dbt/bin/dbt"


def test_dbt_alert_callback_never_fails_the_build(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from cxscore.orchestration.dbt_cosmos import alert_dbt_tests_after_build

    alert_dbt_tests_after_build(str(tmp_path), context={"run_id": "r1"})
    assert "could not evaluate the dbt test results" in caplog.text


class _NodeTask:
    """The attributes of a Cosmos dbt operator that the runtime-settings hook uses."""

    def __init__(self, task_id: str) -> None:
        import os

        self.task_id = task_id
        self.vars: dict[str, object] | None = None
        self.env: dict[str, str] | None = {"KEEP": "1"}
        self.ran_with: list[tuple[dict[str, object], dict[str, str], dict[str, str]]] = []
        self._environ = os.environ

    def build_and_run_cmd(self, context: object, cmd_flags: list[str] | None = None) -> str:
        # what dbt gets: Cosmos' local operators pass the task's environment on (append_env)
        self.ran_with.append((dict(self.vars or {}), dict(self.env or {}), dict(self._environ)))
        return "ran"


@pytest.mark.pg
def test_dbt_tasks_get_the_settings_when_they_run_dbt(
    pg_server_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The producer and a node task that falls back to running its own node get the dbt
    vars and the HMAC environment when they run dbt, never on the common path of a node
    task that only reads its node's result. The HMAC pads (PGOPTIONS) exist only in the
    process environment while dbt runs: never in ``operator.env``, a template field that
    Airflow stores as a rendered field and shows in the UI."""
    import os

    from cxscore.orchestration.dbt_cosmos import dbt_runtime_settings
    from cxscore.transform import hash_key, hmac_pads
    from tests.helpers import scratch_database

    monkeypatch.setenv("CX_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("CX_SCORECARD__LOOKBACK_DAYS", "30")
    monkeypatch.setenv("CX_IDENTITY__HASH_KEY", "runtime-settings-test-key-0123456789")
    monkeypatch.delenv("PGOPTIONS", raising=False)
    with scratch_database(pg_server_url) as url:
        monkeypatch.setenv("AIRFLOW_CONN_CX_WAREHOUSE", connection_json_for_url(url))
        from cxscore.settings import load_settings

        ipad, opad = hmac_pads(hash_key(load_settings()))
        producer = _NodeTask("dbt.dbt_producer_watcher")
        dbt_runtime_settings({"task": producer})
        assert producer.vars is None  # nothing loaded before it runs dbt
        assert producer.build_and_run_cmd({}, cmd_flags=[]) == "ran"
        ((ran_vars, ran_env, environ),) = producer.ran_with
        assert ran_vars["lookback_days"] == 30 and producer.vars == ran_vars
        assert ran_env == {"KEEP": "1"} and producer.env == {"KEEP": "1"}
        assert f"-c cx.hmac_ipad={ipad} -c cx.hmac_opad={opad}" in environ["PGOPTIONS"]
        assert not any(k.startswith("CX_DBT_") for k in environ)  # not read back as settings
        assert "PGOPTIONS" not in os.environ  # only while dbt ran
        assert ipad not in str(producer.__dict__.get("env"))

        node = _NodeTask("dbt.stg_zendesk__users_run")
        dbt_runtime_settings({"task": node})
        dbt_runtime_settings({"task": node})  # pre_execute again (a retry): wrapped once
        assert node.vars is None and node.env == {"KEEP": "1"}  # nothing loaded yet
        assert node.build_and_run_cmd({}, cmd_flags=["--select", "stg_zendesk__users"]) == "ran"
        assert len(node.ran_with) == 1
        node_vars, node_env, node_environ = node.ran_with[0]
        assert node_vars == ran_vars and node_env == {"KEEP": "1"}
        assert node_environ["PGOPTIONS"] == environ["PGOPTIONS"]


def test_airflow_masker_hides_registered_secrets_in_rendered_fields() -> None:
    """What Airflow does with a task's template fields before storing them (the SDK's
    ``redact``) hides every value cxscore registered through ``mask_in_airflow``."""
    from airflow.sdk._shared.secrets_masker import redact

    from cxscore.redaction import mask_in_airflow

    pads = "-c cx.hmac_ipad=36a1b2c3d4e5f60718293a4b5c6d7e8f -c timezone=UTC"
    mask_in_airflow(["36a1b2c3d4e5f60718293a4b5c6d7e8f", "/services/T9/B9/RENDEREDSECRET"])
    rendered = redact(
        {
            "PGOPTIONS": pads,
            "note": "POST to https://hooks.slack.com/services/T9/B9/RENDEREDSECRET",
        },
        "env",
    )
    assert "36a1b2c3d4e5f60718293a4b5c6d7e8f" not in str(rendered)
    assert "RENDEREDSECRET" not in str(rendered)
