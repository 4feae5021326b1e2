"""The static report page: summary figures from hand-made mart rows, self-containment, and a
headless-Chromium render (skipped when Debian's `chromium` is not installed:
`apt-get install -y chromium`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from cxscore.report import ReportData, format_summary, render_html, summarize

WEEKS = [date(2026, 9, 7) + timedelta(weeks=i) for i in range(4)]
TOUCHPOINTS = [
    ("billing_call", "Billing call", "phone"),
    ("order_chat", "Order status chat", "chat"),
    ("unmapped_phone", "Unmapped phone", "phone"),
]
# (touchpoint, week index) -> statuses of the 4 metrics below
STATUSES = {
    ("billing_call", 0): ["green", "green", "no_target", "green"],
    ("billing_call", 1): ["red", "red", "no_target", "amber"],  # the incident week
    ("billing_call", 2): ["green", "amber", "no_target", "green"],
    ("billing_call", 3): ["red", "green", "no_target", "green"],
    ("order_chat", 0): ["green", "low_sample", "no_target", "green"],
    ("order_chat", 1): ["red", "low_sample", "no_target", "green"],
    ("order_chat", 2): ["green", "low_sample", "no_target", "green"],
    ("order_chat", 3): ["amber", "low_sample", "no_target", "green"],
    ("unmapped_phone", 0): ["no_data", "no_data", "no_target", "red"],
    ("unmapped_phone", 1): ["no_data", "no_data", "no_target", "red"],
    ("unmapped_phone", 2): ["no_data", "no_data", "no_target", "green"],
    ("unmapped_phone", 3): ["no_data", "no_data", "no_target", "green"],
}
METRICS = [
    ("csat_pct", "Support lead", 80.0),
    ("nps", "Support lead", 30.0),
    ("interactions", "Support lead", None),
    ("data_completeness_pct", "Data engineer", 98.0),
]
# what marts.touchpoint_scorecard_wide says of these cells (overall: the worst colour)
OVERALL = {
    "billing_call": ["green", "red", "amber", "red"],
    "order_chat": ["green", "red", "green", "amber"],
    "unmapped_phone": ["red", "red", "green", "green"],
}
# what marts.scorecard_weeks says of these weeks (its rules: a dbt unit test): 600
# interactions every week, so all are complete; red cells 1, 4, 0, 1, upper median 1
# (0, 1, 1, 4), so the second week is the incident week
WEEK_RULES = [
    # (interactions, red_metrics, red_rank, is_incident)
    (600.0, 1, 3, False),
    (600.0, 4, 1, True),
    (600.0, 0, 4, False),
    (600.0, 1, 2, False),
]


def _data() -> ReportData:
    data = ReportData(weeks=list(WEEKS), built_at=datetime(2026, 10, 5, 6, 0, tzinfo=UTC))
    data.touchpoints = [
        {"id": i, "name": n, "channel": c, "moment": "m"} for i, n, c in TOUCHPOINTS
    ]
    for (tp, wi), statuses in STATUSES.items():
        name, channel = next((n, c) for i, n, c in TOUCHPOINTS if i == tp)
        for (metric, owner, target), status in zip(METRICS, statuses, strict=True):
            value: Any = None if status == "no_data" else {"interactions": 200.0}.get(metric, 75.0)
            row = {
                "touchpoint_id": tp,
                "touchpoint_name": name,
                "channel": channel,
                "moment_of_truth": "m",
                "period_start": WEEKS[wi],
                "perspective": "customer",
                "metric": metric,
                "value": value,
                "numerator": None,
                "sample_size": 0 if value is None else 40,
                "target": target,
                "amber_band": 5.0 if target else None,
                "direction": "higher" if target else None,
                "status": status,
                "owner": owner,
                "prior_value": None,
                "ci_low": value - 5 if value is not None and metric != "interactions" else None,
                "ci_high": value + 5 if value is not None and metric != "interactions" else None,
                "change_significant": None,
                "built_at": data.built_at,
            }
            data.metrics.append(row)
    data.overall = {
        (tp, WEEKS[i]): status
        for tp, statuses in OVERALL.items()
        for i, status in enumerate(statuses)
    }
    data.scorecard_weeks = [
        {
            "period_start": week,
            "interactions": interactions,
            "red_metrics": reds,
            "is_complete": True,
            "is_latest_complete": week == WEEKS[-1],
            "red_rank": rank,
            "is_incident": incident,
            "median_red_metrics": 1,
        }
        for week, (interactions, reds, rank, incident) in zip(WEEKS, WEEK_RULES, strict=True)
    ]
    data.transitions = [
        {
            "from_touchpoint_id": "billing_call",
            "to_touchpoint_id": "order_chat",
            "transitions": 12,
            "avg_gap_minutes": 90.0,
            "problematic_after_pct": 25.0,
        }
    ]
    data.checks = [
        {
            "suite": "crm__orders",
            "table_name": "raw.crm__orders",
            "expectation": "expect_column_values_to_not_be_null",
            "column_name": "customer_email",
            "severity": "critical",
            "success": False,
            "observed_value": "0.61",
            "threshold": ">= 0.98",
            "checked_at": datetime(2026, 10, 5, 5, 0, tzinfo=UTC),
            "run_id": "r1",
        }
    ]
    return data


def test_summary_from_hand_made_rows() -> None:
    summary = summarize(_data())
    assert summary["touchpoints"] == 3 and summary["weeks"] == 4
    assert summary["latest_week"] == "2026-09-28"
    # week 4: billing red on csat (owner Support lead); order chat amber; unmapped all green
    assert [w["touchpoint"] for w in summary["worst_touchpoints"]] == [
        "Billing call",
        "Order status chat",
    ]
    assert summary["worst_touchpoints"][0]["red"] == ["csat_pct"]
    assert summary["worst_touchpoints"][0]["owners"] == ["Support lead"]
    # red cells per week: 1, 4, 0, 1 -> incident week 2026-09-14 (median 1)
    assert summary["incident_week"] == "2026-09-14"
    assert summary["incident_week_red"] == 4
    assert summary["checks_failing_critical"] == 1
    lines = format_summary(summary)
    assert any("incident week: 2026-09-14" in line for line in lines)


def test_page_is_self_contained() -> None:
    data = _data()
    page = render_html(data, summarize(data))
    assert "<title>CX touchpoint scorecard</title>" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no CDN, no remote
    assert "http" not in page.replace("http://www.w3.org", "")
    for status in ("green", "amber", "red", "low_sample", "no_data", "no_target"):
        assert f"s-{status}" in page  # legend and cells
    assert "Support lead" in page and "Data engineer" in page  # owners visible
    assert "<svg" in page and 'class="band"' in page  # trend with confidence band


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    data = _data()
    html = tmp_path / "scorecard.html"
    html.write_text(render_html(data, summarize(data)), encoding="utf-8")
    shot = tmp_path / "scorecard.png"
    profile = tempfile.mkdtemp(prefix="cxchrome-")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    try:
        proc = subprocess.run(
            ["chromium", *flags, "--window-size=1400,2000", f"--screenshot={shot}", html.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert shot.exists() and shot.stat().st_size > 20_000, proc.stderr[-3000:]
        dom = subprocess.run(
            ["chromium", *flags, "--dump-dom", html.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        # the metric picker (driven by the URL hash here) recolours the heatmap
        nps = subprocess.run(
            ["chromium", *flags, "--dump-dom", html.as_uri() + "#metric=nps"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert "Uncaught" not in proc.stderr + dom.stderr, (proc.stderr + dom.stderr)[-3000:]
    assert "Status by touchpoint and week" in dom.stdout
    cell = 'data-cell="order_chat|2026-09-07"'
    assert re.search(r'class="c s-green"[^>]*' + re.escape(cell), dom.stdout), "overall view"
    assert re.search(r'class="c s-low_sample"[^>]*' + re.escape(cell), nps.stdout), "nps view"


class _Elements(HTMLParser):
    """The start tags of a page, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_page_escapes_names_from_the_seeds() -> None:
    """Touchpoint names, channels and owners come from seeds people edit: every one is
    escaped (text, attributes, SVG titles) and the JSON in <script> cannot end its element."""
    data = _data()
    evil = "<script>alert(1)</script>"
    quote = "\"'><img src=x onerror=alert(2)>"
    data.touchpoints[0]["name"] = evil
    data.touchpoints[1]["channel"] = quote
    for row in data.metrics:
        if row["touchpoint_id"] == "billing_call":
            row["touchpoint_name"] = evil
            row["owner"] = quote
    summary = summarize(data)
    assert summary["worst_touchpoints"][0]["touchpoint"] == evil
    page = render_html(data, summary)
    assert evil not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text
    assert "\\u003cscript>alert(1)\\u003c/script>" in page  # inside the JSON of <script>
    parser = _Elements()
    parser.feed(page)
    assert [a.get("id") for t, a in parser.tags if t == "script"] == ["heatdata", None, "summary"]
    assert not any(t == "img" or "onerror" in a for t, a in parser.tags)
    heatdata = page.split("<script type='application/json' id='heatdata'>")[1].split("</script>")[0]
    assert json.loads(heatdata)["csat_pct"]["billing_call|2026-09-14"][2].endswith(
        f"owner {quote})"
    )  # the JSON still carries the value itself


@pytest.mark.pg
def test_report_needs_the_week_rules_of_a_build(fresh_db: str, tmp_path: Path) -> None:
    """The rules live in the marts: without marts.scorecard_weeks (a warehouse last
    published by an older version) the report stops and says what to run."""
    from cxscore.errors import CxError
    from cxscore.report import write_report
    from cxscore.settings import load_settings
    from cxscore.warehouse import init_warehouse
    from tests.helpers import query

    init_warehouse(fresh_db)
    settings = load_settings(environ={})
    with pytest.raises(CxError, match=r"marts\.touchpoint_scorecard does not exist yet"):
        write_report(settings, tmp_path / "a.html", url=fresh_db)
    query(fresh_db, "create table marts.touchpoint_scorecard (x int)")
    query(fresh_db, "create table marts.touchpoint_scorecard_wide (x int)")
    with pytest.raises(CxError, match=r"marts\.scorecard_weeks does not exist yet.*build"):
        write_report(settings, tmp_path / "b.html", url=fresh_db)
    assert not (tmp_path / "b.html").exists()
