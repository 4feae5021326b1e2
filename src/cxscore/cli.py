"""The ``cxscore`` command line. Each command is a thin shell around one package function
(the same functions the Airflow tasks call); heavy modules are imported inside commands so
that ``--help`` stays instant.

Exit codes: 0 success, 1 a step failed, 2 bad usage or configuration, 3 a critical quality
check failed and the scorecard was not rebuilt.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import date
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


def _fail(message: str, code: int) -> NoReturn:
    console.print(f"[bold red]error:[/] {redact_text(message)}", highlight=False)
    raise typer.Exit(code)


def _settings(config: Path | None) -> Settings:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        _fail(str(exc), 2)
    register_settings(settings)  # every message and output below hides these values
    return settings


def _run(step: Callable[[], Any]) -> Any:
    """Run a step, turning cxscore errors into their exit codes with a clear message."""
    try:
        return step()
    except ConfigError as exc:
        _fail(str(exc), 2)
    except CxError as exc:
        _fail(str(exc), exc.exit_code)


def _emit(summary: dict[str, Any], as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        out.print_json(json.dumps(redact_obj(summary), default=str))
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


# --------------------------------------------------------------------------- warehouse


@warehouse_app.command("up")
def warehouse_up(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Start the embedded PostgreSQL under .cxscore/pg when no warehouse.url is configured
    (reuses a running one), and print the URL in use."""
    from cxscore.warehouse import redact_url, resolve_url

    settings = _settings(config)
    url = _run(lambda: resolve_url(settings))
    embedded = settings.warehouse.url is None
    summary = {"url": redact_url(url), "embedded": embedded}
    _emit(
        summary,
        as_json,
        lambda: out.print(
            f"warehouse {'(embedded) ' if embedded else ''}ready: {redact_url(url)}",
            highlight=False,
            soft_wrap=True,
        ),
    )


@warehouse_app.command("init")
def warehouse_init(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Create the schemas (raw, meta, staging, intermediate, marts, quality), the loader and
    quality tables, the read-only role cx_bi_reader and its grants. Safe to repeat."""
    from cxscore.warehouse import init_warehouse, redact_url, resolve_url

    settings = _settings(config)
    url = _run(lambda: resolve_url(settings))
    applied = _run(lambda: init_warehouse(url))
    summary = {"url": redact_url(url), "scripts": applied}
    _emit(
        summary,
        as_json,
        lambda: out.print(
            f"warehouse initialised ({len(applied)} scripts): {redact_url(url)}",
            highlight=False,
            soft_wrap=True,
        ),
    )


@warehouse_app.command("url")
def warehouse_url(
    config: ConfigOpt = None,
    show_password: Annotated[
        bool, typer.Option("--show-password", help="Do not mask a password in the URL.")
    ] = False,
) -> None:
    """Print the warehouse URL in use (starts the embedded server if that is the one)."""
    from cxscore.warehouse import redact_url, resolve_url

    settings = _settings(config)
    url = _run(lambda: resolve_url(settings))
    out.print(url if show_password else redact_url(url), highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------- quality gate


@quality_app.command("status")
def quality_status(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Print what quality.gate holds: quarantined load batches and their failed critical
    checks, failing table-level checks, batches not checked yet. Exit code 3 while the
    gate holds the scorecard back, 0 otherwise."""
    from cxscore.quality.gate import gate_state
    from cxscore.warehouse import ensure_warehouse

    settings = _settings(config)
    url = _run(lambda: ensure_warehouse(settings))
    state = _run(lambda: gate_state(url))
    _emit(state.summary(), as_json, lambda: out.print(state.describe(), highlight=False))
    if state.is_open:
        raise typer.Exit(3)


@quality_app.command("release")
def quality_release(
    batch: Annotated[int, typer.Argument(help="The quarantined load batch id.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why the batch may be built as it is (recorded).")
    ],
    user: Annotated[
        str | None, typer.Option("--user", help="Who releases (default: the OS login).")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Release a quarantined load batch by hand: recorded in quality.releases with time,
    user and reason; the recovery alert goes out; the next run builds."""
    from cxscore.quality.gate import release_batch
    from cxscore.warehouse import ensure_warehouse

    settings = _settings(config)
    url = _run(lambda: ensure_warehouse(settings))
    summary = _run(
        lambda: release_batch(settings, url=url, batch_id=batch, reason=reason, user=user)
    )
    _emit(
        summary,
        as_json,
        lambda: out.print(
            f"batch {batch} released by {summary['released_by']} "
            f"({summary['failures_accepted']} failure(s) accepted): {summary['reason']}; "
            + (
                "the gate is open"
                if summary["gate_open"]
                else f"still quarantined: {summary['still_quarantined']}"
            ),
            highlight=False,
        ),
    )


# --------------------------------------------------------------------------- pipeline


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

    _settings(config)
    start_day = None
    if start is not None:
        try:
            start_day = date.fromisoformat(start)
        except ValueError:
            _fail(f"--start {start!r} is not a date (YYYY-MM-DD)", 2)
    summary = _run(
        lambda: generate_world(
            out_dir,
            days=days,
            customers=customers,
            seed=seed,
            start=start_day,
            increments=increments,
            progress=sys.stderr.isatty(),
        )
    )
    _emit(summary, as_json, lambda: out.print(_format_counts("generated", summary)))


@app.command("serve-sources")
def serve_sources(
    data: Annotated[Path, typer.Option("--data", help="A directory written by `generate`.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    email: Annotated[str, typer.Option(help="Accepted basic-auth e-mail.")] = "demo@example.com",
    token: Annotated[str, typer.Option(help="Accepted API token.")] = "demo-token",
    fail_429_every: Annotated[
        int, typer.Option(help="Answer every Nth request with 429 + Retry-After (0: never).")
    ] = 0,
    fail_5xx_every: Annotated[
        int, typer.Option(help="Answer every Nth request with 503 (0: never).")
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

    _settings(config)
    _run(
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
        _fail(f"unknown source {source!r}; choose one of {', '.join(SOURCE_NAMES)} or all", 2)
    settings = _settings(config)
    summary = _run(
        lambda: extract_sources(
            settings, None if source == "all" else [source], progress=sys.stderr.isatty()
        )
    )
    _emit(summary, as_json, lambda: out.print(_format_counts("extracted", summary)))


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

    settings = _settings(config)
    if stage not in ("raw", "marts"):
        _fail(f"unknown check stage {stage!r}; choose raw or marts", 2)
    suites = [suite] if suite else None
    run_id = new_run_id("check")
    if stage == "marts" and not suite:
        outcome = _run(lambda: run_checks(settings, stage="marts", run_id=run_id))
        _emit(outcome.summary(), as_json, lambda: out.print(outcome.describe(), highlight=False))
        if outcome.critical_failures:
            raise typer.Exit(3)
        return
    url = _run(lambda: ensure_warehouse(settings))
    outcome, gate = _run(lambda: run_raw_checks(settings, url=url, run_id=run_id, suites=suites))
    summary = {**outcome.summary(), "gate": gate.summary()}
    _emit(
        summary,
        as_json,
        lambda: out.print(f"{outcome.describe()}\n{gate.describe()}", highlight=False),
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

    settings = _settings(config)
    url = _run(lambda: ensure_warehouse(settings))
    run_id = new_run_id("build")
    summary = _run(
        lambda: build_scorecard(
            settings, url=url, run_id=run_id, full_refresh=full_refresh, select=select
        )
    )
    _emit(summary, as_json, lambda: out.print(_format_counts("built", summary)))


@app.command("run")
def run(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """One full pipeline run in-process: extract every configured source, raw checks, the
    quality gate, dbt build, scorecard checks, publish."""
    from cxscore.pipeline import run_pipeline

    settings = _settings(config)
    summary = _run(lambda: run_pipeline(settings, progress=sys.stderr.isatty()))
    _emit(summary, as_json, lambda: out.print(_format_counts("pipeline run", summary)))


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

    settings = _settings(config)
    summary = _run(lambda: write_report(settings, out_path))
    _emit(summary, as_json, lambda: out.print(f"report written: {summary.get('path')}"))


@app.command("signals")
def signals(
    as_of: Annotated[
        str | None,
        typer.Option(help="Judge as of this UTC time (ISO 8601) instead of now."),
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Owner signals on the published marts: scorecard status alerts (a metric turning red
    or recovering) and the hourly signals (negative interactions, phone first response in
    the last complete peak hour). Each goes out once; what runs after every build."""
    from datetime import UTC, datetime

    from cxscore.runs import new_run_id
    from cxscore.signals import notify_owners
    from cxscore.warehouse import ensure_warehouse

    settings = _settings(config)
    now = None
    if as_of:
        try:
            now = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError:
            _fail(f"--as-of {as_of!r} is not an ISO 8601 time", 2)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    url = _run(lambda: ensure_warehouse(settings))
    summary = _run(lambda: notify_owners(settings, url=url, run_id=new_run_id("signals"), now=now))

    def human() -> None:
        status = summary["status_alerts"]
        out.print(
            f"status alerts: {status['turned_red']} row(s) turned red, {status['recovered']} "
            f"recovered, {status['messages']} message(s) sent",
            highlight=False,
        )
        out.print(f"hourly signals: {json.dumps(summary['hourly_signals'], default=str)}")

    _emit(summary, as_json, human)


@app.command("digest")
def digest(
    week: Annotated[
        str | None,
        typer.Option(help="ISO week (2026-W10) or a date in it; default the last complete."),
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Only this owner role.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write the digests to files, send nothing.")
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for --dry-run (default signals.digest_dir)."),
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The weekly owner digest: each owner's red and amber metrics of the week with their
    change, their pain points and follow-up backlog. E-mail (HTML + text), Slack, webhook;
    each owner once per week."""
    from cxscore.runs import new_run_id
    from cxscore.signals.digest import run_digest
    from cxscore.warehouse import ensure_warehouse

    settings = _settings(config)
    url = _run(lambda: ensure_warehouse(settings))
    summary = _run(
        lambda: run_digest(
            settings,
            url=url,
            week=week,
            owner=owner,
            dry_run=dry_run,
            out_dir=out_dir,
            run_id=new_run_id("digest"),
        )
    )

    def human() -> None:
        verb = f"written to {summary.get('dir')}" if dry_run else f"{summary['sent']} sent"
        out.print(f"digest {summary['week']}: {len(summary['owners'])} owner(s), {verb}")
        for entry in summary["owners"].values():
            out.print(f"  {entry['line']}", highlight=False)

    _emit(summary, as_json, human)


@app.command("followup")
def followup(
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List the tickets that would be created; send nothing."),
    ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Closed-loop follow-ups: one Zendesk ticket per due detractor, unhappy CSAT answer or
    negative interaction of the published marts, exactly once (ledger meta.followups)."""
    from cxscore.runs import new_run_id
    from cxscore.signals.followup import run_followups
    from cxscore.warehouse import ensure_warehouse

    settings = _settings(config)
    url = _run(lambda: ensure_warehouse(settings))
    summary = _run(
        lambda: run_followups(settings, url=url, dry_run=dry_run, run_id=new_run_id("followup"))
    )

    def human() -> None:
        if not summary["enabled"]:
            out.print(summary["note"], highlight=False)
            return
        if dry_run:
            out.print(f"{summary['due']} follow-up(s) due; would create:", highlight=False)
            for ticket in summary["would_create"]:
                out.print(f"  {ticket['external_id']}  {ticket['subject']}", highlight=False)
            return
        out.print(
            f"follow-ups: {summary['due']} due, {summary['created']} created, "
            f"{summary['found_existing']} found already created, {summary['failed']} refused "
            f"(alerted), {summary['rate_limited']} rate-limited answer(s) waited out",
            highlight=False,
        )

    _emit(summary, as_json, human)


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

    settings = _settings(config)
    summary = _run(lambda: run_demo(settings, days=days, scale=scale))
    _emit(summary, as_json, lambda: None)


@app.command("sentiment")
def sentiment(
    text: Annotated[str, typer.Argument(help="The text to score.")],
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Declared language (e.g. de, hu-HU); else detected offline."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score one text as the pipeline would: the score in [-1, 1] (or unscored), the
    language and the scorer (docs/metrics.md, "Sentiment")."""
    from cxscore.signals.sentiment import score_text

    result = score_text(text, lang)
    scorer = f"{result.scorer} {result.scorer_version}" if result.scorer else "none"
    _emit(
        {**result.as_dict(), "label": result.label},
        as_json,
        lambda: out.print(
            f"{result.label}  language={result.language or 'unknown'} "
            f"({result.language_source})  scorer={scorer}",
            highlight=False,
        ),
    )


def _format_counts(label: str, summary: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in summary.items() if isinstance(v, (int, float, str))]
    return f"{label}: " + ", ".join(parts)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
