"""Contact Lens files are read whole up to a limit, in chunks (no 64 MB buffer per file)."""

from __future__ import annotations

import io

import pytest

from cxscore.sources import contact_lens
from cxscore.sources.common import Rejection


class CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.requests: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.requests.append(-1 if size is None else size)
        return super().read(size)


@pytest.mark.parametrize("size", [0, 1, 5, contact_lens.CHUNK - 1, contact_lens.CHUNK, 200_000])
def test_a_file_within_the_limit_is_read_whole_in_chunks(size: int) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    fh = CountingReader(data[:size])
    assert contact_lens.read_at_most(fh, 1 << 20) == data[:size]
    assert max(fh.requests) <= contact_lens.CHUNK  # never one read of the whole limit
    assert len(fh.requests) == -(-size // contact_lens.CHUNK) + 1  # the chunks, then the end


@pytest.mark.parametrize(("size", "limit", "read"), [(10, 10, 10), (11, 10, 11), (500, 10, 11)])
def test_at_most_one_byte_past_the_limit_is_read(size: int, limit: int, read: int) -> None:
    assert contact_lens.read_at_most(io.BytesIO(b"x" * size), limit) == b"x" * read


def test_a_file_over_the_limit_is_rejected_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contact_lens, "MAX_BYTES", 100)
    path = "Analysis/Voice/2020/02/04/c1_analysis_2020-02-04T21:14:16Z.json"
    found = list(contact_lens.parse_contact_lens(io.BytesIO(b"{" + b" " * 200 + b"}"), path))
    assert found == [Rejection(1, "larger than 100 bytes: not a Contact Lens file", None)]
