"""The owner-facing commands: signals, digest, followup, sentiment."""

from __future__ import annotations

import json
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
    out,
    run_step,
    say,
)


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

    settings = cli_settings(config)
    now = None
    if as_of:
        try:
            now = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--as-of {as_of!r} is not an ISO 8601 time", 2)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    url = run_step(lambda: ensure_warehouse(settings))
    summary = run_step(
        lambda: notify_owners(settings, url=url, run_id=new_run_id("signals"), now=now)
    )

    def human() -> None:
        status = summary["status_alerts"]
        say(
            f"status alerts: {status['turned_red']} row(s) turned red, {status['recovered']} "
            f"recovered, {status['messages']} message(s) sent"
        )
        out.print(f"hourly signals: {json.dumps(summary['hourly_signals'], default=str)}")

    emit(summary, as_json, human)


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

    settings = cli_settings(config)
    url = run_step(lambda: ensure_warehouse(settings))
    summary = run_step(
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
            say(f"  {entry['line']}")

    emit(summary, as_json, human)


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

    settings = cli_settings(config)
    url = run_step(lambda: ensure_warehouse(settings))
    summary = run_step(
        lambda: run_followups(settings, url=url, dry_run=dry_run, run_id=new_run_id("followup"))
    )

    def human() -> None:
        if not summary["enabled"]:
            say(summary["note"])
            return
        if dry_run:
            say(f"{summary['due']} follow-up(s) due; would create:")
            for ticket in summary["would_create"]:
                say(f"  {ticket['external_id']}  {ticket['subject']}")
            return
        say(
            f"follow-ups: {summary['due']} due, {summary['created']} created, "
            f"{summary['found_existing']} found already created, {summary['failed']} refused "
            f"(alerted), {summary['rate_limited']} rate-limited answer(s) waited out"
        )

    emit(summary, as_json, human)


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
    emit(
        {**result.as_dict(), "label": result.label},
        as_json,
        (
            f"{result.label}  language={result.language or 'unknown'} "
            f"({result.language_source})  scorer={scorer}"
        ),
    )
