"""Where the project's files are: ``dags/``, ``dbt_project/`` and ``expectations/`` live at the
project root, next to ``src/``: the checkout, or the image's ``/opt/cxscore`` (the package
is installed editable there by ``uv sync``). One override, ``CX_PROJECT_ROOT``, for an
installation that keeps them elsewhere. Standard library only (the DAG files import it)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT_ENV = "CX_PROJECT_ROOT"


def project_root() -> Path:
    """``$CX_PROJECT_ROOT``, else the folder that holds ``src/cxscore``."""
    override = os.environ.get(PROJECT_ROOT_ENV)
    return Path(override) if override else Path(__file__).resolve().parents[2]


def dbt_project_dir() -> Path:
    return project_root() / "dbt_project"


def expectations_dir() -> Path:
    """The shipped suites (``quality.expectations_dir`` points elsewhere when set)."""
    return project_root() / "expectations"


def dags_dir() -> Path:
    return project_root() / "dags"
