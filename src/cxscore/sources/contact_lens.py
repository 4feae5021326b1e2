"""Amazon Connect Contact Lens output files (conversational analytics) -> raw rows.

Contact Lens writes one JSON document per analysed contact (the Amazon Connect
administrator guide, "Example Contact Lens output files" for a call and for a chat):

    Analysis/Voice/YYYY/MM/DD/<ContactId>_analysis_<timestamp>.json
    Analysis/Voice/Redacted/YYYY/MM/DD/<ContactId>_analysis_redacted_<timestamp>.json
    Analysis/Chat/...                       (the same for chats)

One row per file in ``raw.amazon_connect__contact_lens``: the contact id
(``CustomerMetadata.ContactId``, else the id in the file name), ``Channel``,
``LanguageCode``, whether it is a redacted variant (``Redacted`` in the path or name), the
analysis time from the file name, and the document as ``payload``. A file that is not one
JSON object, or whose contact id cannot be found, is rejected with the reason. The customer
turns and the vendor's customer sentiment are read when the file is scored
(``cxscore.signals.scoring``); the redacted variant is preferred when both exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from cxscore.sources.common import Rejection, Row, clean_text, raw_text_of

SOURCE = "amazon_connect"
STREAM = "contact_lens"
TABLE = "raw.amazon_connect__contact_lens"
COLUMNS = (
    "contact_id",
    "channel",
    "language_code",
    "is_redacted",
    "analysed_at",
    "payload",
    "_line",
)
SUFFIXES = (".json",)
_NAME = re.compile(
    r"^(?P<id>[^/_]+)_analysis(?:_redacted)?_(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}[:_]\d{2}[:_]\d{2}Z)",
    re.IGNORECASE,
)
MAX_BYTES = 64 << 20
CHUNK = 1 << 16


def read_at_most(fh: IO[bytes], limit: int) -> bytes:
    """The file's bytes, or its first ``limit + 1`` when it is longer. Read in chunks: one
    ``read(limit + 1)`` has every layer allocate a 64 MB buffer for a file of 2 KB (300 us
    a file, under load, for 165,000 files of a first run)."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = fh.read(min(CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _analysed_at(text: str) -> str | None:
    try:
        moment = datetime.strptime(text.replace("_", ":"), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC).isoformat()


def parse_contact_lens(fh: IO[bytes], path: str) -> Iterator[Row | Rejection]:
    """The one row (or rejection) of one Contact Lens output file at ``path``."""
    data = read_at_most(fh, MAX_BYTES)
    if len(data) > MAX_BYTES:
        yield Rejection(1, f"larger than {MAX_BYTES} bytes: not a Contact Lens file", None)
        return
    try:
        doc: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        yield Rejection(1, f"not valid JSON ({exc})", raw_text_of(data[:10000]))
        return
    if not isinstance(doc, dict) or "Transcript" not in doc:
        yield Rejection(
            1,
            "not a Contact Lens analysis document (expected a JSON object with Transcript)",
            raw_text_of(data[:10000]),
        )
        return
    name = path.rsplit("/", 1)[-1]
    match = _NAME.match(name)
    meta = doc.get("CustomerMetadata")
    contact_id = meta.get("ContactId") if isinstance(meta, dict) else None
    if not isinstance(contact_id, str) or not contact_id.strip():
        contact_id = match.group("id") if match else None
    if not contact_id:
        yield Rejection(
            1,
            "no contact id: neither CustomerMetadata.ContactId nor a file name "
            "<ContactId>_analysis_<timestamp>.json",
            raw_text_of(data[:10000]),
        )
        return
    channel = doc.get("Channel")
    language = doc.get("LanguageCode")
    payload = orjson.dumps(doc)
    if b"\\u0000" in payload:  # jsonb refuses NUL characters: they become U+FFFD
        payload = orjson.dumps(_without_nul(doc))
    yield (
        clean_text(contact_id),
        clean_text(channel) if isinstance(channel, str) else None,
        clean_text(language) if isinstance(language, str) else None,
        "t" if "redacted" in path.lower() else "f",
        _analysed_at(match.group("ts")) if match else None,
        payload,
        1,
    )


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value
