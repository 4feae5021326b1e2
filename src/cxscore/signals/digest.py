"""The weekly owner digest (signals.md, "Weekly review"; ``cxscore digest``).

Per owner role, for one ISO week (default: the last complete one in the business timezone):
its red and amber metrics of segment ``all`` with the change against the prior week, its
pain points (``marts.touchpoint_pain_points``, which holds the last complete week), and its
follow-up backlog when closing the loop is on (``marts.fct_followups``: due follow-ups not
created yet, tickets open and past their due time, per touchpoint owner). Rendered from
Jinja2 templates (``cxscore/templates/digest.{html,txt}.j2``): e-mail as HTML with a text
part, Slack and webhooks as text. Sent once per owner and week
(``meta.owner_notifications``, key ``digest:<week>:<role>``); ``dry_run`` writes
``<dir>/<week>/<role>.html`` and ``.txt`` instead and sends nothing.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from cxscore.settings import ConfigError, Settings
from cxscore.signals.common import business_today, fmt_number, report_link

SIGN = {"higher": ">=", "lower": "<="}


def parse_week(value: str | None, settings: Settings, now: datetime | None = None) -> date:
    """Monday of the ISO week ``2026-W10`` (or of the week holding a date ``2026-03-04``);
    default: the last complete ISO week."""
    if not value:
        today = business_today(settings, now)
        return today - timedelta(days=today.weekday() + 7)
    match = re.fullmatch(r"(\d{4})-?W(\d{1,2})", value.strip(), flags=re.IGNORECASE)
    try:
        if match:
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        day = date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ConfigError(f"--week {value!r}: not an ISO week (2026-W10) or a date") from exc
    return day - timedelta(days=day.weekday())


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class OwnerDigest:
    owner: str
    week: date
    metrics: list[dict[str, Any]] = field(default_factory=list)
    pain_points: list[dict[str, Any]] = field(default_factory=list)
    pain_points_note: str = ""
    backlog_note: str = ""

    @property
    def red(self) -> int:
        return sum(1 for m in self.metrics if m["status"] == "red")

    @property
    def amber(self) -> int:
        return sum(1 for m in self.metrics if m["status"] == "amber")

    def summary_line(self) -> str:
        return (
            f"{self.owner}: {self.red} red, {self.amber} amber metric(s), "
            f"{len(self.pain_points)} pain point(s)"
        )


def _rows(cur: Any) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def collect_digests(
    settings: Settings, *, url: str, week: date, owner: str | None = None
) -> list[OwnerDigest]:
    """What each owner's digest says (owners with nothing red or amber and no pain point
    get none). ``owner``: one role (name or slug) only."""
    from cxscore.notify.routing import role_slug
    from cxscore.warehouse import connect

    digests: dict[str, OwnerDigest] = {}

    def digest_of(role: str) -> OwnerDigest:
        return digests.setdefault(role, OwnerDigest(owner=role, week=week))

    with contextlib.closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            """
            select touchpoint_id, touchpoint_name, metric, status, value, target, direction,
                   target_type, sample_size, prior_value, change_vs_prior, owner
            from marts.touchpoint_scorecard
            where period_grain = 'week' and period_start = %s and segment = 'all'
              and status in ('red', 'amber')
            order by status desc, touchpoint_id, metric
            """,
            (week,),
        )
        for row in _rows(cur):
            digest_of(str(row["owner"] or "unassigned")).metrics.append(row)
        pain_week = None
        cur.execute("select to_regclass('marts.touchpoint_pain_points') is not null")
        if cur.fetchone()[0]:
            cur.execute(
                "select * from marts.touchpoint_pain_points where period_grain = 'week' "
                "and period_start = %s order by rank",
                (week,),
            )
            for row in _rows(cur):
                pain_week = week
                digest_of(str(row["owner"] or "unassigned")).pain_points.append(row)
        backlog = _followup_backlog(cur) if settings.closed_loop.enabled else None
    selected = [
        d for d in digests.values() if owner is None or owner in (d.owner, role_slug(d.owner))
    ]
    for d in selected:
        if not d.pain_points:
            d.pain_points_note = (
                "None of the week's top 20 pain points is yours."
                if pain_week
                else "Pain points are kept for the last complete week only "
                "(marts.touchpoint_pain_points)."
            )
        d.backlog_note = _backlog_note(backlog, d.owner)
    return sorted(selected, key=lambda d: d.owner)


def _followup_backlog(cur: Any) -> dict[str, dict[str, int]]:
    """Per owner role (the touchpoint's owner): follow-ups due but not created, tickets
    open, and open past their due time (marts.fct_followups, the published build)."""
    cur.execute("select to_regclass('marts.fct_followups') is not null")
    if not cur.fetchone()[0]:
        return {}
    cur.execute(
        """
        select coalesce(owner, 'unassigned'),
            count(*) filter (where is_due and not is_created),
            count(*) filter (where followup_status = 'failed'),
            count(*) filter (where is_created and ticket_solved_at is null),
            count(*) filter (where is_created and ticket_solved_at is null
                             and ticket_due_at < now())
        from marts.fct_followups
        group by 1
        """
    )
    return {
        str(role): {"not_created": nc, "refused": rf, "open": op, "overdue": od}
        for role, nc, rf, op, od in cur.fetchall()
    }


def _backlog_note(backlog: dict[str, dict[str, int]] | None, owner: str) -> str:
    if backlog is None:
        return "closing the loop is off (closed_loop.enabled)"
    mine = backlog.get(owner)
    if not mine or not any(mine.values()):
        return "no open follow-up at your touchpoints"
    return (
        f"{mine['open']} follow-up ticket(s) open ({mine['overdue']} past their due time), "
        f"{mine['not_created']} due follow-up(s) not created yet ({mine['refused']} refused "
        "by Zendesk: meta.followups)"
    )


def _view(value: Any) -> str:
    return fmt_number(value)


def render_digest(settings: Settings, digest: OwnerDigest) -> tuple[str, str]:
    """(html, text) from the Jinja2 templates."""
    from cxscore.pages import render

    metrics = [
        {
            **m,
            "touchpoint_name": m["touchpoint_name"] or m["touchpoint_id"],
            "value": _view(m["value"]),
            "target": _view(m["target"])
            + (" (rel. change %)" if m["target_type"] == "relative_change" else ""),
            "direction_sign": SIGN.get(str(m["direction"]), ""),
            "prior_value": _view(m["prior_value"]),
            "change": (
                ("+" if m["change_vs_prior"] > 0 else "") + _view(m["change_vs_prior"])
                if m["change_vs_prior"] is not None
                else "–"
            ),
        }
        for m in digest.metrics
    ]
    pains = [
        {
            **p,
            "touchpoint_name": p["touchpoint_name"] or p["touchpoint_id"],
            "impact": _view(p["impact"]),
        }
        for p in digest.pain_points
    ]
    context = {
        "owner": digest.owner,
        "week_label": week_label(digest.week),
        "week_start": digest.week.isoformat(),
        "week_end": (digest.week + timedelta(days=6)).isoformat(),
        "red": digest.red,
        "amber": digest.amber,
        "metrics": metrics,
        "pain_points": pains,
        "pain_points_note": digest.pain_points_note,
        "backlog_note": digest.backlog_note,
        "report_url": settings.owners.report_url,
        "report_link": report_link(settings),
    }
    html = render("digest.html.j2", **context)
    text = render("digest.txt.j2", **context)
    return html, re.sub(r"\n{3,}", "\n\n", text)


def run_digest(
    settings: Settings,
    *,
    url: str,
    week: str | None = None,
    owner: str | None = None,
    dry_run: bool = False,
    out_dir: str | Path | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Send (or, with ``dry_run``, write) each owner's digest of the week."""
    from cxscore.notify.routing import OwnerAlert, role_slug, send_to_owner

    monday = parse_week(week, settings, now)
    label = week_label(monday)
    digests = collect_digests(settings, url=url, week=monday, owner=owner)
    result: dict[str, Any] = {"week": label, "owners": {}, "sent": 0, "errors": []}
    folder = Path(out_dir or settings.signals.digest_dir) / label
    for digest in digests:
        html, text = render_digest(settings, digest)
        entry: dict[str, Any] = {
            "red": digest.red,
            "amber": digest.amber,
            "pain_points": len(digest.pain_points),
            "line": digest.summary_line(),
        }
        if dry_run:
            folder.mkdir(parents=True, exist_ok=True)
            slug = role_slug(digest.owner)
            (folder / f"{slug}.html").write_text(html, encoding="utf-8")
            (folder / f"{slug}.txt").write_text(text, encoding="utf-8")
            entry["files"] = [str(folder / f"{slug}.html"), str(folder / f"{slug}.txt")]
        else:
            lines = text.strip().splitlines()
            alert = OwnerAlert(
                event="owner_digest",
                severity="info",
                title=f"Weekly CX digest {label} for {digest.owner}: {digest.red} red, "
                f"{digest.amber} amber, {len(digest.pain_points)} pain point(s)",
                run_id=run_id,
                table="marts.touchpoint_scorecard",
                lines=lines[1:],
                html=html,
                rows=[
                    {
                        k: (str(v) if v is not None and not isinstance(v, int) else v)
                        for k, v in m.items()
                    }
                    for m in digest.metrics
                ],
            )
            sent = send_to_owner(
                settings,
                digest.owner,
                alert,
                url=url,
                kind="owner_digest",
                items=len(digest.metrics) + len(digest.pain_points),
                signal_key=f"digest:{label}:{role_slug(digest.owner)}",
                run_id=run_id,
            )
            entry["sent"] = sent["sent"]
            result["sent"] += int(sent["sent"])
            result["errors"] += sent["errors"]
        result["owners"][digest.owner] = entry
    if dry_run:
        result["dir"] = str(folder)
    return result
