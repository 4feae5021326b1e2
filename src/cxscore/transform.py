"""Run the dbt project (``dbt_project/``) in-process: the scorecard build step.

``build_models`` runs ``dbt build`` through ``dbt.cli.main.dbtRunner`` with a profile
generated at run time under ``<state_dir>/dbt/`` (never committed) and the cxscore settings
passed as dbt vars. The HMAC key for e-mail/phone hashes never appears in SQL, vars or the
profile: Python derives the RFC 2104 inner/outer padded keys and hands them to PostgreSQL as
session settings ``cx.hmac_ipad`` / ``cx.hmac_opad`` through ``PGOPTIONS``; the same values
are exported as ``DBT_ENV_SECRET_CX_HMAC_IPAD`` / ``_OPAD`` so that dbt scrubs them from
any log line.

The Airflow DAG (Cosmos) reuses :func:`dbt_env`, :func:`dbt_vars` and :func:`write_profile`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxscore.dbt_profile import PROFILE_THREADS, write_profile_to
from cxscore.errors import CxError
from cxscore.paths import dbt_project_dir
from cxscore.settings import Settings

if TYPE_CHECKING:
    from cxscore.dbt_process import DbtProcess

log = logging.getLogger(__name__)

PROJECT_DIR = dbt_project_dir()
HMAC_BLOCK_SIZE = 64  # SHA-256 block size in bytes
IPAD_ENV = "DBT_ENV_SECRET_CX_HMAC_IPAD"
OPAD_ENV = "DBT_ENV_SECRET_CX_HMAC_OPAD"
HASH_KEY_FILE = "hash_key"
GENERATED_KEY_BYTES = 32
GENERATED_KEY = re.compile(rf"[0-9a-f]{{{GENERATED_KEY_BYTES * 2}}}")

# dbtRunner is not re-entrant, and it reads os.environ: one invocation at a time per process.
_DBT_LOCK = threading.Lock()


class TransformError(CxError):
    """A dbt model, seed or error-severity test failed; the message names the node."""


# --------------------------------------------------------------------------- the PII key


def hash_key(settings: Settings) -> bytes:
    """The HMAC key: identity.hash_key (env CX_IDENTITY__HASH_KEY), else a random key
    generated once into ``<state_dir>/hash_key`` (mode 0600), with a warning.

    The file appears complete or not at all (:func:`_create_key_file`), so concurrent first
    runs agree on one key; and the key is checked before any hashing: an empty or damaged
    file is an error, never an empty HMAC key."""
    if settings.identity.hash_key is not None:
        value = settings.identity.hash_key.get_secret_value()
        if value:
            return value.encode("utf-8")
    path = Path(settings.state_dir) / HASH_KEY_FILE
    if not path.exists() and _create_key_file(path):
        log.warning(
            "identity.hash_key is not set: generated a random HMAC key into %s; set "
            "CX_IDENTITY__HASH_KEY to a managed secret (changing it re-keys every hash)",
            path,
        )
    key = path.read_text(encoding="utf-8").strip()
    if not GENERATED_KEY.fullmatch(key):
        raise TransformError(
            f"the generated PII hashing key {path} is not {GENERATED_KEY_BYTES * 2} hex digits "
            "(empty or damaged); cxscore will not hash with it. Set CX_IDENTITY__HASH_KEY, or "
            "restore the file (deleting it re-keys every hash on the next build)"
        )
    return key.encode("utf-8")


def _create_key_file(path: Path) -> bool:
    """Write a new random key to a temporary file (0600), fsync it, then link it to
    ``path``, which never exists half-written; a concurrent creator that linked first wins
    (its key is kept, ours dropped). Returns True when this call created the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(GENERATED_KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)  # atomic, and fails when the file exists (no overwrite)
        except FileExistsError:
            return False
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return True
    finally:
        os.unlink(temp)


def hmac_pads(key: bytes) -> tuple[str, str]:
    """RFC 2104: (hex(K' xor 0x36..), hex(K' xor 0x5c..)) for SHA-256, K' the padded key."""
    if len(key) > HMAC_BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(HMAC_BLOCK_SIZE, b"\x00")
    ipad = bytes(b ^ 0x36 for b in padded)
    opad = bytes(b ^ 0x5C for b in padded)
    return ipad.hex(), opad.hex()


# --------------------------------------------------------------------------- env, vars, profile


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """The dbt vars, all fed from the cxscore settings (none of them secret): the one source
    of their defaults (dbt_project.yml keeps no copy). Besides these, ``as_of_date`` (a
    date pins "today" for the pain points, tests only) may be passed per run."""
    return {
        "business_timezone": settings.business_timezone,
        "lookback_days": settings.scorecard.lookback_days,
        "fcr_window_hours": settings.scorecard.fcr_window_hours,
        "recontact_window_hours": settings.scorecard.recontact_window_hours,
        "attribution_window_days": settings.scorecard.attribution_window_days,
        "short_abandon_seconds": settings.sources.amazon_connect.short_abandon_seconds,
        "default_country": settings.identity.default_country.upper(),
        "closed_loop_enabled": settings.closed_loop.enabled,
        "closed_loop_cooldown_days": settings.closed_loop.cooldown_days,
        "closed_loop_sla_hours": settings.closed_loop.sla_hours,
        "closed_loop_consent_field": settings.closed_loop.consent_field or "",
    }


def dbt_env(settings: Settings, url: str) -> dict[str, str]:
    """Environment variables a dbt process needs: connection fields for the profile
    (``CX_DBT_*``, read by profiles.yml via env_var), the HMAC pads, and PGOPTIONS."""
    from cxscore.warehouse import session_options, url_components

    parts = url_components(url)
    ipad, opad = hmac_pads(hash_key(settings))
    options = f"-c cx.hmac_ipad={ipad} -c cx.hmac_opad={opad} -c timezone=UTC"
    if settings.warehouse.build_work_mem:  # sorts and hashes of months of facts in memory
        options += f" -c work_mem={settings.warehouse.build_work_mem}"
    if settings.warehouse.build_random_page_cost:  # index probes priced as cached reads
        options += f" -c random_page_cost={settings.warehouse.build_random_page_cost:g}"
    if (
        settings.warehouse.statistics_target
    ):  # the post-hook ANALYZE's sample (macro refresh_statistics)
        options += f" -c default_statistics_target={settings.warehouse.statistics_target}"
    options = session_options(options)
    return {
        "CX_DBT_HOST": str(parts["host"]),
        "CX_DBT_PORT": str(parts["port"]),
        "CX_DBT_USER": str(parts["user"]),
        "DBT_ENV_SECRET_CX_DBT_PASSWORD": str(parts["password"]),
        "CX_DBT_DBNAME": str(parts["dbname"]),
        IPAD_ENV: ipad,
        OPAD_ENV: opad,
        "PGOPTIONS": options,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def profiles_dir(settings: Settings) -> Path:
    return Path(settings.state_dir).resolve() / "dbt"


def write_profile(settings: Settings, threads: int = PROFILE_THREADS) -> Path:
    """Write ``<state_dir>/dbt/profiles.yml`` (no secrets in it) and return its directory."""
    return write_profile_to(profiles_dir(settings), threads=threads)


@contextlib.contextmanager
def patched_environ(extra: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``extra`` for the duration of the block, then as it was."""
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --------------------------------------------------------------------------- running dbt


def dbt_command(
    settings: Settings,
    args: list[str],
    *,
    url: str,
    project_dir: Path | None = None,
    extra_vars: dict[str, Any] | None = None,
    artifacts_dir: Path | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The dbt command line (our profile, vars, target and log paths) and the environment
    it runs with (:func:`dbt_env`), for ``args`` on the warehouse at ``url``."""
    folder = write_profile(settings)
    variables = {**dbt_vars(settings), **(extra_vars or {})}
    project = project_dir or PROJECT_DIR
    command = [
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(folder),
        "--vars",
        json.dumps(variables),
        "--target-path",
        str(artifacts_dir or folder / "target"),
        "--log-path",
        str(folder / "logs"),
        # dbt's own log file at info: its debug level writes every statement of every node
        # (about 18,000 lines a build), about 1.3 core-seconds of a build with nothing new
        # at 100,000 x 90 (docs/performance.md); DBT_LOG_LEVEL_FILE=debug brings them back
        "--log-level-file",
        os.environ.get("DBT_LOG_LEVEL_FILE") or "info",
    ]
    return command, dbt_env(settings, url)


def quiet_dbt_loggers() -> None:
    """dbt's Python loggers at WARNING: its own output is its event log (stdout, dbt.log)."""
    for noisy in ("dbt", "dbt.adapters", "dbt.events"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_dbt(
    settings: Settings,
    args: list[str],
    *,
    url: str | None = None,
    project_dir: Path | None = None,
    extra_vars: dict[str, Any] | None = None,
    artifacts_dir: Path | None = None,
) -> Any:
    """Invoke dbt in-process with our profile, vars and environment; return the
    ``dbtRunnerResult``. Raises TransformError when dbt itself cannot run.

    Artifacts (compiled SQL, run_results, partial-parse state) and logs go to
    ``artifacts_dir`` (default ``<state_dir>/dbt/target``), so that concurrent builds on
    different warehouses never share files; docs and parse write dbt_project/target."""
    from dbt.cli.main import dbtRunner

    from cxscore.warehouse import ensure_warehouse

    if url is None:
        url = ensure_warehouse(settings)
    command, env = dbt_command(
        settings,
        args,
        url=url,
        project_dir=project_dir,
        extra_vars=extra_vars,
        artifacts_dir=artifacts_dir,
    )
    quiet_dbt_loggers()
    # dbt prints its log to stdout; ours is the command's result (`--json` must be JSON only)
    with (
        _DBT_LOCK,
        patched_environ(env),
        contextlib.redirect_stdout(sys.stderr),
    ):
        try:
            return dbtRunner().invoke(command)
        except Exception as exc:  # dbt internals raise many types; re-raised with context
            raise TransformError(f"dbt {' '.join(args)} could not run: {exc}") from exc


def _summarise(result: Any, seconds: float) -> dict[str, Any]:
    """The build summary of an in-process dbt run (a ``dbtRunnerResult``)."""
    items = []
    for item in getattr(result.result, "results", None) or []:
        node = item.node
        resource_type = getattr(node, "resource_type", "")
        items.append(
            {
                "kind": str(getattr(resource_type, "value", resource_type)).lower(),
                "status": str(getattr(item.status, "value", item.status)).lower(),
                "unique_id": str(getattr(node, "unique_id", "?")),
                "message": str(item.message or ""),
                "failures": getattr(item, "failures", None),
                "relation": str(getattr(node, "attached_node", None) or "dbt"),
            }
        )
    return _summarise_items(items, bool(result.success), seconds)


def summarise_run_results(target_dir: Path) -> dict[str, Any]:
    """The same build summary from what a dbt run left in its target directory:
    ``run_results.json`` (and ``manifest.json`` for the model each test is attached to). The
    Airflow path uses it: Cosmos' watcher producer runs ``dbt build`` itself.
    Raises FileNotFoundError when there is no ``run_results.json``."""
    results = json.loads((target_dir / "run_results.json").read_text(encoding="utf-8"))
    attached: dict[str, str] = {}
    manifest_path = target_dir / "manifest.json"
    if manifest_path.exists():
        nodes = json.loads(manifest_path.read_text(encoding="utf-8")).get("nodes", {})
        attached = {k: n["attached_node"] for k, n in nodes.items() if n.get("attached_node")}
    items = []
    for item in results.get("results") or []:
        unique_id = str(item.get("unique_id") or "?")
        items.append(
            {
                "kind": unique_id.split(".", 1)[0],
                "status": str(item.get("status") or "").lower(),
                "unique_id": unique_id,
                "message": str(item.get("message") or ""),
                "failures": item.get("failures"),
                "relation": attached.get(unique_id, "dbt"),
            }
        )
    success = all(i["status"] not in _FAILED_STATUSES for i in items)
    return _summarise_items(items, success, float(results.get("elapsed_time") or 0.0))


_FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


def _summarise_items(items: list[dict[str, Any]], success: bool, seconds: float) -> dict[str, Any]:
    counts = {"models": 0, "seeds": 0, "tests_passed": 0, "tests_failed": 0, "tests_warned": 0}
    failures: list[dict[str, str]] = []
    tested: list[str] = []
    test_failures: list[dict[str, Any]] = []
    unit_tests = 0
    for item in items:
        kind, status = item["kind"], item["status"]
        if kind == "model":
            counts["models"] += status == "success"
        elif kind == "seed":
            counts["seeds"] += status == "success"
        elif kind in ("test", "unit_test"):
            unit_tests += kind == "unit_test"
            if status in ("pass", "success"):
                counts["tests_passed"] += 1
            elif status == "warn":
                counts["tests_warned"] += 1
            elif status in ("fail", "error"):
                counts["tests_failed"] += 1
            if kind == "test":
                tested.append(item["unique_id"])
                if status in ("fail", "error", "warn"):
                    test_failures.append(
                        {
                            "unique_id": item["unique_id"],
                            "message": item["message"].strip()[:500],
                            "failures": item["failures"],
                            "severity": "warn" if status == "warn" else "error",
                            "relation": item["relation"],
                        }
                    )
        if status in _FAILED_STATUSES:
            failures.append(
                {
                    "node": item["unique_id"],
                    "status": status,
                    "message": item["message"].strip()[:2000],
                }
            )
    return {
        **counts,
        "unit_tests": unit_tests,
        "failures": failures,
        "tested": tested,
        "test_failures": test_failures,
        "seconds": round(seconds, 1),
        "success": success,
    }


class _Outcome:
    """What :func:`_raise_on_failure` reads of a dbt result that ran in another process."""

    def __init__(self, exception: str | None) -> None:
        self.exception = exception


def _raise_on_failure(summary: dict[str, Any], result: Any, what: str) -> None:
    if summary["success"]:
        return
    if summary["failures"]:
        lines = [f"{f['node']} ({f['status']}): {f['message']}" for f in summary["failures"]]
        hint = ""
        if any("cx.hmac_" in f["message"] for f in summary["failures"]):
            hint = (
                "\nhint: the HMAC session settings are missing; run dbt through "
                "cxscore.transform (or export PGOPTIONS from cxscore.transform.dbt_env)"
            )
        raise TransformError(
            f"{what} failed: {len(summary['failures'])} node(s):\n  " + "\n  ".join(lines) + hint
        )
    raise TransformError(f"{what} failed: {result.exception or 'see the dbt log'}")


def build_args(*, full_refresh: bool = False, select: str | None = None) -> list[str]:
    """The ``dbt build`` arguments of :func:`build_models` (seeds, models, data tests)."""
    args = ["build", "--exclude-resource-type", "unit_test"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    return args


def parse_ahead(settings: Settings, dbt_process: DbtProcess, *, url: str) -> None:
    """Have ``dbt_process`` parse the project now for the build :func:`build_models` will
    ask it for later (:meth:`cxscore.dbt_process.DbtProcess.parse_ahead`)."""
    parse, _ = dbt_command(settings, ["parse", "--quiet"], url=url)
    build, env = dbt_command(settings, build_args(), url=url)
    dbt_process.parse_ahead(parse, build, env)


def build_models(
    settings: Settings,
    *,
    url: str | None = None,
    full_refresh: bool = False,
    select: str | None = None,
    run_id: str | None = None,
    alert: bool = True,
    dbt_process: DbtProcess | None = None,
) -> dict[str, Any]:
    """``dbt build`` (seeds, models, data tests; never unit tests) on the warehouse; in
    ``dbt_process`` when given (started ahead, :mod:`cxscore.dbt_process`), else here.

    dbt tests that start failing (or recover) are alerted through
    :func:`cxscore.quality.alerts.alert_dbt_test_failures` (same start/recover rule as the quality
    checks); an alert delivery problem is logged and never hides the build's own outcome.

    Returns {"models", "seeds", "tests_passed", "tests_failed", "tests_warned", "failures",
    "seconds", "success"}. Raises TransformError (a CxError, exit 1) naming every failed
    node when a model, seed or error-severity test fails.
    """
    args = build_args(full_refresh=full_refresh, select=select)
    started = time.monotonic()
    answer = None
    if dbt_process is not None:
        from cxscore.warehouse import ensure_warehouse

        url = url or ensure_warehouse(settings)
        command, env = dbt_command(settings, args, url=url)
        answer = dbt_process.invoke(command, env)
        if answer is None:
            log.warning("the dbt process was gone before the build; running dbt here")
    if answer is not None:
        if answer["summary"] is None:
            raise TransformError(f"dbt build could not run: {answer['exception']}")
        summary = answer["summary"]
        summary["seconds"] = round(time.monotonic() - started, 1)
        result: Any = _Outcome(answer["exception"])
    else:
        result = run_dbt(settings, args, url=url)
        summary = _summarise(result, time.monotonic() - started)
    if alert and summary["tested"]:
        alert_test_failures(settings, summary, url=url, run_id=run_id)
    _raise_on_failure(summary, result, "dbt build")
    log.info(
        "dbt build: %s models, %s tests passed, %s failed in %.1f s",
        summary["models"],
        summary["tests_passed"],
        summary["tests_failed"],
        summary["seconds"],
    )
    return summary


def alert_test_failures(
    settings: Settings, summary: dict[str, Any], *, url: str | None, run_id: str | None
) -> None:
    """Alert the dbt tests of a build summary that started failing or recovered; a problem
    here is logged, never raised (alerting must not mask the build's outcome)."""
    from cxscore.quality.alerts import alert_dbt_test_failures

    try:
        sent, errors = alert_dbt_test_failures(
            settings,
            summary["test_failures"],
            run_id or f"dbt__{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}",
            url=url,
            tested=summary["tested"],
        )
    except Exception:  # alerting must never mask the build outcome
        log.exception("could not evaluate dbt test alerts")
        return
    summary["alerts_sent"] = sent
    for error in errors:
        log.warning("dbt test alert delivery failed: %s", error)


def run_unit_tests(settings: Settings, *, url: str | None = None) -> dict[str, Any]:
    """Run the dbt unit tests (CI only; they need the seeds and upstream relations)."""
    started = time.monotonic()
    result = run_dbt(settings, ["test", "--select", "test_type:unit"], url=url)
    summary = _summarise(result, time.monotonic() - started)
    _raise_on_failure(summary, result, "dbt unit tests")
    return summary


def parse_project(settings: Settings) -> Path:
    """``dbt parse`` (no database query): writes dbt_project/target/manifest.json, the file
    Cosmos renders the Airflow task graph from. Needs no reachable warehouse."""
    from dbt.cli.main import dbtRunner

    folder = write_profile(settings)
    env = {
        "CX_DBT_HOST": "localhost",
        "CX_DBT_PORT": "5432",
        "CX_DBT_USER": "cxscore",
        "CX_DBT_DBNAME": "cxscore",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    with manifest_written_whole(PROJECT_DIR) as target:
        command = [
            "parse",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(folder),
            "--vars",
            json.dumps(dbt_vars(settings)),
            "--target-path",
            str(target),
        ]
        with _DBT_LOCK, patched_environ(env):
            result = dbtRunner().invoke(command)
        if not result.success:
            raise TransformError(f"dbt parse failed: {result.exception or 'see the dbt log'}")
    return PROJECT_DIR / "target" / "manifest.json"


@contextlib.contextmanager
def manifest_written_whole(project: Path) -> Iterator[Path]:
    """A private target directory for ``dbt parse``; on success its manifest.json replaces
    ``<project>/target/manifest.json`` in one rename. dbt writes a manifest in place, and
    Airflow (Cosmos) reads that file whenever it parses cx_scorecard: a reader must never
    see it half written (an empty file failed the DAG's import)."""
    final = project / "target" / "manifest.json"
    final.parent.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix=".parse-", dir=final.parent))
    try:
        yield private
        written = private / "manifest.json"
        if written.exists():
            os.replace(written, final)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def generate_docs(settings: Settings, *, url: str | None = None) -> dict[str, Any]:
    """``dbt docs generate``: writes ``<state_dir>/dbt/docs/{index.html,catalog.json,
    manifest.json,...}``. Not dbt_project/target: the manifest there is what Airflow renders
    cx_scorecard from, and dbt rewrites a manifest in place (a DAG parsed meanwhile read an
    empty file)."""
    started = time.monotonic()
    target = Path(settings.state_dir) / "dbt" / "docs"
    result = run_dbt(settings, ["docs", "generate"], url=url, artifacts_dir=target)
    if not result.success:
        raise TransformError(f"dbt docs generate failed: {result.exception or 'see the dbt log'}")
    return {
        "path": str(target / "index.html"),
        "seconds": round(time.monotonic() - started, 1),
    }
