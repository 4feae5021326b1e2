"""Vendor record shapes and file writers: Amazon Connect CTRs, Zendesk tickets and metric
sets, Qualtrics exports (current and legacy layouts), order CSVs.

Writers inject a few malformed records into files that are large enough (at most 0.5% of a
file, see :data:`cxscore.generate.model.MALFORMED_MIN_ROWS`) and report exactly where, so
loaders can be tested against exact reject counts.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from pathlib import Path
from typing import Any

import orjson

from cxscore.generate import model
from cxscore.generate.timefmt import iso_z, space_ts

AWS_ACCOUNT = "111122223333"
INSTANCE_ARN = (
    f"arn:aws:connect:us-east-1:{AWS_ACCOUNT}:instance/4f1c2a7e-9b3d-4e8f-a1c6-2d5e7f9a0b13"
)
SYSTEM_NUMBER = "+18005550142"
QUEUE_IDS = {
    "Sales": "1a2b3c4d-0001-4000-8000-00000000a001",
    "Support": "1a2b3c4d-0002-4000-8000-00000000a002",
    "Billing": "1a2b3c4d-0003-4000-8000-00000000a003",
    "Retention": "1a2b3c4d-0004-4000-8000-00000000a004",
    "Outbound": "1a2b3c4d-0005-4000-8000-00000000a005",
    "Back Office": "1a2b3c4d-0006-4000-8000-00000000a006",
}
ROUTING = {
    "Sales": "Sales Routing Profile",
    "Support": "Support Routing Profile",
    "Billing": "Billing Routing Profile",
    "Retention": "Retention Routing Profile",
    "Outbound": "Sales Routing Profile",
    "Back Office": "Back Office Routing Profile",
}


def contact_id(rng: random.Random) -> str:
    """A UUID-shaped ContactId drawn from the world's RNG (deterministic, not uuid4)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def queue_obj(name: str, enqueue: int | None, dequeue: int | None, duration: int) -> dict[str, Any]:
    return {
        "ARN": f"{INSTANCE_ARN}/queue/{QUEUE_IDS[name]}",
        "DequeueTimestamp": iso_z(dequeue) if dequeue is not None else None,
        "Duration": duration,
        "EnqueueTimestamp": iso_z(enqueue) if enqueue is not None else None,
        "Name": name,
    }


def agent_obj(
    *,
    arn: str,
    username: str,
    queue: str,
    connected: int,
    talk: int,
    hold: int,
    holds: int,
    acw: int,
    acw_start: int,
) -> dict[str, Any]:
    return {
        "ARN": arn,
        "AfterContactWorkDuration": acw,
        "AfterContactWorkEndTimestamp": iso_z(acw_start + acw),
        "AfterContactWorkStartTimestamp": iso_z(acw_start),
        "AgentInteractionDuration": talk,
        "AgentPauseDuration": 0,
        "ConnectedToAgentTimestamp": iso_z(connected),
        "CustomerHoldDuration": hold,
        "DeviceInfo": None,
        "HierarchyGroups": None,
        "LongestHoldDuration": hold if holds <= 1 else hold // holds + 1,
        "NumberOfHolds": holds,
        "RoutingProfile": {
            "ARN": f"{INSTANCE_ARN}/routing-profile/{QUEUE_IDS[queue]}",
            "Name": ROUTING[queue],
        },
        "Username": username,
    }


def ctr(
    *,
    cid: str,
    channel: str,
    method: str,
    initiated: int,
    disconnected: int,
    last_update: int,
    reason: str,
    queue: dict[str, Any] | None,
    agent: dict[str, Any] | None,
    address: str | None,
    attributes: dict[str, str],
    previous: str | None = None,
    nxt: str | None = None,
    initial: str | None = None,
    transfer_completed: int | None = None,
) -> dict[str, Any]:
    voice = channel == "VOICE"
    endpoint = None
    if address is not None and voice:
        endpoint = {"Address": address, "Type": "TELEPHONE_NUMBER"}
    return {
        "AWSAccountId": AWS_ACCOUNT,
        "AWSContactTraceRecordFormatVersion": "2017-03-10",
        "Agent": agent,
        "AgentConnectionAttempts": 1 if agent else 0,
        "Attributes": attributes,
        "Channel": channel,
        "ConnectedToSystemTimestamp": iso_z(initiated + 1),
        "ContactId": cid,
        "CustomerEndpoint": endpoint,
        "DisconnectReason": reason,
        "DisconnectTimestamp": iso_z(disconnected),
        "InitialContactId": initial,
        "InitiationMethod": method,
        "InitiationTimestamp": iso_z(initiated),
        "InstanceARN": INSTANCE_ARN,
        "LastUpdateTimestamp": iso_z(last_update),
        "MediaStreams": [{"Type": "AUDIO" if voice else channel}],
        "NextContactId": nxt,
        "PreviousContactId": previous,
        "Queue": queue,
        "Recording": None,
        "Recordings": None,
        "SystemEndpoint": {"Address": SYSTEM_NUMBER, "Type": "TELEPHONE_NUMBER"} if voice else None,
        "TransferCompletedTimestamp": iso_z(transfer_completed)
        if transfer_completed is not None
        else None,
        "TransferredToEndpoint": None,
    }


# ----------------------------------------------------------------------------- Qualtrics
CURRENT_STANDARD = (
    ("StartDate", "Anfangsdatum", "startDate"),
    ("EndDate", "Enddatum", "endDate"),
    ("Status", "Antworttyp", "status"),
    ("IPAddress", "IP-Adresse", "ipAddress"),
    ("Progress", "Aktueller Stand", "progress"),
    ("Duration (in seconds)", "Dauer (in Sekunden)", "duration"),
    ("Finished", "Beendet", "finished"),
    ("RecordedDate", "Erfassungsdatum", "recordedDate"),
    ("ResponseId", "Antwort-ID", "_recordId"),
    ("RecipientLastName", "Nachname des Empfängers", "recipientLastName"),
    ("RecipientFirstName", "Vorname des Empfängers", "recipientFirstName"),
    ("RecipientEmail", "E-Mail des Empfängers", "recipientEmail"),
    ("ExternalReference", "Externe Datenreferenz", "externalDataReference"),
    ("LocationLatitude", "Breitengrad des Standorts", "locationLatitude"),
    ("LocationLongitude", "Längengrad des Standorts", "locationLongitude"),
    ("DistributionChannel", "Verteilungskanal", "distributionChannel"),
    ("UserLanguage", "Benutzersprache", "userLanguage"),
)
TOPICS_ID = "QID4_TEXT_9c1f5e2ab7d84e0f8a3c6b2d1e0fTopics"
CURRENT_QUESTIONS = (
    ("Q1", "Wie zufrieden waren Sie insgesamt mit unserem Service?", "QID1"),
    (
        "Q2",
        "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?",
        "QID2",
    ),
    ("Q3", "Wie einfach war es, Ihr Anliegen zu erledigen?", "QID3"),
    ("Q4", "Was können wir besser machen?", "QID4_TEXT"),
    ("Q4 - Topics", "Q4 - Topics", TOPICS_ID),
)
EMBEDDED = ("ticket_id", "contact_id", "customer_email", "touchpoint")
LEGACY_CODES = ("V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10")
LEGACY_LABELS = (
    "ResponseID",
    "ResponseSet",
    "Name",
    "ExternalDataReference",
    "EmailAddress",
    "IPAddress",
    "Status",
    "StartDate",
    "EndDate",
    "Finished",
)
LEGACY_QUESTIONS = (
    ("QID1", "Overall, how satisfied were you with our service?"),
    ("QID2", "How likely are you to recommend us to a friend or colleague?"),
    ("QID3", "How easy was it to get your issue handled?"),
    ("QID4_TEXT", "What could we do better?"),
)
LOCATION = ("LocationLatitude", "LocationLongitude", "LocationAccuracy")


class Response:
    """One survey response, rendered into either layout at export time."""

    __slots__ = (
        "ces",
        "channel",
        "comment",
        "contact_id",
        "csat",
        "duration",
        "email",
        "end",
        "finished",
        "first",
        "ip",
        "language",
        "last",
        "lat",
        "lon",
        "nps",
        "progress",
        "recipient",
        "response_id",
        "status",
        "ticket_id",
        "touchpoint",
    )

    def __init__(self) -> None:
        self.response_id = ""
        self.end = 0
        self.duration = 0
        self.status = "0"
        self.progress = 100
        self.finished = "1"
        self.ip = ""
        self.channel = "email"
        self.first = ""
        self.last = ""
        self.recipient = ""
        self.lat = ""
        self.lon = ""
        self.csat = ""
        self.nps = ""
        self.ces = ""
        self.comment = ""
        self.language = "EN"
        self.ticket_id = ""
        self.contact_id = ""
        self.email = ""
        self.touchpoint = ""

    def current_row(self) -> list[str]:
        start = self.end - self.duration
        topics = "Service" if self.comment else ""
        return [
            space_ts(start),
            space_ts(self.end),
            self.status,
            self.ip,
            str(self.progress),
            str(self.duration),
            self.finished,
            space_ts(self.end),
            self.response_id,
            self.last,
            self.first,
            self.recipient,
            "",
            self.lat,
            self.lon,
            self.channel,
            self.language,
            self.csat,
            self.nps,
            self.ces,
            self.comment,
            topics,
            self.ticket_id,
            self.contact_id,
            self.email,
            self.touchpoint,
        ]

    def legacy_row(self) -> list[str]:
        start = self.end - self.duration
        name = f"{self.last}, {self.first}" if self.last else "Anonymous"
        return [
            self.response_id,
            "Default Response Set",
            name,
            "",
            self.recipient,
            self.ip,
            self.status,
            space_ts(start),
            space_ts(self.end),
            self.finished,
            self.csat,
            self.nps,
            self.ces,
            self.comment,
            self.ticket_id,
            self.contact_id,
            self.email,
            self.touchpoint,
            self.lat,
            self.lon,
            "-1",
            "",  # the legacy exporter ends every line with a comma
        ]


def _csv_line(row: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(row)
    return buf.getvalue().encode("utf-8")


def current_header() -> bytes:
    tags = [c[0] for c in CURRENT_STANDARD] + [q[0] for q in CURRENT_QUESTIONS] + list(EMBEDDED)
    texts = [c[1] for c in CURRENT_STANDARD] + [q[1] for q in CURRENT_QUESTIONS] + list(EMBEDDED)
    ids = [c[2] for c in CURRENT_STANDARD] + [q[2] for q in CURRENT_QUESTIONS] + list(EMBEDDED)
    import_ids = [orjson.dumps({"ImportId": i}).decode() for i in ids]
    return _csv_line(tags) + _csv_line(texts) + _csv_line(import_ids)


def legacy_header() -> bytes:
    codes = [*LEGACY_CODES, *(q[0] for q in LEGACY_QUESTIONS), *EMBEDDED, *LOCATION, ""]
    labels = [*LEGACY_LABELS, *(q[1] for q in LEGACY_QUESTIONS), *EMBEDDED, *LOCATION, ""]
    return "\ufeff".encode() + _csv_line(codes) + _csv_line(labels)


CURRENT_WIDTH = len(CURRENT_STANDARD) + len(CURRENT_QUESTIONS) + len(EMBEDDED)
LEGACY_WIDTH = len(LEGACY_CODES) + len(LEGACY_QUESTIONS) + len(EMBEDDED) + len(LOCATION) + 1

ORDERS_HEADER = b"order_id,customer_email,ordered_at,amount,currency,status,updated_at\n"


# ----------------------------------------------------------------------------- files
class Landing:
    """Writes landing files and remembers, per delivery, what was written where."""

    def __init__(self, root: Path, deliveries: int) -> None:
        self.root = root
        self.files: list[list[str]] = [[] for _ in range(deliveries)]
        self.malformed: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}

    def write(self, rel: str, data: bytes, delivery: int) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[delivery - 1].append(rel)

    def bad(
        self, rel: str, reason: str, *, line: int | None = None, offset: int | None = None
    ) -> None:
        self.malformed.append({"path": rel, "line": line, "offset": offset, "reason": reason})


def malformed_count(rows: int) -> int:
    """Malformed records for a file of ``rows`` good records: 0 below the minimum, at most
    0.5% of the file."""
    if rows < model.MALFORMED_MIN_ROWS:
        return 0
    return min(3, rows // model.MALFORMED_MIN_ROWS, 1 + rows // 600)


def write_ctr_file(
    landing: Landing,
    rel: str,
    records: list[bytes],
    fmt: str,
    delivery: int,
    rng: random.Random,
) -> None:
    """``fmt``: ``jsonl`` (one object per line), ``json`` (concatenated, Firehose style) or
    ``json.gz`` (the same, gzip-compressed). Malformed records are extra copies."""
    n_bad = malformed_count(len(records))
    slots = sorted(rng.sample(range(1, len(records)), n_bad)) if n_bad else []
    out: list[bytes] = []
    pos = 0  # bytes so far (uncompressed) or lines so far
    bad_at = dict.fromkeys(slots, "")
    for i, rec in enumerate(records):
        if i in bad_at:
            src = records[i - 1]
            if fmt == "jsonl":
                kind = rng.choice(("bad_json", "bad_timestamp", "non_utf8"))
            else:
                kind = "bad_timestamp"
            if kind == "bad_json":
                bad = src[: len(src) // 2]
            elif kind == "non_utf8":
                bad = src.replace(b'{"AWSAccountId":', b'{"Note":"caf\xe9","AWSAccountId":', 1)
            else:
                bad = src.replace(b'"InitiationTimestamp":"', b'"InitiationTimestamp":"31/02/', 1)
                # 31/02/2026-03-01T10:00:00Z: not a timestamp any parser accepts
            if fmt == "jsonl":
                landing.bad(rel, kind, line=pos + 1)
                out.append(bad + b"\n")
                pos += 1
            else:
                landing.bad(rel, kind, offset=pos)
                out.append(bad)
                pos += len(bad)
        if fmt == "jsonl":
            out.append(rec + b"\n")
            pos += 1
        else:
            out.append(rec)
            pos += len(rec)
    data = b"".join(out)
    if fmt == "json.gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    landing.write(rel, data, delivery)


def write_qualtrics_file(
    landing: Landing,
    rel: str,
    responses: list[Response],
    *,
    legacy: bool,
    delivery: int,
    rng: random.Random,
) -> None:
    """One export in the current (3 header rows) or legacy (BOM, 2 rows, trailing comma)
    layout. Malformed rows are extra responses: a wrong column count, an EndDate no parser
    accepts, a comment with a Latin-1 byte."""
    header = legacy_header() if legacy else current_header()
    chunks = [header]
    line = header.count(b"\n") + 1  # physical line of the next record
    n_bad = malformed_count(len(responses))
    slots = set(rng.sample(range(1, len(responses)), n_bad)) if n_bad else set()
    for i, resp in enumerate(responses):
        if i in slots:
            row = resp.legacy_row() if legacy else resp.current_row()
            row[0 if legacy else 8] = row[0 if legacy else 8][:-2] + "XX"  # a new response id
            kind = rng.choice(("wrong_column_count", "bad_timestamp", "non_utf8"))
            if kind == "wrong_column_count":
                data = _csv_line(row[:-3])
            elif kind == "bad_timestamp":
                row[8 if legacy else 1] = "18.07.2026 08:28"  # EndDate, wrong format
                data = _csv_line(row)
            else:
                comment_at = 13 if legacy else 20
                row[comment_at] = "MARKER"
                data = _csv_line(row).replace(b"MARKER", b"Tr\xe8s bien merci")
            landing.bad(rel, kind, line=line)
            chunks.append(data)
            line += data.count(b"\n")
        data = _csv_line(resp.legacy_row() if legacy else resp.current_row())
        chunks.append(data)
        line += data.count(b"\n")
    landing.write(rel, b"".join(chunks), delivery)


def write_orders_file(
    landing: Landing,
    rel: str,
    rows: list[list[str]],
    *,
    delivery: int,
    rng: random.Random,
) -> None:
    chunks = [ORDERS_HEADER]
    n_bad = malformed_count(len(rows))
    slots = set(rng.sample(range(1, len(rows)), n_bad)) if n_bad else set()
    for i, row in enumerate(rows):
        if i in slots:
            bad = list(row)
            bad[0] = bad[0] + "-X"
            kind = rng.choice(("wrong_column_count", "bad_timestamp", "non_utf8"))
            if kind == "wrong_column_count":
                data = _csv_line(bad[:6])
            elif kind == "bad_timestamp":
                bad[2] = "31/02/2026 10:00"
                data = _csv_line(bad)
            else:
                bad[1] = "MARKER"
                data = _csv_line(bad).replace(b"MARKER", b"jos\xe9@example.com")
            landing.bad(rel, kind, line=len(chunks) + 1)
            chunks.append(data)
        chunks.append(_csv_line(row))
    landing.write(rel, b"".join(chunks), delivery)
