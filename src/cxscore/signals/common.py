"""Small things every owner message uses: the business day, numbers as owners read them,
the report link."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from cxscore.settings import Settings


def business_today(settings: Settings, now: datetime | None = None) -> date:
    """Today's date in the business timezone (a period is complete when it ends by then)."""
    now = now or datetime.now(ZoneInfo("UTC"))
    return now.astimezone(ZoneInfo(settings.business_timezone)).date()


def fmt_number(value: Any) -> str:
    """A value as owners read it: at most 2 decimals, no trailing zeros."""
    if value is None:
        return "–"
    if isinstance(value, (Decimal, float)):
        text = f"{float(value):,.2f}".rstrip("0").rstrip(".")
        return text if text not in ("-0", "") else "0"
    return str(value)


def report_link(settings: Settings) -> str:
    if settings.owners.report_url:
        from cxscore.redaction import redact_url

        return f"Report: {redact_url(settings.owners.report_url)}"  # a password never shows
    return "Report: reports/scorecard.html (cxscore report)"
