"""Customers (Zendesk end-users) and agents, with the mess real CRMs hold.

Phones are stored as people typed them (``(415) 555-0123``, ``+1 415-555-0123``,
``+44 7700 900123`` ...); the contact centre sees the same numbers in E.164. A few customers
share an e-mail (differently cased) or a phone; some have no phone or no segment.
"""

from __future__ import annotations

import random
from typing import Any

from cxscore.generate import model
from cxscore.generate.timefmt import iso_z

ZENDESK_HOST = "https://cxdemo.zendesk.com"
USER_ID_BASE = 20_000_000_000
AGENT_ID_BASE = 19_000_000_000
DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dan",
    "Eva",
    "Finn",
    "Grace",
    "Hugo",
    "Ines",
    "Jack",
    "Kim",
    "Leo",
    "Mia",
    "Noah",
    "Olga",
    "Paul",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Vic",
    "Wes",
    "Xena",
    "Yara",
    "Zoe",
    "Amir",
    "Bea",
    "Carl",
    "Dora",
    "Emil",
    "Fay",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
    "Kai",
    "Lena",
    "Milo",
    "Nina",
    "Omar",
    "Pia",
    "Raj",
    "Sara",
    "Tom",
    "Ugo",
    "Vera",
    "Will",
    "Yusuf",
    "Zara",
]
LAST = [
    "Adams",
    "Baker",
    "Clark",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Meyer",
    "Nguyen",
    "Olsen",
    "Patel",
    "Quinn",
    "Rossi",
    "Smith",
    "Tanaka",
    "Urban",
    "Vogel",
    "Walsh",
    "Xu",
    "Young",
    "Zimmer",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Ferreira",
    "Gomez",
    "Hansen",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Novak",
    "Ortiz",
    "Peters",
    "Ramos",
    "Silva",
    "Torres",
    "Ueda",
    "Varga",
    "Weber",
    "Yilmaz",
    "Zhang",
]


class Customer:
    __slots__ = (
        "address",
        "change_at",
        "created",
        "email",
        "first",
        "idx",
        "last",
        "new_address",
        "new_phone_raw",
        "new_segment",
        "phone_raw",
        "segment",
        "updated",
        "user_id",
    )

    def __init__(self, idx: int) -> None:
        self.idx = idx
        self.user_id = 0
        self.first = ""
        self.last = ""
        self.email = ""
        self.phone_raw: str | None = None
        self.address: str | None = None  # E.164, what Amazon Connect sees
        self.segment: str | None = None
        self.created = 0
        self.updated = 0
        self.change_at: int | None = None
        self.new_phone_raw: str | None = None
        self.new_address: str | None = None
        self.new_segment: str | None = None

    def phone_at(self, ts: int) -> str | None:
        if self.change_at is not None and ts >= self.change_at and self.new_address:
            return self.new_address
        return self.address


def _us_number(rng: random.Random) -> tuple[str, str, str]:
    area = rng.choice((201, 212, 213, 305, 312, 404, 415, 503, 512, 602, 617, 702, 718, 919))
    area += 0 if rng.random() < 0.7 else rng.randrange(0, 80)
    exchange = rng.randrange(200, 1000)
    line = rng.randrange(0, 10_000)
    return f"{area:03d}", f"{exchange:03d}", f"{line:04d}"


def make_phone(rng: random.Random) -> tuple[str, str]:
    """(as typed in the CRM, E.164)."""
    if rng.random() < 0.1:
        mid, rest = rng.randrange(7000, 8000), rng.randrange(0, 1_000_000)
        e164 = f"+44{mid}{rest:06d}"
        raw = f"+44 {mid} {rest:06d}" if rng.random() < 0.6 else e164
        return raw, e164
    a, e, ln = _us_number(rng)
    e164 = f"+1{a}{e}{ln}"
    style = rng.randrange(7)
    raw = (
        e164,
        f"+1 {a}-{e}-{ln}",
        f"({a}) {e}-{ln}",
        f"{a}-{e}-{ln}",
        f"{a}.{e}.{ln}",
        f"+1 ({a}) {e} {ln}",
        f"{a}{e}{ln}",
    )[style]
    return raw, e164


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, float], ...]) -> Any:
    x = rng.random() * sum(w for _, w in pairs)
    for value, weight in pairs:
        x -= weight
        if x < 0:
            return value
    return pairs[-1][0]


def make_customers(rng: random.Random, n: int, start_ts: int, end_ts: int) -> list[Customer]:
    """Customers sorted by sign-up time; Zendesk ids increase with it."""
    customers: list[Customer] = []
    backfill = start_ts - 3 * 86_400  # the CRM team back-filled user_fields.segment then
    for i in range(n):
        c = Customer(i)
        c.first, c.last = rng.choice(FIRST), rng.choice(LAST)
        if rng.random() < model.NEW_CUSTOMER_SHARE:
            c.created = rng.randrange(start_ts, max(start_ts + 1, end_ts - 86_400))
            c.updated = c.created
        else:
            c.created = start_ts - rng.randrange(86_400 * 5, 86_400 * 3 * 365)
            c.updated = backfill + rng.randrange(0, 6 * 3600)
        c.segment = _weighted(rng, model.SEGMENTS)
        c.email = f"{c.first}.{c.last}{rng.randrange(1, 10_000)}@{rng.choice(DOMAINS)}".lower()
        if rng.random() >= model.NO_PHONE_SHARE:
            c.phone_raw, c.address = make_phone(rng)
        customers.append(c)
    customers.sort(key=lambda c: (c.created, c.idx))
    for rank, c in enumerate(customers):
        c.idx = rank
        c.user_id = USER_ID_BASE + rank * 5 + rng.randrange(5)
    # households: shared e-mails (cased differently) and shared phones
    for c in customers[1:]:
        if rng.random() < model.SHARED_EMAIL_SHARE:
            other = customers[rng.randrange(c.idx)]
            local, _, domain = other.email.partition("@")
            c.email = f"{local.title()}@{domain}" if rng.random() < 0.7 else other.email
        if rng.random() < model.SHARED_PHONE_SHARE:
            other = customers[rng.randrange(c.idx)]
            if other.address:
                c.address, c.phone_raw = other.address, other.phone_raw
    # profile changes during the world: a new phone or a segment upgrade
    for c in customers:
        if rng.random() < model.CUSTOMER_UPDATE_SHARE:
            c.change_at = max(c.created + 3600, rng.randrange(start_ts, end_ts))
            if c.change_at >= end_ts:
                c.change_at = None
                continue
            if rng.random() < 0.5 or not c.address:
                c.new_phone_raw, c.new_address = make_phone(rng)
            else:
                c.new_segment = {"bronze": "silver", "silver": "gold"}.get(
                    c.segment or "", "silver"
                )
    return customers


def user_object(c: Customer, *, after_change: bool = False) -> dict[str, Any]:
    phone = c.new_phone_raw if after_change and c.new_phone_raw else c.phone_raw
    segment = c.new_segment if after_change and c.new_segment else c.segment
    updated = c.change_at if after_change and c.change_at else c.updated
    return {
        "id": c.user_id,
        "url": f"{ZENDESK_HOST}/api/v2/users/{c.user_id}.json",
        "name": f"{c.first} {c.last}",
        "email": c.email,
        "created_at": iso_z(c.created),
        "updated_at": iso_z(updated),
        "time_zone": "Eastern Time (US & Canada)",
        "iana_time_zone": "America/New_York",
        "phone": phone,
        "shared_phone_number": None if phone is None else False,
        "photo": None,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": None,
        "role": "end-user",
        "verified": True,
        "external_id": None,
        "tags": [segment] if segment else [],
        "alias": None,
        "active": True,
        "shared": False,
        "shared_agent": False,
        "last_login_at": None,
        "two_factor_auth_enabled": None,
        "signature": None,
        "details": None,
        "notes": None,
        "role_type": None,
        "custom_role_id": None,
        "moderator": False,
        "ticket_restriction": "requested",
        "only_private_comments": False,
        "restricted_agent": True,
        "suspended": False,
        "default_group_id": None,
        "report_csv": False,
        "user_fields": {"segment": segment, "loyalty_opt_in": segment in ("gold", "silver")},
    }


class Agent:
    __slots__ = ("arn", "created", "email", "group", "name", "user_id", "username")

    def __init__(self, i: int, group: str, created: int, instance_arn: str) -> None:
        self.user_id = AGENT_ID_BASE + 17 * i + 3
        self.name = f"{FIRST[(i * 7) % len(FIRST)]} {LAST[(i * 11) % len(LAST)]}"
        self.username = self.name.lower().replace(" ", ".")
        self.email = f"{self.username}@support.example.com"
        self.group = group
        self.created = created
        self.arn = f"{instance_arn}/agent/{i:08x}-7a1e-4c2b-9d0e-{i:012x}"


def agent_user(a: Agent, updated: int) -> dict[str, Any]:
    return {
        "id": a.user_id,
        "url": f"{ZENDESK_HOST}/api/v2/users/{a.user_id}.json",
        "name": a.name,
        "email": a.email,
        "created_at": iso_z(a.created),
        "updated_at": iso_z(updated),
        "time_zone": "UTC",
        "iana_time_zone": "Etc/UTC",
        "phone": None,
        "shared_phone_number": None,
        "photo": None,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": None,
        "role": "agent",
        "verified": True,
        "external_id": None,
        "tags": [],
        "alias": "",
        "active": True,
        "shared": False,
        "shared_agent": False,
        "last_login_at": iso_z(updated),
        "two_factor_auth_enabled": True,
        "signature": f"{a.name}, Customer Care",
        "details": "",
        "notes": "",
        "role_type": None,
        "custom_role_id": None,
        "moderator": False,
        "ticket_restriction": None,
        "only_private_comments": False,
        "restricted_agent": False,
        "suspended": False,
        "default_group_id": None,
        "report_csv": True,
        "user_fields": {"segment": None, "loyalty_opt_in": False},
    }
