# The cxscore image: Airflow 3.3 + dbt + GX + the cxscore package, installed from uv.lock only.
# Used by every Airflow service in docker-compose.yml (entrypoint `airflow`).
# BASE_IMAGE: the official Python image; replaceable (a mirror, or the local stand-in that
# `make compose-test` builds where no registry is reachable, tests/compose/standins/).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ARG UV_VERSION=0.13.8
ARG AIRFLOW_UID=50000

RUN apt-get update \
 && apt-get install -y --no-install-recommends curl postgresql-client tini \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir "uv==${UV_VERSION}" \
 && useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /opt/airflow --create-home airflow

WORKDIR /opt/cxscore
ENV UV_PROJECT_ENVIRONMENT=/opt/cxscore/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/opt/cxscore/.venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    CX_STATE_DIR=/opt/airflow/cxscore-state \
    PYTHONUNBUFFERED=1

# Dependencies first (cached layer), exactly as locked, without the dev group.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project

# The project itself.
COPY src ./src
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
# The project is installed editable (src/), which UV_COMPILE_BYTECODE leaves out, and the
# airflow user cannot write src/__pycache__: compiled here, or every task process would
# compile cxscore's modules from source (docs/performance.md, "Bytecode").
RUN uv sync --locked --no-dev \
 && python -m compileall -q src dags \
 && mkdir -p /opt/airflow/logs /opt/airflow/cxscore-state /opt/cxscore/landing \
 && chown -R "${AIRFLOW_UID}:0" /opt/airflow /opt/cxscore/dbt_project \
 && chmod -R g+rwX /opt/airflow /opt/cxscore/dbt_project

# The dbt manifest the DAGs render from (Cosmos LoadMode.DBT_MANIFEST): built at image
# build time, so no container calls `dbt ls`/`dbt parse` while parsing DAGs.
RUN python -c "from cxscore.orchestration.dbt_cosmos import ensure_dbt_manifest; print(ensure_dbt_manifest())" \
 && chown -R "${AIRFLOW_UID}:0" /opt/cxscore/dbt_project

USER ${AIRFLOW_UID}
ENTRYPOINT ["/usr/bin/tini", "--", "airflow"]
CMD ["version"]
