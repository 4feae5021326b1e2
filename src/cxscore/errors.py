"""Errors that map to the CLI's exit codes (README.md, "Command line").

0 success; 1 a step failed; 2 bad usage or configuration; 3 a critical quality check failed
and the scorecard was not rebuilt.
"""

from __future__ import annotations


class CxError(Exception):
    """A step failed; the message says which and why. Exit code 1."""

    exit_code = 1


class QualityGateFailed(CxError):
    """A critical quality check failed; the scorecard was not rebuilt. Exit code 3."""

    exit_code = 3
