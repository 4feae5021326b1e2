"""Qualtrics response exports (CSV) -> raw.qualtrics__responses.

Two layouts are read:

* current: row 1 export tags, row 2 question text (any language), row 3 one
  ``{"ImportId":"..."}`` JSON per column. Columns are identified by ImportId (tags are
  user-editable and may repeat): ``_recordId`` (ResponseId), ``endDate``, ``finished``,
  ``status``, the configured question ImportIds and the embedded-data field names.
* legacy: UTF-8 BOM, row 1 codes (``V1..Vn``, ``Q1``, embedded names), row 2 labels
  (``ResponseID``, ``EndDate``, ...), a trailing comma on every line. The standard fields
  come from the labels; configured questions/embedded fields match row 1.

Each response becomes a row whose payload holds every column (``columns``: ImportId, or in
legacy files the row-1 code, or the row-2 label for ``V<n>`` codes) plus the configured
fields under fixed keys (``csat``, ``nps``, ``ces``, ``comment``, ``ticket_id``,
``contact_id``, ``customer_email``, ``touchpoint``: raw text as exported, empty -> null,
except ``comment`` which keeps ``""``) and ``layout``. ``EndDate`` is naive in the survey's
time zone and is converted to UTC (PostgreSQL's ``AT TIME ZONE`` rule).

Rejected: a wrong column count, invalid UTF-8, an unparseable ``EndDate``, and every
record of a file whose header is neither layout.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, tzinfo
from typing import IO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from cxscore.settings import QualtricsSettings
from cxscore.sources.common import (
    CsvRecord,
    Rejection,
    Row,
    fit_columns,
    parse_timestamp,
    read_csv_records,
    zone,
)

SOURCE = "qualtrics"
STREAM = "responses"
TABLE = "raw.qualtrics__responses"
COLUMNS = ("response_id", "end_date", "finished", "status", "payload", "_line")
SUFFIXES = (".csv",)

# standard field -> (ImportIds in current exports, header names); 2016-2018 "Insights"
# exports call the response id ``responseId``
STANDARD = {
    "response_id": (("_recordId", "responseId"), ("ResponseId", "ResponseID")),
    "end_date": (("endDate",), ("EndDate",)),
    "finished": (("finished",), ("Finished",)),
    "status": (("status",), ("Status",)),
}
# Exports made with choice text write Finished and Status as words.
FINISHED_WORDS = {"true": "1", "false": "0"}
STATUS_WORDS = {
    "ip address": "0",
    "survey preview": "1",
    "survey test": "2",
    "imported": "4",
    "spam": "8",
    "survey preview spam": "9",
    "imported spam": "12",
    "offline": "16",
    "survey preview offline": "17",
}
SCORES = ("csat", "nps", "ces")
_V_CODE = re.compile(r"V\d+")


class Layout:
    """Where each field of a file is (column indexes) and the payload keys of its columns."""

    def __init__(self, name: str, keys: list[str], header: list[str]) -> None:
        self.name = name
        self.keys = keys
        self.header = header
        self.standard: dict[str, int | None] = {}
        self.mapped: dict[str, int | None] = {}
        self.end_date_zone: str | None = None  # the zone the file declares for EndDate


def _unique(keys: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, key in enumerate(keys):
        key = key or f"_column_{i + 1}"
        seen[key] = seen.get(key, 0) + 1
        out.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return out


def _import_cell(cell: str) -> dict[str, object]:
    """One cell of the third header row: ``{"ImportId":"QID1"}`` (JSON) or, in 2016-2018
    exports, ``{'ImportId': 'QID1'}`` (a Python-style literal); {} when it is neither."""
    text = cell.strip()
    if not text.startswith("{"):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return {}
    return value if isinstance(value, dict) else {}


def _import_ids(row: list[str]) -> list[dict[str, object]] | None:
    """The ImportId cells of a current-layout third header row, or None if it is not one."""
    if not row or not row[0].strip().startswith("{"):
        return None
    cells = [_import_cell(cell) for cell in row]
    return cells if any(cell.get("ImportId") for cell in cells) else None


def _id_key(import_id: str) -> str:
    """ImportIds match with ``-`` and ``_`` alike (``QID4-TEXT`` in 2016-2018 exports is
    ``QID4_TEXT`` today)."""
    return import_id.strip().replace("-", "_")


def _first(candidates: dict[str, int], *names: str) -> int | None:
    for name in names:
        if name in candidates:
            return candidates[name]
    return None


def _current_layout(
    tags: list[str], cells: list[dict[str, object]], settings: QualtricsSettings
) -> Layout:
    # header rows of different lengths (a damaged file): every row is as wide as the widest,
    # so that no column index points past the header (data rows are checked against it)
    width = max(len(tags), len(cells))
    tags = [*tags, *[""] * (width - len(tags))]
    ids = [str(cell.get("ImportId") or "") for cell in cells] + [""] * (width - len(cells))
    keys = _unique([imp or tag for imp, tag in zip(ids, tags, strict=True)])
    layout = Layout("current", keys, tags)
    by_id: dict[str, int] = {}
    by_tag: dict[str, int] = {}
    for i, imp in enumerate(ids):
        if imp:
            by_id.setdefault(_id_key(imp), i)
    for i, tag in enumerate(tags):
        by_tag.setdefault(tag.strip(), i)
    for field, (import_ids, names) in STANDARD.items():
        index = _first(by_id, *(_id_key(imp) for imp in import_ids))
        layout.standard[field] = index if index is not None else _first(by_tag, *names)
    for field, name in _configured(settings).items():
        layout.mapped[field] = by_id.get(_id_key(name))
    end = layout.standard["end_date"]
    if end is not None and end < len(cells):
        declared = cells[end].get("timeZone")
        layout.end_date_zone = str(declared).strip() if declared else None
    return layout


def _legacy_layout(codes: list[str], labels: list[str], settings: QualtricsSettings) -> Layout:
    codes = [*codes, *[""] * (len(labels) - len(codes))]  # as wide as the widest header row
    raw_keys = []
    for i, code in enumerate(codes):
        label = labels[i] if i < len(labels) else ""
        raw_keys.append(label if _V_CODE.fullmatch(code.strip()) and label else code.strip())
    layout = Layout("legacy", _unique(raw_keys), codes)
    by_code: dict[str, int] = {}
    by_label: dict[str, int] = {}
    for i, code in enumerate(codes):
        by_code.setdefault(code.strip(), i)
    for i, label in enumerate(labels):
        by_label.setdefault(label.strip(), i)
    for field, (_, names) in STANDARD.items():
        index = _first(by_label, *names)
        layout.standard[field] = index if index is not None else _first(by_code, *names)
    for field, name in _configured(settings).items():
        layout.mapped[field] = by_code.get(name)
    return layout


def _configured(settings: QualtricsSettings) -> dict[str, str]:
    return {**settings.questions.model_dump(), **settings.embedded.model_dump()}


def _declared_zone(name: str) -> tzinfo:
    """The zone a file declares (``Z`` and ``UTC`` mean UTC); ValueError when unknown."""
    if name.upper() in ("Z", "UTC", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise ValueError(name) from None


def parse_responses(stream: IO[bytes], settings: QualtricsSettings) -> Iterator[Row | Rejection]:
    """Rows (see ``COLUMNS``) and rejections from one export file, in file order (the file
    is read as a stream: memory does not grow with its size)."""
    records = read_csv_records(stream)
    head: list[CsvRecord] = []
    for record in records:
        head.append(record)
        if len(head) == 3:
            break
    if not head:
        return
    tz = zone(settings.timezone)
    layout: Layout | None = None
    data: list[CsvRecord] = []
    reason = (
        "unrecognised Qualtrics export layout: expected a third header row of "
        '{"ImportId": ...} cells (current) or a second header row with ResponseID (legacy)'
    )
    if len(head) == 3 and (ids := _import_ids(head[2].fields)) is not None:
        layout = _current_layout(head[0].fields, ids, settings)
    elif len(head) >= 2 and ({"ResponseID", "ResponseId"} & set(head[1].fields)):
        layout = _legacy_layout(head[0].fields, head[1].fields, settings)
        data = head[2:]
    header_rows = head[: len(head) - len(data)] if layout is not None else head
    bad_header = next((r for r in header_rows if r.error), None)
    if bad_header is not None:
        layout = None
        reason = f"the file's header row {bad_header.line} is unreadable: {bad_header.error}"
    if layout is not None and layout.end_date_zone:
        try:
            tz = _declared_zone(layout.end_date_zone)
        except ValueError:
            reason = (
                f"EndDate: the file declares the time zone {layout.end_date_zone!r} "
                "(header row 3), which is not a known IANA zone"
            )
            layout = None
    if layout is None:
        for record in itertools.chain(head, records):  # streamed, not unpacked
            yield Rejection(record.line, reason, record.raw)
        return
    labels: dict[str, dict[str, str]] = {
        field: {label.strip().casefold(): str(number) for label, number in mapping.items()}
        for field, mapping in settings.choice_labels.items()
    }
    for record in itertools.chain(data, records):
        yield _response(record, layout, tz, labels)


def _response(
    record: CsvRecord, layout: Layout, tz: object, labels: dict[str, dict[str, str]]
) -> Row | Rejection:
    if record.error:
        return Rejection(record.line, record.error, record.raw)
    fields = fit_columns(record.fields, layout.header)
    if fields is None:
        return Rejection(
            record.line,
            f"wrong column count: expected {len(layout.header)}, found {len(record.fields)}",
            record.raw,
        )

    def value(index: int | None) -> str | None:
        if index is None:
            return None
        return fields[index] or None

    end_raw = value(layout.standard["end_date"])
    try:
        end_date = parse_timestamp(end_raw, tz)  # type: ignore[arg-type]
    except ValueError as exc:
        return Rejection(record.line, f"EndDate: {exc}", record.raw)
    payload: dict[str, object] = {
        "columns": {
            key: cell
            for key, cell in zip(layout.keys, fields, strict=True)
            if cell or not key.startswith("_column_")
        }
    }
    for field, index in layout.mapped.items():
        if field == "comment":
            payload[field] = None if index is None else fields[index]
        else:
            payload[field] = value(index)
    for field, mapping in labels.items():
        answer = payload.get(field)
        if isinstance(answer, str):
            payload[field] = mapping.get(answer.strip().casefold(), answer)
    payload["layout"] = layout.name
    finished = value(layout.standard["finished"])
    if finished is not None:
        finished = FINISHED_WORDS.get(finished.strip().lower(), finished)
    status = value(layout.standard["status"])
    if status is not None:
        status = STATUS_WORDS.get(status.strip().lower(), status)
    return (
        value(layout.standard["response_id"]),
        None if end_date is None else end_date.isoformat(),
        finished,
        status,
        orjson.dumps(payload),
        record.line,
    )
