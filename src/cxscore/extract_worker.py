"""The child side of extracting several sources at once (``load.parallel_sources``;
:func:`cxscore.extract.extract_each` starts these processes and reads their events).

A source's extract is CPU-bound Python (parsing, hashing, encoding rows for ``COPY``, scoring
text) and the sources write different tables under different locks, so on a machine with
more than one core they run side by side. Each runs in a fresh interpreter,
``python -m cxscore.extract_worker``: it receives its arguments (settings, source, warehouse
URL, run id) pickled on stdin and answers with JSON lines on stdout: progress events for the
parent's display and, last, the source's summary. Its log lines go to the shared stderr.
A fresh interpreter rather than :mod:`multiprocessing`: nothing of the caller is inherited
(connections, threads) and the caller's main module is never imported again, so a script
without an ``if __name__ == "__main__"`` guard works too.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import sys
from typing import IO, Any

from cxscore.extract import _extract, _failed_summary
from cxscore.progress import Reporter
from cxscore.redaction import RedactingFilter, register_settings

log = logging.getLogger(__name__)


class _Forwarding(Reporter):
    """A source's progress, sent to the parent's reporter as JSON lines."""

    def __init__(self, out: IO[bytes], live: bool) -> None:
        super().__init__(False)
        self._out = out
        self._live = live  # the parent shows progress live: send it every event

    def send(self, kind: str, *args: Any) -> None:
        self._out.write(json.dumps([kind, args], default=str).encode() + b"\n")
        self._out.flush()

    def start(self, source: str) -> None:
        if self._live:
            self.send("start")
        else:
            super().start(source)

    def rows(self, source: str, n: int) -> None:
        if self._live:
            self.send("rows", n)
        else:
            super().rows(source, n)

    def step(self, source: str, kind: str, total: int, message: str) -> None:
        if self._live:
            self.send("step", kind, total, message)
        else:  # a log line per file, as in one process
            super().step(source, kind, total, message)

    def finish(self, source: str, summary: dict[str, Any]) -> None:
        if self._live:
            self.send("finish", summary)
        else:
            super().finish(source, summary)


def main() -> None:
    """One source's extract (the child side of :func:`cxscore.extract._in_processes`)."""
    settings, name, url, run_id, level, live = pickle.loads(sys.stdin.buffer.read())
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot break the events
    # the caller's stderr without the caller's log filter: hide the same secrets here
    register_settings(settings)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    reporter = _Forwarding(out, live)
    try:
        summary = _extract(settings, name, url=url, run_id=run_id, reporter=reporter)
    except Exception as exc:  # the parent records it and goes on with the others
        log.exception("%s: extract failed", name)
        summary = _failed_summary(name, exc)
    reporter.send("done", summary)
    out.close()


if __name__ == "__main__":
    main()
