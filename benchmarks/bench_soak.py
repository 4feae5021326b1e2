"""Soak (issue 22): a simulated month of hourly deliveries against one warehouse.

A synthetic world of ``CX_BENCH_SOAK_DAYS`` days (default 30; ``CX_BENCH_SOAK_QUICK=1``: 3 days) is
delivered hour by hour: each day's landing files land at spread-out hours and the Zendesk
API stand-in moves to the day's increment at midnight. Every hour is one
``cx_ingest``-equivalent run, timed: ``extract_all`` (every source, Zendesk included) then
the raw checks (``run_raw_checks``, GX) - ``CX_BENCH_SOAK_DAYS`` x 24 runs (720). Every
``CX_BENCH_SOAK_BUILD_EVERY`` runs (default 24: a daily scorecard; builds are timed apart) the
``cxscore build`` path runs: gate, dbt build, scorecard checks, publish. Each week:

* one late file: a Connect file of day ``d`` lands two days late (it must still load, and
  reach the scorecard through the build's lookback);
* one replaced file: an orders file delivered two days earlier lands again, one amount
  changed (the loader replaces its rows);
* in the first week, one critical defect: an orders file lands with every
  ``customer_email`` blank; the gate must quarantine it and stop the builds until, a day
  later, the corrected file (same path) lands and closes the quarantine.

Measured: per-run wall time and bytes of landing files read (both must stay flat as
history grows: day 1 vs the last day), the process's resident set after every run (VmRSS)
and its peak (VmHWM). Checked: raw counts = the generator's manifest (nothing lost or
loaded twice), raw keys unique, no batch left running, the gate states as expected, and the
final scorecard (incremental, as published) equal to a ``--full-refresh`` build. Writes
``soak.csv`` and ``soak.svg`` (per-run time and bytes read vs run number) into
``CX_BENCH_OUT`` (default ``reports/bench``).

About 45-50 minutes on the reference machine (2 cores) with the defaults: 720 runs of about
2.5 s (the raw checks are most of it) and 30 builds of about 35 s (each a fresh process).
Shorter: ``CX_BENCH_SOAK_QUICK=1`` (3 days, ~5 min) or ``CX_BENCH_SOAK_DAYS``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tests.helpers import SCORECARD_ROWS, raw_key_counts
from tests.helpers import query as _query

from benchmarks import _pg

REPO = Path(__file__).resolve().parents[1]
EMAIL, TOKEN = "soak@example.com", "soak-token"


def out_dir() -> Path:
    return Path(os.environ.get("CX_BENCH_OUT", str(REPO / "reports" / "bench")))


def _rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _put(landing: Path, rel: str, data: bytes) -> None:
    """Land a file as a delivery does: written aside, then renamed into place."""
    dest = landing / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(dest)
    # a new mtime even within the same second: the listing's version must change
    stamp = time.time_ns()
    os.utime(dest, ns=(stamp, stamp))


def _orders_variant(data: bytes, *, blank_emails: bool = False, bump: bool = False) -> bytes:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    email, amount = header.index("customer_email"), header.index("amount")
    for n, row in enumerate(body):
        if len(row) != len(header):
            continue
        if blank_emails:
            row[email] = ""
        if bump and n == 0:
            row[amount] = f"{float(row[amount]) + 1:.2f}"
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows([header, *body])
    return buf.getvalue().encode("utf-8")


class Schedule:
    """Which files land at which run (run = day * 24 + hour), with the weekly events."""

    def __init__(self, world: Path, manifest: dict[str, Any], days: int) -> None:
        self.world = world / manifest["landing_dir"]
        self.manifest = manifest
        self.at: dict[int, list[tuple[str, bytes, str]]] = {}  # run -> (rel, data, why)
        self.events: list[str] = []
        self.defect_run = self.fix_run = -1
        for k, delivery in enumerate(manifest["deliveries"]):
            files = sorted(delivery["landing_files"])
            for j, rel in enumerate(files):
                hour = (1 + j * 23 // max(1, len(files))) % 24
                self._add(k * 24 + hour, rel, (self.world / rel).read_bytes(), "new")
        for week_start in range(0, days, 7):
            self._late_file(week_start + 2, days)
            self._replaced_file(week_start + 4, days)
        self._defect(min(5, days - 2))

    def _add(self, run: int, rel: str, data: bytes, why: str) -> None:
        self.at.setdefault(run, []).append((rel, data, why))

    def _find(self, day: int, prefix: str) -> tuple[int, str] | None:
        for run in range(day * 24, day * 24 + 24):
            for rel, _, why in self.at.get(run, []):
                if why == "new" and rel.startswith(prefix):
                    return run, rel
        return None

    def _late_file(self, day: int, days: int) -> None:
        if day + 2 >= days:
            return
        found = self._find(day, "ivr/amazon_connect/")
        if found is None:
            return
        run, rel = found
        item = next(i for i in self.at[run] if i[0] == rel)
        self.at[run].remove(item)
        self._add(run + 48, rel, item[1], "late")
        self.events.append(f"run {run + 48}: {rel} lands 2 days late")

    def _replaced_file(self, day: int, days: int) -> None:
        if day + 2 >= days:
            return
        found = self._find(day, "crm/orders/")
        if found is None:
            return
        run, rel = found
        data = (self.world / rel).read_bytes()
        self._add(run + 48, rel, _orders_variant(data, bump=True), "replaced")
        # the world's own copy must stay the generator's: the final state is the replaced one
        self.events.append(f"run {run + 48}: {rel} replaced (one amount changed)")

    def _defect(self, day: int) -> None:
        found = self._find(day, "crm/orders/")
        if found is None:
            return
        run, rel = found
        item = next(i for i in self.at[run] if i[0] == rel)
        self.at[run].remove(item)
        self._add(run, rel, _orders_variant(item[1], blank_emails=True), "defect")
        self._add(run + 24, rel, item[1], "fix")
        self.defect_run, self.fix_run = run, run + 24
        self.events.append(
            f"run {run}: {rel} lands with every customer_email blank; fixed at run {run + 24}"
        )


# ``cxscore build`` in its own process, as a scheduler runs it; the child reports its own
# peak resident set (VmHWM, benchmarks/_rss.py) on stderr as it exits
_BUILD_CHILD = """
import atexit, sys
from benchmarks._rss import own_peak_rss_mb
atexit.register(lambda: print(f"PEAK_RSS_MB {own_peak_rss_mb():.1f}", file=sys.stderr))
from cxscore.cli import app
sys.argv = ["cxscore", "build", *sys.argv[1:]]
app()
"""


def _build(env: dict[str, str], *args: str) -> tuple[int, float]:
    """Exit code and peak RSS (MB) of one ``cxscore build``."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    child_env.update(env)
    done = subprocess.run(
        [sys.executable, "-c", _BUILD_CHILD, *args],
        env=child_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    peak = 0.0
    for line in done.stderr.splitlines():
        if line.startswith("PEAK_RSS_MB "):
            peak = float(line.split()[1])
    if done.returncode not in (0, 3):
        print(done.stdout[-3000:], done.stderr[-3000:], flush=True)
    return done.returncode, peak


def _svg(path: Path, seconds: list[float], mbytes: list[float], builds: list[int]) -> None:
    """Per-run wall time and MB read vs run number, two panels, written by hand."""
    width, panel, left, top = 960, 220, 60, 30
    n = len(seconds)

    def panel_svg(values: list[float], y0: int, label: str, color: str) -> str:
        peak = max(values) or 1.0
        xs = [left + (width - left - 20) * i / max(1, n - 1) for i in range(n)]
        ys = [y0 + panel - panel * v / peak for v in values]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
        marks = "".join(
            f'<line x1="{xs[b]:.1f}" y1="{y0}" x2="{xs[b]:.1f}" y2="{y0 + panel}" '
            'stroke="#ddd" stroke-width="1"/>'
            for b in builds
            if b < n
        )
        ticks = "".join(
            f'<text x="{xs[d * 24]:.1f}" y="{y0 + panel + 14}" font-size="10" '
            f'text-anchor="middle">day {d + 1}</text>'
            for d in range(0, n // 24, max(1, n // 24 // 10))
        )
        return (
            f"{marks}"
            f'<rect x="{left}" y="{y0}" width="{width - left - 20}" height="{panel}" '
            'fill="none" stroke="#888"/>'
            f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1"/>'
            f'<text x="{left}" y="{y0 - 6}" font-size="12">{label} (max {peak:.3g})</text>'
            f'<text x="{left - 4}" y="{y0 + panel}" font-size="10" text-anchor="end">0</text>'
            f"{ticks}"
        )

    body = panel_svg(seconds, top, "seconds per run (extract + raw checks)", "#1f77b4")
    body += panel_svg(mbytes, top + panel + 50, "MB of landing files read per run", "#d62728")
    height = top + 2 * panel + 80
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>{body}'
        f'<text x="{left}" y="{height - 8}" font-size="11">run number (hourly; grey lines: '
        "scorecard builds)</text></svg>",
        encoding="utf-8",
    )


def main() -> list[str]:
    from cxscore.generate import generate_world
    from cxscore.standins.zendesk import start_stub

    quick = os.environ.get("CX_BENCH_SOAK_QUICK") == "1"
    days = int(os.environ.get("CX_BENCH_SOAK_DAYS", "3" if quick else "30"))
    build_every = int(os.environ.get("CX_BENCH_SOAK_BUILD_EVERY", "24"))
    customers = int(os.environ.get("CX_BENCH_SOAK_CUSTOMERS", "400"))
    work = Path(tempfile.mkdtemp(prefix="cxbench-soak-"))
    lines: list[str] = []
    try:
        world = work / "world"
        generate_world(
            world, days=days, customers=customers, seed=22, start=date(2026, 3, 2), increments=days
        )
        manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
        schedule = Schedule(world, manifest, days)
        landing = work / "landing"
        stub = start_stub(world, port=0, email=EMAIL, token=TOKEN, increment=1)
        try:
            with _pg.server() as server, _pg.scratch_database(server, "cxsoak") as url:
                env = {
                    "CX_WAREHOUSE__URL": url,
                    "CX_LANDING_DIR": str(landing),
                    "CX_STATE_DIR": str(work / "state"),
                    "CX_IDENTITY__HASH_KEY": "soak-hmac-key",
                    "CX_SOURCES__ZENDESK__BASE_URL": stub.base_url,
                    "CX_SOURCES__ZENDESK__EMAIL": EMAIL,
                    "CX_SOURCES__ZENDESK__API_TOKEN": TOKEN,
                    "CX_SOURCES__ZENDESK__START_TIME": datetime.fromtimestamp(
                        manifest["zendesk_start_time"], UTC
                    ).isoformat(),
                }
                lines += _soak(env, stub, schedule, days=days, build_every=build_every)
        finally:
            stub.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return lines


def _soak(
    env: dict[str, str], stub: Any, schedule: Schedule, *, days: int, build_every: int
) -> list[str]:
    """The hourly runs against the warehouse and landing directory ``env`` names."""
    from cxscore.load.files import ReadCounter
    from cxscore.pipeline import extract_all
    from cxscore.quality.gate import gate_state, run_raw_checks
    from cxscore.settings import load_settings

    settings = load_settings(environ=env)
    url, landing = env["CX_WAREHOUSE__URL"], Path(env["CX_LANDING_DIR"])
    manifest = schedule.manifest
    runs = days * 24
    seconds: list[float] = []
    mbytes: list[float] = []
    rss: list[float] = []
    delivered = 0
    build_runs: list[int] = []
    build_seconds: list[float] = []
    build_peaks: list[float] = []
    gate_log: list[str] = []
    problems: list[str] = []
    started = time.perf_counter()
    for run in range(runs):
        day, hour = divmod(run, 24)
        if hour == 0:
            stub.set_increment(day + 1)
        kinds = []
        for rel, data, why in schedule.at.get(run, []):
            _put(landing, rel, data)
            delivered += len(data)
            kinds.append(why)
        run_id = f"soak__{run:04d}"
        bytes_before = ReadCounter.bytes
        t0 = time.perf_counter()
        _, failed = extract_all(settings, url=url, run_id=run_id)
        _, state = run_raw_checks(settings, url=url, run_id=run_id)
        seconds.append(time.perf_counter() - t0)
        mbytes.append((ReadCounter.bytes - bytes_before) / 1e6)
        rss.append(_rss_mb())
        if failed:
            problems.append(f"run {run}: extract failed: {failed}")
        quarantined = bool(state.quarantined)
        if run == schedule.defect_run and not quarantined:
            problems.append(f"run {run}: the defect was not quarantined")
        if run == schedule.fix_run and quarantined:
            problems.append(f"run {run}: the fix did not close the quarantine")
        if "defect" in kinds or "fix" in kinds:
            gate_log.append(f"run {run} ({'/'.join(kinds)}): quarantined={quarantined}")
        if (run + 1) % build_every == 0 or run == runs - 1:
            t0 = time.perf_counter()
            in_quarantine = schedule.defect_run <= run < schedule.fix_run
            code, peak = _build(env)
            outcome = {0: "built", 3: "stopped by the gate"}.get(code, f"failed (exit {code})")
            build_seconds.append(time.perf_counter() - t0)
            build_peaks.append(peak)
            build_runs.append(run)
            if in_quarantine != (outcome != "built"):
                problems.append(f"build after run {run}: {outcome} (quarantine: {in_quarantine})")
            if in_quarantine or schedule.fix_run <= run < schedule.fix_run + build_every:
                gate_log.append(f"build after run {run}: {outcome}")
        if run % 24 == 23:
            print(
                f"   day {day + 1}: {statistics.median(seconds[-24:]):.2f} s median per run, "
                f"{sum(mbytes[-24:]):.2f} MB read, RSS {rss[-1]:.0f} MB",
                flush=True,
            )
    total = time.perf_counter() - started
    incremental = _query(url, SCORECARD_ROWS)

    # nothing lost or loaded twice
    keys = raw_key_counts(url)
    counts = manifest["counts"]
    expected = {
        "amazon_connect__contact_records": counts["contact_records"] + counts["duplicate_records"],
        "crm__orders": counts["order_rows"],
        "zendesk__tickets": counts["ticket_versions"],
    }
    for table, n in expected.items():
        if keys[table][0] != n:
            problems.append(f"raw.{table}: {keys[table][0]} rows, the manifest says {n}")
    # overlapping Qualtrics exports repeat responses (every copy is in raw): distinct ids
    responses = _query(url, "select count(distinct response_id) from raw.qualtrics__responses")
    if responses[0][0] != counts["survey_responses"]:
        problems.append(
            f"raw.qualtrics__responses: {responses[0][0]} responses, the manifest says "
            f"{counts['survey_responses']}"
        )
    # comments come back through the ticket events export (boundary pages de-duplicated by
    # comment id); Contact Lens: one file per analysed contact
    if keys["zendesk__ticket_comments"][1] != counts["ticket_comments"]:
        problems.append(
            f"raw.zendesk__ticket_comments: {keys['zendesk__ticket_comments'][1]} comments, "
            f"the manifest says {counts['ticket_comments']}"
        )
    lens = _query(url, "select count(distinct _source_file) from raw.amazon_connect__contact_lens")
    if lens[0][0] != counts["contact_lens_files"]:
        problems.append(
            f"raw.amazon_connect__contact_lens: {lens[0][0]} files, the manifest says "
            f"{counts['contact_lens_files']}"
        )
    users = _query(url, "select count(distinct id) from raw.zendesk__users")[0][0]
    if users != counts["users"]:
        problems.append(f"raw.zendesk__users: {users} users, the manifest says {counts['users']}")
    for table, (rows, distinct) in keys.items():
        if rows != distinct:
            problems.append(f"raw.{table}: {rows - distinct} duplicate keys")
    running = _query(url, "select count(*) from meta.load_batches where status = 'running'")[0][0]
    if running:
        problems.append(f"{running} load batches left running")
    if gate_state(url).quarantined:
        problems.append("a quarantine is still open at the end")

    t0 = time.perf_counter()
    code, _ = _build(env, "--full-refresh")
    full_seconds = time.perf_counter() - t0
    if code != 0:
        problems.append(f"the full-refresh build exited {code}")
    refreshed = _query(url, SCORECARD_ROWS)
    same = refreshed == incremental
    if not same:
        problems.append(
            f"the incremental scorecard ({len(incremental)} rows) differs from a full refresh "
            f"({len(refreshed)} rows)"
        )

    out = out_dir()
    out.mkdir(parents=True, exist_ok=True)
    with (out / "soak.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["run", "day", "hour", "seconds", "mb_read", "rss_mb", "build_after"])
        for run in range(len(seconds)):
            writer.writerow(
                [run, run // 24 + 1, run % 24, f"{seconds[run]:.4f}", f"{mbytes[run]:.4f}",
                 f"{rss[run]:.1f}", int(run in build_runs)]
            )  # fmt: skip
    _svg(out / "soak.svg", seconds, mbytes, build_runs)

    first, last = seconds[:24], seconds[-24:]
    raw_problems = [p for p in problems if p.startswith("raw") or "running" in p]
    read_total = sum(mbytes)
    idle = [s for s, m in zip(seconds, mbytes, strict=True) if m == 0]
    lines = [
        f"{len(seconds)} hourly runs over {days} days ({customers_of(manifest)} customers), "
        f"a build every {build_every} runs ({len(build_runs)} builds), {total / 60:.1f} min",
        *schedule.events,
        *gate_log,
        f"per run (extract + raw checks): median day 1 {statistics.median(first):.2f} s, "
        f"day {days} {statistics.median(last):.2f} s "
        f"(ratio {statistics.median(last) / statistics.median(first):.2f}x); "
        f"p95 {sorted(seconds)[int(len(seconds) * 0.95)]:.2f} s; runs with no new file: median "
        f"{statistics.median(idle) if idle else 0:.2f} s",
        f"bytes read: {read_total:.1f} MB over the month for {delivered / 1e6:.1f} MB landed "
        f"(ratio {read_total * 1e6 / max(1, delivered):.3f}); day 1 {sum(mbytes[:24]):.2f} MB, "
        f"day {days} {sum(mbytes[-24:]):.2f} MB; runs with no new file read "
        f"{max((m for m in mbytes if m == 0), default=0):.0f} bytes",
        f"RSS after run 24 {rss[min(23, len(rss) - 1)]:.0f} MB, after the last run "
        f"{rss[-1]:.0f} MB; peak (VmHWM) {_rss_mb('VmHWM'):.0f} MB",
        f"builds (cxscore build, one process each): median {statistics.median(build_seconds):.1f}"
        f" s (first {build_seconds[0]:.1f} s, last {build_seconds[-1]:.1f} s), peak RSS first "
        f"{build_peaks[0]:.0f} MB, last {build_peaks[-1]:.0f} MB, max {max(build_peaks):.0f} MB;"
        f" full refresh {full_seconds:.1f} s",
        f"raw rows = manifest, keys unique, no batch running: {'NO' if raw_problems else 'yes'}",
        f"final scorecard ({len(incremental)} rows) equals a full refresh: "
        f"{'yes' if same else 'NO'}",
        f"plot: {out / 'soak.svg'}; per run: {out / 'soak.csv'}",
    ]
    if problems:
        for line in lines:
            print(f"   {line}")
        raise AssertionError("soak: " + "; ".join(problems))
    return lines


def customers_of(manifest: dict[str, Any]) -> int:
    return int(manifest.get("customers") or manifest.get("counts", {}).get("users") or 0)


if __name__ == "__main__":
    for line in main():
        print(line)
