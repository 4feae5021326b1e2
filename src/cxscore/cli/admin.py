"""``cxscore warehouse ...`` and ``cxscore quality ...``: the warehouse and the quality gate."""

from __future__ import annotations

from typing import Annotated

import typer

from cxscore.cli.common import (
    ConfigOpt,
    JsonOpt,
    cli_settings,
    emit,
    quality_app,
    run_step,
    say,
    warehouse_app,
)

# --------------------------------------------------------------------------- warehouse


@warehouse_app.command("up")
def warehouse_up(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Start the embedded PostgreSQL under .cxscore/pg when no warehouse.url is configured
    (reuses a running one), and print the URL in use."""
    from cxscore.warehouse import redact_url, resolve_url

    settings = cli_settings(config)
    url = run_step(lambda: resolve_url(settings))
    embedded = settings.warehouse.url is None
    summary = {"url": redact_url(url), "embedded": embedded}
    emit(
        summary,
        as_json,
        f"warehouse {'(embedded) ' if embedded else ''}ready: {redact_url(url)}",
    )


@warehouse_app.command("init")
def warehouse_init(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Create the schemas (raw, meta, staging, intermediate, marts, quality), the loader and
    quality tables, the read-only role cx_bi_reader and its grants. Safe to repeat."""
    from cxscore.warehouse import init_warehouse, redact_url, resolve_url

    settings = cli_settings(config)
    url = run_step(lambda: resolve_url(settings))
    applied = run_step(lambda: init_warehouse(url))
    summary = {"url": redact_url(url), "scripts": applied}
    emit(
        summary,
        as_json,
        f"warehouse initialised ({len(applied)} scripts): {redact_url(url)}",
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

    settings = cli_settings(config)
    url = run_step(lambda: resolve_url(settings))
    say(url if show_password else redact_url(url))


# --------------------------------------------------------------------------- quality gate


@quality_app.command("status")
def quality_status(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Print what quality.gate holds: quarantined load batches and their failed critical
    checks, failing table-level checks, batches not checked yet. Exit code 3 while the
    gate holds the scorecard back, 0 otherwise."""
    from cxscore.quality.gate import gate_state
    from cxscore.warehouse import ensure_warehouse

    settings = cli_settings(config)
    url = run_step(lambda: ensure_warehouse(settings))
    state = run_step(lambda: gate_state(url))
    emit(state.summary(), as_json, state.describe())
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

    settings = cli_settings(config)
    url = run_step(lambda: ensure_warehouse(settings))
    summary = run_step(
        lambda: release_batch(settings, url=url, batch_id=batch, reason=reason, user=user)
    )
    emit(
        summary,
        as_json,
        (
            f"batch {batch} released by {summary['released_by']} "
            f"({summary['failures_accepted']} failure(s) accepted): {summary['reason']}; "
            + (
                "the gate is open"
                if summary["gate_open"]
                else f"still quarantined: {summary['still_quarantined']}"
            )
        ),
    )


# --------------------------------------------------------------------------- pipeline
