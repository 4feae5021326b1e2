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


def daily_replay_by_week(url: str) -> dict[str, int]:
    """Messages a daily run would have sent, per ISO week of the run day."""
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
    per_week: Counter[str] = Counter()
    for day in replay_status_alerts(url, first_day=first + timedelta(days=1), last_day=last):
        # the alerts sent on a day are about the day before: count them in that day's week
        about = day["day"] - timedelta(days=1)
        per_week[week_label(about - timedelta(days=about.weekday()))] += day["messages"]
    return dict(sorted(per_week.items()))


def owner_outlook(settings: Settings, *, url: str, digest_dir: Path) -> dict[str, Any]:
    """Dry-run digests of the last complete week, messages sent, the daily-run replay."""
    from cxscore.signals.digest import run_digest

    digest = run_digest(settings, url=url, dry_run=True, out_dir=digest_dir)
    sent = sent_counts(url)
    weekly = daily_replay_by_week(url)
    lines = [
        f"owners, week {digest['week']} (digests in {digest.get('dir', digest_dir)}):",
        *(f"  {entry['line']}" for entry in digest["owners"].values()),
    ]
    if not digest["owners"]:
        lines.append("  nobody: no red or amber metric and no pain point that week")
    total = sum(sent.values())
    detail = ", ".join(f"{n} {k}" for k, n in sorted(sent.items())) or "none"
    lines.append(f"owner messages this demo sent: {total} ({detail})")
    if weekly:
        peak_week, peak = max(weekly.items(), key=lambda kv: kv[1])
        median = statistics.median(weekly.values())
        lines.append(
            "status alerts a daily run would send, per week: "
            + ", ".join(f"{w[5:]} {n}" for w, n in weekly.items())
            + f" (peak {peak_week}: {peak}, median {median:g})"
        )
    return {
        "week": digest["week"],
        "digests": digest["owners"],
        "sent": sent,
        "daily_replay_per_week": weekly,
        "lines": lines,
    }
