"""Benchmarks (`make bench`). Each `bench_*.py` module here has `main() -> list[str]`
returning result lines; each measures its own baseline in the same run and prints ratios.
Figures are recorded in docs/performance.md. Set CX_BENCH_ONLY=name to run one module.
"""
