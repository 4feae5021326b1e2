"""Hourly owner signals (signals.md, "Owners hear it", the two hourly rows).

Both read the published ``marts.fct_interactions`` after each build (cx_ingest -> the
scorecard build on its Assets -> ``notify_owners``), so they never see a build the gate
stopped. Their clock is the newest interaction start there (capped at the wall clock): a
source that lags, or a demo world that ends earlier, still gets its last complete hour.

(a) Negative interactions: ``min_customer_sentiment`` below ``signals.negative_sentiment_below``
    (default -0.5), started in the last ``signals.lookback_hours`` and not yet signalled
    (``meta.signalled_interactions``), grouped per touchpoint into one message to
    ``owners.sentiment_owner``: interaction ids, channel, score and links, never text.
    Needs the column ``min_customer_sentiment`` of ``marts.fct_interactions`` (the sentiment
    work); without it this signal is skipped and says so.
(b) Phone first response: the last complete hour's mean ``first_response_seconds`` of phone
    interactions above ``signals.phone_first_response_seconds`` (15) when that hour of the
    day is a peak hour (``signals.peak_hours``, else the hours whose 4-week mean phone volume
    is in the top quarter), to ``owners.first_response_owner``. Once per hour
    (``meta.owner_notifications.signal_key``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cxscore.registry import source_key
from cxscore.settings import Settings
from cxscore.signals.common import fmt_number, report_link

log = logging.getLogger(__name__)

MAX_LISTED = 25
SENTIMENT_COLUMN = "min_customer_sentiment"


def _has_column(cur: Any, table: str, column: str) -> bool:
    cur.execute(
        "select 1 from information_schema.columns where table_schema = 'marts' and "
        "table_name = %s and column_name = %s",
        (table, column),
    )
    return cur.fetchone() is not None


def signal_clock(cur: Any, now: datetime | None = None) -> datetime | None:
    """The newest interaction start in the published marts, capped at ``now``."""
    now = now or datetime.now(UTC)
    cur.execute("select max(started_at) from marts.fct_interactions where started_at <= %s", (now,))
    row = cur.fetchone()
    return row[0] if row and row[0] is not None else None


def interaction_link(settings: Settings, interaction_id: str) -> str | None:
    """A link a person can open: the Zendesk ticket when the base URL is configured."""
    base = settings.sources.zendesk.base_url
    prefix = source_key("zendesk", "")
    if interaction_id.startswith(prefix) and base:
        return f"{base.rstrip('/')}/agent/tickets/{interaction_id.removeprefix(prefix)}"
    return None


def peak_hours(settings: Settings, cur: Any, until: datetime) -> list[int]:
    """Configured peak hours, else the hours of the day (business timezone) whose mean phone
    volume over the 4 weeks before ``until`` is in the top quarter (>= the 75th percentile)."""
    if settings.signals.peak_hours is not None:
        return sorted(set(settings.signals.peak_hours))
    cur.execute(
        """
        with hourly as (
            select cast(extract(hour from started_at at time zone %(tz)s) as integer) as hod,
                   count(*) / 28.0 as mean_volume
            from marts.fct_interactions
            where channel = 'phone' and started_at >= %(since)s and started_at < %(until)s
            group by 1
        ),
        all_hours as (
            select g as hod, coalesce(hourly.mean_volume, 0) as mean_volume
            from generate_series(0, 23) as g left join hourly on hourly.hod = g
        ),
        cut as (
            select percentile_cont(0.75) within group (order by mean_volume) as p75
            from all_hours
        )
        select hod from all_hours, cut
        where mean_volume >= cut.p75 and mean_volume > 0
        order by hod
        """,
        {"tz": settings.business_timezone, "since": until - timedelta(days=28), "until": until},
    )
    return [int(h) for (h,) in cur.fetchall()]


def _negative_interactions(
    settings: Settings, *, url: str, run_id: str, clock: datetime, cur: Any
) -> dict[str, Any]:
    from cxscore.notify.routing import OwnerAlert, send_to_owner
    from cxscore.warehouse import transaction

    if not _has_column(cur, "fct_interactions", SENTIMENT_COLUMN):
        return {"skipped": f"marts.fct_interactions has no {SENTIMENT_COLUMN} column yet"}
    cur.execute(
        f"""
        select f.interaction_id, f.touchpoint_id, f.channel, f.started_at, f.{SENTIMENT_COLUMN}
        from marts.fct_interactions as f
        where f.{SENTIMENT_COLUMN} < %(below)s
          and f.started_at > %(since)s and f.started_at <= %(clock)s
          and not exists (
              select 1 from meta.signalled_interactions as s
              where s.interaction_id = f.interaction_id
          )
        order by f.touchpoint_id, f.started_at, f.interaction_id
        """,
        {
            "below": settings.signals.negative_sentiment_below,
            "since": clock - timedelta(hours=settings.signals.lookback_hours),
            "clock": clock,
        },
    )
    by_touchpoint: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in cur.fetchall():
        by_touchpoint[str(row[1])].append(row)
    owner = settings.owners.sentiment_owner
    messages, interactions, errors = 0, 0, []
    for touchpoint, rows in sorted(by_touchpoint.items()):
        ids = [str(r[0]) for r in rows]
        key = "negative_sentiment:" + hashlib.sha256("|".join(ids).encode()).hexdigest()[:24]
        lines = []
        for interaction_id, _tp, channel, started_at, score in rows[:MAX_LISTED]:
            link = interaction_link(settings, str(interaction_id))
            lines.append(
                f"- {interaction_id} ({channel}, {started_at:%Y-%m-%d %H:%M} UTC): "
                f"sentiment {fmt_number(score)}" + (f" {link}" if link else "")
            )
        if len(rows) > MAX_LISTED:
            lines.append(f"- ... and {len(rows) - MAX_LISTED} more")
        alert = OwnerAlert(
            event="signal_negative_sentiment",
            severity="warning",
            title=f"{touchpoint}: {len(rows)} negative interaction(s) "
            f"(sentiment < {settings.signals.negative_sentiment_below})",
            run_id=run_id,
            table="marts.fct_interactions",
            observed=f"min sentiment {fmt_number(min(r[4] for r in rows))}",
            expected=f">= {settings.signals.negative_sentiment_below}",
            lines=lines,
            links=[report_link(settings)],
            rows=[
                {
                    "interaction_id": str(r[0]),
                    "touchpoint_id": str(r[1]),
                    "channel": r[2],
                    "started_at": r[3].isoformat(),
                    "sentiment": float(r[4]),
                    "link": interaction_link(settings, str(r[0])),
                }
                for r in rows
            ],
        )
        result = send_to_owner(
            settings,
            owner,
            alert,
            url=url,
            kind="signal_negative_sentiment",
            items=len(rows),
            signal_key=key,
            run_id=run_id,
        )
        with transaction(url) as conn, conn.cursor() as wcur:
            wcur.executemany(
                "insert into meta.signalled_interactions (interaction_id, notification_id) "
                "values (%s, %s) on conflict (interaction_id) do nothing",
                [(i, result["notification_id"]) for i in ids],
            )
        messages += int(result["sent"])
        interactions += len(rows) if result["sent"] else 0
        errors += result["errors"]
    return {"messages": messages, "interactions": interactions, "errors": errors}


def _phone_first_response(
    settings: Settings, *, url: str, run_id: str, clock: datetime, cur: Any
) -> dict[str, Any]:
    from cxscore.notify.routing import OwnerAlert, send_to_owner

    hour_end = clock.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hour_start = hour_end - timedelta(hours=1)
    local_hour = hour_start.astimezone(ZoneInfo(settings.business_timezone)).hour
    peaks = peak_hours(settings, cur, hour_end)
    summary: dict[str, Any] = {"hour": hour_start.isoformat(), "peak_hours": peaks}
    if local_hour not in peaks:
        return {**summary, "messages": 0, "note": "not a peak hour"}
    cur.execute(
        """
        select touchpoint_id, count(*), avg(first_response_seconds)
        from marts.fct_interactions
        where channel = 'phone' and first_response_seconds is not null
          and started_at >= %s and started_at < %s
        group by rollup (touchpoint_id)
        order by touchpoint_id nulls first
        """,
        (hour_start, hour_end),
    )
    rows = cur.fetchall()
    if not rows or rows[0][0] is not None or rows[0][2] is None:
        return {**summary, "messages": 0, "note": "no phone interactions"}
    _, n, mean = rows[0]
    threshold = settings.signals.phone_first_response_seconds
    summary["mean_seconds"] = float(mean)
    if float(mean) <= threshold:
        return {**summary, "messages": 0}
    lines = [
        f"Phone first response {hour_start:%Y-%m-%d %H:00}-{hour_end:%H:00} UTC (peak hour "
        f"{local_hour}:00 {settings.business_timezone}): mean {fmt_number(mean)} s over {n} "
        f"interaction(s), target <= {fmt_number(threshold)} s",
        *(
            f"- {tp}: {fmt_number(m)} s (n={c})"
            for tp, c, m in sorted(rows[1:], key=lambda r: -float(r[2]))
        ),
    ]
    alert = OwnerAlert(
        event="signal_phone_first_response",
        severity="warning",
        title=f"phone first response {fmt_number(mean)} s in the peak hour "
        f"{hour_start:%Y-%m-%d %H:00} UTC (target <= {fmt_number(threshold)} s)",
        run_id=run_id,
        table="marts.fct_interactions",
        observed=f"{fmt_number(mean)} s",
        expected=f"<= {fmt_number(threshold)} s",
        lines=lines,
        links=[report_link(settings)],
        rows=[
            {"touchpoint_id": tp, "interactions": int(c), "mean_seconds": float(m)}
            for tp, c, m in rows[1:]
        ],
    )
    result = send_to_owner(
        settings,
        settings.owners.first_response_owner,
        alert,
        url=url,
        kind="signal_phone_first_response",
        signal_key=_phone_signal_key(settings, hour_start),
        run_id=run_id,
    )
    return {**summary, "messages": int(result["sent"]), "errors": result["errors"]}


def _phone_signal_key(settings: Settings, hour_start: datetime) -> str:
    """Once per breaching peak hour, or (default) once per business day."""
    if settings.signals.phone_signal_per == "hour":
        return f"phone_first_response:{hour_start.isoformat()}"
    local = hour_start.astimezone(ZoneInfo(settings.business_timezone))
    return f"phone_first_response:{local.date().isoformat()}"


def phone_breaches(settings: Settings, url: str) -> dict[str, Any]:
    """Read-only, for the alert volume: over the whole published history, the peak hours
    (as computed at the newest interaction) whose phone first response was above target,
    and the business days with at least one (docs/signals.md)."""
    from cxscore.warehouse import connect

    with contextlib.closing(connect(url)) as conn, conn.cursor() as cur:
        clock = signal_clock(cur)
        if clock is None:
            return {"hours": 0, "days": 0, "peak_hours": []}
        peaks = peak_hours(settings, cur, clock.replace(minute=0, second=0, microsecond=0))
        cur.execute(
            """
            with hourly as (
                select date_trunc('hour', started_at) as hour_start,
                       avg(first_response_seconds) as mean_seconds
                from marts.fct_interactions
                where channel = 'phone' and first_response_seconds is not null
                group by 1
            )
            select count(*),
                   count(distinct cast(hour_start at time zone %(tz)s as date))
            from hourly
            where mean_seconds > %(threshold)s
              and cast(extract(hour from hour_start at time zone %(tz)s) as integer)
                  = any(%(peaks)s)
            """,
            {
                "tz": settings.business_timezone,
                "threshold": settings.signals.phone_first_response_seconds,
                "peaks": peaks,
            },
        )
        hours, days = cur.fetchone()
    return {"hours": int(hours), "days": int(days), "peak_hours": peaks}


def send_hourly_signals(
    settings: Settings, *, url: str, run_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """Both hourly signals on the published marts; each goes out once."""
    from cxscore.warehouse import connect

    with contextlib.closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('marts.fct_interactions') is not null")
        if not cur.fetchone()[0]:
            return {"skipped": "marts.fct_interactions is not published yet"}
        clock = signal_clock(cur, now)
        if clock is None:
            return {"skipped": "no interactions"}
        negative = _negative_interactions(settings, url=url, run_id=run_id, clock=clock, cur=cur)
        phone = _phone_first_response(settings, url=url, run_id=run_id, clock=clock, cur=cur)
    return {"clock": clock.isoformat(), "negative_sentiment": negative, "phone": phone}
