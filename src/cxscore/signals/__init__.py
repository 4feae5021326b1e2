"""Signals: sentiment scoring of customer text (and, later, owner routing and alerts)."""
