"""The ``cxscore`` command line. Each command is a thin shell around one package function
(the same functions the Airflow tasks call); heavy modules are imported inside commands so
that ``--help`` stays instant. The commands live by theme in :mod:`~cxscore.cli.pipeline`,
:mod:`~cxscore.cli.owners` and :mod:`~cxscore.cli.admin`; :mod:`~cxscore.cli.common` holds
the app, the options and the exit-code handling.
"""

# ruff: noqa: I001 - the command modules register their commands in import order (--help)
from __future__ import annotations

# importing the command modules registers their commands, in this order in --help
from cxscore.cli import pipeline  # noqa: F401
from cxscore.cli import owners  # noqa: F401
from cxscore.cli import admin  # noqa: F401
from cxscore.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    app()
