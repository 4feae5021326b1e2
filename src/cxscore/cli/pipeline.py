"""The pipeline commands: generate, serve-sources, extract, check, build, run, report, demo."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cxscore.cli.common import (
    ConfigOpt,
    JsonOpt,
    app,
    cli_settings,
    emit,
    fail,
    format_counts,
    out,
    run_step,
)


@app.command("generate")
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the world into.")],
    days: Annotated[int, typer.Option(help="Days of activity.", min=1)] = 60,
    customers: Annotated[int, typer.Option(help="Number of customers.", min=1)] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 7,
    start: Annotated[
        str | None, typer.Option(help="First day (YYYY-MM-DD); default: `days` before today.")
    ] = None,
    increments: Annotated[
        int, typer.Option(help="Split the output into K successive deliveries.", min=1)
    ] = 1,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a deterministic synthetic CX world in the real vendor formats
    (Zendesk API data, Amazon Connect CTR files, Qualtrics exports, order CSVs)."""
    from cxscore.generate import generate_world

    cli_settings(config)
    start_day = None
    if start is not None:
        try:
            start_day = date.fromisoformat(start)
        except ValueError:
            fail(f"--start {start!r} is not a date (YYYY-MM-DD)", 2)
    summary = run_step(
        lambda: generate_world(
            out_dir,
            days=days,
            customers=customers,
            seed=seed,
            start=start_day,
            increments=increments,
        )
    )
    emit(summary, as_json, lambda: out.print(format_counts("generated", summary)))


@app.command("serve-sources")
def serve_sources(
    data: Annotated[Path, typer.Option("--data", help="A directory written by `generate`.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    email: Annotated[str, typer.Option(help="Accepted basic-auth e-mail.")] = "demo@example.com",
    token: Annotated[str, typer.Option(help="Accepted API token.")] = "demo-token",
    fail_429_every: Annotated[
        int,
        typer.Option(
            help="Answer every Nth request to an endpoint with 429 + Retry-After (0: never)."
        ),
    ] = 0,
    fail_5xx_every: Annotated[
        int, typer.Option(help="Answer every Nth request to an endpoint with 503 (0: never).")
    ] = 0,
    retry_after: Annotated[int, typer.Option(help="Retry-After seconds on injected 429s.")] = 1,
    increment: Annotated[
        int | None,
        typer.Option(help="Serve only deliveries 1..K of an incremental world (default: all)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the generated Zendesk data over the real incremental cursor export API shape
    on 127.0.0.1 (a local stand-in for the demo and tests)."""
    from cxscore.standins.zendesk import serve

    cli_settings(config)
    run_step(
        lambda: serve(
            data,
            port=port,
            email=email,
            token=token,
            fail_429_every=fail_429_every,
            fail_5xx_every=fail_5xx_every,
            retry_after=retry_after,
            increment=increment,
        )
    )


@app.command("extract")
def extract(
    source: Annotated[
        str, typer.Argument(help="zendesk, amazon_connect, qualtrics, orders or all")
    ],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Extract and load one source (or all configured ones) into the raw schema,
    incrementally: files once each, Zendesk from its stored cursor."""
    from cxscore.extract import extract_sources
    from cxscore.registry import SOURCE_NAMES

    if source != "all" and source not in SOURCE_NAMES:
        fail(f"unknown source {source!r}; choose one of {', '.join(SOURCE_NAMES)} or all", 2)
    settings = cli_settings(config)
    summary = run_step(
        lambda: extract_sources(
            settings, None if source == "all" else [source], progress=sys.stderr.isatty()
        )
    )
    emit(summary, as_json, lambda: out.print(format_counts("extracted", summary)))


@app.command("check")
def check(
    suite: Annotated[
        str | None, typer.Argument(help="One suite name (default: all suites of --stage).")
    ] = None,
    stage: Annotated[str, typer.Option(help="raw or marts (when no SUITE is given).")] = "raw",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the Great Expectations suites; results go to quality.check_results.
    Exit code 3 when a critical expectation fails or (raw) a quarantine is open."""
    from cxscore.quality import run_checks
    from cxscore.quality.gate import run_raw_checks
    from cxscore.runs import new_run_id
    from cxscore.warehouse import ensure_warehouse

    settings = cli_settings(config)
    if stage not in ("raw", "marts"):
        fail(f"unknown check stage {stage!r}; choose raw or marts", 2)
    suites = [suite] if suite else None
    run_id = new_run_id("check")
    if stage == "marts" and not suite:
        outcome = run_step(lambda: run_checks(settings, stage="marts", run_id=run_id))
        emit(outcome.summary(), as_json, outcome.describe())
        if outcome.critical_failures:
            raise typer.Exit(3)
        return
    url = run_step(lambda: ensure_warehouse(settings))
    outcome, gate = run_step(
        lambda: run_raw_checks(settings, url=url, run_id=run_id, suites=suites)
    )
    summary = {**outcome.summary(), "gate": gate.summary()}
    emit(
        summary,
        as_json,
        f"{outcome.describe()}\n{gate.describe()}",
    )
    if outcome.critical_failures or gate.is_open:
        raise typer.Exit(3)


@app.command("build")
def build(
    full_refresh: Annotated[
        bool, typer.Option(help="Rebuild incremental models from scratch.")
    ] = False,
    select: Annotated[str | None, typer.Option(help="dbt node selection.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The quality gate, then `dbt build` (models, seeds, tests) into marts_build, the
    scorecard checks, and publish to marts. Exit code 3 when the gate holds (open
    quarantine) or a critical scorecard check fails (nothing published)."""
    from cxscore.pipeline import build_scorecard
    from cxscore.runs import new_run_id
    from cxscore.warehouse import ensure_warehouse

    settings = cli_settings(config)
    url = run_step(lambda: ensure_warehouse(settings))
    run_id = new_run_id("build")
    summary = run_step(
        lambda: build_scorecard(
            settings, url=url, run_id=run_id, full_refresh=full_refresh, select=select
        )
    )
    emit(summary, as_json, lambda: out.print(format_counts("built", summary)))


@app.command("run")
def run(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """One full pipeline run in-process: extract every configured source, raw checks, the
    quality gate, dbt build, scorecard checks, publish."""
    from cxscore.pipeline import run_pipeline

    settings = cli_settings(config)
    summary = run_step(lambda: run_pipeline(settings, progress=sys.stderr.isatty()))
    emit(summary, as_json, lambda: out.print(format_counts("pipeline run", summary)))


@app.command("report")
def report(
    out_path: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "reports/scorecard.html"
    ),
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the static scorecard page (heatmap, trends, transitions, data quality)."""
    from cxscore.report import write_report

    settings = cli_settings(config)
    summary = run_step(lambda: write_report(settings, out_path))
    emit(summary, as_json, lambda: out.print(f"report written: {summary.get('path')}"))


@app.command("demo")
def demo(
    days: Annotated[int, typer.Option(help="Days of synthetic activity.", min=7)] = 60,
    scale: Annotated[
        float, typer.Option(help="Customer scale (1.0 = 3000 customers).", min=0.01)
    ] = 1.0,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Zero-setup showcase: embedded warehouse, synthetic world, the real Airflow DAGs run
    end to end, a scorecard summary and reports/scorecard.html."""
    from cxscore.demo import run_demo

    settings = cli_settings(config)
    summary = run_step(lambda: run_demo(settings, days=days, scale=scale))
    emit(summary, as_json, lambda: None)
