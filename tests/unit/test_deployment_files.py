"""docker-compose.yml / Dockerfile / .env.example structure, parsed and checked. Running the
deployment for real is `make compose-test` (tests/compose/compose_test.py, opt-in)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "FERNET", "HASH_KEY", "WEBHOOK", "PASS")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_required_services_and_profiles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert AIRFLOW_SERVICES | {"airflow-db", "warehouse", "redis"} <= set(services)
    assert services["metabase"]["profiles"] == ["bi"]
    assert services["metabase-db"]["profiles"] == ["bi"]
    # Metabase keeps its own application DB, separate from the warehouse
    assert services["metabase"]["environment"]["MB_DB_HOST"] == "metabase-db"


def test_celery_executor_with_redis_and_separate_databases(compose: dict[str, Any]) -> None:
    env = compose["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    assert "@airflow-db/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "@warehouse:5432/cx" in env["AIRFLOW_CONN_CX_WAREHOUSE"]
    assert compose["services"]["airflow-worker"]["command"] == "celery worker"
    assert compose["services"]["airflow-dag-processor"]["command"] == "dag-processor"
    # the worker is scalable: no fixed container_name
    assert "container_name" not in compose["services"]["airflow-worker"]


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if name == "airflow-init":
            assert svc["restart"] == "no"
            continue
        assert "healthcheck" in svc, name
        assert svc["healthcheck"]["test"], name


def test_depends_on_conditions(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        deps = services[name]["depends_on"]
        for dep in ("redis", "airflow-db", "warehouse"):
            assert deps[dep]["condition"] == "service_healthy", (name, dep)
        if name != "airflow-init":
            assert deps["airflow-init"]["condition"] == "service_completed_successfully"
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, (name, dep)
            assert cond["condition"] in {"service_healthy", "service_completed_successfully"}


def test_image_is_built_from_the_dockerfile(compose: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES:
        assert compose["services"][name]["build"]["dockerfile"] == "Dockerfile"
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "uv sync --locked" in dockerfile
    assert "COPY pyproject.toml uv.lock" in dockerfile
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in (REPO / "docker-compose.yml").read_text()


def _env_items(compose: dict[str, Any]) -> list[tuple[str, str, str]]:
    items = []
    for name, svc in compose["services"].items():
        env = svc.get("environment") or {}
        for key, value in env.items():
            items.append((name, key, "" if value is None else str(value)))
    return items


def test_no_secret_values_inline(compose: dict[str, Any]) -> None:
    for service, key, value in _env_items(compose):
        if any(word in key for word in SECRET_WORDS):
            stripped = re.sub(r"\$\{[^}]*\}", "", value)
            assert not re.search(r"[A-Za-z0-9]{8,}", stripped.replace("postgresql", "")), (
                f"{service}.{key} looks like an inline secret: {value!r}"
            )
    text = (REPO / "docker-compose.yml").read_text()
    # credentials inside URLs come from variables only
    for url in re.findall(r"[a-z+]+://[^\s\"']+", text):
        creds = re.match(r"[a-z+]+://([^@/]*)@", url)
        if creds and ":" in creds.group(1):
            assert "${" in creds.group(1), url


def test_env_example_documents_every_variable(compose: dict[str, Any]) -> None:
    text = (REPO / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))  # $${X}: container env
    example = (REPO / ".env.example").read_text().splitlines()
    defined = {}
    for i, line in enumerate(example):
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if m:
            defined[m.group(1)] = (m.group(2), example[i - 1] if i else "")
    missing = used - set(defined)
    assert not missing, f".env.example lacks {sorted(missing)}"
    for name, (value, comment_line) in defined.items():
        assert comment_line.startswith("# "), f"{name} has no comment line above it"
        if any(word in name for word in SECRET_WORDS) and name != "AIRFLOW_CONN_ZENDESK_DEFAULT":
            assert value == "", f".env.example must not carry a value for secret {name}"


def test_required_secrets_fail_fast(compose: dict[str, Any]) -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for name in (
        "AIRFLOW_DB_PASSWORD",
        "AIRFLOW_FERNET_KEY",
        "WAREHOUSE_PASSWORD",
        "CX_IDENTITY__HASH_KEY",
        "AIRFLOW_JWT_SECRET",
    ):
        assert re.search(r"\$\{" + name + r":\?", text), name


def test_images_are_replaceable_and_default_to_the_official_ones(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("airflow-db", "warehouse", "metabase-db"):
        assert services[name]["image"] == "${POSTGRES_IMAGE:-postgres:16}", name
    assert services["redis"]["image"] == "${REDIS_IMAGE:-redis:7.2-bookworm}"
    args = services["airflow-worker"]["build"]["args"]
    assert args["BASE_IMAGE"] == "${PYTHON_IMAGE:-python:3.11-slim-bookworm}"
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in dockerfile
    assert "FROM ${BASE_IMAGE}" in dockerfile
    # nothing of the local stand-ins (tests/compose/standins) leaks into what users run
    for text in (dockerfile, (REPO / "docker-compose.yml").read_text()):
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        assert "standin" not in code and "host-ca" not in code
