"""The static report page: summary figures from hand-made mart rows, self-containment, and a
headless-Chromium render (skipped when Debian's `chromium` is not installed:
`apt-get install -y chromium`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from datetime import UTC, date, datetime, timedelta
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
