"""The benchmark's what-if of exports without repeats (benchmarks/_survey_repeats.py): it
drops exactly the records an earlier export already held, and keeps every distinct version
(what the parser reads from the files) and every byte it does not drop."""

from __future__ import annotations

import io
import os
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks._survey_repeats import drop_repeated_survey_records

from cxscore.demo import _manifest_deliveries, deliver
from cxscore.generate import generate_world
from cxscore.settings import QualtricsSettings
from cxscore.sources.common import Rejection
from cxscore.sources.qualtrics import parse_responses


def _versions(landing: Path) -> tuple[Counter[tuple[Any, ...]], int, int]:
    """Every parsed response without its line number (a multiset), the responses and the
    rejections, over all exports of the landing."""
    versions: Counter[tuple[Any, ...]] = Counter()
    responses = rejections = 0
    for path in sorted((landing / "survey" / "qualtrics").rglob("*.csv")):
        for item in parse_responses(io.BytesIO(path.read_bytes()), QualtricsSettings()):
            if isinstance(item, Rejection):
                rejections += 1
            else:
                responses += 1
                versions[item[:-1]] += 1
    return versions, responses, rejections


def test_each_record_only_in_the_first_export_that_holds_it(tmp_path: Path) -> None:
    world = tmp_path / "world"
    # daily deliveries: each ends with an export of the last 8 days, as in bench_scale
    generate_world(
        world,
        days=12,
        customers=1500,
        seed=3,
        start=date(2026, 3, 2),
        increments=12,
        progress=False,
    )
    landing = tmp_path / "landing"
    deliveries = _manifest_deliveries(world)
    for delivery in deliveries[:-1]:
        deliver(world, landing, delivery)
    files = sorted((landing / "survey" / "qualtrics").rglob("*.csv"))
    assert len(files) >= 10
    first = min(files, key=lambda p: p.stat().st_mtime_ns)
    first_bytes = first.read_bytes()
    before, responses_before, rejections_before = _versions(landing)
    assert max(before.values()) > 1  # the exports overlap: the same response again

    kept, dropped = drop_repeated_survey_records(landing)

    after, responses_after, rejections_after = _versions(landing)
    assert dropped > kept  # most records of an export were in earlier ones
    assert set(after) == set(before)  # every distinct version is still delivered ...
    assert max(after.values()) == 1  # ... once
    assert responses_after == len(before)
    # the malformed records (new ids in each export) are never repeats: all kept
    assert rejections_after == rejections_before
    assert responses_after + rejections_after == kept
    assert responses_before + rejections_before == kept + dropped
    assert first.read_bytes() == first_bytes  # the first export is left as it was
    mtimes = {p: p.stat().st_mtime_ns for p in files}

    # a new delivery: only its export is rewritten; the others keep their bytes and mtime
    snapshot = {p: p.read_bytes() for p in files}
    deliver(world, landing, deliveries[-1])
    kept_again, dropped_again = drop_repeated_survey_records(landing)
    assert dropped_again > 0
    assert kept_again > kept
    for path in files:
        assert path.read_bytes() == snapshot[path]
        assert os.stat(path).st_mtime_ns == mtimes[path]
