"""The scorecard page's view model: the rows of :class:`cxscore.report.ReportData` grouped
per section, values formatted and chart coordinates computed, for the template
``templates/scorecard.html.j2`` (which includes ``scorecard.css.j2`` and
``scorecard.js.j2`` inline). No rule is applied here: statuses, complete weeks and the
incident week come from the marts (cxscore.report).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

from cxscore.pages import render
from cxscore.pain_points import pain_points_html

if TYPE_CHECKING:
    from cxscore.report import ReportData

STATUS_ORDER = ("red", "amber", "green", "low_sample", "no_target", "no_data")
STATUS_LABEL = {
    "green": "Green: meets target",
    "amber": "Amber: within the amber band",
    "red": "Red: misses target",
    "low_sample": "Low sample: too few observations to judge",
    "no_data": "No data: denominator is 0",
    "no_target": "No target set",
}
TREND_METRICS = (("nps", "NPS"), ("csat_pct", "CSAT %"), ("ces_avg", "CES (1-7)"))
TABLE_METRICS = (
    ("interactions", "Interactions"),
    ("csat_pct", "CSAT %"),
    ("nps", "NPS"),
    ("ces_avg", "CES"),
    ("problematic_moment_pct", "Problematic %"),
    ("first_response_avg_seconds", "1st response"),
    ("abandonment_pct", "Abandon %"),
    ("recontact_24h_pct", "Recontact 24h %"),
    ("fcr_pct", "FCR %"),
    ("escalation_pct", "Escalation %"),
    ("assisted_conversion_pct", "Assisted conv. %"),
    ("refund_pct", "Refund %"),
    ("data_completeness_pct", "Completeness %"),
    ("survey_response_rate_pct", "Response rate %"),
    ("survey_linkage_pct", "Survey linkage %"),
    ("customer_sentiment_avg", "Sentiment"),
    ("negative_sentiment_pct", "Negative %"),
    ("sentiment_coverage_pct", "Sentiment coverage %"),
    ("followup_rate_pct", "Follow-up %"),
    ("followup_within_sla_pct", "Follow-up in SLA %"),
)


def fmt(metric: str, value: Any) -> str:
    """A value as the page and the terminal summary show it (``–`` for none)."""
    if value is None:
        return "–"
    v = float(value)
    if metric.endswith("_seconds"):
        if v >= 3600:
            return f"{v / 3600:.1f} h"
        if v >= 60:
            return f"{v / 60:.1f} min"
        return f"{v:.0f} s"
    if metric in ("interactions", "influenced_revenue"):
        return f"{v:,.0f}"
    if metric in ("sentiment", "customer_sentiment_avg"):
        return f"{v:+.2f}"
    if metric == "ces_avg":
        return f"{v:.2f}"
    return f"{v:.1f}"


def _week_label(week: date) -> str:
    return f"W{week.isocalendar().week:02d}"


def _status(row: dict[str, Any]) -> str:
    status = str(row.get("status") or "no_data")
    return status if status in STATUS_ORDER else "no_data"


def _short(value: Any, limit: int = 60) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chart(rows: list[dict[str, Any]], weeks: list[date], metric: str) -> dict[str, Any] | None:
    """Coordinates of a small line chart (the ``trend`` macro draws it): the weekly values,
    their 95 % band and the target line; None without a value."""
    width, height, pad_l, pad_r, pad_t, pad_b = 240, 110, 30, 6, 8, 18
    points = [r for r in rows if r["value"] is not None]
    if not points:
        return None
    values = [float(r["value"]) for r in points]
    lows = [float(r["ci_low"]) for r in points if r["ci_low"] is not None]
    highs = [float(r["ci_high"]) for r in points if r["ci_high"] is not None]
    targets = [float(r["target"]) for r in points if r["target"] is not None]
    lo, hi = min(values + lows + targets), max(values + highs + targets)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    index = {w: i for i, w in enumerate(weeks)}
    n = max(len(weeks) - 1, 1)

    def y(v: float) -> float:
        return pad_t + (height - pad_t - pad_b) * (1 - (v - lo) / (hi - lo))

    def at(r: dict[str, Any], column: str) -> tuple[str, str]:
        x = pad_l + (width - pad_l - pad_r) * index[r["period_start"]] / n
        return f"{x:.1f}", f"{y(float(r[column])):.1f}"

    def xy(r: dict[str, Any], column: str) -> str:
        return ",".join(at(r, column))

    band = [r for r in points if r["ci_low"] is not None and r["ci_high"] is not None]
    return {
        "width": width,
        "height": height,
        "left": pad_l,
        "right": width - pad_r,
        "bottom": height - pad_b,
        "hi": fmt(metric, hi),
        "hi_y": f"{y(hi) + 8:.1f}",
        "lo": fmt(metric, lo),
        "lo_y": f"{y(lo):.1f}",
        "band": " ".join([xy(r, "ci_high") for r in band] + [xy(r, "ci_low") for r in band[::-1]])
        if len(band) >= 2
        else None,
        "target_y": f"{y(targets[-1]):.1f}" if targets else None,
        "line": " ".join(xy(r, "value") for r in points),
        "points": [
            {
                "x": at(r, "value")[0],
                "y": at(r, "value")[1],
                "status": r["status"] or "",
                "tip": f"week of {r['period_start']}: {fmt(metric, r['value'])} "
                f"(95% {fmt(metric, r['ci_low'])}..{fmt(metric, r['ci_high'])}, "
                f"n={r['sample_size']}, {r['status']})",
            }
            for r in points
        ],
        "first_week": _week_label(weeks[0]) if weeks else None,
        "last_week": _week_label(weeks[-1]) if weeks else None,
    }


Cells = dict[tuple[str, date], list[dict[str, Any]]]  # (touchpoint, week) -> metric rows


def _heat(data: ReportData, by_cell: Cells) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the per-metric cells the picker shows, as JSON; the overall rows of the heatmap)."""
    heat: dict[str, dict[str, list[str]]] = {}
    for r in data.metrics:
        tip = (
            f"{r['metric']}: {fmt(r['metric'], r['value'])} (target "
            f"{fmt(r['metric'], r['target'])}, n={r['sample_size']}, owner {r['owner'] or '–'})"
        )
        cell = f"{r['touchpoint_id']}|{r['period_start']}"
        heat.setdefault(r["metric"], {})[cell] = [_status(r), fmt(r["metric"], r["value"]), tip]
    rows = []
    for tp in data.touchpoints:
        owners: set[str] = set()
        cells = []
        for w in data.weeks:
            metrics = by_cell.get((tp["id"], w), [])
            status = data.overall.get((tp["id"], w)) or "no_data"
            reds = [r for r in metrics if r["status"] == "red"]
            owners.update(str(r["owner"]) for r in reds if r["owner"])
            tip = "\n".join(
                f"{r['metric']}: {fmt(r['metric'], r['value'])} "
                f"(target {fmt(r['metric'], r['target'])}) {r['status']}"
                + (f", owner {r['owner']}" if r["status"] in ("red", "amber") else "")
                for r in sorted(metrics, key=lambda r: STATUS_ORDER.index(_status(r)))
                if r["status"] in ("red", "amber", "green")
            )
            title = f"{tp['name']}, week of {w}: {status}\n{tip}"
            cells.append({"week": w, "status": status, "title": title, "label": len(reds) or ""})
        rows.append({"tp": tp, "cells": cells, "owners": ", ".join(sorted(owners))})
    return heat, rows


def _metric_table(data: ReportData, by_cell: Cells, week: date | None) -> list[dict[str, Any]]:
    """The latest complete week's metrics, one row per touchpoint that has any."""
    rows: list[dict[str, Any]] = []
    if week is None:
        return rows
    for tp in data.touchpoints:
        by_metric = {r["metric"]: r for r in by_cell.get((tp["id"], week), [])}
        if not by_metric:
            continue
        cells: list[dict[str, Any] | None] = []
        for metric, _label in TABLE_METRICS:
            mr = by_metric.get(metric)
            cells.append(
                None
                if mr is None
                else {
                    "status": mr["status"],
                    "text": fmt(metric, mr["value"]),
                    "title": f"{metric}: {fmt(metric, mr['value'])}; target "
                    f"{mr['direction'] or ''} {fmt(metric, mr['target'])}; "
                    f"n={mr['sample_size']}; owner {mr['owner'] or '–'}; {mr['status']}",
                }
            )
        rows.append({"tp": tp, "cells": cells})
    return rows


def _cards(data: ReportData, metric: str) -> list[dict[str, Any]]:
    """A trend card per touchpoint with a value of ``metric``: its latest value, owner and
    chart (sentiment cards add the coverage of the latest week)."""
    cards = []
    for tp in data.touchpoints:
        mine = [r for r in data.metrics if r["touchpoint_id"] == tp["id"]]
        rows = [r for r in mine if r["metric"] == metric]
        last = next((r for r in reversed(rows) if r["value"] is not None), None)
        if last is None:
            continue
        coverage = {
            r["period_start"]: r["value"] for r in mine if r["metric"] == "sentiment_coverage_pct"
        }
        cards.append(
            {
                "name": tp["name"],
                "value": last["value"],
                "owner": last["owner"],
                "coverage": coverage.get(last["period_start"]),
                "chart": _chart(rows, data.weeks, metric),
            }
        )
    return cards


def _view(data: ReportData, summary: dict[str, Any]) -> dict[str, Any]:
    """Everything the template shows, grouped and formatted; no rule is applied here."""
    weeks = data.weeks
    by_cell: Cells = defaultdict(list)
    for r in data.metrics:
        by_cell[(r["touchpoint_id"], r["period_start"])].append(r)
    heat, heat_rows = _heat(data, by_cell)
    latest = summary.get("latest_week")
    incident = summary.get("incident_week")
    worst = summary.get("worst_touchpoints") or []
    names = {tp["id"]: tp["name"] for tp in data.touchpoints}
    top = max((float(t["transitions"] or 0) for t in data.transitions), default=0.0) or 1.0
    failing = [c for c in data.checks if not c["success"]]
    checks = failing + [c for c in data.checks if c["success"]][: max(0, 25 - len(failing))]
    return {
        "summary": summary,
        "status_order": STATUS_ORDER,
        "status_label": STATUS_LABEL,
        "fmt": fmt,
        "week_label": _week_label,
        "built": data.built_at.strftime("%Y-%m-%d %H:%M UTC") if data.built_at else "unknown",
        "period": f"{weeks[0]} to {weeks[-1]}" if weeks else "no data",
        "kpis": [
            (summary.get("touchpoints", 0), "touchpoints"),
            (summary.get("weeks", 0), "weeks"),
            (
                worst[0]["touchpoint"] if worst else "none",
                f"worst touchpoint, week of {latest or '–'}",
            ),
            (incident or "none", f"incident week ({summary.get('incident_week_red', 0)} red)"),
            (
                f"{summary.get('checks_failing_critical', 0)} / "
                f"{summary.get('checks_failing_warning', 0)}",
                "failing checks: critical / warning",
            ),
        ],
        "weeks": weeks,
        "incident_week": date.fromisoformat(incident) if incident else None,
        "metric_names": sorted(heat),
        "heat": heat,
        "heat_rows": heat_rows,
        "latest_week": date.fromisoformat(latest) if latest else None,
        "table_metrics": TABLE_METRICS,
        "metric_rows": _metric_table(data, by_cell, date.fromisoformat(latest) if latest else None),
        "worst": worst,
        "pain_points": pain_points_html(data.pain_points),
        "trend_tabs": [
            {"metric": metric, "label": label, "cards": _cards(data, metric)}
            for metric, label in TREND_METRICS
        ],
        "sentiment_cards": _cards(data, "customer_sentiment_avg"),
        "transitions": [
            {
                "from": names.get(t["from_touchpoint_id"], t["from_touchpoint_id"]),
                "to": names.get(t["to_touchpoint_id"], t["to_touchpoint_id"]),
                "width": f"{120 * float(t['transitions'] or 0) / top:.0f}",
                "count": f"{float(t['transitions'] or 0):,.0f}",
                "gap": fmt("gap_seconds", (t["avg_gap_minutes"] or 0) * 60),
                "problematic": fmt("pct", t["problematic_after_pct"]),
            }
            for t in data.transitions
        ],
        "checks": [
            {
                **c,
                "observed": _short(c["observed_value"]),
                "threshold": _short(c["threshold"]),
                "checked": c["checked_at"].strftime("%Y-%m-%d %H:%M") if c["checked_at"] else "",
            }
            for c in checks
        ],
        "checks_passing": len(data.checks) - len(failing),
        "checks_failing": len(failing),
        "checks_unlisted": len(data.checks) - len(checks),
    }


def render_html(data: ReportData, summary: dict[str, Any]) -> str:
    """The whole page as one string (``templates/scorecard.html.j2``)."""
    return render("scorecard.html.j2", **_view(data, summary))
