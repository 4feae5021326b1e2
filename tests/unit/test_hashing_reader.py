"""HashingReader: every byte of a landing file is hashed and counted once, whatever the
parser read, re-read or left."""

from __future__ import annotations

import hashlib
import io

from cxscore.load import files


def test_drain_hashes_what_the_parser_left_in_several_reads() -> None:
    data = bytes(range(256)) * 4_000  # 1,024,000 bytes: several drain reads
    files.ReadCounter.bytes = 0
    reader = files.HashingReader(io.BytesIO(data))
    stream = io.BufferedReader(reader, 4096)
    assert stream.read(10) == data[:10]  # the parser sniffs a little, then stops
    reader.drain()
    assert reader.size == len(data)
    assert reader.digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert files.ReadCounter.bytes == len(data)


def test_a_rewind_is_hashed_once_and_drain_at_the_end_reads_nothing() -> None:
    data = b'{"ContactId": "c-1"}\n' * 3
    files.ReadCounter.bytes = 0
    reader = files.HashingReader(io.BytesIO(data))
    buffer = bytearray(8)
    assert reader.readinto(buffer) == 8
    reader.seek(0)  # the parser sniffed the format and starts again
    rest = bytearray(len(data))
    assert reader.readinto(rest) == len(data)
    reader.drain()
    assert (reader.size, files.ReadCounter.bytes) == (len(data), len(data))
    assert reader.digest.hexdigest() == hashlib.sha256(data).hexdigest()
