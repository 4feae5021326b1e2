"""The synthetic world: deterministic, in the vendors' own formats, believable."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from cxscore.errors import CxError
from cxscore.generate import generate_world
from cxscore.generate.world import incident_start

START = date(2026, 3, 2)  # a Monday
QUALTRICS_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qualtrics"


def _gen(out: Path, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "days": 28,
        "customers": 300,
        "seed": 11,
        "start": START,
        "increments": 3,
        "progress": False,
    }
    args.update(kw)
    return generate_world(out, **args)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    _gen(out)
    return out


@pytest.fixture(scope="module")
def busy_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough per file to carry malformed records (files of >= 200 rows)."""
    out = tmp_path_factory.mktemp("busy") / "w"
    _gen(out, days=8, customers=4500, seed=5, increments=1)
    return out


def _manifest(root: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((root / "manifest.json").read_text())
    return result


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _bad_lines(root: Path) -> dict[str, set[int]]:
    bad: dict[str, set[int]] = defaultdict(set)
    for m in _manifest(root)["malformed"]:
        bad[m["path"]].add(m["line"] if m["line"] is not None else m["offset"])
    return bad


def _z(value: str) -> datetime:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value):
        raise ValueError(f"not an ISO-8601 UTC timestamp: {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ----------------------------------------------------------------------------- readers
def read_ctr_file(path: Path, bad: set[int]) -> list[dict[str, Any]]:
    """Read a CTR file by Amazon Connect/Firehose rules: JSON lines, or objects concatenated
    with no separator, optionally gzip-compressed (streaming decoder). Positions listed as
    malformed (line numbers for .jsonl, byte offsets otherwise) must fail to load."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    records: list[dict[str, Any]] = []
    if path.name.endswith(".jsonl"):
        for lineno, line in enumerate(raw.split(b"\n"), start=1):
            if not line:
                continue
            if lineno in bad:
                with pytest.raises((UnicodeDecodeError, ValueError)):
                    obj = json.loads(line.decode("utf-8"))
                    _z(obj["InitiationTimestamp"])
                continue
            records.append(json.loads(line.decode("utf-8")))
        return records
    text = raw.decode("utf-8")
    assert text.isascii()  # byte offsets == character offsets
    decoder = json.JSONDecoder()
    pos = 0
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        if pos in bad:
            with pytest.raises(ValueError):
                _z(obj["InitiationTimestamp"])
        else:
            records.append(obj)
        pos = end
    return records


def read_qualtrics(path: Path, bad: set[int]) -> tuple[str, list[dict[str, str]]]:
    """Parse an export by its layout; returns (layout, rows keyed by ImportId or row-1 code)."""
    raw = path.read_bytes()
    legacy = raw.startswith(b"\xef\xbb\xbf")
    records: list[dict[str, str]] = []
    lines = raw.split(b"\n")
    # physical line -> record: decode line by line so a bad byte only spoils its own record
    text_lines: list[str] = []
    for lineno, line in enumerate(lines, start=1):
        if lineno in bad:
            text_lines.append("")  # dropped (the loader rejects it)
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            continue
        text_lines.append(line.decode("utf-8"))
    text = "\n".join(text_lines)
    if legacy:
        text = text.removeprefix("\ufeff")
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if legacy:
        codes, labels, body = rows[0], rows[1], rows[2:]
        assert codes[-1] == "" and labels[-1] == ""  # the trailing comma
        assert labels[0] == "ResponseID" and codes[:2] == ["V1", "V2"]
        keys = [c if not re.fullmatch(r"V\d+", c) else labels[i] for i, c in enumerate(codes)]
    else:
        tags, _texts, ids, body = rows[0], rows[1], rows[2], rows[3:]
        keys = [json.loads(x)["ImportId"] for x in ids]
        assert tags[:2] == ["StartDate", "EndDate"]
    width = len(keys)
    for row in body:
        if len(row) != width:
            # only malformed records may have a wrong width
            continue
        records.append(dict(zip(keys, row, strict=True)))
    return ("legacy" if legacy else "current"), records


# ----------------------------------------------------------------------------- tests
def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _gen(a, days=10, customers=120)
    _gen(b, days=10, customers=120)
    _gen(c, days=10, customers=120, seed=12)
    ha, hb, hc = _hashes(a), _hashes(b), _hashes(c)
    assert ha == hb
    assert len(ha) > 20
    assert ha["manifest.json"] != hc["manifest.json"]


def test_manifest_lists_every_landing_file_once_per_delivery(world: Path) -> None:
    m = _manifest(world)
    assert m["format"] == "cxscore-world/1"
    assert [d["k"] for d in m["deliveries"]] == [1, 2, 3]
    # 28 days in 3 deliveries: days 0-8, 9-18, 19-27
    assert [(d["first_day"], d["last_day"]) for d in m["deliveries"]] == [
        ("2026-03-02", "2026-03-10"),
        ("2026-03-11", "2026-03-20"),
        ("2026-03-21", "2026-03-29"),
    ]
    assert [d["zendesk_cutoff"] for d in m["deliveries"]] == [
        "2026-03-11T00:00:00Z",
        "2026-03-21T00:00:00Z",
        "2026-03-30T00:00:00Z",
    ]
    listed = [f for d in m["deliveries"] for f in d["landing_files"]]
    on_disk = sorted(
        str(p.relative_to(world / "landing")) for p in (world / "landing").rglob("*") if p.is_file()
    )
    assert sorted(listed) == on_disk
    assert len(listed) == len(set(listed))
    kinds = {f.split("/")[0] + "/" + f.split("/")[1] for f in listed}
    assert kinds == {"ivr/amazon_connect", "ivr/contact_lens", "survey/qualtrics", "crm/orders"}
    for d in m["deliveries"]:
        assert all((world / z).is_file() for z in d["zendesk_files"])
        assert any(f.startswith("survey/") for f in d["landing_files"])  # one export each
    assert m["incident"] == {
        "start": "2026-03-16",
        "end": "2026-03-23",
        "what": m["incident"]["what"],
    }


def test_zendesk_versions_sit_in_the_delivery_of_their_updated_at(world: Path) -> None:
    m = _manifest(world)
    cutoffs = [_z(d["zendesk_cutoff"]) for d in m["deliveries"]]
    seen: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for k, cutoff in enumerate(cutoffs, start=1):
        lower = cutoffs[k - 2] if k > 1 else None
        path = world / "zendesk" / "tickets" / f"delivery-{k:04d}.jsonl"
        for line in path.read_text().splitlines():
            obj = json.loads(line)
            t, ms = obj["ticket"], obj["metric_set"]
            assert isinstance(t["id"], int) and isinstance(t["requester_id"], int)
            updated = _z(t["updated_at"])
            assert updated < cutoff and (lower is None or updated >= lower)
            assert _z(t["created_at"]) <= updated
            if t["status"] == "deleted":
                assert ms is None
            else:
                assert ms["ticket_id"] == t["id"] and ms["updated_at"] == t["updated_at"]
                if ms["solved_at"] is not None:
                    assert t["status"] in ("solved", "closed")
            seen[t["id"]].append((k, t["status"]))
    assert all(len({k for k, _ in v}) == len(v) for v in seen.values())  # one per delivery
    statuses = Counter(s for v in seen.values() for _, s in v)
    assert {"new", "solved", "closed", "deleted"} <= set(statuses)
    assert any(s == "closed" for s in statuses)
    later = [v for v in seen.values() if len(v) > 1]
    assert later, "some tickets change status in a later delivery"
    ids = sorted(seen)
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # Zendesk-like consecutive ids


def test_connect_files_parse_as_firehose_delivers_them(busy_world: Path) -> None:
    m = _manifest(busy_world)
    bad = _bad_lines(busy_world)
    files = [
        f
        for d in m["deliveries"]
        for f in d["landing_files"]
        if f.startswith("ivr/amazon_connect/")
    ]
    exts = Counter(f.rsplit(".", 2)[-1] if not f.endswith(".gz") else "json.gz" for f in files)
    assert set(exts) == {"jsonl", "json", "json.gz"}
    per_id: Counter[str] = Counter()
    total = 0
    for f in files:
        recs = read_ctr_file(busy_world / "landing" / f, bad.get(f, set()))
        total += len(recs)
        for r in recs:
            per_id[r["ContactId"]] += 1
            _z(r["InitiationTimestamp"])
            _z(r["LastUpdateTimestamp"])
            assert _z(r["DisconnectTimestamp"]) >= _z(r["InitiationTimestamp"])
            assert r["Channel"] in ("VOICE", "CHAT", "TASK")
            assert re.fullmatch(
                r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                r["ContactId"],
            )
    assert total == m["counts"]["contact_records"] + m["counts"]["duplicate_records"]
    assert sum(1 for n in per_id.values() if n > 1) == m["counts"]["duplicate_records"]
    kinds = Counter(
        x["reason"] for x in m["malformed"] if x["path"].startswith("ivr/amazon_connect/")
    )
    assert {"bad_json", "bad_timestamp", "non_utf8"} <= set(kinds)


def test_every_file_is_well_under_one_percent_malformed(busy_world: Path) -> None:
    m = _manifest(busy_world)
    per_file = Counter(x["path"] for x in m["malformed"])
    assert {p.split("/")[0] for p in per_file} == {"ivr", "survey", "crm"}
    for path, n in per_file.items():
        data = (busy_world / "landing" / path).read_bytes()
        if path.endswith(".gz"):
            data = gzip.decompress(data)
        records = (
            data.count(b"\n")
            if not path.endswith((".json", ".gz"))
            else data.count(b'{"AWSAccountId"') + data.count(b'{"Note"')
        )
        assert n / records <= 0.005, (path, n, records)


def test_qualtrics_exports_follow_both_layouts(world: Path, busy_world: Path) -> None:
    for root in (world, busy_world):
        bad = _bad_lines(root)
        layouts: Counter[str] = Counter()
        ids_per_file: list[set[str]] = []
        rows_all: list[dict[str, str]] = []
        for p in sorted((root / "landing" / "survey" / "qualtrics").rglob("*.csv")):
            rel = str(p.relative_to(root / "landing"))
            layout, rows = read_qualtrics(p, bad.get(rel, set()))
            layouts[layout] += 1
            rid = "ResponseID" if layout == "legacy" else "_recordId"
            end = "EndDate" if layout == "legacy" else "endDate"
            fin = "Finished" if layout == "legacy" else "finished"
            status = "Status" if layout == "legacy" else "status"
            for r in rows:
                assert re.fullmatch(r"R_[0-9A-Za-z]{15}", r[rid])
                datetime.strptime(r[end], "%Y-%m-%d %H:%M:%S")
                assert {"QID1", "QID2", "QID3", "QID4_TEXT", "ticket_id", "contact_id"} <= set(r)
                rows_all.append({"id": r[rid], "finished": r[fin], "status": r[status], **r})
            ids_per_file.append({r[rid] for r in rows})
        if root is world:
            assert layouts["legacy"] >= 1 and layouts["current"] >= 2
            overlap = any(a & b for a, b in pairwise(ids_per_file))
            assert overlap, "consecutive exports overlap by a day"
            assert any(r["finished"] == "0" for r in rows_all)
            assert any(r["status"] not in ("0",) for r in rows_all)
            assert any(r["ticket_id"] for r in rows_all) and any(r["contact_id"] for r in rows_all)
            assert any(
                r["touchpoint"] and not r["ticket_id"] and not r["contact_id"] for r in rows_all
            )
            out_of_range = [
                r for r in rows_all
                if (r["QID1"] and not 1 <= int(r["QID1"]) <= 5)
                or (r["QID2"] and not 0 <= int(r["QID2"]) <= 10)
                or (r["QID3"] and not 1 <= int(r["QID3"]) <= 7)
            ]  # fmt: skip
            assert out_of_range  # e.g. -99 ("seen but unanswered") or 11
            assert any("\n" in r["QID4_TEXT"] or "," in r["QID4_TEXT"] for r in rows_all)


def test_current_layout_matches_the_real_export(world: Path) -> None:
    """Same first 17 columns, header rows and ImportIds as Qualtrics' own file."""
    fixture = (QUALTRICS_FIXTURES / "export_current_format.csv").read_text(encoding="utf-8")
    real = list(csv.reader(io.StringIO(fixture)))
    ours_path = next(p for p in (world / "landing").rglob("*06.00.csv"))
    ours = list(csv.reader(io.StringIO(ours_path.read_text(encoding="utf-8"))))
    for row in range(3):
        assert ours[row][:17] == real[row][:17]
    legacy_fixture = (QUALTRICS_FIXTURES / "export_legacy_format.csv").read_bytes()
    legacy_path = next(p for p in (world / "landing").rglob("*legacy*.csv"))
    legacy = legacy_path.read_bytes()
    assert legacy[:3] == legacy_fixture[:3] == b"\xef\xbb\xbf"
    real_labels = next(csv.reader(io.StringIO(legacy_fixture.decode().splitlines()[1])))
    our_labels = next(csv.reader(io.StringIO(legacy.decode().splitlines()[1])))
    assert our_labels[:10] == real_labels[:10]


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)  # ISO-8601, offset optional (naive = UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def test_orders_csv_and_later_status_rows(world: Path, busy_world: Path) -> None:
    history: dict[str, list[tuple[datetime, str, datetime]]] = defaultdict(list)
    styles: Counter[str] = Counter()
    for root in (world, busy_world):
        bad = _bad_lines(root)
        for p in sorted((root / "landing" / "crm" / "orders").rglob("*.csv")):
            rel = str(p.relative_to(root / "landing"))
            raw = p.read_bytes().split(b"\n")
            assert raw[0] == b"order_id,customer_email,ordered_at,amount,currency,status,updated_at"
            for lineno, line in enumerate(raw[1:], start=2):
                if not line or lineno in bad.get(rel, set()):
                    continue
                row = next(csv.reader([line.decode("utf-8")]))
                assert len(row) == 7
                float(row[3])
                assert row[4] == "USD"
                assert row[5] in {"placed", "fulfilled", "cancelled", "refunded", "returned"}
                styles[
                    "Z"
                    if row[2].endswith("Z")
                    else "offset"
                    if "+" in row[2][10:] or "-" in row[2][10:]
                    else "naive"
                ] += 1
                if root is world:
                    history[row[0]].append((_aware(row[6]), row[5], _aware(row[2])))
    assert set(styles) == {"Z", "offset", "naive"}
    statuses = Counter(s for rows in history.values() for _, s, _ in rows)
    assert {"placed", "fulfilled", "cancelled", "returned", "refunded"} <= set(statuses)
    for rows in history.values():
        rows.sort()
        assert len({o for _, _, o in rows}) == 1  # ordered_at never changes
        if rows[0][1] == "placed":
            assert rows[0][0] == rows[0][2]
        assert len({u for u, _, _ in rows}) == len(rows)  # each change has a later updated_at


def test_believable_world_touches_every_rule_and_unmapped_cases(world: Path) -> None:
    m = _manifest(world)
    bad = _bad_lines(world)
    recs: list[dict[str, Any]] = []
    for d in m["deliveries"]:
        for f in d["landing_files"]:
            if f.startswith("ivr/amazon_connect/"):
                recs += read_ctr_file(world / "landing" / f, bad.get(f, set()))
    queues = Counter((r["Channel"], (r["Queue"] or {}).get("Name")) for r in recs)
    for q in ("Sales", "Support", "Billing", "Retention"):
        assert queues[("VOICE", q)] > 0
    assert queues[("CHAT", "Sales")] > 0 and queues[("CHAT", "Support")] > 0
    methods = Counter(r["InitiationMethod"] for r in recs)
    assert {"INBOUND", "TRANSFER", "CALLBACK", "OUTBOUND", "API"} <= set(methods)
    by_id = {r["ContactId"]: r for r in recs}
    for child in (r for r in recs if r["InitiationMethod"] == "TRANSFER"):
        parent = by_id.get(child["PreviousContactId"])
        if parent is not None:
            assert parent["NextContactId"] == child["ContactId"]
            assert parent["TransferCompletedTimestamp"] is not None
    chats = [r for r in recs if r["Channel"] == "CHAT"]
    assert all("customer_email" in r["Attributes"] for r in chats)
    contained = [
        r for r in recs
        if r["Queue"] is None and r["Agent"] is None
        and r["Attributes"].get("self_service_complete") == "true"
    ]  # fmt: skip
    assert contained and all(r["Attributes"].get("ivr_menu") for r in contained)
    queued_unanswered = [
        r for r in recs
        if r["InitiationMethod"] == "INBOUND" and r["Queue"] and r["Queue"]["EnqueueTimestamp"]
        and r["Agent"] is None
    ]  # fmt: skip
    durations = [r["Queue"]["Duration"] for r in queued_unanswered]
    assert any(d < 5 for d in durations) and any(d >= 5 for d in durations)

    tickets = []
    for k in range(1, 4):
        path = world / "zendesk" / "tickets" / f"delivery-{k:04d}.jsonl"
        tickets += [json.loads(x)["ticket"] for x in path.read_text().splitlines()]
    tags = Counter(t for tk in tickets for t in tk["tags"])
    for tag in ("campaign", "review", "presales", "returns", "checkout", "escalated"):
        assert tags[tag] > 0, tag
    via = Counter(t["via"]["channel"] for t in tickets)
    assert {"email", "web", "chat", "mobile_sdk", "twitter", "api"} <= set(via)
    known = {"campaign", "review", "presales", "returns"}
    assert any(t["via"]["channel"] == "web" and not known & set(t["tags"]) for t in tickets)

    users = []
    for k in range(1, 4):
        path = world / "zendesk" / "users" / f"delivery-{k:04d}.jsonl"
        users += [json.loads(x) for x in path.read_text().splitlines()]
    end_users = [u for u in users if u["role"] == "end-user"]
    segments = Counter(u["user_fields"]["segment"] for u in end_users)
    assert {"gold", "silver", "bronze"} <= set(segments)
    phones = [u["phone"] for u in end_users if u["phone"]]
    assert any(not re.fullmatch(r"\+\d+", p) for p in phones)  # typed by people
    assert all(re.sub(r"[^\d+]", "", p).lstrip("+") for p in phones)
    emails = Counter({u["id"]: u["email"].lower() for u in end_users}.values())
    assert any(n > 1 for n in emails.values())  # shared e-mails
    assert len({u["id"] for u in users}) < len(users)  # a few users change later


def test_incident_week_has_at_least_double_the_median_abandonment(world: Path) -> None:
    m = _manifest(world)
    bad = _bad_lines(world)
    latest: dict[str, dict[str, Any]] = {}
    for d in m["deliveries"]:
        for f in d["landing_files"]:
            if f.startswith("ivr/amazon_connect/"):
                for r in read_ctr_file(world / "landing" / f, bad.get(f, set())):
                    cur = latest.get(r["ContactId"])
                    if cur is None or r["LastUpdateTimestamp"] > cur["LastUpdateTimestamp"]:
                        latest[r["ContactId"]] = r
    weekly: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in latest.values():
        q = r["Queue"]
        if r["InitiationMethod"] != "INBOUND" or not q or not q["EnqueueTimestamp"]:
            continue
        answered = bool(r["Agent"] and r["Agent"]["ConnectedToAgentTimestamp"])
        if not answered and q["Duration"] < 5:
            continue  # short abandon
        week = (_z(r["InitiationTimestamp"]).date() - START).days // 7
        weekly[week][0] += not answered
        weekly[week][1] += 1
    rates = {w: a / n for w, (a, n) in weekly.items()}
    incident_week = (date.fromisoformat(m["incident"]["start"]) - START).days // 7
    assert incident_week == 2
    assert rates[incident_week] >= 2 * statistics.median(rates.values())
    assert weekly[incident_week][1] > 1.5 * statistics.median(n for _, n in weekly.values())


def test_incident_start_is_a_monday_inside_the_world() -> None:
    assert incident_start(date(2026, 3, 2), 28) == date(2026, 3, 16)
    assert incident_start(date(2026, 3, 4), 21) == date(2026, 3, 16)
    assert incident_start(date(2026, 3, 2), 7) == date(2026, 3, 2)
    assert incident_start(date(2026, 3, 2), 6) is None
    for days in range(7, 60):
        s = incident_start(date(2026, 1, 7), days)
        assert s is not None
        assert date(2026, 1, 7) <= s and s + timedelta(days=7) <= date(2026, 1, 7) + timedelta(
            days=days
        )


def test_bad_arguments_and_non_empty_output_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CxError, match="increments"):
        _gen(tmp_path / "x", days=3, increments=4)
    _gen(tmp_path / "y", days=2, customers=20, increments=1)
    with pytest.raises(CxError, match="not empty"):
        _gen(tmp_path / "y", days=2, customers=20, increments=1)


def test_cli_generate_writes_a_world(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cxscore.cli import app

    result = CliRunner().invoke(
        app,
        ["generate", "--out", str(tmp_path / "cli"), "--days", "3", "--customers", "40",
         "--start", "2026-03-02", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["days"] == 3 and summary["customers"] == 40
    assert (tmp_path / "cli" / "manifest.json").is_file()


def test_touchpoint_quality_is_encoded_in_the_raw_records(busy_world: Path) -> None:
    """The designed quality differences (docs/synthetic-world.md) show in the raw data: good
    touchpoints are rarely followed by another contact within 24 h and know their callers;
    the returns desk is chased within hours and billing has many anonymous callers."""
    created: dict[int, tuple[datetime, int, str]] = {}
    path = busy_world / "zendesk" / "tickets" / "delivery-0001.jsonl"
    for line in path.read_text().splitlines():
        tk = json.loads(line)["ticket"]
        tp = tk["custom_fields"][0]["value"] or "unmapped"
        created[tk["id"]] = (_z(tk["created_at"]), tk["requester_id"], tp)
    by_customer: dict[int, list[datetime]] = defaultdict(list)
    for at, who, _ in created.values():
        by_customer[who].append(at)
    again: dict[str, list[bool]] = defaultdict(list)
    for at, who, tp in created.values():
        day_later = at + timedelta(hours=24)
        again[tp].append(any(at < other <= day_later for other in by_customer[who]))

    def share(tps: tuple[str, ...]) -> float:
        flags = [f for tp in tps for f in again[tp]]
        assert len(flags) >= 100, tps
        return sum(flags) / len(flags)

    good = ("chat_presales", "chat_checkout_help", "web_presales_question", "app_onboarding")
    assert share(good) < 0.03
    assert share(("web_returns",)) > 0.15

    m = _manifest(busy_world)
    bad = _bad_lines(busy_world)
    users = [
        json.loads(x)
        for x in (busy_world / "zendesk" / "users" / "delivery-0001.jsonl").read_text().splitlines()
    ]
    known = set()
    for u in users:
        digits = re.sub(r"\D", "", u["phone"] or "")
        if digits:
            known.add("+" + ("1" + digits if len(digits) == 10 else digits))
    calls: dict[str, list[bool]] = defaultdict(list)
    for f in m["deliveries"][0]["landing_files"]:
        if f.startswith("ivr/amazon_connect/"):
            for r in read_ctr_file(busy_world / "landing" / f, bad.get(f, set())):
                queue = (r["Queue"] or {}).get("Name")
                if r["Channel"] == "VOICE" and r["InitiationMethod"] == "INBOUND" and queue:
                    calls[queue].append(r["CustomerEndpoint"]["Address"] in known)
    sales, billing = calls["Sales"], calls["Billing"]
    assert len(sales) >= 100 and len(billing) >= 100
    assert sum(sales) / len(sales) > 0.97
    assert sum(billing) / len(billing) < 0.8
