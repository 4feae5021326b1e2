"""``make compose-test``: run the docker-compose deployment for real (opt-in; not part of
``make test``, it needs a Docker engine, root on a machine without one, and several minutes).

1. Finds the engine (``docker info``); as root on Debian without one, installs ``docker.io``
   and ``docker-compose`` and starts ``dockerd`` in the background (left running). Uses
   ``docker compose`` (v2) when present, else ``docker-compose`` (v1).
2. Images: the official ones the compose file names (``python:3.11-slim-bookworm``,
   ``postgres:16``, ``redis:7.2-bookworm``) when they are present or can be pulled, else
   stand-ins with the same interface built from Debian packages
   (``tests/compose/standins/``, over a ``debootstrap`` base); then builds the project image.
3. Clean run: ``up`` with two Celery workers and every service healthy, a generated world
   (``cxscore generate``) dropped into the landing directory, ``cx_ingest`` triggered
   through the REST API (``/api/v2``, a JWT from ``/auth/token``); waits for the
   asset-triggered ``cx_scorecard``; asserts every DAG run succeeded, task instances ran on
   both workers, ``marts.touchpoint_scorecard`` has rows through the BI login and ``raw``
   is refused to it.
4. Kill run: a fresh stack (``down -v`` then ``up``), the same world; the worker running
   the dbt producer of the asset-triggered ``cx_scorecard`` is killed (``docker kill``)
   mid-build; asserts the run still succeeds and the scorecard equals the clean run's.
5. Always ``down -v``; prints one summary line (``compose-test: PASS|FAIL ...``).

Settings (environment): ``COMPOSE_TEST_CUSTOMERS`` (2000), ``COMPOSE_TEST_DAYS`` (60),
``COMPOSE_TEST_STANDINS`` (``auto``: stand-ins only for images that cannot be had;
``always``; ``never``), ``COMPOSE_TEST_RUNS`` (``clean,kill``). Work files (generated
``.env``, world, landing, logs of a failed run) go to ``.cxscore/compose-test/``.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORK = REPO / ".cxscore" / "compose-test"
# one compose project per checkout, so two clones do not tear down each other's stack
PROJECT = "cxscore-ct-" + hashlib.sha1(str(REPO).encode()).hexdigest()[:8]
OVERRIDE = HERE / "docker-compose.test.yml"

OFFICIAL = {
    "PYTHON_IMAGE": "python:3.11-slim-bookworm",
    "POSTGRES_IMAGE": "postgres:16",
    "REDIS_IMAGE": "redis:7.2-bookworm",
}
STANDIN_BASE = "cxscore-standin/debian:bookworm"
STANDIN = {
    "PYTHON_IMAGE": ("cxscore-standin/python:3.11-bookworm", "python"),
    "POSTGRES_IMAGE": ("cxscore-standin/postgres:bookworm", "postgres"),
    "REDIS_IMAGE": ("cxscore-standin/redis:bookworm", "redis"),
}
WORKERS = 2
PRODUCER = "dbt.dbt_producer_watcher"
TERMINAL = {"success", "failed"}


class TestFailure(Exception):
    """An assertion of the compose test failed (the message says which)."""

    __test__ = False  # not a pytest test class (this script runs on its own)


def log(msg: str) -> None:
    print(f"[compose-test {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, check: bool = True, timeout: float | None = None, **kw: Any) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise TestFailure(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def ok(cmd: list[str], timeout: float = 60) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# ------------------------------------------------------------------------ engine


def ensure_engine() -> list[str]:
    """A working Docker engine; returns the compose command."""
    if not ok(["docker", "info"]):
        if not shutil.which("dockerd"):
            apt_install("docker.io", "docker-compose")
        WORK.mkdir(parents=True, exist_ok=True)
        log(f"starting dockerd (log {WORK / 'dockerd.log'}; left running)")
        with (WORK / "dockerd.log").open("ab") as out:
            subprocess.Popen(["dockerd"], stdout=out, stderr=out, start_new_session=True)
        deadline = time.monotonic() + 60
        while not ok(["docker", "info"]):
            if time.monotonic() > deadline:
                raise TestFailure(f"dockerd did not come up; see {WORK / 'dockerd.log'}")
            time.sleep(1)
    if ok(["docker", "compose", "version"]):
        return ["docker", "compose"]
    if not shutil.which("docker-compose"):
        apt_install("docker-compose")
    return ["docker-compose"]


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise TestFailure(
            f"no Docker engine here and cannot install {' '.join(packages)} "
            "(needs root and apt-get): install Docker and re-run"
        )
    log(f"apt-get install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", *packages], env=env)


# ------------------------------------------------------------------------ images


def image_exists(name: str) -> bool:
    return ok(["docker", "image", "inspect", name])


def choose_images() -> dict[str, str]:
    """The image for each replaceable slot: official if present or pullable, else a stand-in."""
    mode = os.environ.get("COMPOSE_TEST_STANDINS", "auto")
    chosen = {}
    for key, official in OFFICIAL.items():
        if mode != "always" and (image_exists(official) or ok(["docker", "pull", official], 90)):
            chosen[key] = official
        elif mode == "never":
            raise TestFailure(f"{official} is not available and COMPOSE_TEST_STANDINS=never")
        else:
            chosen[key] = build_standin(key)
    return chosen


def build_standin(key: str) -> str:
    name, folder = STANDIN[key]
    if not image_exists(STANDIN_BASE):
        build_debian_base()
    with tempfile.TemporaryDirectory(prefix="cxscore-standin-") as tmp:
        context = Path(tmp) / folder
        shutil.copytree(HERE / "standins" / folder, context)
        if folder == "python":  # the host's CA bundle, for TLS to PyPI from the build
            ca = os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
            shutil.copyfile(ca, context / "host-ca.pem")
        log(f"building stand-in {name} (no {OFFICIAL[key]} here)")
        run(["docker", "build", "-q", "-t", name, str(context)], timeout=1800)
    return name


def debian_mirror() -> str:
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        text = path.read_text(errors="replace") if path.is_file() else ""
        for url in re.findall(r"(?:^deb\s+(?:\[[^]]*\]\s+)?|URIs:\s*)(\S+)", text, re.M):
            if "security" not in url and "debian" in url:
                return url
    return "http://deb.debian.org/debian"


def build_debian_base() -> None:
    if not shutil.which("debootstrap"):
        apt_install("debootstrap")
    rootfs = WORK / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    mirror = debian_mirror()
    log(f"debootstrap bookworm from {mirror} -> {STANDIN_BASE}")
    run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror], timeout=1800)
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    run(["docker", "import", "-", STANDIN_BASE], stdin=tar.stdout, timeout=600)
    tar.wait()
    shutil.rmtree(rootfs, ignore_errors=True)


# ------------------------------------------------------------------------ stack


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_env(path: Path, images: dict[str, str], landing: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    def token() -> str:
        return secrets.token_urlsafe(24)

    env = {
        "AIRFLOW_DB_PASSWORD": token(),
        "AIRFLOW_FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_JWT_SECRET": token(),
        "AIRFLOW_API_SECRET_KEY": token(),
        "WAREHOUSE_PASSWORD": token(),
        "BI_PASSWORD": token(),
        "CX_IDENTITY__HASH_KEY": token(),
        "AIRFLOW_PORT": str(free_port()),
        "WAREHOUSE_PORT": str(free_port()),
        "LANDING_HOST_DIR": str(landing),
        "AIRFLOW_CONN_ZENDESK_DEFAULT": "",
        "CXSCORE_IMAGE": "cxscore:compose-test",
        **images,
    }
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    path.chmod(0o600)
    return env


class Stack:
    def __init__(self, compose: list[str], env_file: Path, env: dict[str, str]) -> None:
        self.cmd = [
            *compose,
            "-p",
            PROJECT,
            "--env-file",
            str(env_file),
            "-f",
            str(REPO / "docker-compose.yml"),
            "-f",
            str(OVERRIDE),
        ]
        self.env = env

    def __call__(self, *args: str, check: bool = True, timeout: float = 1800) -> str:
        return run([*self.cmd, *args], check=check, timeout=timeout, cwd=REPO)

    def containers(self) -> list[dict[str, Any]]:
        ids = self("ps", "-a", "-q").split()
        if not ids:
            return []
        return list(json.loads(run(["docker", "inspect", *ids])))

    def workers(self) -> dict[str, str]:
        """Celery worker hostname -> container name, for the running workers."""
        return {
            c["Config"]["Hostname"]: c["Name"].lstrip("/")
            for c in self.containers()
            if c["Config"]["Labels"].get("com.docker.compose.service") == "airflow-worker"
        }

    def wait_healthy(self, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pending = []
            for c in self.containers():
                service = c["Config"]["Labels"].get("com.docker.compose.service")
                state = c["State"]
                if service == "airflow-init":
                    if state["Status"] == "exited" and state["ExitCode"] != 0:
                        raise TestFailure(
                            f"airflow-init exited {state['ExitCode']}:\n"
                            + self("logs", "--tail", "40", "airflow-init", check=False)
                        )
                    if state["Status"] != "exited":
                        pending.append(service)
                elif state.get("Health", {}).get("Status") != "healthy":
                    pending.append(f"{service}={state.get('Health', {}).get('Status')}")
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TestFailure(f"services not healthy after {timeout:.0f} s: {pending}")
            time.sleep(5)

    def down(self) -> None:
        self("down", "-v", "--remove-orphans", check=False, timeout=600)


class Api:
    """Airflow 3's REST API (/api/v2) with a JWT from the simple auth manager."""

    def __init__(self, stack: Stack) -> None:
        self.base = f"http://127.0.0.1:{stack.env['AIRFLOW_PORT']}"
        passwords = json.loads(
            stack(
                "exec",
                "-T",
                "airflow-apiserver",
                "cat",
                "/opt/airflow/simple_auth_manager_passwords.json.generated",
            )
        )
        response = requests.post(
            f"{self.base}/auth/token",
            json={"username": "admin", "password": passwords["admin"]},
            timeout=30,
        )
        response.raise_for_status()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(f"{self.base}/api/v2{path}", params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    def send(self, method: str, path: str, body: dict[str, Any]) -> Any:
        response = self.session.request(method, f"{self.base}/api/v2{path}", json=body, timeout=60)
        if response.status_code >= 400:
            raise TestFailure(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run (the API pages by at most 100)."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.get(
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100, offset=len(found)
            )
            found.extend(page["task_instances"])
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found


# ------------------------------------------------------------------------ one run


def ensure_world(customers: int, days: int) -> Path:
    world = WORK / f"world-{customers}x{days}"
    if not (world / "manifest.json").exists():
        shutil.rmtree(world, ignore_errors=True)
        log(f"generating a world: {customers} customers x {days} days")
        run(
            [
                str(REPO / ".venv" / "bin" / "cxscore"),
                "generate",
                "--out",
                str(world),
                "--customers",
                str(customers),
                "--days",
                str(days),
                "--increments",
                "1",
            ],
            timeout=1800,
        )
    return world


def wait_for(what: str, probe: Any, timeout: float, every: float = 3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except requests.RequestException:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def run_pipeline(stack: Stack, world: Path, landing: Path, label: str, kill: bool) -> dict:
    """Bring the stack up, run both DAGs (killing a worker if asked), return the results."""
    timings: dict[str, float] = {}
    shutil.rmtree(landing, ignore_errors=True)
    landing.mkdir(parents=True)  # empty until the stack is up
    t0 = time.monotonic()
    stack("up", "-d", "--scale", f"airflow-worker={WORKERS}")
    stack.wait_healthy()
    timings["up"] = time.monotonic() - t0
    workers = stack.workers()
    if len(workers) != WORKERS:
        raise TestFailure(f"expected {WORKERS} workers, found {sorted(workers.values())}")
    log(f"{label}: stack healthy in {timings['up']:.0f} s; workers {sorted(workers.values())}")

    api = Api(stack)
    try:
        return drive_pipeline(stack, api, world, landing, label, kill, workers, timings)
    except BaseException:
        # what failed, in the tasks' own words: the end of every failed try's log
        with contextlib.suppress(Exception):
            report_task_failures(api, label)
        raise


def drive_pipeline(
    stack: Stack,
    api: Api,
    world: Path,
    landing: Path,
    label: str,
    kill: bool,
    workers: dict[str, str],
    timings: dict[str, float],
) -> dict[str, Any]:
    for dag_id in ("cx_ingest", "cx_scorecard"):
        wait_for(f"DAG {dag_id} parsed", lambda d=dag_id: api.get(f"/dags/{d}"), 300)
    # Unpausing a DAG also starts its latest scheduled interval (catchup=False). Both go
    # first, on the empty landing directory and warehouse (the warm-up, as
    # benchmarks/bench_orchestration.py's (d)): cx_ingest's run loads nothing, while
    # cx_scorecard is still paused (its Asset events queue no run for a paused DAG), then
    # cx_scorecard's own run builds the empty marts. Later, the triggered cx_ingest is the
    # one run that loads the world, and the one cx_scorecard run its Assets trigger follows.
    tw = time.monotonic()
    for dag_id in ("cx_ingest", "cx_scorecard"):
        api.send("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        wait_for(f"{dag_id}'s scheduled run", lambda d=dag_id: api.runs(d), 300)
        wait_for(f"{dag_id}'s warm-up run", lambda: quiescent(api, polls=1), 1800)
    timings["warmup"] = time.monotonic() - tw
    log(f"{label}: warm-up runs on the empty landing and warehouse in {timings['warmup']:.0f} s")

    # the world's deliveries arrive (into the bind-mounted directory itself: a directory
    # re-created at the same path would not be the one the containers see)
    shutil.copytree(world / "landing", landing, dirs_exist_ok=True)
    run_id = f"compose-test-{label}"
    t1 = time.monotonic()
    api.send("POST", "/dags/cx_ingest/dagRuns", {"logical_date": None, "dag_run_id": run_id})

    def ingest_done() -> dict[str, Any] | None:
        runs = {r["dag_run_id"]: r for r in api.runs("cx_ingest")}
        mine = runs.get(run_id)
        return mine if mine and mine["state"] in TERMINAL else None

    ingest = wait_for(f"cx_ingest run {run_id}", ingest_done, 1800)
    timings["ingest"] = time.monotonic() - t1
    if ingest["state"] != "success":
        raise TestFailure(f"cx_ingest {run_id} {ingest['state']}: {failed_tasks(api, ingest)}")
    log(f"{label}: cx_ingest {run_id} success in {timings['ingest']:.0f} s")

    def asset_run() -> dict[str, Any] | None:
        """The first asset-triggered cx_scorecard run queued after our ingest run started
        (its publish tasks emit the raw Assets' events)."""
        later = [
            r
            for r in api.runs("cx_scorecard")
            if r["run_type"] == "asset_triggered" and r["queued_at"] >= ingest["start_date"]
        ]
        return min(later, key=lambda r: r["queued_at"]) if later else None

    t2 = time.monotonic()
    scorecard = wait_for("the asset-triggered cx_scorecard run", asset_run, 1800)
    sc_id = scorecard["dag_run_id"]
    killed = None
    if kill:
        killed = kill_producer_worker(stack, api, sc_id, workers)
    scorecard = wait_for(
        f"cx_scorecard {sc_id}",
        lambda: finished(api, "cx_scorecard", sc_id),
        3600,
    )
    timings["scorecard"] = time.monotonic() - t2
    timings["pipeline"] = time.monotonic() - t1
    if scorecard["state"] != "success":
        failed = failed_tasks(api, scorecard)
        raise TestFailure(f"cx_scorecard {sc_id} {scorecard['state']}: {failed}")
    log(f"{label}: cx_scorecard {sc_id} success in {timings['scorecard']:.0f} s")

    # every run the stack made (the scheduler adds the DAGs' own scheduled runs, and asset
    # events may queue one more cx_scorecard) must succeed: wait until nothing is left
    wait_for("every DAG run to finish", lambda: quiescent(api), 1800, every=1)
    all_runs = [(d, r) for d in ("cx_ingest", "cx_scorecard") for r in api.runs(d)]
    bad = [(d, r["dag_run_id"], r["state"]) for d, r in all_runs if r["state"] != "success"]
    if bad:
        raise TestFailure(f"DAG runs not successful: {bad}")
    # until the last run ended (server clock): on a large world the first source's publish
    # already triggers a cx_scorecard run, and the later sources' Assets queue another
    ends = [r["end_date"] for _, r in all_runs if r.get("end_date")]
    timings["settled"] = (parse_time(max(ends)) - parse_time(ingest["queued_at"])).total_seconds()
    hosts: dict[str, int] = {}
    retried = []
    for dag_id, r in all_runs:
        for ti in api.task_instances(dag_id, r["dag_run_id"]):
            if ti.get("hostname"):
                hosts[ti["hostname"]] = hosts.get(ti["hostname"], 0) + 1
            if (ti.get("try_number") or 0) > 1:
                retried.append(f"{ti['task_id']}#{ti['try_number']}@{ti.get('hostname')}")
    unknown = set(hosts) - set(workers)
    if unknown:
        raise TestFailure(f"task instances ran on hosts that are not workers: {unknown}")
    if not kill and len(hosts) < WORKERS:
        raise TestFailure(f"tasks ran on {len(hosts)} worker(s) only: {hosts}")
    result = {
        "runs": len(all_runs),
        "hosts": {workers[h]: n for h, n in hosts.items()},
        "retried": retried,
        "killed": killed,
        "timings": timings,
    }
    result.update(check_warehouse(stack))
    return result


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def finished(api: Api, dag_id: str, run_id: str) -> dict[str, Any] | None:
    """The run ``run_id`` once it is in a terminal state, else None."""
    for r in api.runs(dag_id):
        if r["dag_run_id"] == run_id and r["state"] in TERMINAL:
            return r
    return None


def quiescent(api: Api, polls: int = 4, every: float = 5) -> bool:
    """No DAG run queued or running over ``polls`` consecutive looks ``every`` s apart."""
    for i in range(polls):
        if i:
            time.sleep(every)
        for dag_id in ("cx_ingest", "cx_scorecard"):
            if any(r["state"] not in TERMINAL for r in api.runs(dag_id)):
                return False
    return True


def failed_tasks(api: Api, dag_run: dict[str, Any]) -> list[str]:
    tis = api.task_instances(dag_run["dag_id"], dag_run["dag_run_id"])
    return [f"{t['task_id']}={t['state']}" for t in tis if t["state"] not in ("success", "skipped")]


LOG_TAIL = 60  # lines of each failed try's log printed on a failure
# keys of a structured log entry that every line repeats (the task's identity) or that are
# printed on their own
LOG_CONTEXT_KEYS = {
    "timestamp", "level", "event", "logger", "ti_id", "run_id", "dag_id", "task_id",
    "map_index", "try_number", "filename", "lineno",
}  # fmt: skip


def report_task_failures(api: Api, label: str) -> None:
    """On a failure: every task try that failed (also those a retry later made good, as the
    kill run's), its log's last LOG_TAIL lines printed and the whole log kept under
    WORK/task-logs-<label>/ (read through the REST API, from the shared logs volume)."""
    out = WORK / f"task-logs-{label}"
    shutil.rmtree(out, ignore_errors=True)
    for dag_id in ("cx_ingest", "cx_scorecard"):
        for dag_run in api.runs(dag_id):
            for ti in api.task_instances(dag_id, dag_run["dag_run_id"]):
                last = int(ti.get("try_number") or 0)
                if last == 0 or (ti["state"] != "failed" and last == 1):
                    continue  # never ran, or its only try did not fail
                tries = range(1, last + 1) if ti["state"] == "failed" else range(1, last)
                for try_number in tries:
                    text = task_log(api, dag_id, dag_run["dag_run_id"], ti, try_number)
                    name = f"{dag_id}.{dag_run['dag_run_id']}.{ti['task_id']}.{try_number}.log"
                    out.mkdir(parents=True, exist_ok=True)
                    (out / re.sub(r"[^\w.+-]", "_", name)).write_text(text, encoding="utf-8")
                    tail = "\n".join(text.splitlines()[-LOG_TAIL:])
                    log(
                        f"{label}: {dag_id} {dag_run['dag_run_id']} {ti['task_id']} try "
                        f"{try_number} ({ti['state']} now, host {ti.get('hostname')}); "
                        f"last {LOG_TAIL} lines of its log:\n{tail}"
                    )
    log(f"{label}: full logs of the failed tries in {out}")


def task_log(api: Api, dag_id: str, run_id: str, ti: dict[str, Any], try_number: int) -> str:
    """One try's log as text (Airflow 3 returns structured entries)."""
    try:
        body = api.get(
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{try_number}",
            full_content="true",
            map_index=ti.get("map_index", -1),
        )
    except requests.RequestException as exc:
        return f"(log not readable through the API: {exc})"
    content = body.get("content") if isinstance(body, dict) else body
    if isinstance(content, str):
        return content
    lines = []
    for entry in content or []:
        if not isinstance(entry, dict):
            lines.append(str(entry))
            continue
        extra = {k: v for k, v in entry.items() if k not in LOG_CONTEXT_KEYS}
        lines.append(
            " ".join(
                str(part)
                for part in (
                    entry.get("timestamp", ""),
                    entry.get("level", ""),
                    entry.get("event", ""),
                    json.dumps(extra, default=str) if extra else "",
                )
                if part
            )
        )
    return "\n".join(lines)


def kill_producer_worker(stack: Stack, api: Api, run_id: str, workers: dict[str, str]) -> str:
    """Kill the worker container running the dbt producer of ``run_id``, mid-build."""

    def producer_running() -> dict[str, Any] | None:
        for ti in api.task_instances("cx_scorecard", run_id):
            if ti["task_id"] == PRODUCER and ti["state"] == "running" and ti.get("hostname"):
                return ti
        return None

    ti = wait_for(f"{PRODUCER} running in {run_id}", producer_running, 1800, every=1)
    time.sleep(5)  # into the dbt build
    container = workers.get(ti["hostname"])
    if container is None:
        raise TestFailure(f"{PRODUCER} runs on {ti['hostname']}, not a known worker {workers}")
    run(["docker", "kill", container])
    log(f"killed {container} (running {PRODUCER} of {run_id})")
    return container


def check_warehouse(stack: Stack) -> dict[str, Any]:
    """Through the BI login: the scorecard has rows, raw is refused. Returns the scorecard."""
    import psycopg2
    import psycopg2.errors

    def connect(user: str, password: str) -> Any:
        return psycopg2.connect(
            host="127.0.0.1",
            port=int(stack.env["WAREHOUSE_PORT"]),
            dbname="cx",
            user=user,
            password=password,
            connect_timeout=10,
        )

    with connect("cx", stack.env["WAREHOUSE_PASSWORD"]) as owner, owner.cursor() as cur:
        cur.execute("select table_name from information_schema.tables where table_schema = 'raw'")
        raw_tables = sorted(r[0] for r in cur.fetchall())
        counts = {}
        for table in ("raw.amazon_connect__contact_records", "marts.fct_interactions"):
            cur.execute(f"select count(*) from {table}")
            counts[table] = cur.fetchone()[0]
    if not raw_tables:
        raise TestFailure("the warehouse has no raw tables")
    bi = connect("cxscore_bi", stack.env["BI_PASSWORD"])
    bi.autocommit = True
    try:
        with bi.cursor() as cur:
            cur.execute("select * from marts.touchpoint_scorecard limit 0")
            columns = [d[0] for d in cur.description if d[0] != "built_at"]
            cur.execute(
                f"select {', '.join(columns)} from marts.touchpoint_scorecard "
                f"order by {', '.join(str(i + 1) for i in range(len(columns)))}"
            )
            rows = [tuple(str(v) for v in row) for row in cur.fetchall()]
        if not rows:
            raise TestFailure(
                f"marts.touchpoint_scorecard is empty through the BI login (as owner: {counts})"
            )
        for table in raw_tables:
            with bi.cursor() as cur:
                try:
                    cur.execute(f'select 1 from raw."{table}" limit 1')
                except psycopg2.errors.InsufficientPrivilege:
                    continue
            raise TestFailure(f"the BI login can read raw.{table}")
    finally:
        bi.close()
    return {"scorecard": rows, "raw_refused": len(raw_tables)}


# ------------------------------------------------------------------------ main


def main() -> int:
    started = time.monotonic()
    customers = int(os.environ.get("COMPOSE_TEST_CUSTOMERS", "2000"))
    days = int(os.environ.get("COMPOSE_TEST_DAYS", "60"))
    runs = os.environ.get("COMPOSE_TEST_RUNS", "clean,kill").split(",")
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    stack: Stack | None = None
    summary = ""
    try:
        compose = ensure_engine()
        t = time.monotonic()
        images = choose_images()
        world = ensure_world(customers, days)
        landing = WORK / "landing"
        landing.mkdir(exist_ok=True)
        env = write_env(WORK / "test.env", images, landing)
        stack = Stack(compose, WORK / "test.env", env)
        stack.down()  # leftovers of an interrupted run
        log(f"building the project image (base {images['PYTHON_IMAGE']})")
        stack("build")
        build_s = time.monotonic() - t
        log(f"images ready in {build_s:.0f} s: {images}")
        for label in runs:
            try:
                results[label] = run_pipeline(stack, world, landing, label, kill=label == "kill")
            except BaseException:
                (WORK / f"logs-{label}.txt").write_text(
                    stack("logs", "--no-color", "--tail", "300", check=False), encoding="utf-8"
                )
                raise
            finally:
                stack.down()
        if "clean" in results and "kill" in results:  # noqa: SIM102
            if results["clean"]["scorecard"] != results["kill"]["scorecard"]:
                diff = set(results["clean"]["scorecard"]) ^ set(results["kill"]["scorecard"])
                raise TestFailure(
                    f"the scorecard after the worker kill differs from the clean run "
                    f"({len(diff)} rows differ, e.g. {sorted(diff)[:3]})"
                )
        parts = [f"images {build_s:.0f}s"]
        for label, r in results.items():
            tm = r["timings"]
            parts.append(
                f"{label}: up {tm['up']:.0f}s warm-up {tm['warmup']:.0f}s ingest "
                f"{tm['ingest']:.0f}s + scorecard {tm['scorecard']:.0f}s = "
                f"{tm['pipeline']:.0f}s (every run ended {tm['settled']:.0f}s after the "
                f"trigger), {r['runs']} runs ok, tasks per worker "
                f"{sorted(r['hosts'].values())}, {len(r['scorecard'])} scorecard rows, "
                f"raw refused ({r['raw_refused']} tables)"
                + (f", killed {r['killed']}, retried {r['retried']}" if r["killed"] else "")
            )
        if len(results) == 2:
            parts.append("scorecard identical after the kill")
        summary = (
            f"compose-test: PASS ({customers}x{days}, {time.monotonic() - started:.0f}s) "
            + "; ".join(parts)
        )
        return 0
    except (TestFailure, subprocess.TimeoutExpired, requests.RequestException) as exc:
        summary = f"compose-test: FAIL after {time.monotonic() - started:.0f}s: {exc}"
        return 1
    finally:
        if stack is not None:
            stack.down()
        print(summary or f"compose-test: FAIL after {time.monotonic() - started:.0f}s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
