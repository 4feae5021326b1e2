"""Owner routing (signals.md, "Owners hear it"): a role -> its channels.

A metric row's ``owner`` is a role ("Ops supervisor"). The ``owners.routes`` section of the
settings maps the role's slug (``ops_supervisor``) to e-mail recipients (in the file) and
webhook URLs (environment only: ``CX_OWNERS__ROUTES__OPS_SUPERVISOR__SLACK_WEBHOOK_URL``,
``__WEBHOOK_URL``). A role without a route falls back to the default ``alerts`` channels,
never to silence, and the message says so (a first line naming the role and the missing
route). Delivery goes through :func:`cxscore.alerts.send_alert`; every message is recorded
in ``meta.owner_notifications``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from cxscore.alerts import Alert, send_alert
from cxscore.settings import AlertsSettings, EmailSettings, OwnerRoute, Settings

log = logging.getLogger(__name__)


@dataclass
class OwnerAlert(Alert):
    """An alert for an owner role: the generic webhook body also carries the role and the
    rows (ids, values, links: never customer text); e-mail gets ``html`` as an alternative
    part when set (the weekly digest)."""

    owner: str | None = None
    routed: bool | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    html: str | None = None

    def payload(self) -> dict[str, Any]:
        body = super().payload()
        body.update({"owner": self.owner, "routed": self.routed, "rows": self.rows})
        return body


def role_slug(role: str) -> str:
    """The key of a role under ``owners.routes``: lower case, non-alphanumerics -> ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", role.strip().lower()).strip("_") or "unknown"


@dataclass(frozen=True)
class Route:
    role: str
    routed: bool  # False: the role has no route; the default alert channels are used
    settings: Settings  # the settings whose ``alerts`` section holds this route's channels

    @property
    def fallback_note(self) -> str | None:
        if self.routed:
            return None
        return (
            f"Owner: {self.role} (no route for this role: sent to the default alert channels;"
            f" set owners.routes.{role_slug(self.role)} to reach the owner directly)"
        )


def _has_channel(route: OwnerRoute) -> bool:
    return bool(route.email or route.slack_webhook_url or route.webhook_url)


def resolve_route(settings: Settings, role: str) -> Route:
    """The channels of ``role``: its route when one with a channel is configured, else the
    default alert channels (``routed`` False)."""
    route = settings.owners.routes.get(role_slug(role))
    if route is None or not _has_channel(route):
        return Route(role=role, routed=False, settings=settings)
    default = settings.alerts
    alerts = AlertsSettings(
        slack_webhook_url=route.slack_webhook_url,
        webhook_url=route.webhook_url,
        email=EmailSettings(
            **{
                **default.email.model_dump(exclude={"recipients"}),
                "recipients": list(route.email),
                "smtp_host": default.email.smtp_host if route.email else None,
            }
        ),
        airflow_base_url=default.airflow_base_url,
        timeout_seconds=default.timeout_seconds,
    )
    return Route(role=role, routed=True, settings=settings.model_copy(update={"alerts": alerts}))


def send_to_owner(
    settings: Settings,
    role: str,
    alert: Alert,
    *,
    url: str,
    kind: str,
    items: int = 1,
    signal_key: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Deliver ``alert`` to the role's channels (or the defaults, saying so) and record it.

    With a ``signal_key`` the message goes out once: a key already in
    ``meta.owner_notifications`` sends nothing (``sent`` False). Delivery problems are
    logged and returned, never raised."""
    from cxscore.warehouse import transaction

    route = resolve_route(settings, role)
    if route.fallback_note:
        alert.lines.insert(0, route.fallback_note)
    if isinstance(alert, OwnerAlert):
        alert.owner, alert.routed = role, route.routed
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute(
            "insert into meta.owner_notifications (kind, owner, routed, title, items, signal_key,"
            " run_id) values (%s, %s, %s, %s, %s, %s, %s) on conflict (signal_key) do nothing"
            " returning notification_id",
            (kind, role, route.routed, alert.title, items, signal_key, run_id),
        )
        row = cur.fetchone()
    if row is None:
        log.info("already sent, not again: %s", signal_key)
        return {"sent": False, "notification_id": None, "errors": []}
    errors = send_alert(route.settings, alert)
    if errors:
        with transaction(url) as conn, conn.cursor() as cur:
            cur.execute(
                "update meta.owner_notifications set errors = %s where notification_id = %s",
                ("; ".join(errors), row[0]),
            )
    return {"sent": True, "notification_id": int(row[0]), "errors": errors, "routed": route.routed}
