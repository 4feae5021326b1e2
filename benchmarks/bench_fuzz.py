"""The long fuzz campaign (issue 22): every parser, many mutated inputs, failures counted.

``make fuzz`` (or ``CX_BENCH_ONLY=bench_fuzz make bench``). Per parser of
``cxscore.sources``: ``CX_BENCH_FUZZ_INPUTS`` inputs (default 20,000), mutated from its seeds by a
``random.Random`` seeded with ``CX_BENCH_FUZZ_SEED`` (default 22; the same seed tries the same
inputs), each checked against the invariants of ``tests/fuzzing.py``. It reports inputs
tried, failures, what the inputs gave (files with rows, with no row, file-level errors; rows
and rejections in all) and the rate. Each failing input is written to ``CX_BENCH_OUT``
(default ``reports/bench``) ``/fuzz-failures/<parser>-<n>.bin`` with its error, to replay.
The run fails when any input broke an invariant.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def out_dir() -> Path:
    return Path(os.environ.get("CX_BENCH_OUT", str(REPO / "reports" / "bench")))


def main() -> list[str]:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.fuzzing import RandomChooser, check, targets

    inputs = int(os.environ.get("CX_BENCH_FUZZ_INPUTS", "20000"))
    seed = int(os.environ.get("CX_BENCH_FUZZ_SEED", "22"))
    failures_dir = out_dir() / "fuzz-failures"
    lines = [f"seed {seed}, {inputs:,} inputs per parser"]
    total_tried = total_failed = 0
    for name, target in targets().items():
        chooser = RandomChooser(seed)
        kinds: Counter[str] = Counter()
        failed = 0
        rows = rejections = 0
        started = time.perf_counter()
        for n in range(inputs):
            data = target.mutate(chooser)
            try:
                outcome = check(target, data)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and kept
                failed += 1
                kinds[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                failures_dir.mkdir(parents=True, exist_ok=True)
                (failures_dir / f"{name}-{n}.bin").write_bytes(data)
                (failures_dir / f"{name}-{n}.txt").write_text(traceback.format_exc())
                continue
            rows += len(outcome.rows)
            rejections += len(outcome.rejections)
            kinds[
                "file error" if outcome.file_error else "rows" if outcome.rows else "no rows"
            ] += 1
        seconds = time.perf_counter() - started
        total_tried += inputs
        total_failed += failed
        lines.append(
            f"{name:22s} inputs {inputs:>8,}  failures {failed:>3}  "
            f"with rows {kinds['rows']:>7,}  no rows {kinds['no rows']:>7,}  "
            f"file errors {kinds['file error']:>6,}  (rows {rows:,}, rejections "
            f"{rejections:,})  {inputs / seconds:,.0f} inputs/s"
        )
        for kind, count in kinds.most_common():
            if kind not in ("rows", "no rows", "file error"):
                lines.append(f"    {count} x {kind}")
    lines.append(f"total: {total_tried:,} inputs tried, {total_failed} failures")
    if total_failed:
        for line in lines:
            print(f"   {line}")
        raise AssertionError(
            f"{total_failed} fuzzed inputs broke an invariant (inputs in {failures_dir})"
        )
    return lines


if __name__ == "__main__":
    for line in main():
        print(line)
