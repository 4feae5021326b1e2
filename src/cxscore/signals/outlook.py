"""Who would be told what this week: the demo's owner summary (``make demo``).

Writes the dry-run digests of the last complete week next to the report, counts the owner
messages the runs actually sent (``meta.owner_notifications``), and replays the status
alerts a daily run would have sent over the whole scorecard (read-only), per ISO week, so
the alert volume and the incident week can be seen at a glance (docs/signals.md).
"""

from __future__ import annotations

import contextlib
import statistics
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from cxscore.settings import Settings


def sent_counts(url: str) -> dict[str, int]:
    from cxscore.warehouse import connect

    with contextlib.closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute("select kind, count(*) from meta.owner_notifications group by kind")
        return {str(k): int(n) for k, n in cur.fetchall()}


def daily_replay_by_week(url: str) -> dict[str, dict[str, int]]:
    """Status alerts a daily run would have sent, per ISO week of the judged day: rows that
    turned red, rows that recovered, messages (one per owner and direction and run)."""
    from cxscore.signals.digest import week_label
    from cxscore.signals.status import replay_status_alerts
    from cxscore.warehouse import connect

    with contextlib.closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "select min(period_start), max(period_end) from marts.touchpoint_scorecard "
            "where period_grain = 'day'"
        )
        first, last = cur.fetchone()
    if first is None:
        return {}
    per_week: dict[str, Counter[str]] = {}
    for day in replay_status_alerts(url, first_day=first + timedelta(days=1), last_day=last):
        # the alerts sent on a day are about the day before: count them in that day's week
        about = day["day"] - timedelta(days=1)
        week = per_week.setdefault(week_label(about - timedelta(days=about.weekday())), Counter())
        for key in ("turned_red", "recovered", "messages"):
            week[key] += day[key]
    return {w: dict(c) for w, c in sorted(per_week.items())}


def owner_outlook(
    settings: Settings, *, url: str, digest_dir: Path, incident_week: str | None = None
) -> dict[str, Any]:
    """Dry-run digests of the last complete week, messages sent, the daily-run replay."""
    from cxscore.signals.digest import run_digest, week_label
    from cxscore.signals.hourly import phone_breaches

    digest = run_digest(settings, url=url, dry_run=True, out_dir=digest_dir)
    sent = sent_counts(url)
    weekly = daily_replay_by_week(url)
    lines = [
        f"who would be told what, week {digest['week']} (dry-run digests in "
        f"{digest.get('dir', digest_dir)}):",
        *(f"  {entry['line']}" for entry in digest["owners"].values()),
    ]
    if not digest["owners"]:
        lines.append("  nobody: no red or amber metric and no pain point that week")
    total = sum(sent.values())
    detail = ", ".join(f"{n} {k}" for k, n in sorted(sent.items())) or "none"
    lines.append(f"owner messages this demo sent: {total} ({detail})")
    if weekly:
        reds = {w: c["turned_red"] for w, c in weekly.items()}
        incident = None
        if incident_week:
            from datetime import date

            incident = week_label(date.fromisoformat(str(incident_week)))
        peak_week = max(reds, key=lambda w: reds[w])
        lines.append(
            "status alerts of a daily run over the whole world, per week (rows turned red / "
            "messages): "
            + ", ".join(
                f"{w[5:]} {c['turned_red']}/{c['messages']}"
                + (" <- peak" if w == peak_week else "")
                + (" (incident week)" if incident == w else "")
                for w, c in weekly.items()
            )
            + f"; median {statistics.median(reds.values()):g} rows turned red a week"
        )
    phone = phone_breaches(settings, url)
    lines.append(
        f"phone first response above {settings.signals.phone_first_response_seconds:g} s: "
        f"{phone['hours']} peak hour(s) on {phone['days']} day(s) of the world (peak hours "
        f"{phone['peak_hours']}); signals.phone_signal_per={settings.signals.phone_signal_per}"
        " sends one per " + settings.signals.phone_signal_per
    )
    return {
        "week": digest["week"],
        "digests": digest["owners"],
        "sent": sent,
        "daily_replay_per_week": weekly,
        "phone_breaches": phone,
        "lines": lines,
    }
