"""Identity resolution built incrementally gives exactly what a full build gives.

``int_customer_identities_resolved`` recomputes only the hashes a (re)staged user holds now
or won before (docs/incremental.md). Three batches of Zendesk users move phone numbers and
e-mail addresses between users; after each incremental build the table must hold, hash by
hash, the winner worked out by hand (the earliest ``created_at``, then the lowest id), and
the last state must equal a full refresh over the same users.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest

from tests.dbt import world
from tests.helpers import query

pytestmark = [pytest.mark.pg, pytest.mark.slow]

# the model and what it reads; pain_point_notes for the seeds' relationship test
SELECT = "+int_customer_identities_resolved pain_point_notes"


def _user(uid: int, created: str, updated: str, email: str | None, phone: str | None,
          batch: int) -> tuple[Any, ...]:  # fmt: skip
    payload = {"id": uid, "email": email, "phone": phone, "user_fields": {"segment": "gold"}}
    return (uid, created, updated, payload, batch)


USERS = [
    # batch 1: users 1 and 3 share an e-mail (1 is older and wins it)
    _user(1, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "a@x.com", "+14155550101", 1),
    _user(2, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "b@x.com", "+14155550102", 1),
    _user(3, "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z", "A@X.com", None, 1),
    # batch 2: user 1 moves to c@x.com (3 inherits a@x.com), user 2 drops its phone (no one
    # else holds it: the hash goes), and user 4, created before everyone (an import), takes
    # the phone of user 1, who did not change
    _user(1, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "c@x.com", "+14155550101", 2),
    _user(2, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "b@x.com", None, 2),
    _user(4, "2025-12-31T00:00:00Z", "2026-02-01T00:00:00Z", "d@x.com", "+14155550101", 2),
    # batch 3: user 3 moves to b@x.com, which the older user 2 keeps; a@x.com is held by no
    # one now
    _user(3, "2026-01-02T00:00:00Z", "2026-03-01T00:00:00Z", "b@x.com", None, 3),
]


def _hash(value: str) -> str:
    return hmac.new(world.HASH_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


LABELS = {
    _hash(value): value
    for value in ("a@x.com", "b@x.com", "c@x.com", "d@x.com", "+14155550101", "+14155550102")
}


def _identities(url: str) -> list[tuple[str, str, str]]:
    rows = query(
        url,
        "select identity_type, identity_hash, customer_id"
        " from intermediate.int_customer_identities_resolved",
    )
    return sorted((kind, LABELS.get(digest, digest), customer) for kind, digest, customer in rows)


EXPECTED = {
    1: [
        ("email", "a@x.com", "zendesk:1"),
        ("email", "b@x.com", "zendesk:2"),
        ("phone", "+14155550101", "zendesk:1"),
        ("phone", "+14155550102", "zendesk:2"),
    ],
    2: [
        ("email", "a@x.com", "zendesk:3"),
        ("email", "b@x.com", "zendesk:2"),
        ("email", "c@x.com", "zendesk:1"),
        ("email", "d@x.com", "zendesk:4"),
        ("phone", "+14155550101", "zendesk:4"),
    ],
    3: [
        ("email", "b@x.com", "zendesk:2"),
        ("email", "c@x.com", "zendesk:1"),
        ("email", "d@x.com", "zendesk:4"),
        ("phone", "+14155550101", "zendesk:4"),
    ],
}


def test_identities_built_by_changed_users_equal_a_full_build(
    pg_server_url: str, tmp_path: Path
) -> None:
    from cxscore.transform import build_models

    data = {"users": USERS}
    settings = world.make_settings(tmp_path / "state")
    with world.scratch_database(pg_server_url) as url:
        for batch in (1, 2, 3):
            world.insert_world(url, batches={batch}, data=data)
            summary = build_models(settings, url=url, select=SELECT, alert=False)
            assert summary["success"], summary
            assert (summary["models"], summary["tests_failed"]) == (4, 0)
            assert _identities(url) == EXPECTED[batch], batch
            # the build read the changed users only: its state says batch `batch` is in
            assert query(
                url,
                "select last_batch_id from intermediate.cx_build_state"
                " where model = 'int_customer_identities_resolved'",
            ) == [(batch,)]
        # the incremental statement of the last build names the changed users' keys
        [compiled] = (Path(settings.state_dir) / "dbt" / "target" / "compiled").rglob(
            "int_customer_identities_resolved.sql"
        )
        assert "_changed_batch_id > 2" in compiled.read_text(encoding="utf-8")
        # a full refresh over the same users: the same rows
        build_models(settings, url=url, select=SELECT, full_refresh=True, alert=False)
        assert _identities(url) == EXPECTED[3]
