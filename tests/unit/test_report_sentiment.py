"""The report's sentiment section: the trend per touchpoint with its coverage and the worst
sounding touchpoints, every number read from the marts rows (none computed here)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from cxscore.report import ReportData, format_summary, render_html, summarize

WEEKS = [date(2026, 9, 7), date(2026, 9, 14)]
# touchpoint -> per week (sentiment avg, negative %, coverage %)
VALUES = {
    "phone_billing": [(0.10, 8.0, 90.0), (-0.42, 38.0, 85.0)],
    "chat_support": [(0.30, 4.0, 95.0), (0.25, 5.0, 97.0)],
    "email_support": [(0.05, 9.0, 60.0), (-0.05, 12.0, 61.0)],
}


def _row(tp: str, week: date, metric: str, value: Any) -> dict[str, Any]:
    return {
        "touchpoint_id": tp, "touchpoint_name": tp.replace("_", " ").title(), "channel": "x",
        "moment_of_truth": "m", "period_start": week, "perspective": "customer",
        "metric": metric, "value": value, "numerator": None, "sample_size": 120,
        "target": 0.0, "amber_band": 0.1, "direction": "higher",
        "status": "red" if value is not None and value < -0.1 else "green",
        "owner": "CX analyst", "prior_value": None, "ci_low": None, "ci_high": None,
        "change_significant": None, "built_at": datetime(2026, 9, 21, tzinfo=UTC),
    }  # fmt: skip


def _data() -> ReportData:
    data = ReportData(weeks=list(WEEKS), built_at=datetime(2026, 9, 21, tzinfo=UTC))
    data.touchpoints = [
        {"id": tp, "name": tp.replace("_", " ").title(), "channel": "x", "moment": "m"}
        for tp in VALUES
    ]
    for tp, weeks in VALUES.items():
        for week, (avg, neg, cov) in zip(WEEKS, weeks, strict=True):
            data.metrics += [
                _row(tp, week, "interactions", 200.0),
                _row(tp, week, "customer_sentiment_avg", avg),
                _row(tp, week, "negative_sentiment_pct", neg),
                _row(tp, week, "sentiment_coverage_pct", cov),
            ]
            data.overall[(tp, week)] = "red" if avg < -0.1 else "green"
    # what marts.scorecard_weeks says: both weeks complete (600 interactions each), red
    # cells 0 and 1, upper median 1: no incident week
    data.scorecard_weeks = [
        {"period_start": week, "interactions": 600.0, "red_metrics": reds, "is_complete": True,
         "is_latest_complete": week == WEEKS[-1], "red_rank": rank, "is_incident": False,
         "median_red_metrics": 1}
        for week, reds, rank in zip(WEEKS, (0, 1), (2, 1), strict=True)
    ]  # fmt: skip
    return data


def test_worst_sounding_touchpoints_of_the_latest_week() -> None:
    summary = summarize(_data())
    assert summary["latest_week"] == "2026-09-14"
    worst = summary["sentiment_worst"]
    assert [w["touchpoint_id"] for w in worst] == ["phone_billing", "email_support", "chat_support"]
    assert (worst[0]["negative_sentiment_pct"], worst[0]["sentiment_coverage_pct"]) == (38.0, 85.0)
    lines = format_summary(summary)
    assert any("customer sentiment, lowest" in line for line in lines)
    assert any("Phone Billing: -0.42, 38.0% negative, 85.0% covered" in line for line in lines)


def test_page_has_the_sentiment_section_with_trends_and_coverage() -> None:
    data = _data()
    page = render_html(data, summarize(data))
    assert "<h2>Customer sentiment</h2>" in page
    assert "Worst sounding touchpoints, week of 2026-09-14" in page
    assert "coverage 85.0%" in page  # phone billing's latest coverage next to its trend
    assert page.count("<svg") >= 3
