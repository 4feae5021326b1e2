"""A deterministic synthetic CX world in real vendor formats (``cxscore generate``).

See ``docs/synthetic-world.md`` for the model, the output layout and the manifest.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["generate_world"]


def generate_world(
    out: Path,
    *,
    days: int = 60,
    customers: int = 2000,
    seed: int = 7,
    start: date | None = None,
    increments: int = 1,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Write the world into ``out`` (landing files, Zendesk data, ``manifest.json``) and
    return a summary of what was written. ``start`` defaults to ``days`` before today (UTC);
    the same arguments always give the same bytes. ``progress``: a live progress display on
    stderr (default: when stderr is a terminal)."""
    from cxscore.generate.world import World

    if start is None:
        start = datetime.now(UTC).date() - timedelta(days=days)
    if progress is None:
        progress = sys.stderr.isatty()
    world = World(
        Path(out),
        days=days,
        customers=customers,
        seed=seed,
        start=start,
        increments=increments,
        progress=progress,
    )
    return world.run()
