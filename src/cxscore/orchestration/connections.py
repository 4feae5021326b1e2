"""Airflow connections -> cxscore settings, resolved inside tasks at run time
(``AIRFLOW_CONN_*`` environment variables work too).

- ``cx_warehouse`` (postgres): host (or a Unix-socket directory), port, login, password,
  schema = the database name. Missing -> the cxscore settings decide (``CX_WAREHOUSE__URL``
  or the embedded server).
- ``zendesk_default`` (http): host = the base URL (``https://acme.zendesk.com``), login =
  the agent e-mail, password = the API token. Missing -> ``sources.zendesk`` settings.

Standard library only at import time (the DAG files import this package while parsing).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cxscore.registry import WAREHOUSE_CONN_ID

if TYPE_CHECKING:
    from cxscore.settings import Settings

log = logging.getLogger(__name__)

ZENDESK_CONN_ID = "zendesk_default"


def _get_connection(conn_id: str) -> Any | None:
    """The Airflow connection, or None when it is not defined anywhere."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException moved between versions
        if type(exc).__name__ not in {"AirflowNotFoundException", "AirflowException"}:
            raise
        log.info("Airflow connection %s is not defined (%s); using cxscore settings", conn_id, exc)
        return None


def url_from_connection(conn: Any) -> str:
    """A postgresql:// URL from a postgres connection (host may be a Unix-socket directory)."""
    user = quote(conn.login or "postgres", safe="")
    password = conn.password or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    dbname = quote(conn.schema or "postgres", safe="")
    port = conn.port or 5432
    host = conn.host or "localhost"
    if host.startswith("/"):
        return f"postgresql://{auth}/{dbname}?host={quote(host, safe='/')}&port={port}"
    return f"postgresql://{auth}{host}:{port}/{dbname}"


def connection_json_for_url(url: str) -> str:
    """The ``AIRFLOW_CONN_CX_WAREHOUSE`` value (JSON form) for a postgresql:// URL."""
    from cxscore.warehouse import url_components

    parts = url_components(url)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": parts["host"],
            "port": parts["port"],
            "login": parts["user"],
            "password": parts["password"],
            "schema": parts["dbname"],
        }
    )


def zendesk_connection_json(base_url: str, email: str, token: str) -> str:
    """The ``AIRFLOW_CONN_ZENDESK_DEFAULT`` value (JSON form)."""
    return json.dumps({"conn_type": "http", "host": base_url, "login": email, "password": token})


def _zendesk_base_url(conn: Any) -> str | None:
    host = (conn.host or "").rstrip("/")
    if not host:
        return None
    if "://" in host:
        return str(host)
    scheme = conn.schema or "https"
    return f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")


def settings_from_connections(
    settings: Settings | None = None,
    *,
    warehouse_conn_id: str = WAREHOUSE_CONN_ID,
    zendesk_conn_id: str = ZENDESK_CONN_ID,
) -> Settings:
    """The cxscore settings (file + CX_* env) overlaid with the Airflow connections."""
    from pydantic import SecretStr

    from cxscore.redaction import mask_in_airflow, settings_secrets
    from cxscore.settings import load_settings

    settings = settings if settings is not None else load_settings()
    wh = _get_connection(warehouse_conn_id)
    if wh is not None:
        warehouse = settings.warehouse.model_copy(update={"url": url_from_connection(wh)})
        settings = settings.model_copy(update={"warehouse": warehouse})
    zd = _get_connection(zendesk_conn_id)
    if zd is not None:
        update: dict[str, Any] = {}
        base_url = _zendesk_base_url(zd)
        if base_url:
            update["base_url"] = base_url
        if zd.login:
            update["email"] = zd.login
        if zd.password:
            update["api_token"] = SecretStr(zd.password)
        zendesk = settings.sources.zendesk.model_copy(update=update)
        sources = settings.sources.model_copy(update={"zendesk": zendesk})
        settings = settings.model_copy(update={"sources": sources})
    # every task starts here: its log and rendered fields hide every secret from now on
    mask_in_airflow(settings_secrets(settings))
    return settings
