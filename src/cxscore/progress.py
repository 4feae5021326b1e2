"""Live progress of an extract: a rich display on a TTY, log lines otherwise."""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("cxscore.extract")


class Reporter:
    """Progress: a rich live display on a TTY, log lines otherwise."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._started: dict[str, float] = {}
        self._rows: dict[str, int] = {}
        if enabled:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description:<16}"),
                TextColumn("files {task.fields[files]:>5}"),
                TextColumn("pages {task.fields[pages]:>5}"),
                TextColumn("rows {task.completed:>10,.0f}"),
                TextColumn("{task.fields[rate]:>8} rows/s"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()

    @property
    def live(self) -> bool:
        """Whether progress is shown live (a TTY), rather than logged."""
        return self._progress is not None

    def start(self, source: str) -> None:
        self._started[source] = time.monotonic()
        self._rows[source] = 0
        if self._progress is not None:
            self._tasks[source] = self._progress.add_task(
                source, total=None, files=0, pages=0, rate="-"
            )
        else:
            log.info("%s: extract started", source)

    def _rate(self, source: str) -> str:
        elapsed = time.monotonic() - self._started.get(source, time.monotonic())
        return f"{self._rows[source] / elapsed:,.0f}" if elapsed > 0 else "-"

    def rows(self, source: str, n: int) -> None:
        self._rows[source] = self._rows.get(source, 0) + n
        if self._progress is not None:
            self._progress.update(self._tasks[source], advance=n, rate=self._rate(source))

    def step(self, source: str, kind: str, total: int, message: str) -> None:
        """A file or page finished (``kind`` = files | pages, ``total`` so far)."""
        if self._progress is not None:
            self._progress.update(self._tasks[source], **{kind: total}, rate=self._rate(source))
        else:
            log.info("%s: %s (%s rows/s)", source, message, self._rate(source))

    def finish(self, source: str, summary: dict[str, Any]) -> None:
        if self._progress is not None:
            self._progress.update(self._tasks[source], rate=self._rate(source))
        log.info(
            "%s: %s: files=%s skipped=%s pages=%s read=%s loaded=%s rejected=%s in %.1fs",
            source,
            summary["status"],
            summary["files"],
            summary["files_skipped"],
            summary["pages"],
            summary["rows_read"],
            summary["rows_loaded"],
            summary["rows_rejected"],
            summary["seconds"],
        )

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
