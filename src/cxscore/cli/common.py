"""What every command shares: the Typer apps, the options, settings loading, errors to exit
codes, output (human or ``--json``). Exit codes: 0 success, 1 a step failed, 2 bad usage
or configuration, 3 a critical quality check failed and the scorecard was not rebuilt."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from cxscore import __version__
from cxscore.errors import CxError
from cxscore.redaction import RedactingFilter, redact_obj, redact_text, register_settings
from cxscore.settings import ConfigError, Settings, load_settings

console = Console(stderr=True)
out = Console()

HELP = """cxscore: the customer-experience touchpoint scorecard pipeline.

Extracts CRM (Zendesk), contact-centre (Amazon Connect) and survey (Qualtrics) data into
PostgreSQL, checks it with Great Expectations, and builds a per-touchpoint balanced
scorecard with dbt. Configuration: --config FILE, else $CX_CONFIG, else ./cxscore.yml;
every key can be overridden by CX_<SECTION>__<KEY> environment variables.
"""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, rich_markup_mode=None)
warehouse_app = typer.Typer(
    help="The PostgreSQL warehouse: start the embedded one, initialise, show the URL.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(warehouse_app, name="warehouse")
quality_app = typer.Typer(
    help="The quality gate: open critical failures (quarantined load batches), releases.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(quality_app, name="quality")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML config file (default: $CX_CONFIG, else ./cxscore.yml if present).",
        dir_okay=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary.")]


def fail(message: str, code: int) -> NoReturn:
    console.print(f"[bold red]error:[/] {redact_text(message)}", highlight=False)
    raise typer.Exit(code)


def cli_settings(config: Path | None) -> Settings:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        fail(str(exc), 2)
    register_settings(settings)  # every message and output below hides these values
    return settings


def run_step(step: Callable[[], Any]) -> Any:
    """Run a step, turning cxscore errors into their exit codes with a clear message."""
    try:
        return step()
    except ConfigError as exc:
        fail(str(exc), 2)
    except CxError as exc:
        fail(str(exc), exc.exit_code)


def say(text: str) -> None:
    """One line of plain output: no rich highlighting (ids and numbers print as they are) and
    no hard wrap (a URL or a path stays copyable)."""
    out.print(text, highlight=False, soft_wrap=True)


def emit(summary: dict[str, Any], as_json: bool, human: Callable[[], None] | str) -> None:
    """The command's result: ``summary`` as JSON with ``--json``, else ``human`` (a line of
    text, or a function that prints)."""
    if as_json:
        out.print_json(json.dumps(redact_obj(summary), default=str))
    elif isinstance(human, str):
        say(human)
    else:
        human()


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:  # no registered secret reaches stderr
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    # GX logs every step at INFO; keep it to warnings.
    for noisy in ("great_expectations", "dbt", "urllib3", "filelock", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _version(value: bool) -> None:
    if value:
        out.print(f"cxscore {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """cxscore command line."""
    _setup_logging()


def format_counts(label: str, summary: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in summary.items() if isinstance(v, (int, float, str))]
    return f"{label}: " + ", ".join(parts)
