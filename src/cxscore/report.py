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

No metric is computed here: every number comes from the marts (formulas live in dbt).
"""

from __future__ import annotations

import contextlib
import html
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cxscore.errors import CxError
from cxscore.pain_points import load_pain_points, pain_points_html
from cxscore.settings import Settings

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
SENTIMENT_METRICS = ("customer_sentiment_avg", "negative_sentiment_pct", "sentiment_coverage_pct")


@dataclass
class ReportData:
    """What the page shows, loaded from the marts."""

    weeks: list[date] = field(default_factory=list)
    touchpoints: list[dict[str, Any]] = field(default_factory=list)  # id, name, channel, moment
    metrics: list[dict[str, Any]] = field(default_factory=list)  # week rows, segment all
    overall: dict[tuple[str, date], str] = field(default_factory=dict)
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
        if not _table_exists(cur, "marts.touchpoint_scorecard"):
            raise CxError(
                "table marts.touchpoint_scorecard does not exist yet: build the scorecard "
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
        if _table_exists(cur, "marts.touchpoint_scorecard_wide"):
            cur.execute(
                """
                select touchpoint_id, period_start, overall_status
                from marts.touchpoint_scorecard_wide
                where period_grain = 'week' and segment = 'all'
                """
            )
            data.overall = {(r[0], r[1]): r[2] for r in cur.fetchall()}
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


def _complete_weeks(data: ReportData) -> list[date]:
    """Weeks whose interactions cover the whole week: drop a trailing partial week, i.e. one
    with under 60 % of the previous week's interactions."""
    totals: dict[date, float] = defaultdict(float)
    for r in data.metrics:
        if r["metric"] == "interactions" and r["value"] is not None:
            totals[r["period_start"]] += float(r["value"])
    weeks = list(data.weeks)
    if len(weeks) >= 2 and totals[weeks[-1]] < 0.6 * totals[weeks[-2]]:
        weeks = weeks[:-1]
    if len(weeks) >= 2 and totals[weeks[0]] < 0.6 * totals[weeks[1]]:
        weeks = weeks[1:]
    return weeks


def summarize(data: ReportData) -> dict[str, Any]:
    """The headline numbers: latest complete week, worst touchpoints (with the owners of
    their red metrics), the incident week (most red metric cells)."""
    weeks = _complete_weeks(data)
    latest = weeks[-1] if weeks else None
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
    reds: dict[date, int] = defaultdict(int)
    for r in data.metrics:
        if r["status"] == "red" and r["period_start"] in weeks:
            reds[r["period_start"]] += 1
    incident = max(weeks, key=lambda w: (reds[w], w)) if weeks else None
    median = sorted(reds[w] for w in weeks)[len(weeks) // 2] if weeks else 0
    failing = [c for c in data.checks if not c["success"]]
    sentiment = _sentiment_worst(data, latest)
    return {
        "touchpoints": len(data.touchpoints),
        "weeks": len(data.weeks),
        "latest_week": latest.isoformat() if latest else None,
        "worst_touchpoints": worst,
        "incident_week": incident.isoformat() if incident and reds[incident] > median else None,
        "incident_week_red": reds[incident] if incident else 0,
        "median_week_red": median,
        "checks": len(data.checks),
        "checks_failing_critical": sum(1 for c in failing if c["severity"] == "critical"),
        "checks_failing_warning": sum(1 for c in failing if c["severity"] == "warning"),
        "sentiment_worst": sentiment,
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


# --------------------------------------------------------------------------- rendering


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(metric: str, value: Any) -> str:
    if value is None:
        return "–"
    v = float(value)
    if metric.endswith("_seconds"):
        if v >= 3600:
            return f"{v / 3600:.1f} h"
        if v >= 60:
            return f"{v / 60:.1f} min"
        return f"{v:.0f} s"
    if metric in ("interactions",):
        return f"{v:,.0f}"
    if metric == "influenced_revenue":
        return f"{v:,.0f}"
    if metric in ("ces_avg", "sentiment", "customer_sentiment_avg"):
        return f"{v:+.2f}" if metric != "ces_avg" else f"{v:.2f}"
    return f"{v:.1f}"


def _week_label(week: date) -> str:
    iso = week.isocalendar()
    return f"W{iso.week:02d}"


def _svg_trend(rows: list[dict[str, Any]], weeks: list[date], metric: str) -> str:
    """A small line chart with a 95 % band and the target line."""
    width, height, pad_l, pad_r, pad_t, pad_b = 240, 110, 30, 6, 8, 18
    points = [r for r in rows if r["value"] is not None]
    if not points:
        return '<div class="nodata">no scored responses</div>'
    values = [float(r["value"]) for r in points]
    lows = [float(r["ci_low"]) for r in points if r["ci_low"] is not None]
    highs = [float(r["ci_high"]) for r in points if r["ci_high"] is not None]
    targets = [float(r["target"]) for r in points if r["target"] is not None]
    lo = min(values + lows + targets)
    hi = max(values + highs + targets)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    index = {w: i for i, w in enumerate(weeks)}
    n = max(len(weeks) - 1, 1)

    def x(week: date) -> float:
        return pad_l + (width - pad_l - pad_r) * index[week] / n

    def y(v: float) -> float:
        return pad_t + (height - pad_t - pad_b) * (1 - (v - lo) / (hi - lo))

    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
        f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" '
        f'y2="{height - pad_b}" class="axis"/>',
        f'<text x="{pad_l - 3}" y="{y(hi) + 8:.1f}" class="tick" text-anchor="end">'
        f"{_fmt(metric, hi)}</text>",
        f'<text x="{pad_l - 3}" y="{y(lo):.1f}" class="tick" text-anchor="end">'
        f"{_fmt(metric, lo)}</text>",
    ]
    band = [r for r in points if r["ci_low"] is not None and r["ci_high"] is not None]
    if len(band) >= 2:
        upper = " ".join(f"{x(r['period_start']):.1f},{y(float(r['ci_high'])):.1f}" for r in band)
        lower = " ".join(
            f"{x(r['period_start']):.1f},{y(float(r['ci_low'])):.1f}" for r in reversed(band)
        )
        parts.append(f'<polygon points="{upper} {lower}" class="band"/>')
    if targets:
        ty = y(targets[-1])
        parts.append(
            f'<line x1="{pad_l}" y1="{ty:.1f}" x2="{width - pad_r}" y2="{ty:.1f}" class="target"/>'
        )
    line = " ".join(f"{x(r['period_start']):.1f},{y(float(r['value'])):.1f}" for r in points)
    parts.append(f'<polyline points="{line}" class="line"/>')
    for r in points:
        cls = _e(r["status"])
        tip = (
            f"week of {r['period_start']}: {_fmt(metric, r['value'])} "
            f"(95% {_fmt(metric, r['ci_low'])}..{_fmt(metric, r['ci_high'])}, "
            f"n={r['sample_size']}, {r['status']})"
        )
        parts.append(
            f'<circle cx="{x(r["period_start"]):.1f}" cy="{y(float(r["value"])):.1f}" r="2.6" '
            f'class="pt s-{cls}"><title>{_e(tip)}</title></circle>'
        )
    if weeks:
        parts.append(
            f'<text x="{pad_l}" y="{height - 4}" class="tick">{_week_label(weeks[0])}</text>'
            f'<text x="{width - pad_r}" y="{height - 4}" class="tick" text-anchor="end">'
            f"{_week_label(weeks[-1])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


CSS = """
:root{--green:#2f9e5b;--amber:#f2a93b;--red:#d64545;--low:#9fb3c8;--nodata:#e9edf2;
--notarget:#ffffff;--ink:#1d2733;--muted:#5f6b7a;--line:#d7dde5;--bg:#f6f8fb}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#17324d;color:#fff;padding:22px 32px}
header h1{margin:0;font-size:24px;font-weight:650}header p{margin:4px 0 0;color:#c8d6e5}
main{padding:18px 32px 40px;max-width:1500px}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 20px;
margin:16px 0}
h2{margin:0 0 4px;font-size:17px}.sub{margin:0 0 12px;color:var(--muted);font-size:13px}
.kpis{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.kpi{background:#fff;border:1px solid var(--line);border-radius:10px;padding:10px 16px;
min-width:150px}.kpi b{display:block;font-size:22px}.kpi span{color:var(--muted);
font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12.5px;color:var(--muted)}
.legend i{display:inline-block;width:14px;height:14px;border-radius:3px;
vertical-align:-2px;margin-right:5px;border:1px solid rgba(0,0,0,.12)}
.s-green{background:var(--green);fill:var(--green)}.s-amber{background:var(--amber);
fill:var(--amber)}.s-red{background:var(--red);fill:var(--red)}
.s-low_sample{background:repeating-linear-gradient(45deg,var(--low),var(--low) 3px,
#c9d5e1 3px,#c9d5e1 6px);fill:var(--low)}.s-no_data{background:var(--nodata);
fill:#b8c0ca}.s-no_target{background:var(--notarget);fill:#8a7fc7;
outline:1px dashed #8a7fc7;outline-offset:-3px}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 8px;text-align:left;border-bottom:1px solid #edf0f4;white-space:nowrap}
th{font-size:12px;color:var(--muted);font-weight:600}
.heat td.c{min-width:44px;padding:0 3px;height:30px;border:2px solid #fff;
text-align:center;font-size:11px;font-weight:600;color:#fff;border-radius:5px}
.heat td.c.s-no_data,.heat td.c.s-no_target{color:#6b7684}
.heat td.c.s-low_sample{color:#23364a}
.heat td.c.sel{box-shadow:inset 0 0 0 2px #17324d}
.heat th.w{text-align:center;font-weight:500}.heat th.w.incident{color:var(--red);
font-weight:700}
.tp b{font-weight:600}.tp small{color:var(--muted);margin-left:6px}
.owner{color:var(--muted);font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}
.card{border:1px solid #edf0f4;border-radius:8px;padding:8px}
.card h3{margin:0 0 2px;font-size:13px}.card p{margin:0;color:var(--muted);font-size:12px}
svg .axis{stroke:#c3ccd6}svg .tick{font-size:9px;fill:#7b8794}
svg .band{fill:#4d7fb3;opacity:.18}svg .line{fill:none;stroke:#2c5f93;stroke-width:1.8}
svg .target{stroke:#6b7684;stroke-dasharray:4 3;stroke-width:1}
.metrics td.m{text-align:center;font-variant-numeric:tabular-nums;border:2px solid #fff;
border-radius:5px;min-width:72px}
.metrics td.m.s-green,.metrics td.m.s-red{color:#fff}
.bar{display:inline-block;height:10px;background:#4d7fb3;border-radius:2px;
vertical-align:middle;margin-right:6px}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:11.5px;
font-weight:600}.pill.ok{background:#e3f4ea;color:#1f7a45}.pill.fail{background:#fbe3e3;
color:#a52b2b}.pill.warn{background:#fdf0da;color:#8a5a0b}
.tabs button{border:1px solid var(--line);background:#fff;border-radius:6px;
padding:4px 12px;margin-right:6px;cursor:pointer}.tabs button.on{background:#17324d;
color:#fff;border-color:#17324d}
.nodata{color:var(--muted);font-size:12px;padding:30px 0;text-align:center}
.scroll{overflow-x:auto}table.wrap td{white-space:normal}
footer{color:var(--muted);font-size:12px;padding:0 32px 30px}
"""

JS = """
(function(){
  var sel = document.getElementById('heatsel');
  var data = JSON.parse(document.getElementById('heatdata').textContent);
  var cells = document.querySelectorAll('td[data-cell]');
  var keep = [];
  cells.forEach(function(td){ keep.push([td.className, td.textContent, td.title]); });
  sel.addEventListener('change', function(){
    var m = sel.value;
    cells.forEach(function(td, i){
      var sel2 = / sel$/.test(keep[i][0]) ? ' sel' : '';
      if (!m) {
        td.className = keep[i][0]; td.textContent = keep[i][1]; td.title = keep[i][2];
        return;
      }
      var d = (data[m] || {})[td.getAttribute('data-cell')];
      if (!d) {
        td.className = 'c s-no_data' + sel2; td.textContent = ''; td.title = 'no row';
        return;
      }
      td.className = 'c s-' + d[0] + sel2; td.textContent = d[1]; td.title = d[2];
    });
  });
  var m = /^#metric=([A-Za-z0-9_]+)$/.exec(location.hash);  // e.g. scorecard.html#metric=nps
  if (m && data[m[1]]) { sel.value = m[1]; sel.dispatchEvent(new Event('change')); }
})();
document.querySelectorAll('.tabs').forEach(function(tabs){
  tabs.querySelectorAll('button').forEach(function(b){
    b.addEventListener('click',function(){
      tabs.querySelectorAll('button').forEach(function(x){x.classList.remove('on')});
      b.classList.add('on');
      document.querySelectorAll('[data-tab]').forEach(function(p){
        p.style.display = p.getAttribute('data-tab')===b.getAttribute('data-for')?'':'none';
      });
    });
  });
});
"""


def _legend() -> str:
    items = "".join(
        f'<span><i class="s-{s}"></i>{_e(STATUS_LABEL[s])}</span>' for s in STATUS_ORDER
    )
    return f'<div class="legend">{items}</div>'


def render_html(data: ReportData, summary: dict[str, Any]) -> str:
    """The whole page as one string."""
    weeks = data.weeks
    incident = summary.get("incident_week")
    by_tp_week: dict[tuple[str, date], list[dict[str, Any]]] = defaultdict(list)
    for r in data.metrics:
        by_tp_week[(r["touchpoint_id"], r["period_start"])].append(r)
    out: list[str] = []
    built = data.built_at.strftime("%Y-%m-%d %H:%M UTC") if data.built_at else "unknown"
    period = f"{weeks[0]} to {weeks[-1]}" if weeks else "no data"
    out.append(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<title>CX touchpoint scorecard</title>"
        f"<style>{CSS}</style></head><body>"
        "<header><h1>Customer-experience touchpoint scorecard</h1>"
        f"<p>Weekly balanced scorecard per touchpoint, all segments &middot; weeks {period}"
        f" &middot; built {_e(built)}</p></header><main>"
    )
    worst = summary.get("worst_touchpoints") or []
    kpis = [
        (str(summary.get("touchpoints", 0)), "touchpoints"),
        (str(summary.get("weeks", 0)), "weeks"),
        (
            _e(worst[0]["touchpoint"]) if worst else "none",
            f"worst touchpoint, week of {summary.get('latest_week') or '–'}",
        ),
        (_e(incident or "none"), f"incident week ({summary.get('incident_week_red', 0)} red)"),
        (
            f"{summary.get('checks_failing_critical', 0)} / "
            f"{summary.get('checks_failing_warning', 0)}",
            "failing checks: critical / warning",
        ),
    ]
    out.append(
        '<div class="kpis">'
        + "".join(f'<div class="kpi"><b>{v}</b><span>{_e(k)}</span></div>' for v, k in kpis)
        + "</div>"
    )

    # heatmap
    metric_names = sorted({r["metric"] for r in data.metrics})
    heat: dict[str, dict[str, list[str]]] = {}
    for r in data.metrics:
        cell = f"{r['touchpoint_id']}|{r['period_start']}"
        tip = (
            f"{r['metric']}: {_fmt(r['metric'], r['value'])} (target "
            f"{_fmt(r['metric'], r['target'])}, n={r['sample_size']}, owner {r['owner'] or '–'})"
        )
        heat.setdefault(r["metric"], {})[cell] = [_status(r), _fmt(r["metric"], r["value"]), tip]
    options = "".join(f"<option value='{_e(m)}'>{_e(m)}</option>" for m in metric_names)
    out.append(
        "<section><h2>Status by touchpoint and week</h2>"
        '<p class="sub">Overall: each cell is the worst perspective status (customer, '
        "operations, financial, data quality) of the touchpoint that ISO week, and the number "
        "is how many of its metrics were red; pick a metric to see that metric's status and "
        "value instead. Hover a cell for details; the incident week is outlined.</p>"
        "<p class='sub'><label>Show: <select id='heatsel'><option value=''>overall status"
        f"</option>{options}</select></label></p>"
        f"<script type='application/json' id='heatdata'>{_script_json(heat)}</script>"
    )
    out.append(_legend())
    out.append('<div class="scroll"><table class="heat"><tr><th>Touchpoint</th>')
    for w in weeks:
        cls = "w incident" if incident and w.isoformat() == incident else "w"
        out.append(f'<th class="{cls}" title="week of {w}">{_week_label(w)}</th>')
    out.append("<th>Owners of red metrics</th></tr>")
    for tp in data.touchpoints:
        out.append(
            f'<tr><td class="tp"><b>{_e(tp["name"])}</b><small>{_e(tp["channel"])}</small></td>'
        )
        owners: set[str] = set()
        for w in weeks:
            rows = by_tp_week.get((tp["id"], w), [])
            status = data.overall.get((tp["id"], w))
            if status is None:
                status = _worst_status(rows)
            reds = [r for r in rows if r["status"] == "red"]
            for r in reds:
                if r["owner"]:
                    owners.add(str(r["owner"]))
            tip = "\n".join(
                f"{r['metric']}: {_fmt(r['metric'], r['value'])} "
                f"(target {_fmt(r['metric'], r['target'])}) {r['status']}"
                + (f", owner {r['owner']}" if r["status"] in ("red", "amber") else "")
                for r in sorted(rows, key=lambda r: STATUS_ORDER.index(_status(r)))
                if r["status"] in ("red", "amber", "green")
            )
            label = str(len(reds)) if reds else ""
            sel = " sel" if incident and w.isoformat() == incident else ""
            out.append(
                f'<td class="c s-{_e(status)}{sel}" data-cell="{_e(tp["id"])}|{w}" '
                f'title="{_e(tp["name"])}, week of {w}: {_e(status)}\n{_e(tip)}">{label}</td>'
            )
        out.append(f'<td class="owner">{_e(", ".join(sorted(owners)) or "–")}</td></tr>')
    out.append("</table></div></section>")

    # latest week metrics table
    latest = summary.get("latest_week")
    if latest:
        lw = date.fromisoformat(latest)
        out.append(
            f"<section><h2>Metrics, week of {lw}</h2><p class='sub'>The latest complete week. "
            "Colour = status against the target in the <code>scorecard_targets</code> seed; "
            "hover for target, sample size and owner.</p>"
        )
        out.append(_legend())
        out.append('<div class="scroll"><table class="metrics"><tr><th>Touchpoint</th>')
        out.append("".join(f"<th>{_e(label)}</th>" for _, label in TABLE_METRICS))
        out.append("</tr>")
        for tp in data.touchpoints:
            by_metric = {r["metric"]: r for r in by_tp_week.get((tp["id"], lw), [])}
            if not by_metric:
                continue
            out.append(f'<tr><td class="tp"><b>{_e(tp["name"])}</b></td>')
            for metric, _label in TABLE_METRICS:
                mr = by_metric.get(metric)
                if mr is None:
                    out.append('<td class="m"></td>')
                    continue
                tip = (
                    f"{metric}: {_fmt(metric, mr['value'])}; target "
                    f"{mr['direction'] or ''} {_fmt(metric, mr['target'])}; "
                    f"n={mr['sample_size']}; owner {mr['owner'] or '–'}; {mr['status']}"
                )
                out.append(
                    f'<td class="m s-{_e(mr["status"])}" title="{_e(tip)}">'
                    f"{_fmt(metric, mr['value'])}</td>"
                )
            out.append("</tr>")
        out.append("</table></div></section>")

    # worst touchpoints with owners
    if worst:
        out.append(
            f"<section><h2>Needs attention, week of {_e(latest)}</h2>"
            "<table class='wrap'><tr><th>Touchpoint</th><th>Red metrics</th><th>Amber metrics</th>"
            "<th>Owners</th></tr>"
        )
        for w in worst:
            out.append(
                f"<tr><td><b>{_e(w['touchpoint'])}</b></td><td>{_e(', '.join(w['red']) or '–')}"
                f"</td><td>{_e(', '.join(w['amber']) or '–')}</td>"
                f"<td>{_e(', '.join(w['owners']) or '–')}</td></tr>"
            )
        out.append("</table></section>")

    out.append(pain_points_html(data.pain_points))

    # trends
    out.append(
        "<section><h2>Survey metric trends</h2><p class='sub'>Weekly value (points coloured "
        "by status), the shaded 95% confidence band, and the target (dashed). A move inside "
        "the band is noise, not a trend.</p><div class='tabs'>"
    )
    for i, (metric, label) in enumerate(TREND_METRICS):
        on = " class='on'" if i == 0 else ""
        out.append(f"<button data-for='{metric}'{on}>{_e(label)}</button>")
    out.append("</div>")
    for i, (metric, label) in enumerate(TREND_METRICS):
        hidden = "" if i == 0 else " style='display:none'"
        out.append(f"<div data-tab='{metric}'{hidden}><h3 class='sub'>{_e(label)}</h3>")
        out.append("<div class='grid'>")
        for tp in data.touchpoints:
            rows = [
                r for r in data.metrics if r["touchpoint_id"] == tp["id"] and r["metric"] == metric
            ]
            if not any(r["value"] is not None for r in rows):
                continue
            last = next((r for r in reversed(rows) if r["value"] is not None), None)
            owner = last["owner"] if last else None
            out.append(
                f"<div class='card'><h3>{_e(tp['name'])}</h3><p>latest "
                f"{_fmt(metric, last['value'] if last else None)} &middot; owner "
                f"{_e(owner or '–')}</p>{_svg_trend(rows, weeks, metric)}</div>"
            )
        out.append("</div></div>")
    out.append("</section>")

    # sentiment
    out.append(
        "<section><h2>Customer sentiment</h2><p class='sub'>What customers write and say "
        "(ticket comments, call and chat transcripts, survey comments), scored offline in "
        "their language: weekly mean sentiment (-1..1, target dashed), the share of negative "
        "interactions (lowest message below -0.5) and the coverage (interactions with customer "
        "text that could be scored). The text itself never leaves the raw layer.</p>"
    )
    sounding = summary.get("sentiment_worst") or []
    if sounding:
        out.append(
            f"<h3 class='sub'>Worst sounding touchpoints, week of {_e(summary.get('latest_week'))}"
            "</h3><table><tr><th>Touchpoint</th><th>Sentiment</th><th>Negative %</th>"
            "<th>Coverage %</th><th>n</th><th>Status</th><th>Owner</th></tr>"
        )
        for w in sounding:
            status = w.get("status") or "no_data"
            out.append(
                f"<tr><td>{_e(w['touchpoint'])}</td>"
                f"<td>{_fmt('sentiment', w.get('customer_sentiment_avg'))}</td>"
                f"<td>{_fmt('pct', w.get('negative_sentiment_pct'))}</td>"
                f"<td>{_fmt('pct', w.get('sentiment_coverage_pct'))}</td>"
                f"<td>{_e(w.get('sample_size'))}</td>"
                f"<td><span class='pill {status}'>{_e(status)}</span></td>"
                f"<td>{_e(w.get('owner') or '–')}</td></tr>"
            )
        out.append("</table>")
    out.append("<div class='grid'>")
    cards = 0
    for tp in data.touchpoints:
        rows = [
            r
            for r in data.metrics
            if r["touchpoint_id"] == tp["id"] and r["metric"] == "customer_sentiment_avg"
        ]
        if not any(r["value"] is not None for r in rows):
            continue
        cards += 1
        coverage = {
            r["period_start"]: r["value"]
            for r in data.metrics
            if r["touchpoint_id"] == tp["id"] and r["metric"] == "sentiment_coverage_pct"
        }
        last = next((r for r in reversed(rows) if r["value"] is not None), None)
        cov = coverage.get(last["period_start"]) if last else None
        out.append(
            f"<div class='card'><h3>{_e(tp['name'])}</h3><p>latest "
            f"{_fmt('sentiment', last['value'] if last else None)} &middot; coverage "
            f"{_fmt('pct', cov)}% &middot; owner {_e((last or {}).get('owner') or '–')}</p>"
            f"{_svg_trend(rows, weeks, 'customer_sentiment_avg')}</div>"
        )
    out.append("</div>")
    if not cards:
        out.append("<div class='nodata'>no scored customer text yet</div>")
    out.append("</section>")

    # transitions
    out.append(
        "<section><h2>Transitions between touchpoints</h2><p class='sub'>A customer's next "
        "interaction within 24 hours (all weeks). Many transitions out of a touchpoint mean "
        "it did not resolve the need.</p>"
    )
    if data.transitions:
        names = {tp["id"]: tp["name"] for tp in data.touchpoints}
        top = max(float(t["transitions"] or 0) for t in data.transitions) or 1.0
        out.append(
            "<table><tr><th>From</th><th>To</th><th>Transitions</th><th>Avg gap</th>"
            "<th>Problematic after</th></tr>"
        )
        for t in data.transitions:
            n = float(t["transitions"] or 0)
            out.append(
                f"<tr><td>{_e(names.get(t['from_touchpoint_id'], t['from_touchpoint_id']))}</td>"
                f"<td>&rarr; {_e(names.get(t['to_touchpoint_id'], t['to_touchpoint_id']))}</td>"
                f"<td><span class='bar' style='width:{120 * n / top:.0f}px'></span>{n:,.0f}</td>"
                f"<td>{_fmt('gap_seconds', (t['avg_gap_minutes'] or 0) * 60)}</td>"
                f"<td>{_fmt('pct', t['problematic_after_pct'])}%</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<div class='nodata'>no transitions</div>")
    out.append("</section>")

    # data quality
    failing = [c for c in data.checks if not c["success"]]
    passed = len(data.checks) - len(failing)
    out.append(
        "<section><h2>Data quality</h2><p class='sub'>Latest result of every expectation "
        f"(from <code>quality.check_results</code>): {passed} passing, {len(failing)} failing. "
        "Critical failures block the scorecard build; warnings alert only.</p>"
    )
    if data.checks:
        out.append(
            "<table><tr><th>Result</th><th>Severity</th><th>Table</th><th>Expectation</th>"
            "<th>Column</th><th>Observed</th><th>Threshold</th><th>Checked</th></tr>"
        )
        shown = failing + [c for c in data.checks if c["success"]][: max(0, 25 - len(failing))]
        for c in shown:
            if c["success"]:
                pill = "<span class='pill ok'>pass</span>"
            elif c["severity"] == "critical":
                pill = "<span class='pill fail'>FAIL</span>"
            else:
                pill = "<span class='pill warn'>warn</span>"
            checked = c["checked_at"].strftime("%Y-%m-%d %H:%M") if c["checked_at"] else ""
            out.append(
                f"<tr><td>{pill}</td><td>{_e(c['severity'])}</td><td>{_e(c['table_name'])}</td>"
                f"<td>{_e(c['expectation'])}</td><td>{_e(c['column_name'] or '')}</td>"
                f"<td>{_e(_short(c['observed_value']))}</td><td>{_e(_short(c['threshold']))}</td>"
                f"<td>{_e(checked)}</td></tr>"
            )
        out.append("</table>")
        if len(data.checks) > len(shown):
            out.append(
                f"<p class='sub'>{len(data.checks) - len(shown)} more passing expectations "
                "not listed.</p>"
            )
    else:
        out.append("<div class='nodata'>no check results yet</div>")
    out.append("</section></main>")
    out.append(
        "<footer>Generated by cxscore from <code>marts.touchpoint_scorecard</code>, "
        "<code>marts.touchpoint_scorecard_wide</code>, <code>marts.touchpoint_transitions</code>"
        " and <code>quality.check_results</code>. Metric definitions: docs/metrics.md."
        f"</footer><script>{JS}</script>"
        f"<script type='application/json' id='summary'>"
        f"{_script_json(summary)}</script></body></html>"
    )
    return "".join(out)


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no entity decoding there: escape '<' instead)."""
    return json.dumps(value, default=str).replace("<", "\\u003c")


def _status(row: dict[str, Any]) -> str:
    status = str(row.get("status") or "no_data")
    return status if status in STATUS_ORDER else "no_data"


def _worst_status(rows: list[dict[str, Any]]) -> str:
    colours = [r["status"] for r in rows if r["status"] in ("red", "amber", "green")]
    for s in ("red", "amber", "green"):
        if s in colours:
            return s
    return "no_data"


def _short(value: Any, limit: int = 60) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
            f"  {w['touchpoint']}: {_fmt('sentiment', w.get('customer_sentiment_avg'))}, "
            f"{_fmt('pct', w.get('negative_sentiment_pct'))}% negative, "
            f"{_fmt('pct', w.get('sentiment_coverage_pct'))}% covered -> {w.get('owner') or '–'}"
        )
    lines.append(
        f"data quality: {summary.get('checks', 0)} expectations, "
        f"{summary.get('checks_failing_critical', 0)} critical and "
        f"{summary.get('checks_failing_warning', 0)} warning failing"
    )
    return lines
