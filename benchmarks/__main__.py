"""Run every benchmarks/bench_*.py module's main() and print its result lines."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path


def main() -> int:
    only = os.environ.get("CX_BENCH_ONLY")
    names = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_") and (not only or only in m.name)
    )
    failed = 0
    for name in names:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            lines = importlib.import_module(f"benchmarks.{name}").main()
        except Exception as exc:  # noqa: BLE001 - one benchmark failing must not hide the rest
            print(f"   FAILED: {exc!r}", flush=True)
            failed += 1
            continue
        for line in lines:
            print(f"   {line}", flush=True)
        print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
