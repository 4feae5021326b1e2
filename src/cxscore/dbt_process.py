"""dbt in a process of its own, started ahead of the build (``cxscore run``).

Importing dbt costs 1.5-4 core-seconds in every run (its artifact classes compile their
serialisers at import), and a run's build waits for it after the extract and the raw checks.
:func:`cxscore.pipeline.run_pipeline` starts this process when the run starts: it imports
dbt while the sources load (their lanes leave cores idle while they wait for the API and
the warehouse), then waits for one request on stdin: the ``dbt`` command line and its
environment (connection fields, HMAC pads: on a pipe, never on a command line). It runs
that one command with ``dbtRunner`` exactly as :func:`cxscore.transform.run_dbt` would in
the caller's process, prints dbt's own output to the shared stderr, and answers with one
JSON line on stdout: the build summary (:func:`cxscore.transform._summarise`), dbt's
exception, if any, and its peak resident memory. Then it exits.

The parent may first send the build's command ahead (:meth:`DbtProcess.parse_ahead`, as soon
as the run starts: the command depends on the settings alone). The process then parses the
project while the sources load (`dbt parse`, partial parsing from the target folder: about
1 s of a build's start at 100,000 x 90, docs/performance.md) and hands that manifest to
the build (``dbtRunner(manifest=...)``) when the build's command and environment are the
ones it parsed for; otherwise, or when that parse failed, the build parses as usual. The
build therefore runs the project as it was when the run started.

If the process is gone before it receives the request (it failed to start or to import
dbt), the caller runs dbt in its own process instead (:meth:`DbtProcess.invoke` returns
None); if it dies during the build, that is a :class:`~cxscore.transform.TransformError`.
No build outlives its run: an interrupted caller kills the process, and the process exits
when its parent is gone (checked every second).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from typing import Any

from cxscore.transform import TransformError

# peak resident memory (MB) of the last dbt process that answered (benchmarks read it: the
# build's memory is that process's, not the caller's)
last_peak_rss_mb: float | None = None


class DbtProcess:
    """The parent's handle on a ``python -m cxscore.dbt_process`` child."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "cxscore.dbt_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def parse_ahead(self, parse: list[str], build: list[str], env: dict[str, str]) -> None:
        """Ask the child to run ``dbt <parse>`` now, for a later ``dbt <build>`` with the
        same ``env`` (:func:`main`). Best effort: a child that is gone gets no request, and
        :meth:`invoke` then returns None as before."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            return
        request = {"parse": parse, "build": build, "env": env}
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def invoke(self, command: list[str], env: dict[str, str]) -> dict[str, Any] | None:
        """Run ``dbt <command>`` in the child with ``env`` added to its environment; returns
        {"summary": ..., "exception": str | None}, or None when the child was gone before it
        got the request (run dbt elsewhere). One request per process."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            return None
        self._proc = None
        request = json.dumps({"command": command, "env": env}).encode() + b"\n"
        try:
            proc.stdin.write(request)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            proc.wait()
            return None
        try:
            answer = proc.stdout.read()
            code = proc.wait()
        except BaseException:  # interrupted: no dbt build may outlive the run (and its lock)
            proc.kill()
            proc.wait()
            raise
        if not answer.strip():
            if code != 0 and _exited_before_request(code):
                return None
            raise TransformError(
                f"the dbt process exited with code {code} during `dbt {' '.join(command[:1])}`"
                " without a result (see the log above)"
            )
        result: dict[str, Any] = json.loads(answer)
        global last_peak_rss_mb
        last_peak_rss_mb = result.get("peak_rss_mb")
        return result

    def close(self) -> None:
        """Stop a child that was never asked to build (the run stopped before its build)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()  # the child reads end-of-file and exits
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# exit code of a child that could not import dbt (it never reads the request)
_IMPORT_FAILED = 3


def _exited_before_request(code: int) -> bool:
    return code == _IMPORT_FAILED


def main() -> int:
    """The child: import dbt, wait for one request, run it, answer on stdout."""
    import os
    import threading

    parent = os.getppid()

    def orphaned() -> None:  # the run is gone (killed): so is its build
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=orphaned, name="watch-parent", daemon=True).start()

    try:
        from dbt.cli.main import dbtRunner
    except Exception as exc:  # noqa: BLE001 - the parent runs dbt itself and says why
        print(f"cxscore: the dbt process could not import dbt: {exc}", file=sys.stderr)
        return _IMPORT_FAILED
    from cxscore.transform import _summarise, quiet_dbt_loggers

    line = sys.stdin.readline()
    if not line.strip():  # the parent closed: no build in this run
        return 0
    request = json.loads(line)
    manifest = None
    if "parse" in request:  # the build's command, sent ahead: parse for it now
        ahead = request
        os.environ.update(ahead["env"])
        quiet_dbt_loggers()
        manifest = _parse(dbtRunner, ahead["parse"])
        line = sys.stdin.readline()
        if not line.strip():
            return 0
        request = json.loads(line)
        if (request["command"], request["env"]) != (ahead["build"], ahead["env"]):
            manifest = None  # not the build it was parsed for: dbt parses it itself
    os.environ.update(request["env"])
    quiet_dbt_loggers()
    out = sys.stdout
    started = time.monotonic()
    with contextlib.redirect_stdout(sys.stderr):  # dbt's console output: the log, not the answer
        try:
            result = dbtRunner(manifest=manifest).invoke(request["command"])
        except Exception as exc:  # noqa: BLE001 - dbt raises many types: the parent names it
            answer: dict[str, Any] = {"summary": None, "exception": f"{type(exc).__name__}: {exc}"}
        else:
            answer = {
                "summary": _summarise(result, time.monotonic() - started),
                "exception": None if result.exception is None else str(result.exception),
            }
    import resource

    answer["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out.write(json.dumps(answer, default=str) + "\n")
    out.flush()
    return 0


def _parse(runner: Any, command: list[str]) -> Any:
    """The manifest of ``dbt <command>`` (a ``parse``), or None when it failed (the build
    then parses and reports the problem itself)."""
    with contextlib.redirect_stdout(sys.stderr):
        try:
            result = runner().invoke(command)
        except Exception:  # noqa: BLE001 - the build parses again and says what is wrong
            return None
    return result.result if result.success else None


if __name__ == "__main__":
    sys.exit(main())
