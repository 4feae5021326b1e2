"""Fast UTC timestamp formatting for integer epoch seconds (the generator's hot path)."""

from __future__ import annotations

import time
from functools import lru_cache

DAY = 86_400


@lru_cache(maxsize=4096)
def _day(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * DAY))


_HMS: list[str] = []


def _hms(sec: int) -> str:
    if not _HMS:  # 86,400 short strings (~5 MB), built on first use
        _HMS.extend(
            f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
        )
    return _HMS[sec]


def iso_z(ts: int) -> str:
    """``2026-03-01T10:15:00Z`` (Zendesk, Amazon Connect)."""
    day, sec = divmod(int(ts), DAY)
    return f"{_day(day)}T{_hms(sec)}Z"


def space_ts(ts: int) -> str:
    """``2026-03-01 10:15:00`` (Qualtrics, naive in the survey's time zone = UTC here)."""
    day, sec = divmod(int(ts), DAY)
    return f"{_day(day)} {_hms(sec)}"


def iso_offset(ts: int, offset_minutes: int, *, naive: bool = False) -> str:
    """``2026-03-01T05:15:00-05:00`` for the same instant in another UTC offset."""
    local = int(ts) + offset_minutes * 60
    day, sec = divmod(local, DAY)
    text = f"{_day(day)}T{_hms(sec)}"
    if naive:
        return text
    sign = "+" if offset_minutes >= 0 else "-"
    hh, mm = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hh:02d}:{mm:02d}"


def day_str(day: int) -> str:
    return _day(day)
