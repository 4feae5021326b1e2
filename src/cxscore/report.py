"""The static scorecard page: ``reports/scorecard.html``.

Reads only what the BI role may read (``marts.*`` and ``quality.check_results``) and writes
one self-contained HTML file (inline CSS, SVG and a few lines of JS; no CDN, no server):

- a touchpoint x week heatmap of the overall status, with the red metrics and their owners;
- the latest complete week's metric statuses per touchpoint (all six statuses);
- survey metric trends (NPS, CSAT, CES) with their 95 % confidence bands and targets;
- customer sentiment per touchpoint: the weekly trend with its coverage, and the
  touchpoints whose customers sound worst in the latest complete week;
- the most frequent transitions between touchpoints within 24 hours;
- the data-quality results of the latest check runs.

No metric and no rule is computed here: every number comes from the marts (formulas live
in dbt), and so do the week rules: which weeks are complete, the latest complete week and
the incident week (``marts.scorecard_weeks``), and each cell's overall status
(``marts.touchpoint_scorecard_wide``). The page is rendered from Jinja2 templates
(``templates/scorecard.html.j2`` with its CSS and JS) by :mod:`cxscore.report_page`, the
view model that groups the rows per section and computes the chart coordinates.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cxscore.errors import CxError
from cxscore.pain_points import load_pain_points
from cxscore.report_page import fmt, render_html
from cxscore.settings import Settings

SENTIMENT_METRICS = ("customer_sentiment_avg", "negative_sentiment_pct", "sentiment_coverage_pct")
# what the page needs from a build (the other marts and the check results are optional)
REQUIRED = ("touchpoint_scorecard", "touchpoint_scorecard_wide", "scorecard_weeks")


@dataclass
class ReportData:
    """What the page shows, loaded from the marts."""

    weeks: list[date] = field(default_factory=list)
    touchpoints: list[dict[str, Any]] = field(default_factory=list)  # id, name, channel, moment
    metrics: list[dict[str, Any]] = field(default_factory=list)  # week rows, segment all
    overall: dict[tuple[str, date], str] = field(default_factory=dict)  # wide mart
    scorecard_weeks: list[dict[str, Any]] = field(default_factory=list)  # week rules
    transitions: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    pain_points: list[dict[str, Any]] = field(default_factory=list)
    built_at: datetime | None = None


def _num(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _rows(cur: Any) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description or []]
    return [{c: _num(v) for c, v in zip(cols, row, strict=True)} for row in cur.fetchall()]


def _table_exists(cur: Any, name: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (name,))
    return bool(cur.fetchone()[0])


def load_report_data(url: str) -> ReportData:
    """Read the marts and the check results (what the BI role can read)."""
    from cxscore.warehouse import connect

    data = ReportData()
    with contextlib.closing(connect(url)) as conn, conn.cursor() as cur:
        for name in REQUIRED:
            if not _table_exists(cur, f"marts.{name}"):
                raise CxError(
                    f"table marts.{name} does not exist yet: build the scorecard "
                    "first (`cxscore build` or the cx_scorecard DAG), then run `cxscore report`"
                )
        cur.execute(
            """
            select touchpoint_id, touchpoint_name, channel, moment_of_truth, period_start,
                   perspective, metric, value, numerator, sample_size, target, amber_band,
                   direction, status, owner, prior_value, ci_low, ci_high, change_significant,
                   built_at
            from marts.touchpoint_scorecard
            where period_grain = 'week' and segment = 'all'
            order by touchpoint_id, metric, period_start
            """
        )
        data.metrics = _rows(cur)
        tps: dict[str, dict[str, Any]] = {}
        for row in data.metrics:
            tps.setdefault(
                row["touchpoint_id"],
                {
                    "id": row["touchpoint_id"],
                    "name": row["touchpoint_name"] or row["touchpoint_id"],
                    "channel": row["channel"],
                    "moment": row["moment_of_truth"],
                },
            )
            if row["built_at"] is not None and (
                data.built_at is None or row["built_at"] > data.built_at
            ):
                data.built_at = row["built_at"]
        data.touchpoints = sorted(
            tps.values(), key=lambda t: (str(t["id"]).startswith("unmapped"), str(t["name"]))
        )
        data.weeks = sorted({r["period_start"] for r in data.metrics})
        cur.execute(
            """
            select touchpoint_id, period_start, overall_status
            from marts.touchpoint_scorecard_wide
            where period_grain = 'week' and segment = 'all'
            """
        )
        data.overall = {(r[0], r[1]): r[2] for r in cur.fetchall()}
        cur.execute(
            """
            select period_start, interactions, red_metrics, is_complete, is_latest_complete,
                   red_rank, is_incident, median_red_metrics
            from marts.scorecard_weeks
            order by period_start
            """
        )
        data.scorecard_weeks = _rows(cur)
        if _table_exists(cur, "marts.touchpoint_transitions"):
            cur.execute(
                """
                select from_touchpoint_id, to_touchpoint_id, sum(transitions) as transitions,
                       sum(avg_gap_minutes * transitions) / nullif(sum(transitions), 0)
                           as avg_gap_minutes,
                       sum(problematic_after_pct * transitions) / nullif(sum(transitions), 0)
                           as problematic_after_pct
                from marts.touchpoint_transitions
                where period_grain = 'week'
                group by 1, 2
                order by 3 desc, 1, 2
                limit 20
                """
            )
            data.transitions = _rows(cur)
        if _table_exists(cur, "quality.check_results"):
            cur.execute(
                """
                with latest as (
                    select distinct on (suite, table_name, expectation,
                                        coalesce(column_name, ''))
                           suite, table_name, expectation, column_name, severity, success,
                           observed_value, threshold, checked_at, run_id
                    from quality.check_results
                    order by suite, table_name, expectation, coalesce(column_name, ''),
                             checked_at desc, result_id desc
                )
                select * from latest
                order by success, severity, table_name, expectation, column_name
                """
            )
            data.checks = _rows(cur)
        data.pain_points = load_pain_points(cur)
    return data


# --------------------------------------------------------------------------- summary


def _metric_rows(data: ReportData, week: date) -> list[dict[str, Any]]:
    return [r for r in data.metrics if r["period_start"] == week]


def summarize(data: ReportData) -> dict[str, Any]:
    """The headline numbers: latest complete week, worst touchpoints (with the owners of
    their red metrics), the incident week. Which weeks are complete, the latest one and the
    incident week are the rules of ``marts.scorecard_weeks``."""
    weeks = data.scorecard_weeks
    latest = next((w["period_start"] for w in weeks if w["is_latest_complete"]), None)
    top = next((w for w in weeks if w["red_rank"] == 1), None)  # most red complete week
    worst: list[dict[str, Any]] = []
    if latest is not None:
        per_tp: dict[str, dict[str, Any]] = {}
        for r in _metric_rows(data, latest):
            entry = per_tp.setdefault(
                r["touchpoint_id"],
                {"touchpoint": r["touchpoint_name"], "red": [], "amber": [], "owners": set()},
            )
            if r["status"] in ("red", "amber"):
                entry[r["status"]].append(r["metric"])
                if r["status"] == "red" and r["owner"]:
                    entry["owners"].add(r["owner"])
        ranked = sorted(
            per_tp.items(), key=lambda kv: (-len(kv[1]["red"]), -len(kv[1]["amber"]), kv[0])
        )
        for tp_id, entry in ranked[:5]:
            if not entry["red"] and not entry["amber"]:
                continue
            worst.append(
                {
                    "touchpoint_id": tp_id,
                    "touchpoint": entry["touchpoint"],
                    "red": sorted(entry["red"]),
                    "amber": sorted(entry["amber"]),
                    "owners": sorted(entry["owners"]),
                }
            )
    failing = [c for c in data.checks if not c["success"]]
    return {
        "touchpoints": len(data.touchpoints),
        "weeks": len(data.weeks),
        "latest_week": latest.isoformat() if latest else None,
        "worst_touchpoints": worst,
        "incident_week": top["period_start"].isoformat() if top and top["is_incident"] else None,
        "incident_week_red": int(top["red_metrics"]) if top else 0,
        "median_week_red": int(weeks[0]["median_red_metrics"]) if weeks else 0,
        "checks": len(data.checks),
        "checks_failing_critical": sum(1 for c in failing if c["severity"] == "critical"),
        "checks_failing_warning": sum(1 for c in failing if c["severity"] == "warning"),
        "sentiment_worst": _sentiment_worst(data, latest),
    }


def _sentiment_worst(data: ReportData, week: date | None, limit: int = 5) -> list[dict[str, Any]]:
    """The touchpoints whose customers sound worst in ``week`` (lowest
    customer_sentiment_avg from the marts), with their negative share and coverage."""
    if week is None:
        return []
    per_tp: dict[str, dict[str, Any]] = {}
    for r in _metric_rows(data, week):
        if r["metric"] in SENTIMENT_METRICS:
            entry = per_tp.setdefault(
                r["touchpoint_id"], {"touchpoint_id": r["touchpoint_id"],
                                     "touchpoint": r["touchpoint_name"]},
            )  # fmt: skip
            entry[r["metric"]] = r["value"]
            if r["metric"] == "customer_sentiment_avg":
                entry["sample_size"] = r["sample_size"]
                entry["status"] = r["status"]
                entry["owner"] = r["owner"]
    scored = [e for e in per_tp.values() if e.get("customer_sentiment_avg") is not None]
    scored.sort(key=lambda e: (float(e["customer_sentiment_avg"]), e["touchpoint_id"]))
    return scored[:limit]


def write_report(settings: Settings, out: Path, *, url: str | None = None) -> dict[str, Any]:
    """Write the static page to ``out``; return the summary (plus ``path``)."""
    from cxscore.warehouse import resolve_url

    # no initialisation (DDL): a read-only BI login is enough to write the report
    url = url or resolve_url(settings)
    data = load_report_data(url)
    summary = summarize(data)
    page = render_html(data, summary)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    summary["path"] = str(out)
    summary["bytes"] = len(page.encode("utf-8"))
    summary["written_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return summary


def _listed(items: list[str], limit: int = 4) -> str:
    """``a, b, c, d +3 more`` (or ``none``)."""
    if not items:
        return "none"
    more = f" +{len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def format_summary(summary: dict[str, Any]) -> list[str]:
    """A few plain lines for the terminal."""
    lines = [
        f"{summary.get('touchpoints', 0)} touchpoints x {summary.get('weeks', 0)} weeks; "
        f"latest complete week {summary.get('latest_week') or '–'}"
    ]
    if summary.get("worst_touchpoints"):
        lines.append("worst touchpoints (red metrics -> their owners):")
    for w in summary.get("worst_touchpoints") or []:
        owners = ", ".join(w["owners"]) or "–"
        lines.append(
            f"  {w['touchpoint']}: {_listed(w['red'])} red, {len(w['amber'])} amber -> {owners}"
        )
    if summary.get("incident_week"):
        lines.append(
            f"incident week: {summary['incident_week']} "
            f"({summary.get('incident_week_red')} red metrics vs a median of "
            f"{summary.get('median_week_red')})"
        )
    for i, w in enumerate(summary.get("sentiment_worst") or []):
        if i == 0:
            lines.append("customer sentiment, lowest (mean -1..1, negative %, coverage %):")
        if i >= 3:
            break
        lines.append(
            f"  {w['touchpoint']}: {fmt('sentiment', w.get('customer_sentiment_avg'))}, "
            f"{fmt('pct', w.get('negative_sentiment_pct'))}% negative, "
            f"{fmt('pct', w.get('sentiment_coverage_pct'))}% covered -> {w.get('owner') or '–'}"
        )
    lines.append(
        f"data quality: {summary.get('checks', 0)} expectations, "
        f"{summary.get('checks_failing_critical', 0)} critical and "
        f"{summary.get('checks_failing_warning', 0)} warning failing"
    )
    return lines
