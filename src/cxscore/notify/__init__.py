"""Notification channels for people. Delivery itself is :func:`cxscore.alerts.send_alert`
(Slack, webhook, e-mail, secret redaction); :mod:`cxscore.notify.routing` picks the channels
of an owner role."""
