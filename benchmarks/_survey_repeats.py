"""A what-if for ``bench_scale`` (``CX_BENCH_SCALE_SURVEYS=distinct``): the world's Qualtrics
exports as if each held only the records no earlier export held.

The world's daily deliveries each end with an export of the last 8 days of responses, so a
response is delivered in about eight exports, each time as the same CSV record; cxscore
stores every one of them in ``raw.qualtrics__responses`` (staging keeps one version). This
rewrites the landing's exports, in delivery order (file modification time), dropping each
record that an earlier export of the same layout (the same header rows) already held,
byte for byte. What is left is every distinct record once: the warehouse cxscore would
build if it stored each version of a response once (docs/performance.md, fourteenth
session). Not a cxscore feature: a measurement of one.

Bytes are kept as they are (undecodable ones included: ``surrogateescape``), and so is the
modification time of a rewritten file; a file with nothing to drop is not written at all,
so running it again after a new delivery leaves the files already loaded unchanged (the
ledger skips them by size and mtime).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path

BOM = b"\xef\xbb\xbf"


def _header_rows(rows: list[list[str]]) -> int | None:
    """How many header rows an export has: 3 (current layout, row 3 of ``{"ImportId"``
    cells), 2 (legacy: row 2 starts with ``ResponseID``), None (not an export we know)."""
    if len(rows) > 2 and rows[2] and rows[2][0].startswith("{"):
        return 3
    if len(rows) > 1 and rows[1] and rows[1][0] == "ResponseID":
        return 2
    return None


def drop_repeated_survey_records(landing: Path) -> tuple[int, int]:
    """Rewrite ``landing/survey/qualtrics/**.csv`` so that each record appears in the first
    export holding it only; returns (records kept, records dropped) over all files."""
    root = landing / "survey" / "qualtrics"
    files = sorted(root.rglob("*.csv"), key=lambda p: (p.stat().st_mtime_ns, str(p)))
    seen: dict[tuple[str, ...], set[bytes]] = {}
    kept = dropped = 0
    for path in files:
        data = path.read_bytes()
        bom = data.startswith(BOM)
        text = data[len(BOM) if bom else 0 :].decode("utf-8", "surrogateescape")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        head = _header_rows(rows)
        if head is None:
            continue
        known = seen.setdefault(tuple(rows[0]), set())
        out = rows[:head]
        for row in rows[head:]:
            digest = hashlib.blake2b(
                "\x1f".join(row).encode("utf-8", "surrogateescape"), digest_size=16
            ).digest()
            if digest in known:
                dropped += 1
                continue
            known.add(digest)
            out.append(row)
        kept += len(out) - head
        if len(out) == len(rows):
            continue
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\r\n").writerows(out)
        stat = path.stat()
        body = buffer.getvalue().encode("utf-8", "surrogateescape")
        path.write_bytes((BOM if bom else b"") + body)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return kept, dropped
