"""Signals and actions (signals.md): sentiment of customer text, and owners hear it.

- :mod:`cxscore.signals.sentiment` / :mod:`cxscore.signals.scoring`: offline sentiment
  scores of customer messages, in the customer's language;
- :mod:`cxscore.signals.status`: a metric row of the latest complete period that turns red,
  or recovers, alerts its owner once (state in ``meta.status_alert_state``);
- :mod:`cxscore.signals.hourly`: negative interactions per touchpoint to the sentiment owner,
  phone first response above target in the last complete peak hour to the Ops supervisor;
- :mod:`cxscore.signals.digest`: the weekly owner digest (``cxscore digest``).

:func:`notify_owners` is what runs after every published build (``cxscore build``, the
``notify_owners`` task of ``cx_scorecard``) and what ``cxscore signals`` runs. Everything
reads the published marts only (never a build the gate stopped).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cxscore.settings import Settings


def notify_owners(
    settings: Settings, *, url: str, run_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """Status alerts, then the hourly signals, on the published marts; a small summary."""
    from cxscore.signals.hourly import send_hourly_signals
    from cxscore.signals.status import alert_status_changes

    status = alert_status_changes(settings, url=url, run_id=run_id, now=now)
    hourly = send_hourly_signals(settings, url=url, run_id=run_id, now=now)
    return {"status_alerts": status, "hourly_signals": hourly}
