"""Peak memory of a benchmark's child process, measured by the child itself.

``ru_maxrss`` from ``wait4`` is not the child's own peak on Linux: at ``exec`` the kernel
keeps the larger of the old and new high-water marks, and the old memory map is the
parent's (``fork``/``vfork``), so a child of a big parent reports the parent's size. The
child reads its own ``VmHWM`` (peak resident set of its address space since ``exec``)
instead and prints it.
"""

from __future__ import annotations


def own_peak_rss_mb() -> float:
    """This process's peak resident set size in MB (``VmHWM``; Linux)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")
