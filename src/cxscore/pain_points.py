"""The pain points section of the scorecard page (``marts.touchpoint_pain_points``).

The ranking, impact and frequency are dbt's (the mart); this only reads and renders them,
from a Jinja2 template (``templates/pain_points_section.html.j2``).
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup


def load_pain_points(cur: Any) -> list[dict[str, Any]]:
    """Rows of the published pain points mart (none when it does not exist yet)."""
    cur.execute("select to_regclass('marts.touchpoint_pain_points') is not null")
    if not cur.fetchone()[0]:
        return []
    cur.execute("select * from marts.touchpoint_pain_points order by period_grain desc, rank")
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def pain_points_html(rows: list[dict[str, Any]]) -> Markup:
    """One section per grain (week first, then month); empty without rows. Markup: the
    template escaped every value already."""
    from cxscore.pages import render
    from cxscore.signals.common import fmt_number

    parts = []
    for grain in ("week", "month"):
        picked = [r for r in rows if r["period_grain"] == grain]
        if picked:
            label = f"{grain} of {picked[0]['period_start']}"
            parts.append(
                render(
                    "pain_points_section.html.j2",
                    rows=picked,
                    grain=grain,
                    label=label,
                    fmt=fmt_number,
                )
            )
    return Markup("".join(parts))
