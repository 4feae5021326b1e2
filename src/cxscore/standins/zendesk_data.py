"""The world files the Zendesk stand-in serves (:mod:`cxscore.standins.zendesk`), indexed by
delivery: every version of a ticket, user or ticket event with the delivery it exists from,
the cursor encoding of Zendesk's incremental export, and "now" per delivery (layout in
``docs/synthetic-world.md``)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from cxscore.errors import CxError

STREAMS = {"tickets": "tickets", "users": "users"}
_DELIVERY_FILE = re.compile(r"^delivery-(\d{4,})\.jsonl$")


def encode_cursor(ts: int, item_id: int) -> str:
    """Zendesk's cursor format: base64 of ``"<epoch>.0||<id>|"`` (padding stripped)."""
    raw = f"{ts}.0||{item_id}|".encode()
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """Inverse of :func:`encode_cursor`; ValueError when it is not one of ours."""
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"cursor {cursor!r} is not valid") from exc
    match = re.fullmatch(r"(-?\d+)\.0\|\|(\d+)\|", text)
    if not match:
        raise ValueError(f"cursor {cursor!r} is not valid")
    return int(match.group(1)), int(match.group(2))


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


@dataclass
class _Version:
    ts: int
    item_id: int
    delivery: int
    file_no: int
    offset: int
    length: int


@dataclass
class _StreamData:
    """Index of every stored version of one stream's items; bodies stay on disk."""

    name: str
    files: list[Path] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    versions: list[_Version] = field(default_factory=list)
    memory: list[bytes] = field(default_factory=list)  # versions written through the API

    def view(self, increment: int) -> tuple[list[tuple[int, int]], list[_Version]]:
        """Latest version per id among deliveries <= increment, sorted by (ts, id)."""
        latest: dict[int, _Version] = {}
        for v in self.versions:
            if v.delivery > increment:
                continue
            cur = latest.get(v.item_id)
            if cur is None or (v.ts, v.delivery) >= (cur.ts, cur.delivery):
                latest[v.item_id] = v
        items = sorted(latest.values(), key=lambda v: (v.ts, v.item_id))
        return [(v.ts, v.item_id) for v in items], items

    def read(self, v: _Version) -> dict[str, Any]:
        if v.file_no < 0:
            created: dict[str, Any] = orjson.loads(self.memory[v.offset])
            return created
        data = os.pread(self.fds[v.file_no], v.length, v.offset)
        obj: dict[str, Any] = orjson.loads(data)
        return obj

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()


def _lines(stream: _StreamData, folder: Path) -> Iterator[tuple[Path, int, bytes, int, int, int]]:
    """Every non-blank line of the ``delivery-000k.jsonl`` files of ``folder``, registering
    each file with ``stream``: (path, line number, line without its end, delivery, file
    number, byte offset)."""
    for path in sorted(folder.iterdir()):
        match = _DELIVERY_FILE.match(path.name)
        if not match:
            continue
        delivery = int(match.group(1))
        file_no = len(stream.files)
        stream.files.append(path)
        stream.fds.append(os.open(path, os.O_RDONLY))
        offset = 0
        with path.open("rb") as fh:
            for lineno, line in enumerate(fh, start=1):
                body = line.rstrip(b"\r\n")
                if body.strip():
                    yield path, lineno, body, delivery, file_no, offset
                offset += len(line)


def _index_stream(data: Path, name: str) -> _StreamData:
    stream = _StreamData(name)
    folder = data / "zendesk" / name
    if not folder.is_dir():
        raise CxError(
            f"{folder} does not exist: --data must be a directory written by "
            "`cxscore generate` (it needs zendesk/tickets/ and zendesk/users/)"
        )
    for path, lineno, body, delivery, file_no, offset in _lines(stream, folder):
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise CxError(f"{path}:{lineno}: not valid JSON ({exc})") from exc
        item = obj["ticket"] if name == "tickets" else obj
        try:
            ts, item_id = _epoch(item["updated_at"]), int(item["id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CxError(
                f"{path}:{lineno}: a {name[:-1]} needs an integer 'id' and an "
                f"ISO-8601 'updated_at' ({exc!r})"
            ) from exc
        stream.versions.append(_Version(ts, item_id, delivery, file_no, offset, len(body)))
    return stream


def _index_events(data: Path) -> _StreamData:
    """Ticket events (immutable): one version each, keyed (timestamp, id)."""
    stream = _StreamData("ticket_events")
    folder = data / "zendesk" / "ticket_events"
    if not folder.is_dir():
        return stream  # a world without comments: an empty export
    for path, lineno, body, delivery, file_no, offset in _lines(stream, folder):
        try:
            obj = orjson.loads(body)
            ts, item_id = int(obj["timestamp"]), int(obj["id"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CxError(
                f"{path}:{lineno}: a ticket event needs an integer 'id' and 'timestamp' ({exc!r})"
            ) from exc
        stream.versions.append(_Version(ts, item_id, delivery, file_no, offset, len(body)))
    return stream


class ZendeskData:
    """The versions behind the stand-in and the view for the current increment."""

    def __init__(self, data: Path, increment: int | None = None) -> None:
        self.root = Path(data)
        self.cutoffs: dict[int, int] = {}
        manifest = self.root / "manifest.json"
        if manifest.is_file():
            try:
                meta = json.loads(manifest.read_text(encoding="utf-8"))
                for d in meta.get("deliveries", []):
                    if d.get("zendesk_cutoff"):
                        self.cutoffs[int(d["k"])] = _epoch(d["zendesk_cutoff"])
            except (ValueError, KeyError, TypeError) as exc:
                raise CxError(f"{manifest}: not a valid world manifest ({exc!r})") from exc
        self.streams = {name: _index_stream(self.root, name) for name in STREAMS}
        self.streams["ticket_events"] = _index_events(self.root)
        found = [v.delivery for s in self.streams.values() for v in s.versions]
        self.deliveries = max([*found, *self.cutoffs.keys(), 1])
        self._lock = threading.Lock()
        self._views: dict[str, tuple[list[tuple[int, int]], list[_Version]]] = {}
        self._dirty: set[str] = set()
        self.increment = self.deliveries
        self.set_increment(increment)

    def set_increment(self, increment: int | None) -> None:
        k = self.deliveries if increment is None else int(increment)
        if not 1 <= k <= self.deliveries:
            raise CxError(
                f"increment {k} is out of range: {self.root} holds deliveries 1..{self.deliveries}"
            )
        views = {name: s.view(k) for name, s in self.streams.items()}
        with self._lock:
            self.increment = k
            self._views = views

    def now(self) -> int | None:
        return self.cutoffs.get(self.increment)

    def current(self, stream: str) -> tuple[list[tuple[int, int]], list[_Version]]:
        with self._lock:
            if stream in self._dirty:
                self._views[stream] = self.streams[stream].view(self.increment)
                self._dirty.discard(stream)
            return self._views[stream]

    def add_version(self, stream: str, line: bytes, *, ts: int, item_id: int) -> None:
        """A version written through the API (a created or updated ticket): visible in every
        increment from now on, at the position of its ``ts``."""
        with self._lock:
            store = self.streams[stream]
            store.versions.append(_Version(ts, item_id, 0, -1, len(store.memory), len(line)))
            store.memory.append(line)
            self._dirty.add(stream)

    def close(self) -> None:
        for s in self.streams.values():
            s.close()
