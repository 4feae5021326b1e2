"""Amazon Connect contact trace records (CTR) from files -> raw.amazon_connect__contact_records.

A file (``.json``, ``.jsonl``, ``.json.gz``; gzip is detected by its magic bytes) holds
either one JSON object per line, or objects concatenated with no separator (Kinesis
Firehose) or pretty-printed over several lines. The layout is detected from the first
non-blank line: when it is one complete JSON value the file is read line by line (``_line``
= 1-based line number); otherwise it is read as a stream (``_line`` = byte offset of the
object in the decompressed file). Reading the framing is ``sources.json_records``'s job; this
module says what a CTR row is.

A record is rejected (with the reason) when it is not valid JSON, not a JSON object, not
valid UTF-8, or when any known timestamp field holds something that is not an ISO-8601
timestamp. A record that parses but lacks fields is loaded; the quality checks judge it.
The payload is the record exactly as delivered (for line-delimited files, the line
itself), except that ``\\u0000`` (which PostgreSQL cannot store) becomes U+FFFD.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from cxscore.sources.common import NUL, BadRecord, Rejection, Row, clean_text, number_error
from cxscore.sources.json_records import JsonRecords, dump_json

SOURCE = "amazon_connect"
STREAM = "contact_records"
TABLE = "raw.amazon_connect__contact_records"
COLUMNS = (
    "contact_id",
    "channel",
    "initiation_method",
    "initiation_timestamp",
    "disconnect_timestamp",
    "last_update_timestamp",
    "payload",
    "_line",
)
SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")

# Timestamp fields that are checked (an unparseable value rejects the record).
TOP_TIMESTAMPS = (
    "ConnectedToSystemTimestamp",
    "TransferCompletedTimestamp",
    "ScheduledTimestamp",
    "LastPausedTimestamp",
    "LastResumedTimestamp",
)
QUEUE_TIMESTAMPS = ("EnqueueTimestamp", "DequeueTimestamp")
AGENT_TIMESTAMPS = (
    "ConnectedToAgentTimestamp",
    "AfterContactWorkStartTimestamp",
    "AfterContactWorkEndTimestamp",
)

# Numbers staging casts to numeric (a value the cast refuses rejects the record).
QUEUE_NUMBERS = ("Duration",)
AGENT_NUMBERS = ("AgentInteractionDuration", "CustomerHoldDuration", "AfterContactWorkDuration")


ARRAY_MESSAGE = (
    "the file holds a JSON array; Amazon Connect contact trace records are JSON objects, "
    "one per line (JSON Lines) or concatenated as Kinesis Firehose writes them. Convert the "
    "array to one object per line, e.g. `jq -c '.[]' FILE > FILE.jsonl`, and land that instead"
)

_fromiso = datetime.fromisoformat


def _ts(value: Any, key: str) -> str | None:
    """A timestamp field as ISO text for COPY, None when absent/empty; BadRecord if unreadable.

    Text already in extended ISO-8601 form (``YYYY-MM-DDTHH:MM...``) goes to PostgreSQL as
    it is (the load session runs in UTC, so a naive value reads as UTC); other forms Python
    accepts (week dates, basic format) are rewritten.
    """
    if value is None:
        return None
    if type(value) is str:
        if not value:
            return None
        try:
            parsed = _fromiso(value)
        except ValueError:
            raise BadRecord(f"{key}: unparseable timestamp {value!r}") from None
        if value[4:5] == "-" and value[7:8] == "-" and value[13:14] == ":" and "," not in value:
            return value
        text = parsed.isoformat()
        return text if parsed.tzinfo is not None else text + "+00:00"
    raise BadRecord(f"{key}: {value!r} is not an ISO-8601 timestamp string")


def _check(value: Any, key: str) -> None:
    if type(value) is str:
        if value:
            try:
                _fromiso(value)
            except ValueError:
                raise BadRecord(f"{key}: unparseable timestamp {value!r}") from None
        return
    raise BadRecord(f"{key}: {value!r} is not an ISO-8601 timestamp string")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return clean_text(value)
    if isinstance(value, dict | list):  # big integers, NULs inside: as in the payload
        return dump_json(value).decode()
    return str(value)


def _row(rec: dict[str, Any], payload: bytes, line: int) -> Row:
    """The row of a record (the hot path): every known timestamp is validated in one go;
    anything unusual (empty or non-string values, odd formats) takes the precise path."""
    get = rec.get
    initiation = get("InitiationTimestamp")
    disconnect = get("DisconnectTimestamp")
    last_update = get("LastUpdateTimestamp")
    fromiso = _fromiso
    try:
        for value in (
            initiation,
            disconnect,
            last_update,
            get("ConnectedToSystemTimestamp"),
            get("TransferCompletedTimestamp"),
            get("ScheduledTimestamp"),
            get("LastPausedTimestamp"),
            get("LastResumedTimestamp"),
        ):
            if value is not None:
                fromiso(value)
        queue = get("Queue")
        if type(queue) is dict:
            for value in (queue.get("EnqueueTimestamp"), queue.get("DequeueTimestamp")):
                if value is not None:
                    fromiso(value)
            value = queue.get("Duration")
            if not (value is None or type(value) is int):
                raise ValueError("a number to check")
        agent = get("Agent")
        if type(agent) is dict:
            for value in (
                agent.get("ConnectedToAgentTimestamp"),
                agent.get("AfterContactWorkStartTimestamp"),
                agent.get("AfterContactWorkEndTimestamp"),
            ):
                if value is not None:
                    fromiso(value)
            for value in (
                agent.get("AgentInteractionDuration"),
                agent.get("CustomerHoldDuration"),
                agent.get("AfterContactWorkDuration"),
            ):
                if not (value is None or type(value) is int):
                    raise ValueError("a number to check")
        for value in (initiation, disconnect, last_update):
            if value is not None and not (
                value[4] == "-" and value[7] == "-" and value[13] == ":" and "," not in value
            ):
                raise ValueError("not in extended form")
    except (ValueError, TypeError, IndexError):
        return _row_checked(rec, payload, line)
    contact_id = get("ContactId")
    channel = get("Channel")
    method = get("InitiationMethod")
    if not (
        (contact_id is None or (contact_id.__class__ is str and NUL not in contact_id))
        and (channel is None or (channel.__class__ is str and NUL not in channel))
        and (method is None or (method.__class__ is str and NUL not in method))
    ):
        contact_id, channel, method = _text(contact_id), _text(channel), _text(method)
    return (contact_id, channel, method, initiation, disconnect, last_update, payload, line)


def _row_checked(rec: dict[str, Any], payload: bytes, line: int) -> Row:
    """The row of a record, field by field, raising BadRecord with the precise reason."""
    get = rec.get
    initiation = _ts(get("InitiationTimestamp"), "InitiationTimestamp")
    disconnect = _ts(get("DisconnectTimestamp"), "DisconnectTimestamp")
    last_update = _ts(get("LastUpdateTimestamp"), "LastUpdateTimestamp")
    for key in TOP_TIMESTAMPS:
        value = get(key)
        if value is not None:
            _check(value, key)
    queue = get("Queue")
    if type(queue) is dict:
        for key in QUEUE_TIMESTAMPS:
            value = queue.get(key)
            if value is not None:
                _check(value, "Queue." + key)
        _check_numbers(queue, QUEUE_NUMBERS, "Queue.")
    agent = get("Agent")
    if type(agent) is dict:
        for key in AGENT_TIMESTAMPS:
            value = agent.get(key)
            if value is not None:
                _check(value, "Agent." + key)
        _check_numbers(agent, AGENT_NUMBERS, "Agent.")
    return (
        _text(get("ContactId")),
        _text(get("Channel")),
        _text(get("InitiationMethod")),
        initiation,
        disconnect,
        last_update,
        payload,
        line,
    )


def _check_numbers(section: dict[str, Any], keys: tuple[str, ...], prefix: str) -> None:
    for key in keys:
        error = number_error(section.get(key))
        if error is not None:
            raise BadRecord(f"{prefix}{key}: {error}")


_READER = JsonRecords(_row, record_key="ContactId", array_message=ARRAY_MESSAGE)


def parse_contact_records(stream: IO[bytes]) -> Iterator[Row | Rejection]:
    """Rows (see ``COLUMNS``) and rejections from one CTR file, in file order (the framing:
    ``sources.json_records``)."""
    return _READER.parse(stream)
