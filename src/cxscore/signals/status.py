"""Scorecard status alerts (signals.md, "Owners hear it").

For each metric with an ``alert_grain`` (seed ``scorecard_targets``; a channel row wins over
``*``), the rows of segment ``all`` in the latest complete period of that grain (the newest
``period_start`` whose ``period_end`` is on or before today in the business timezone) are
judged against ``meta.status_alert_state``: a series (touchpoint, metric, grain) whose row
turns red alerts its owner once, and once more when it turns green or amber again.
``low_sample``, ``no_data`` and ``no_target`` never alert and leave the state as it was; a
period older than the one last judged is ignored (a backfill never re-judges). The state is
updated before the messages go out, so a re-run, a backfill or a full refresh of the same
data sends nothing. One message per owner and direction lists its rows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from cxscore.settings import Settings
from cxscore.signals.common import business_today, fmt_number, report_link

log = logging.getLogger(__name__)

MAX_LISTED = 20
JUDGED = ("red", "amber", "green")

# alert grains when the targets seed has no alert_grain column (a warehouse built before it)
DEFAULT_GRAIN_BY_PERSPECTIVE = {
    "operations": "day",
    "data_quality": "day",
    "customer": "week",
    "financial": "week",
}

_ROWS_SQL = """
select s.touchpoint_id, s.touchpoint_name, s.channel, s.metric, s.perspective,
       s.period_grain, s.period_start, s.period_end, s.value, s.target, s.amber_band,
       s.direction, s.target_type, s.sample_size, s.prior_value, s.status, s.owner,
       {grain} as alert_grain
from marts.touchpoint_scorecard as s
{targets_join}
where s.segment = 'all' {latest}
"""

# the latest complete period of each grain: the newest one that ended by today
_LATEST = """
and (s.period_grain, s.period_start) in (
    select period_grain, max(period_start)
    from marts.touchpoint_scorecard
    where segment = 'all' and period_end <= %(today)s
    group by period_grain
)
"""

_TARGETS_JOIN = """
left join intermediate.scorecard_targets as ct on ct.metric = s.metric and ct.channel = s.channel
left join intermediate.scorecard_targets as dt on dt.metric = s.metric and dt.channel = '*'
"""


def _alert_grain_sql(cur: Any) -> tuple[str, str]:
    cur.execute(
        "select 1 from information_schema.columns where table_schema = 'intermediate' and "
        "table_name = 'scorecard_targets' and column_name = 'alert_grain'"
    )
    if cur.fetchone():
        grain = (
            "nullif(trim(case when ct.metric is not null then ct.alert_grain "
            "else dt.alert_grain end), '')"
        )
        return grain, _TARGETS_JOIN
    cases = " ".join(f"when '{p}' then '{g}'" for p, g in DEFAULT_GRAIN_BY_PERSPECTIVE.items())
    return f"(case s.perspective {cases} end)", ""


def _describe(row: dict[str, Any]) -> str:
    sign = {"higher": ">=", "lower": "<="}.get(str(row["direction"]), "")
    relative = " (relative change %)" if row["target_type"] == "relative_change" else ""
    return (
        f"- {row['touchpoint_id']} / {row['metric']} ({row['period_grain']} of "
        f"{row['period_start']}): {fmt_number(row['value'])}, target {sign} "
        f"{fmt_number(row['target'])}{relative} (amber band {fmt_number(row['amber_band'])}), "
        f"n={row['sample_size']}, prior {fmt_number(row['prior_value'])}, status {row['status']}"
    )


StateKey = tuple[str, str, str]


def judge(
    rows: list[dict[str, Any]], state: dict[StateKey, tuple[bool, Any]]
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The one rule: (rows that turned red / recovered, rows whose state to record).
    ``state``: (touchpoint, metric, grain) -> (is_red, period_start judged last)."""
    turned: dict[str, list[dict[str, Any]]] = {"red": [], "recovered": []}
    judged: list[dict[str, Any]] = []
    for row in rows:
        if row["alert_grain"] != row["period_grain"] or row["status"] not in JUDGED:
            continue  # low_sample, no_data, no_target: never alert, state unchanged
        key = (row["touchpoint_id"], row["metric"], row["period_grain"])
        is_red = row["status"] == "red"
        previous = state.get(key)
        if previous is not None and previous[1] > row["period_start"]:
            continue  # an older period than the one judged last: never re-judged
        if (previous is None and is_red) or (previous is not None and previous[0] != is_red):
            turned["red" if is_red else "recovered"].append(row)
        judged.append(row)
    return turned, judged


def _scorecard_rows(cur: Any, today: Any = None) -> list[dict[str, Any]]:
    """Rows of segment all with their alert grain: the latest complete period of each
    grain as of ``today``, or every period when ``today`` is None (the replay)."""
    grain, join = _alert_grain_sql(cur)
    latest = _LATEST if today is not None else ""
    cur.execute(_ROWS_SQL.format(grain=grain, targets_join=join, latest=latest), {"today": today})
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def judge_rows(
    settings: Settings, *, url: str, run_id: str, now: datetime | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Update meta.status_alert_state from the published scorecard; return the rows that
    turned red and those that recovered (committed before anything is sent)."""
    from cxscore.warehouse import transaction

    today = business_today(settings, now)
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('marts.touchpoint_scorecard') is not null")
        if not cur.fetchone()[0]:
            return {"red": [], "recovered": []}
        cur.execute("select pg_advisory_xact_lock(hashtext('cxscore.status_alert_state'))")
        rows = _scorecard_rows(cur, today)
        cur.execute(
            "select touchpoint_id, metric, period_grain, is_red, period_start "
            "from meta.status_alert_state where segment = 'all'"
        )
        state = {(t, m, g): (red, start) for t, m, g, red, start in cur.fetchall()}
        turned, judged = judge(rows, state)
        for row in judged:
            cur.execute(
                """
                insert into meta.status_alert_state as s (touchpoint_id, metric, period_grain,
                    segment, is_red, status, period_start, value, last_run_id)
                values (%s, %s, %s, 'all', %s, %s, %s, %s, %s)
                on conflict (touchpoint_id, metric, period_grain, segment) do update set
                    is_red = excluded.is_red, status = excluded.status,
                    period_start = excluded.period_start, value = excluded.value,
                    last_run_id = excluded.last_run_id, judged_at = now(),
                    changed_at = case when s.is_red <> excluded.is_red then now()
                                      else s.changed_at end
                """,
                (
                    row["touchpoint_id"],
                    row["metric"],
                    row["period_grain"],
                    row["status"] == "red",
                    row["status"],
                    row["period_start"],
                    row["value"],
                    run_id,
                ),
            )
    return turned


def replay_status_alerts(url: str, *, first_day: date, last_day: date) -> list[dict[str, Any]]:
    """What a daily run from ``first_day`` to ``last_day`` would have sent, read-only (the
    alert volume of docs/signals.md): per day, rows turned red / recovered and messages (one
    per owner and direction)."""
    import contextlib

    from cxscore.warehouse import connect

    with contextlib.closing(connect(url)) as conn, conn.cursor() as cur:
        rows = _scorecard_rows(cur)
    by_period: dict[tuple[str, date], list[dict[str, Any]]] = defaultdict(list)
    ends: dict[str, dict[date, date]] = defaultdict(dict)
    for row in rows:
        by_period[(row["period_grain"], row["period_start"])].append(row)
        ends[row["period_grain"]][row["period_start"]] = row["period_end"]
    state: dict[StateKey, tuple[bool, Any]] = {}
    days: list[dict[str, Any]] = []
    day = first_day
    while day <= last_day:
        todays: list[dict[str, Any]] = []
        for _grain, periods in ends.items():
            complete = [start for start, end in periods.items() if end <= day]
            if complete:
                todays += by_period[(_grain, max(complete))]
        turned, judged = judge(todays, state)
        for row in judged:
            key = (row["touchpoint_id"], row["metric"], row["period_grain"])
            state[key] = (row["status"] == "red", row["period_start"])
        messages = {("red", r["owner"]) for r in turned["red"]} | {
            ("recovered", r["owner"]) for r in turned["recovered"]
        }
        days.append(
            {
                "day": day,
                "turned_red": len(turned["red"]),
                "recovered": len(turned["recovered"]),
                "messages": len(messages),
            }
        )
        day += timedelta(days=1)
    return days


def alert_status_changes(
    settings: Settings, *, url: str, run_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """Judge the latest complete periods, then alert each owner once per direction."""
    from cxscore.notify.routing import OwnerAlert, send_to_owner

    turned = judge_rows(settings, url=url, run_id=run_id, now=now)
    messages, errors = 0, []
    for direction, rows in turned.items():
        by_owner: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_owner[str(row["owner"] or "unassigned")].append(row)
        for owner, owned in sorted(by_owner.items()):
            owned.sort(key=lambda r: (r["period_grain"], r["touchpoint_id"], r["metric"]))
            red = direction == "red"
            verb = "turned red" if red else "recovered (no longer red)"
            lines = [_describe(r) for r in owned[:MAX_LISTED]]
            if len(owned) > MAX_LISTED:
                lines.append(f"- ... and {len(owned) - MAX_LISTED} more")
            alert = OwnerAlert(
                event="scorecard_status_red" if red else "scorecard_status_recovered",
                severity="warning" if red else "info",
                title=f"{owner}: {len(owned)} scorecard metric(s) {verb}",
                run_id=run_id,
                table="marts.touchpoint_scorecard",
                observed=f"{owned[0]['status']} {fmt_number(owned[0]['value'])}",
                expected=f"target {fmt_number(owned[0]['target'])}",
                lines=lines,
                links=[report_link(settings)],
                rows=[
                    {
                        k: (str(v) if v is not None and k != "sample_size" else v)
                        for k, v in r.items()
                        if k != "touchpoint_name"
                    }
                    for r in owned
                ],
            )
            result = send_to_owner(
                settings,
                owner,
                alert,
                url=url,
                kind=alert.event,
                items=len(owned),
                run_id=run_id,
            )
            messages += int(result["sent"])
            errors += result["errors"]
    return {
        "turned_red": len(turned["red"]),
        "recovered": len(turned["recovered"]),
        "messages": messages,
        "errors": errors,
    }
