"""Several sources extracted at once, each in a process of its own
(``load.parallel_sources``; :func:`cxscore.extract.extract_each`).

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
import selectors
import subprocess
import sys
from typing import IO, Any

from cxscore.errors import CxError
from cxscore.progress import Reporter
from cxscore.settings import Settings

log = logging.getLogger(__name__)


def extract_in_processes(
    settings: Settings,
    names: list[str],
    url: str,
    run_id: str,
    reporter: Reporter,
    workers: int,
) -> dict[str, dict[str, Any]]:
    """Extract the sources in up to ``workers`` processes at once; their progress is shown
    by ``reporter`` as it comes. Returns each source's summary (a failed one for a source
    whose process ended without one)."""
    from cxscore.extract import _failed_summary

    pending = list(names)
    running: dict[str, subprocess.Popen[bytes]] = {}
    done: dict[str, dict[str, Any]] = {}
    selector = selectors.DefaultSelector()
    level = logging.getLogger().getEffectiveLevel()
    try:
        while pending or running:
            while pending and len(running) < workers:
                name = pending.pop(0)
                running[name] = _start(settings, name, url, run_id, level, reporter.live)
                stdout = running[name].stdout
                assert stdout is not None
                selector.register(stdout, selectors.EVENT_READ, name)
            for key, _ in selector.select(timeout=1.0):
                name = key.data
                line = key.fileobj.readline()  # type: ignore[union-attr]
                if line:
                    kind, args = json.loads(line)
                    if kind == "done":
                        done[name] = args[0]
                    else:
                        getattr(reporter, kind)(name, *args)
                    continue
                selector.unregister(key.fileobj)  # end of its output: the process ends
                code = running.pop(name).wait()
                if name not in done:
                    done[name] = _failed_summary(
                        name,
                        CxError(f"its extract process ended without a result (exit code {code})"),
                    )
    finally:
        for process in running.values():  # interrupted: stop the others
            process.kill()
            process.wait()
        selector.close()
    return {name: done[name] for name in names}


def _start(
    settings: Settings, name: str, url: str, run_id: str, level: int, live: bool
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cxscore.extract_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(pickle.dumps((settings, name, url, run_id, level, live)))
    process.stdin.close()
    return process


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
    """One source's extract (the child side of :func:`extract_in_processes`)."""
    from cxscore.extract import _extract, _failed_summary

    settings, name, url, run_id, level, live = pickle.loads(sys.stdin.buffer.read())
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot break the events
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
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
