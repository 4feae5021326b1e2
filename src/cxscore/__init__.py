"""cxscore: customer-experience touchpoint scorecard pipeline."""

__version__ = "0.1.0"
