"""The synthetic world's customer text (issue 18): ticket comments, survey comments and
Contact Lens files in several languages, whose tone follows the experience."""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from cxscore.generate import generate_world
from cxscore.signals.scoring import contact_lens_messages
from cxscore.signals.sentiment import score_text
from cxscore.sources.contact_lens import parse_contact_lens

START = date(2026, 3, 2)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("texts") / "w"
    generate_world(out, days=28, customers=400, seed=7, start=START, increments=2, progress=False)
    return out


def _events(root: Path) -> list[dict[str, Any]]:
    folder = root / "zendesk" / "ticket_events"
    return [
        json.loads(line)
        for path in sorted(folder.glob("delivery-*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def _survey_rows(root: Path) -> list[dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for path in sorted((root / "landing" / "survey" / "qualtrics").rglob("*.csv")):
        text = path.read_text(encoding="utf-8-sig")
        lines = list(csv.reader(text.splitlines()))
        if not lines or "ResponseId" not in lines[0]:
            continue  # the legacy layout has no UserLanguage
        header = lines[0]
        for line in lines[3:]:
            row = dict(zip(header, line, strict=False))
            rows[row["ResponseId"]] = row
    return list(rows.values())


def test_comments_come_in_several_languages_with_the_requesters_locale(world: Path) -> None:
    users = {}
    for path in sorted((world / "zendesk" / "users").glob("delivery-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            user = json.loads(line)
            users[user["id"]] = user
    events = _events(world)
    assert events
    locales: Counter[str] = Counter()
    for event in events:
        (comment,) = [c for c in event["child_events"] if c["event_type"] == "Comment"]
        author = users.get(comment["author_id"], {})
        if author.get("role") == "end-user":
            locales[author["locale"]] += 1
    assert {"en-US", "de", "hu"} <= set(locales)
    assert locales["en-US"] > locales["de"] > 0
    languages = Counter(r["UserLanguage"] for r in _survey_rows(world))
    assert {"EN", "DE", "HU"} <= set(languages)


def test_survey_comment_tone_follows_the_scores(world: Path) -> None:
    by_csat: dict[str, list[float]] = {"low": [], "high": []}
    for row in _survey_rows(world):
        comment, csat = row.get("Q4", ""), row.get("Q1", "")
        if not comment or csat not in {"1", "2", "4", "5"}:
            continue
        score = score_text(comment, row["UserLanguage"]).score
        if score is not None:
            by_csat["low" if csat in {"1", "2"} else "high"].append(score)
    assert len(by_csat["low"]) >= 5 and len(by_csat["high"]) >= 5
    assert statistics.mean(by_csat["low"]) < -0.3 < 0.3 < statistics.mean(by_csat["high"])


def test_the_incident_week_reads_worse(world: Path) -> None:
    manifest = json.loads((world / "manifest.json").read_text())
    start = date.fromisoformat(manifest["incident"]["start"])
    end = date.fromisoformat(manifest["incident"]["end"])
    users = {}
    for path in sorted((world / "zendesk" / "users").glob("delivery-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            user = json.loads(line)
            users[user["id"]] = user
    inside: list[float] = []
    outside: list[float] = []
    for event in _events(world):
        (comment,) = [c for c in event["child_events"] if c["event_type"] == "Comment"]
        author = users.get(comment["author_id"], {})
        if author.get("role") != "end-user":
            continue
        score = score_text(comment["body"], author.get("locale")).score
        if score is None:
            continue
        day = datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).date()
        (inside if start <= day < end else outside).append(score)
    assert len(inside) >= 10 and len(outside) >= 10
    assert statistics.mean(inside) < statistics.mean(outside) - 0.1


def test_contact_lens_files_parse_and_carry_a_customer_score(world: Path) -> None:
    files = sorted((world / "landing" / "ivr" / "contact_lens").rglob("*.json"))
    assert len(files) >= 20
    kinds = Counter("Voice" if "/Voice/" in str(f) else "Chat" for f in files)
    assert kinds["Voice"] > 0 and kinds["Chat"] > 0
    languages: Counter[str | None] = Counter()
    for path in files[:200]:
        with path.open("rb") as fh:
            (row,) = list(parse_contact_lens(fh, str(path)))
        assert isinstance(row, tuple) and row[3] == "t"  # redacted, as preferred
        doc = json.loads(path.read_text(encoding="utf-8"))
        language, turns, vendor = contact_lens_messages(doc)
        assert turns and vendor is not None and -5 <= vendor <= 5
        languages[language] += 1
    assert {"en-US", "de-DE", "hu-HU"} <= set(languages)
