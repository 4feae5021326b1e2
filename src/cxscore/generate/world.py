"""The customer-journey simulator and the day-by-day writer behind ``cxscore generate``.

Two phases per day keep the world streamable (memory bounded by a few weeks of pending
records, never by the whole world):

1. *plan*: journeys that start on day ``d`` are simulated from a per-day RNG
   (``Random(f"{seed}:plan:{d}")``); each contact, ticket, order or survey they produce is
   a plan filed under the day it happens (a recontact can land days later);
2. *render*: the plans of day ``d`` are turned, in time order, into vendor records (Zendesk
   ids are assigned here, so they grow with creation time like Zendesk's own) and written:
   Zendesk versions to the delivery of their ``updated_at``, Connect CTRs under the day of
   their ``LastUpdateTimestamp``, order rows under the day of their ``updated_at``, survey
   responses under the day of their ``EndDate`` (exports cover the last 8 days).

Same seed, same bytes: every random draw comes from a seeded ``random.Random``.
"""

from __future__ import annotations

import math
import random
import time
from bisect import bisect_right
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import IO, Any

import orjson

from cxscore.errors import CxError
from cxscore.generate import model
from cxscore.generate.formats import (
    INSTANCE_ARN,
    Landing,
    Response,
    agent_obj,
    contact_id,
    ctr,
    queue_obj,
    write_ctr_file,
    write_orders_file,
    write_qualtrics_file,
)
from cxscore.generate.people import (
    ZENDESK_HOST,
    Agent,
    Customer,
    agent_user,
    make_customers,
    make_phone,
    user_object,
)
from cxscore.generate.texts import (
    CONTACT_LENS_LANGUAGES,
    LOCALES,
    agent_text,
    customer_language,
    customer_text,
)
from cxscore.generate.timefmt import day_str, iso_offset, iso_z

DAY = 86_400
MANIFEST_FORMAT = "cxscore-world/1"
TICKET_ID_START = 100_001
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

COMMENTS_GOOD = (
    "Quick and friendly, thank you!",
    "Sorted in one call. Great job.",
    'The agent was "super helpful", thanks',
    "Easy, fast, no hassle",
    "Very happy with the service, will recommend",
    "",
)
COMMENTS_MID = (
    "OK, but it took a while.",
    "Fine in the end",
    "Had to explain my issue twice, otherwise good",
    "The wait was long; the agent was nice",
    "",
    "",
)
COMMENTS_BAD = (
    "Waited forever, then got cut off.",
    "Still not fixed after three contacts!!",
    'They said "we will call back" and never did',
    "Nobody could tell me when the service is back",
    "Billing is a mess, charged twice",
    "Terrible.\nI want a refund.",
    "",
)


class Hist:
    """What happened earlier in a journey (drives recontacts and survey mood)."""

    __slots__ = ("abandons", "contacts")

    def __init__(self) -> None:
        self.abandons = 0
        self.contacts = 0


class CallPlan:
    __slots__ = (
        "acw",
        "address",
        "agent",
        "channel",
        "cid",
        "email",
        "escalated",
        "handle",
        "hold",
        "initial",
        "ivr_menu",
        "ivr_secs",
        "method",
        "outcome",
        "prev",
        "queue",
        "ssc",
        "survey",
        "t",
        "tone",
        "tp",
        "transfer",
        "wait",
    )

    def __init__(self, t: int, channel: str, method: str, cid: str) -> None:
        self.t = t
        self.channel = channel
        self.method = method
        self.cid = cid
        self.queue: str | None = None
        self.ivr_menu: str | None = None
        self.ivr_secs = 0
        self.address: str | None = None
        self.email: str | None = None
        self.outcome = "answered"
        self.wait = 0
        self.handle = 0
        self.hold = 0
        self.acw = 0
        self.agent: Agent | None = None
        self.transfer: tuple[str, str, int, int, Agent | None] | None = None
        self.escalated = False
        self.ssc: str | None = None
        self.prev: str | None = None
        self.initial: str | None = None
        self.survey: tuple[float, Customer | None] | None = None
        self.tp = ""
        self.tone: float | None = None  # the mood behind the customer's words


class TicketPlan:
    __slots__ = (
        "cust",
        "deleted",
        "group",
        "priority",
        "reopen",
        "reply",
        "solve",
        "solve2",
        "stations",
        "subject",
        "survey",
        "t",
        "tags",
        "tone",
        "tp",
        "ttype",
        "via",
    )

    def __init__(self, t: int, cust: Customer, tp: str, via: str, tags: list[str]) -> None:
        self.t = t
        self.cust = cust
        self.tp = tp
        self.via = via
        self.tags = tags
        self.ttype = "question"
        self.priority = "normal"
        self.subject = ""
        self.group = "Support"
        self.reply: int | None = None  # seconds after creation
        self.solve: int | None = None
        self.reopen: int | None = None
        self.solve2: int | None = None
        self.deleted: int | None = None
        self.stations = 1
        self.survey: float | None = None
        self.tone: float | None = None


class OrderPlan:
    __slots__ = ("amount", "email", "events", "offset", "t")

    def __init__(self, t: int, email: str, amount: str, events: list[tuple[int, str]]) -> None:
        self.t = t
        self.email = email
        self.amount = amount
        self.events = events  # (seconds after ordering, status)
        self.offset = 0


class SurveyPlan:
    __slots__ = ("cust", "mood", "t", "touchpoint")

    def __init__(self, t: int, cust: Customer, touchpoint: str, mood: float) -> None:
        self.t = t
        self.cust = cust
        self.touchpoint = touchpoint
        self.mood = mood


Plan = CallPlan | TicketPlan | OrderPlan | SurveyPlan


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _wait_curve(rho: float) -> float:
    """Mean wait in units of the queue's scale: M/M/1-like, then linear past 90%."""
    if rho <= 0.9:
        return rho / (1.0 - rho)
    return min(40.0, 9.0 + 60.0 * (rho - 0.9))


def _clamp(x: float, lo: int, hi: int) -> int:
    return lo if x < lo else hi if x > hi else round(x)


def incident_start(start: date, days: int) -> date | None:
    """A Monday around the middle of the world whose week fits in it (None if < 7 days)."""
    if days < model.INCIDENT_DAYS:
        return None
    end = start + timedelta(days=days)
    target = start + timedelta(days=max(0, days // 2 - 3))
    monday = target + timedelta(days=(7 - target.weekday()) % 7)
    while monday + timedelta(days=model.INCIDENT_DAYS) > end and monday > start:
        monday -= timedelta(days=7)
    if monday < start:
        return start + timedelta(days=(days - model.INCIDENT_DAYS) // 2)
    return monday


class World:
    def __init__(
        self,
        out: Path,
        *,
        days: int,
        customers: int,
        seed: int,
        start: date,
        increments: int,
        progress: bool,
    ) -> None:
        if days < 1 or customers < 1:
            raise CxError("generate needs --days >= 1 and --customers >= 1")
        if not 1 <= increments <= days:
            raise CxError(f"--increments must be between 1 and --days ({days}), got {increments}")
        self.out = Path(out)
        self.days = days
        self.n_customers = customers
        self.seed = seed
        self.start = start
        self.increments = increments
        self.progress = progress
        self.start_ts = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
        self.end_ts = self.start_ts + days * DAY
        self.day0 = self.start_ts // DAY
        self.bounds = [round(days * k / increments) for k in range(increments + 1)]
        self.day_delivery = [bisect_right(self.bounds, d) for d in range(days)]
        inc = incident_start(start, days)
        self.incident_day = None if inc is None else (inc - start).days
        self.incident = inc
        self.landing = Landing(self.out / "landing", increments)
        self.plans: dict[int, list[tuple[int, int, Plan]]] = defaultdict(list)
        self.ctr_bucket: dict[int, list[tuple[int, int, bytes]]] = defaultdict(list)
        self.order_bucket: dict[int, list[tuple[int, int, list[str]]]] = defaultdict(list)
        self.survey_bucket: dict[int, list[Response]] = defaultdict(list)
        self.survey_window: list[Response] = []
        self.seq = 0
        self.next_ticket = TICKET_ID_START
        self.next_order = 1
        self.export_index = 0
        self._curves: dict[tuple[str, str, int], list[float]] = {}
        self._conv_acc: dict[str, float] = defaultdict(float)
        self._last_touch = 0  # latest contact planned by the journey being simulated
        self.counts: dict[str, int] = defaultdict(int)
        for key in (  # always in the manifest, 0 when a small world has none
            "contact_records", "duplicate_records", "tickets", "ticket_versions", "orders",
            "order_rows", "survey_responses", "users", "user_versions",
        ):  # fmt: skip
            self.counts[key] = 0
        self._hour_cum = {k: list(accumulate(v)) for k, v in model.HOURLY.items()}
        rng = random.Random(f"{seed}:customers")
        self.customers = make_customers(rng, customers, self.start_ts, self.end_ts)
        self.busy_until = [0] * len(self.customers)  # by Customer.idx: end of quiet time
        self._cum_activity = list(
            accumulate(model.SEGMENT_ACTIVITY[c.segment] for c in self.customers)
        )
        groups = ("Sales", "Support", "Billing", "Retention", "Support", "Support")
        self.agents = [
            Agent(i, groups[i % len(groups)], self.start_ts - DAY * (400 + 9 * i), INSTANCE_ARN)
            for i in range(model.AGENTS)
        ]
        self.agents_by_group: dict[str, list[Agent]] = defaultdict(list)
        for a in self.agents:
            self.agents_by_group[a.group].append(a)
        self.agents_by_group["Back Office"] = self.agents_by_group["Support"]
        self.agents_by_group["Outbound"] = self.agents_by_group["Sales"]
        self.zd_tickets: list[IO[bytes]] = []
        self.zd_events: list[IO[bytes]] = []

    # ------------------------------------------------------------------ helpers
    def delivery_of(self, ts: int) -> int | None:
        d = (ts - self.start_ts) // DAY
        if d < 0:
            return 1
        if d >= self.days:
            return None
        return self.day_delivery[d]

    def inc_index(self, ts: int) -> int | None:
        if self.incident_day is None:
            return None
        i = (ts - self.start_ts) // DAY - self.incident_day
        return i if 0 <= i < model.INCIDENT_DAYS else None

    def _demand(self, inc: int | None) -> float:
        return 1.0 if inc is None else model.INCIDENT_DEMAND[inc]

    def _t(self, rng: random.Random, d: int, family: str) -> int:
        cum = self._hour_cum[family]
        h = bisect_right(cum, rng.random() * cum[-1])
        return self.start_ts + d * DAY + min(h, 23) * 3600 + rng.randrange(3600)

    def _add(self, plan: Plan) -> None:
        if isinstance(plan, (CallPlan, TicketPlan)):
            self._last_touch = max(self._last_touch, plan.t)
        d = (plan.t - self.start_ts) // DAY
        if d >= self.days:
            return
        self.seq += 1
        self.plans[d].append((plan.t, self.seq, plan))

    def wait_mean(self, channel: str, queue: str, ts: int) -> float:
        d, sec = divmod(ts - self.start_ts, DAY)
        key = (channel, queue, d)
        curve = self._curves.get(key)
        if curve is None:
            rho0, scale = model.QUEUES[(channel, queue)]
            weights = model.HOURLY["voice" if channel == "VOICE" else "chat"]
            mean_open = sum(weights[7:21]) / 14
            inc = self.inc_index(self.start_ts + d * DAY)
            demand, staffing = 1.0, 1.0
            if inc is not None and queue in ("Support", "Billing"):
                demand = self._demand(inc)
                if queue == "Billing":
                    demand = 1.0 + (demand - 1.0) * 0.4
                staffing = model.INCIDENT_STAFFING[inc]
            noise = random.Random(f"{self.seed}:staff:{d}:{channel}:{queue}").uniform(0.92, 1.08)
            curve = [
                scale
                * _wait_curve(rho0 * noise * demand / staffing * w / (0.6 * w + 0.4 * mean_open))
                for w in weights
            ]
            self._curves[key] = curve
        return curve[min(23, sec // 3600)]

    @staticmethod
    def survey_rate(tp: str) -> float:
        return model.SURVEY_RESPONSE.get(tp, model.SURVEY_RESPONSE_DEFAULT)

    def converts(self, path: str, t: int, tp: str = "") -> bool:  # t: the contact's start
        """Assisted conversion follows its (slowly rising) rate closely: an accumulator per
        path, touchpoint and ISO week of the contact instead of a coin flip, so weekly rates
        trend instead of jumping around (plans are made out of time order, hence the week)."""
        weeks = max(0.0, (t - self.start_ts) / (7 * DAY))
        key = f"{path}:{tp}:{(t // DAY + 3) // 7}"  # 1970-01-01 was a Thursday
        acc = self._conv_acc[key] + model.CONVERSION[path] * (
            1.0 + model.CONVERSION_TREND_PER_WEEK * weeks
        )
        hit = acc >= 1.0
        self._conv_acc[key] = acc - 1.0 if hit else acc
        return hit

    def pick(self, rng: random.Random) -> Customer:
        x = rng.random() * self._cum_activity[-1]
        return self.customers[min(bisect_right(self._cum_activity, x), len(self.customers) - 1)]

    def mood(
        self,
        rng: random.Random,
        tp: str,
        cust: Customer | None,
        t: int,
        *,
        wait_ratio: float,
        hist: Hist,
        resolved: bool,
        transferred: bool = False,
    ) -> float:
        q = model.BASE_MOOD.get(tp, 0.72)
        if cust is not None:
            q += model.SEGMENT_MOOD[cust.segment]
        q -= min(0.3, 0.3 * wait_ratio)
        q -= 0.12 * hist.abandons + 0.08 * min(hist.contacts - 1, 3)
        if not resolved:
            q -= 0.15
        if transferred:
            q -= 0.06
        inc = self.inc_index(t)
        if inc is not None:
            q -= model.INCIDENT_MOOD[inc]
        return q + rng.gauss(0.0, 0.1)

    def _tone(
        self,
        survey: tuple[float, Customer | None] | None,
        tp: str,
        cust: Customer | None,
        t: int,
        key: str,
        wait_ratio: float,
        hist: Hist,
        resolved: bool,
        transferred: bool,
    ) -> float:
        """The mood behind the customer's words: the survey's when there is one, else drawn
        the same way from its own random stream (the world's other draws stay as they were)."""
        if survey is not None:
            return survey[0]
        return self.mood(
            random.Random(f"{self.seed}:tone:{key}"),
            tp,
            cust,
            t,
            wait_ratio=wait_ratio,
            hist=hist,
            resolved=resolved,
            transferred=transferred,
        )

    # ------------------------------------------------------------------ contact primitives
    def voice(
        self,
        rng: random.Random,
        t: int,
        cust: Customer,
        queue: str,
        hist: Hist,
        *,
        ivr_menu: str | None = None,
        method: str = "INBOUND",
        prev: str | None = None,
    ) -> tuple[int, bool]:
        """A phone call through the IVR into ``queue``; returns (end, resolved)."""
        plan = CallPlan(t, "VOICE", method, contact_id(rng))
        plan.queue = queue
        plan.ivr_menu = ivr_menu or queue.lower()
        plan.prev = plan.initial = prev
        plan.tp = {
            "Sales": "phone_sales",
            "Support": "phone_support",
            "Billing": "phone_billing",
        }.get(queue, "unmapped_phone")
        address = cust.phone_at(t)
        if address is None or rng.random() < model.UNKNOWN_CALLER.get(queue, 0.1):
            address = make_phone(rng)[1]
        plan.address = address
        plan.ivr_secs = rng.randint(15, 75) if method == "INBOUND" else 0
        enq = t + plan.ivr_secs
        mean = self.wait_mean("VOICE", queue, enq)
        if cust.segment == "gold":
            mean *= 0.6
        if method == "CALLBACK":
            mean = rng.uniform(3, 25)
        hist.contacts += 1
        if method == "INBOUND" and mean > model.CALLBACK_OFFER_WAIT and rng.random() < 0.35:
            plan.outcome = "callback_offer"
            plan.wait = rng.randint(20, 45)
            self._add(plan)
            back = enq + plan.wait + int(mean * rng.uniform(0.7, 1.6))
            return self.voice(
                rng, back, cust, queue, hist, ivr_menu=ivr_menu, method="CALLBACK", prev=plan.cid
            )
        if method == "INBOUND" and rng.random() < model.SHORT_ABANDON_SHARE:
            hist.contacts -= 1
            return self._unanswered(plan, enq, "short", rng.randint(1, 4), hist)
        wait = rng.expovariate(1.0 / mean) if mean > 0 else 0.0
        patience = model.VOICE_PATIENCE[0] + rng.expovariate(1.0 / model.VOICE_PATIENCE[1])
        if method == "CALLBACK" and rng.random() < 0.07:
            return self._unanswered(plan, enq, "missed", int(wait) + 20, hist)
        if wait > patience and method == "INBOUND":
            return self._unanswered(plan, enq, "abandoned", int(patience), hist)
        plan.wait = int(wait)
        plan.agent = rng.choice(self.agents_by_group[queue])
        plan.handle = int(rng.lognormvariate(math.log(model.HANDLE_SECONDS[queue]), 0.45))
        if rng.random() < 0.3:
            plan.hold = rng.randint(20, 180)
        plan.acw = rng.randint(20, 120)
        plan.escalated = queue in ("Support", "Billing") and rng.random() < 0.04
        end = enq + plan.wait + plan.handle + plan.hold
        transferred = False
        for target, p in model.TRANSFERS[queue]:
            if rng.random() < p:
                tw = int(rng.expovariate(1.0 / self.wait_mean("VOICE", target, end)))
                agent = rng.choice(self.agents_by_group[target]) if rng.random() < 0.92 else None
                plan.transfer = (target, contact_id(rng), tw, rng.randint(120, 600), agent)
                transferred = True
                end += tw + plan.transfer[3]
                break
        inc = self.inc_index(t)
        p_res = model.RESOLVE[queue]
        if inc is not None and queue in ("Support", "Billing"):
            p_res -= 0.3 * (self._demand(inc) - 1.0) / 1.9
        resolved = rng.random() < p_res
        if rng.random() < self.survey_rate(plan.tp):
            q = self.mood(
                rng,
                plan.tp,
                cust,
                t,
                wait_ratio=plan.wait / 300,
                hist=hist,
                resolved=resolved,
                transferred=transferred,
            )
            plan.survey = (q, cust)
        plan.tone = self._tone(
            plan.survey, plan.tp, cust, t, plan.cid, plan.wait / 300, hist, resolved, transferred
        )
        self._add(plan)
        return end, resolved

    def _unanswered(
        self, plan: CallPlan, enq: int, outcome: str, wait: int, hist: Hist
    ) -> tuple[int, bool]:
        """A contact no agent took (short, missed or abandoned): recorded with its wait; returns
        when the customer is free again and that nothing was resolved."""
        plan.outcome, plan.wait = outcome, wait
        if outcome == "abandoned":
            hist.abandons += 1
        self._add(plan)
        return enq + plan.wait, False

    def chat(
        self, rng: random.Random, t: int, cust: Customer, queue: str, hist: Hist
    ) -> tuple[int, bool]:
        plan = CallPlan(t, "CHAT", "INBOUND", contact_id(rng))
        plan.queue = queue
        plan.tp = {"Sales": "chat_presales", "Support": "chat_support"}.get(queue, "unmapped_chat")
        r = rng.random()
        email = cust.email
        if r < 0.1:
            email = email.upper()
        elif r < 0.1 + model.GUEST_CHAT_SHARE.get(queue, 0.08):
            email = f"guest{rng.randrange(10**6)}@example.com"
        plan.email = email
        plan.ivr_secs = rng.randint(5, 20)
        enq = t + plan.ivr_secs
        mean = self.wait_mean("CHAT", queue, enq)
        hist.contacts += 1
        wait = rng.expovariate(1.0 / mean)
        patience = model.CHAT_PATIENCE[0] + rng.expovariate(1.0 / model.CHAT_PATIENCE[1])
        if rng.random() < model.SHORT_ABANDON_SHARE:
            return self._unanswered(plan, enq, "short", rng.randint(1, 4), hist)
        if wait > patience:
            return self._unanswered(plan, enq, "abandoned", int(patience), hist)
        plan.wait = int(wait)
        plan.agent = rng.choice(self.agents_by_group[queue])
        plan.handle = int(rng.lognormvariate(math.log(540), 0.5))
        plan.acw = rng.randint(10, 60)
        resolved = rng.random() < model.RESOLVE["chat"]
        if rng.random() < self.survey_rate(plan.tp):
            q = self.mood(
                rng, plan.tp, cust, t, wait_ratio=plan.wait / 600, hist=hist, resolved=resolved
            )
            plan.survey = (q, cust)
        plan.tone = self._tone(
            plan.survey, plan.tp, cust, t, plan.cid, plan.wait / 600, hist, resolved, False
        )
        self._add(plan)
        return enq + plan.wait + plan.handle, resolved

    def ivr(
        self, rng: random.Random, t: int, cust: Customer, menu: str, hist: Hist, opt_out_queue: str
    ) -> tuple[int, bool]:
        p_contained = 0.88 if menu == "outage_info" else 0.72
        if rng.random() < p_contained:
            plan = self._ivr_plan(rng, t, cust, menu, "contained", (40, 200))
            hist.contacts += 1
            resolved = rng.random() < (0.55 if menu == "outage_info" else model.RESOLVE["ivr"])
            if rng.random() < 0.06:
                q = self.mood(rng, plan.tp, cust, t, wait_ratio=0, hist=hist, resolved=resolved)
                plan.survey = (q, cust)
            self._add(plan)
            return t + plan.ivr_secs, resolved
        if rng.random() < 0.6:
            return self.voice(rng, t, cust, opt_out_queue, hist, ivr_menu=menu)
        plan = self._ivr_plan(rng, t, cust, menu, "ivr_exit", (20, 120))
        hist.contacts += 1
        self._add(plan)
        return t + plan.ivr_secs, False

    @staticmethod
    def _ivr_plan(
        rng: random.Random, t: int, cust: Customer, menu: str, outcome: str, secs: tuple[int, int]
    ) -> CallPlan:
        """A call that ends in the IVR: contained (self-service succeeded) or an exit."""
        plan = CallPlan(t, "VOICE", "INBOUND", contact_id(rng))
        plan.ivr_menu = menu
        plan.tp = "ivr_self_service"
        address = cust.phone_at(t)
        plan.address = address if address else make_phone(rng)[1]
        plan.outcome = outcome
        plan.ssc = "true" if outcome == "contained" else "false"
        plan.ivr_secs = rng.randint(*secs)
        return plan

    def ticket(
        self,
        rng: random.Random,
        t: int,
        cust: Customer,
        tp: str,
        via: str,
        tags: list[str],
        hist: Hist,
        *,
        survey_channel: str | None,
        group: str = "Support",
        ttype: str = "question",
        subject: str = "",
    ) -> tuple[int, bool]:
        plan = TicketPlan(t, cust, tp, via, tags)
        plan.group, plan.ttype, plan.subject = group, ttype, subject
        median_h, sigma, solve_h = model.ZD_REPLY.get(tp, model.ZD_REPLY["unmapped_web"])
        inc = self.inc_index(t)
        load = 1.0
        if inc is not None and tp in (
            "email_support",
            "chat_support",
            "unmapped_social",
            "social_review",
        ):
            load = 1.0 + 1.5 * (self._demand(inc) - 1.0)
        hist.contacts += 1
        plan.reply = max(30, int(rng.lognormvariate(math.log(median_h * 3600 * load), sigma)))
        if rng.random() < model.TICKET_DELETED:
            plan.deleted = rng.randint(600, 4 * 3600)
            plan.reply = None
            self._add(plan)
            return t, False
        p_res = model.RESOLVE["chat" if via in ("chat", "native_messaging") else "email"]
        if inc is not None:
            p_res -= 0.25 * (self._demand(inc) - 1.0) / 1.9
        p_res = model.TICKET_RESOLVE.get(tp, p_res)
        resolved = rng.random() < p_res
        plan.solve = plan.reply + int(rng.lognormvariate(math.log(solve_h * 3600), 0.7))
        p_reopen, p_transfer, p_open = model.TICKET_QUALITY.get(
            tp, (model.TICKET_REOPEN, model.TICKET_TRANSFER, 0.04)
        )
        if rng.random() < p_open:  # still open at the end of the story
            plan.solve = None
        if plan.solve is not None and rng.random() < p_reopen:
            plan.reopen = plan.solve + rng.randint(3600, 3 * DAY)
            plan.solve2 = plan.reopen + rng.randint(1800, 2 * DAY)
            resolved = False
        if rng.random() < p_transfer:
            plan.stations = 2
        p_escalate = (
            model.TICKET_ESCALATED_TAG if tp not in model.TICKET_QUALITY else p_transfer / 3
        )
        if rng.random() < p_escalate and group == "Support":
            plan.tags = [*plan.tags, "escalated"]
        if rng.random() < model.TICKET_URGENT:
            plan.priority = "urgent"
        elif rng.random() < 0.2:
            plan.priority = rng.choice(("low", "high"))
        if survey_channel and plan.solve is not None and rng.random() < self.survey_rate(tp):
            tolerance = 600 if via in ("chat", "native_messaging") else 24 * 3600
            plan.survey = self.mood(
                rng,
                tp,
                cust,
                t,
                wait_ratio=plan.reply / tolerance,
                hist=hist,
                resolved=resolved and plan.reopen is None,
                transferred=plan.stations > 1,
            )
        tolerance = 600 if via in ("chat", "native_messaging") else 24 * 3600
        plan.tone = (
            plan.survey
            if plan.survey is not None
            else self.mood(
                random.Random(f"{self.seed}:tone:{t}:{cust.idx}:{tp}"),
                tp,
                cust,
                t,
                wait_ratio=(plan.reply or tolerance * 2) / tolerance,
                hist=hist,
                resolved=resolved and plan.reopen is None,
                transferred=plan.stations > 1,
            )
        )
        self._add(plan)
        return t + (plan.solve2 or plan.solve or plan.reply), resolved

    def order(self, rng: random.Random, t: int, cust: Customer, path: str) -> None:
        seg = cust.segment
        amount = rng.lognormvariate(math.log(model.ORDER_MEDIAN[seg]), 0.55)
        email = cust.email
        r = rng.random()
        guest = (
            model.GUEST_ORDER_SHARE if path in ("organic", "other") else model.ASSISTED_GUEST_SHARE
        )
        if r < guest:
            email = f"guest{rng.randrange(10**7)}@example.org"
        elif r < guest + 0.08:
            email = email.upper()
        elif r < guest + 0.1:
            email = f" {email} "
        events: list[tuple[int, str]] = []
        if rng.random() < model.CANCEL_RATE:
            events.append((rng.randint(600, 6 * 3600), "cancelled"))
        else:
            fulfil = rng.randint(12 * 3600, 3 * DAY)
            events.append((fulfil, "fulfilled"))
            if rng.random() < model.REFUND_RATE.get(path, model.REFUND_RATE["other"]):
                back = fulfil + rng.randint(3 * DAY, 18 * DAY)
                if rng.random() < model.RETURN_SHARE_OF_REFUNDS:
                    back += 6 * DAY  # the return ticket comes after the FCR window
                    events.append((back, "returned"))
                    self.returns_ticket(
                        rng, t + back - rng.randint(DAY, 3 * DAY), cust, ["returns", "rma"],
                        ttype="task", subject="Return request",
                    )  # fmt: skip
                else:
                    events.append((back, "refunded"))
            if rng.random() < 0.04:
                happy = rng.random() < 0.6
                self.ticket(
                    rng,
                    t + fulfil + rng.randint(8 * DAY, 20 * DAY),
                    cust,
                    "social_review",
                    rng.choice(("twitter", "facebook", "instagram_dm")),
                    ["review", "positive" if happy else "negative"],
                    Hist(),
                    survey_channel=None,
                    group="Social",
                    subject="Public review",
                )
        plan = OrderPlan(t, email, f"{amount:.2f}", events)
        style = rng.random()
        plan.offset = 0 if style < 0.8 else (-300 if style < 0.93 else 9999)  # 9999: naive UTC
        self._add(plan)

    # ------------------------------------------------------------------ journeys
    def j_campaign(self, rng: random.Random, d: int, cust: Customer) -> None:
        t = self._t(rng, d, "social")
        via = rng.choice(("twitter", "facebook", "instagram_dm"))
        promo = rng.choice(("spring_sale", "new_collection", "loyalty_week"))
        self.ticket(
            rng, t, cust, "social_campaign_reply", via, ["campaign", promo], Hist(),
            survey_channel=None, group="Social", subject="Re: our latest campaign",
        )  # fmt: skip
        if rng.random() < 0.3:
            self.j_shopping(rng, d, cust, t=t + self.step_gap(rng))

    def j_shopping(self, rng: random.Random, d: int, cust: Customer, t: int | None = None) -> None:
        t = self._t(rng, d, "chat") if t is None else t
        hist = Hist()
        if rng.random() < 0.55:
            r = rng.random()
            first = "web_presales_question" if r < 0.4 else "chat_presales"
            if r < 0.4:
                end, _ = self.ticket(
                    rng, t, cust, "web_presales_question", rng.choice(("web", "web_form")),
                    ["presales", "product_question"], hist, survey_channel="web",
                    group="Sales", subject="Question before buying",
                )  # fmt: skip
            elif r < 0.7:
                end, _ = self.ticket(
                    rng, t, cust, "chat_presales", rng.choice(("chat", "native_messaging")),
                    ["presales"], hist, survey_channel="CHAT", group="Sales",
                    subject="Chat with a product expert",
                )  # fmt: skip
            else:
                end, _ = self.chat(rng, t, cust, "Sales", hist)
            if self.converts("presales_only", t, first):  # buys on their own after it
                self.order(rng, end + rng.randint(3600, 2 * DAY), cust, "other")
                return
            if rng.random() >= 0.35:
                return
            t = end + self.step_gap(rng)  # buying with help comes weeks later
            hist = Hist()  # the next planned step, not a recontact
        if rng.random() < 0.55 and cust.phone_at(t) is not None:
            end, ok = self.voice(rng, t, cust, "Sales", hist, ivr_menu="sales")
            if ok and self.converts("phone_sales", t):
                self.order(rng, end + rng.randint(300, 7200), cust, "phone_sales")
        else:
            end, ok = self.ticket(
                rng, t, cust, "chat_checkout_help", rng.choice(("chat", "native_messaging")),
                ["checkout", "payment"], hist, survey_channel="CHAT", group="Sales",
                subject="Help with checkout",
            )  # fmt: skip
            if ok and self.converts("chat_checkout_help", t):
                self.order(rng, end + rng.randint(300, 7200), cust, "chat_checkout_help")

    def j_support(self, rng: random.Random, d: int, cust: Customer) -> None:
        inc = self.inc_index(self.start_ts + d * DAY)
        t = self._t(rng, d, "voice")
        hist = Hist()
        weights = (0.42, 0.2, 0.2, 0.18) if inc is None else (0.5, 0.13, 0.12, 0.25)
        channel = rng.choices(("phone", "email", "chat", "ivr"), weights)[0]
        for attempt in range(4):
            if channel == "phone":
                end, ok = self.voice(rng, t, cust, "Support", hist, ivr_menu="support")
            elif channel == "email":
                end, ok = self.ticket(
                    rng, t, cust, "email_support", "email",
                    ["support", rng.choice(("delivery", "account", "product"))], hist,
                    survey_channel="email",
                    ttype=rng.choice(("incident", "problem", "question")),
                    subject="Problem with my order",
                )  # fmt: skip
            elif channel == "chat":
                if rng.random() < 0.4:
                    end, ok = self.chat(rng, t, cust, "Support", hist)
                else:
                    end, ok = self.ticket(
                        rng, t, cust, "chat_support", rng.choice(("chat", "native_messaging")),
                        ["support"], hist, survey_channel="CHAT", subject="Chat",
                    )  # fmt: skip
            else:
                menu = (
                    "outage_info"
                    if inc is not None and rng.random() < 0.6
                    else rng.choice(("order_status", "delivery_status", "store_hours"))
                )
                end, ok = self.ivr(rng, t, cust, menu, hist, "Support")
            if ok or rng.random() < 0.25 + 0.1 * attempt:  # solved, or the customer gives up
                return
            if hist.abandons and rng.random() < 0.7:
                t = end + rng.randint(120, 2 * 3600)
                channel = "phone"
            else:
                t = end + int(rng.lognormvariate(math.log(8 * 3600), 1.0))
                channel = rng.choices(("phone", "email", "chat"), (0.6, 0.25, 0.15))[0]

    def j_billing(self, rng: random.Random, d: int, cust: Customer) -> None:
        t = self._t(rng, d, "voice")
        hist = Hist()
        for attempt in range(3):
            if attempt == 0 and rng.random() < 0.25:
                end, ok = self.ivr(rng, t, cust, "balance", hist, "Billing")
            elif rng.random() < 0.08:
                end, ok = self.chat(rng, t, cust, "Billing", hist)
            else:
                end, ok = self.voice(rng, t, cust, "Billing", hist, ivr_menu="billing")
            if ok or rng.random() < 0.35:
                return
            t = end + int(rng.lognormvariate(math.log(6 * 3600), 1.0))

    def step_gap(self, rng: random.Random) -> int:
        lo, hi = model.STEP_GAP_DAYS
        return rng.randint(lo * DAY, hi * DAY)

    def returns_ticket(
        self,
        rng: random.Random,
        t: int,
        cust: Customer,
        tags: list[str],
        *,
        ttype: str,
        subject: str,
    ) -> None:
        """A web returns ticket; an unanswered one is chased within hours, on the web form
        again or by e-mail (the returns desk is slow and often misses the point)."""
        hist = Hist()
        for _ in range(3):
            _, ok = self.ticket(
                rng, t, cust, "web_returns", "web", tags, hist, survey_channel="web",
                group="Returns", ttype=ttype, subject=subject,
            )  # fmt: skip
            if ok or rng.random() < 0.3:
                return
            t += int(rng.lognormvariate(math.log(7 * 3600), 0.8))
            if rng.random() < 0.3:
                self.ticket(
                    rng, t, cust, "email_support", "email", ["support", "returns"], hist,
                    survey_channel="email", ttype="problem", subject="Where is my refund?",
                )  # fmt: skip
                return

    def j_returns(self, rng: random.Random, d: int, cust: Customer) -> None:
        self.returns_ticket(
            rng, self._t(rng, d, "async"), cust, ["returns"], ttype="question",
            subject="How do I return?",
        )  # fmt: skip

    def j_onboarding(self, rng: random.Random, d: int, cust: Customer) -> None:
        t = self._t(rng, d, "chat")
        end, ok = self.ticket(
            rng, t, cust, "app_onboarding", "mobile_sdk",
            ["onboarding", "app"], Hist(), survey_channel="mobile_app",
            subject="Getting started with the app",
        )  # fmt: skip
        if ok and self.converts("app_onboarding", t):
            self.order(rng, end + rng.randint(1800, 2 * DAY), cust, "app_onboarding")

    def j_review(self, rng: random.Random, d: int, cust: Customer) -> None:
        t = self._t(rng, d, "social")
        via = rng.choice(("twitter", "facebook", "instagram_dm"))
        if self.inc_index(t) is not None and rng.random() < 0.8:
            tags = ["outage", "review"] if rng.random() < 0.7 else ["outage", "complaint"]
            tp = "social_review" if "review" in tags else "unmapped_social"
            self.ticket(
                rng, t, cust, tp, via, tags, Hist(), survey_channel=None, group="Social",
                ttype="incident", subject="Your service is down again",
            )  # fmt: skip
            return
        self.ticket(
            rng, t, cust, "social_review", via, ["review"], Hist(), survey_channel=None,
            group="Social", subject="Public review",
        )  # fmt: skip

    def j_retention(self, rng: random.Random, d: int, cust: Customer) -> None:
        self.voice(rng, self._t(rng, d, "voice"), cust, "Retention", Hist(), ivr_menu="cancel")

    def j_general_web(self, rng: random.Random, d: int, cust: Customer) -> None:
        tags = rng.choice((["general"], ["feedback", "website"], ["partnership"]))
        self.ticket(
            rng, self._t(rng, d, "async"), cust, "unmapped_web", "web", tags, Hist(),
            survey_channel="web", subject="General enquiry",
        )  # fmt: skip

    def j_api_ticket(self, rng: random.Random, d: int, cust: Customer) -> None:
        self.ticket(
            rng, self._t(rng, d, "async"), cust, "unmapped_other", "api",
            ["integration", "order_sync"], Hist(), survey_channel=None, ttype="task",
            subject="Order sync failed",
        )  # fmt: skip

    def j_outbound(self, rng: random.Random, d: int, cust: Customer) -> None:
        t = self._t(rng, d, "voice")
        plan = CallPlan(t, "VOICE", "OUTBOUND", contact_id(rng))
        plan.queue = "Outbound"
        plan.address = cust.phone_at(t) or make_phone(rng)[1]
        plan.outcome = "outbound"
        plan.agent = rng.choice(self.agents_by_group["Sales"])
        plan.handle = int(rng.lognormvariate(math.log(200), 0.6))
        plan.acw = rng.randint(10, 60)
        self._add(plan)

    def j_task(self, rng: random.Random, d: int, cust: Customer) -> None:
        t = self._t(rng, d, "async")
        plan = CallPlan(t, "TASK", "API", contact_id(rng))
        plan.queue = "Back Office"
        plan.outcome = "task"
        plan.wait = rng.randint(60, 4 * 3600)
        plan.agent = rng.choice(self.agents_by_group["Support"])
        plan.handle = rng.randint(120, 1800)
        self._add(plan)

    def j_organic_order(self, rng: random.Random, d: int, cust: Customer) -> None:
        self.order(rng, self._t(rng, d, "chat"), cust, "organic")

    def j_relationship_survey(self, rng: random.Random, d: int, cust: Customer) -> None:
        t = self._t(rng, d, "async")
        tp = rng.choice(("app_onboarding", "chat_support", "website", "store_visit"))
        q = model.BASE_MOOD.get(tp, 0.72) + model.SEGMENT_MOOD[cust.segment] + rng.gauss(0, 0.12)
        inc = self.inc_index(t)
        if inc is not None:
            q -= model.INCIDENT_MOOD[inc]
        self._add(SurveyPlan(t, cust, tp, q))

    # ------------------------------------------------------------------ day loop
    def plan_day(self, d: int) -> None:
        rng = random.Random(f"{self.seed}:plan:{d}")
        weekday = (self.start + timedelta(days=d)).weekday()
        factor = model.WEEKDAY[weekday]
        inc = self.inc_index(self.start_ts + d * DAY)
        day_start = self.start_ts + d * DAY
        for name, rate in model.JOURNEY_RATES.items():
            lam = rate * self.n_customers * factor
            if inc is not None:
                if name in ("support",):
                    lam *= model.INCIDENT_DEMAND[inc]
                elif name == "billing":
                    lam *= 1.0 + (model.INCIDENT_DEMAND[inc] - 1.0) * 0.4
                elif name == "review":
                    lam *= model.INCIDENT_SOCIAL[inc]
                elif name in ("shopping", "campaign", "organic_order"):
                    lam *= 0.85
            journey = getattr(self, f"j_{name}")
            quiet = name in model.QUIET_JOURNEYS
            for _ in range(_poisson(rng, lam)):
                cust = self.pick(rng)
                if quiet:
                    tries = 1
                    while self.busy_until[cust.idx] > day_start and tries < model.PICK_TRIES:
                        cust = self.pick(rng)
                        tries += 1
                    if self.busy_until[cust.idx] > day_start:
                        continue
                if cust.created >= day_start:  # signs up today: active from tomorrow
                    continue
                self._last_touch = 0
                journey(rng, d, cust)
                if quiet and self._last_touch:
                    until = self._last_touch + model.QUIET_DAYS * DAY
                    self.busy_until[cust.idx] = max(self.busy_until[cust.idx], until)

    def render_day(self, d: int) -> None:
        rng = random.Random(f"{self.seed}:render:{d}")
        plans = self.plans.pop(d, [])
        plans.sort(key=lambda p: (p[0], p[1]))
        for _, _, plan in plans:
            if isinstance(plan, CallPlan):
                self.render_call(rng, plan)
            elif isinstance(plan, TicketPlan):
                self.render_ticket(rng, plan)
            elif isinstance(plan, OrderPlan):
                self.render_order(rng, plan)
            else:
                self.add_response(
                    rng,
                    end=plan.t,
                    mood=plan.mood,
                    cust=plan.cust,
                    touchpoint=plan.touchpoint,
                    channel="email",
                )

    # ------------------------------------------------------------------ rendering
    def _ctr_out(self, rng: random.Random, last_update: int, rec: dict[str, Any]) -> None:
        d = (last_update - self.start_ts) // DAY
        if d >= self.days:
            return
        data = orjson.dumps(rec)
        self.seq += 1
        self.ctr_bucket[d].append((last_update, self.seq, data))
        self.counts["contact_records"] += 1
        r = rng.random()
        if r < model.DUPLICATE_SHARE:
            self.seq += 1
            self.ctr_bucket[d].append((last_update + rng.randint(0, 900), self.seq, data))
            self.counts["duplicate_records"] += 1
        elif r < model.DUPLICATE_SHARE + model.UPDATED_COPY_SHARE:
            later = last_update + rng.randint(60, 3600)
            copy = dict(rec)
            copy["LastUpdateTimestamp"] = iso_z(later)
            copy["Attributes"] = {**rec["Attributes"], "post_contact_survey": "sent"}
            dl = (later - self.start_ts) // DAY
            if dl < self.days:
                self.seq += 1
                self.ctr_bucket[dl].append((later, self.seq, orjson.dumps(copy)))
                self.counts["duplicate_records"] += 1

    def render_call(self, rng: random.Random, p: CallPlan) -> None:
        attrs: dict[str, str] = {}
        if p.ivr_menu:
            attrs["ivr_menu"] = p.ivr_menu
        if p.email:
            attrs["customer_email"] = p.email
        if p.ssc:
            attrs["self_service_complete"] = p.ssc
        if p.escalated:
            attrs["escalated"] = "true"
        t = p.t
        enq = t + p.ivr_secs
        queue = None
        agent = None
        nxt = None
        transfer_done = None
        reason = "CUSTOMER_DISCONNECT"
        if p.outcome in ("contained", "ivr_exit"):
            end = t + p.ivr_secs
            reason = "CONTACT_FLOW_DISCONNECT" if rng.random() < 0.6 else "CUSTOMER_DISCONNECT"
            if p.outcome == "ivr_exit":
                reason = "CUSTOMER_DISCONNECT"
            last = end + rng.randint(1, 30)
        elif p.outcome in ("abandoned", "short", "missed", "callback_offer"):
            assert p.queue is not None
            end = enq + p.wait
            queue = queue_obj(p.queue, enq, end, p.wait)
            if p.outcome == "callback_offer":
                attrs["callback_requested"] = "true"
                reason = "CONTACT_FLOW_DISCONNECT"
            last = end + rng.randint(1, 30)
        elif p.outcome == "outbound":
            assert p.agent is not None
            connected = t + rng.randint(5, 25)
            end = connected + p.handle
            queue = queue_obj("Outbound", None, None, 0)
            agent = agent_obj(
                arn=p.agent.arn, username=p.agent.username, queue="Outbound", connected=connected,
                talk=p.handle, hold=0, holds=0, acw=p.acw, acw_start=end,
            )  # fmt: skip
            reason = rng.choice(("AGENT_DISCONNECT", "CUSTOMER_DISCONNECT"))
            last = end + p.acw + rng.randint(1, 30)
        else:  # answered (INBOUND, CALLBACK, TRANSFER parent) or task
            assert p.queue is not None and p.agent is not None
            connected = enq + p.wait
            queue = queue_obj(p.queue, enq, connected, p.wait)
            end = connected + p.handle + p.hold
            holds = 0 if not p.hold else rng.randint(1, 2)
            agent = agent_obj(
                arn=p.agent.arn, username=p.agent.username, queue=p.queue, connected=connected,
                talk=p.handle, hold=p.hold, holds=holds, acw=p.acw, acw_start=end,
            )  # fmt: skip
            reason = rng.choice(("CUSTOMER_DISCONNECT", "CUSTOMER_DISCONNECT", "AGENT_DISCONNECT"))
            if p.outcome == "task":
                reason = "AGENT_DISCONNECT"
            last = end + p.acw + rng.randint(1, 30)
            if p.transfer is not None:
                target, child_id, tw, talk, child_agent = p.transfer
                nxt, transfer_done, reason = child_id, end, "AGENT_DISCONNECT"
                c_enq = end
                c_queue = queue_obj(target, c_enq, c_enq + tw, tw)
                if child_agent is not None:
                    c_conn = c_enq + tw
                    c_end = c_conn + talk
                    c_acw = rng.randint(20, 90)
                    c_agent = agent_obj(
                        arn=child_agent.arn, username=child_agent.username, queue=target,
                        connected=c_conn, talk=talk, hold=0, holds=0, acw=c_acw, acw_start=c_end,
                    )  # fmt: skip
                    c_last = c_end + c_acw + rng.randint(1, 30)
                    c_reason = "CUSTOMER_DISCONNECT"
                else:
                    c_end = c_enq + tw
                    c_agent = None
                    c_last = c_end + rng.randint(1, 30)
                    c_reason = "CUSTOMER_DISCONNECT"
                child = ctr(
                    cid=child_id, channel=p.channel, method="TRANSFER", initiated=end,
                    disconnected=c_end, last_update=c_last, reason=c_reason, queue=c_queue,
                    agent=c_agent, address=p.address, attributes=dict(attrs), previous=p.cid,
                    initial=p.initial or p.cid,
                )  # fmt: skip
                self._ctr_out(rng, c_last, child)
        rec = ctr(
            cid=p.cid, channel=p.channel, method=p.method, initiated=t, disconnected=end,
            last_update=last, reason=reason, queue=queue, agent=agent, address=p.address,
            attributes=attrs, previous=p.prev, nxt=nxt, initial=p.initial,
            transfer_completed=transfer_done,
        )  # fmt: skip
        self._ctr_out(rng, last, rec)
        if agent is not None and p.channel in ("VOICE", "CHAT"):
            self._contact_lens(p, end)
        if p.survey is not None:
            q, cust = p.survey
            self.add_response(
                rng,
                end=end + 120 + int(rng.expovariate(1 / 7200)),
                mood=q,
                cust=cust,
                contact=p.cid,
                channel="sms" if p.channel == "VOICE" else "email",
            )

    def _contact_lens(self, p: CallPlan, end: int) -> None:
        """A Contact Lens output file (redacted, as Contact Lens writes it) for a share of
        the answered calls and chats: the customer's turns in their language and tone, the
        vendor's customer sentiment (-5..5) from the same mood."""
        rng = random.Random(f"{self.seed}:lens:{p.cid}")
        if rng.random() >= model.CONTACT_LENS_SHARE:
            return
        done = end + rng.randint(60, 900)
        k = self.delivery_of(done)
        if k is None:
            return
        cust = p.survey[1] if p.survey is not None else None
        idx = cust.idx if cust is not None else int(p.cid[:6], 16)
        language = customer_language(idx)
        mood = p.tone if p.tone is not None else 0.7
        vendor = round(max(-5.0, min(5.0, (mood - 0.55) * 10 + rng.gauss(0, 0.8))), 1)
        texts = [customer_text(rng, language, mood), customer_text(rng, language, mood - 0.1)]
        voice = p.channel == "VOICE"
        turns: list[dict[str, Any]] = []
        offset = 0
        for n, (role, text) in enumerate(
            [("AGENT", agent_text(language)), ("CUSTOMER", texts[0]),
             ("AGENT", agent_text(language)), ("CUSTOMER", texts[1])]
        ):  # fmt: skip
            length = 800 + 60 * len(text)
            turn: dict[str, Any] = {"Id": f"{p.cid[:8]}-{n:04d}", "Content": text}
            if voice:
                turn.update(
                    ParticipantId=role,
                    BeginOffsetMillis=offset,
                    EndOffsetMillis=offset + length,
                    Sentiment="NEUTRAL",
                )
            else:
                turn.update(
                    ParticipantId=f"{role.lower()}-{p.cid[:8]}",
                    ParticipantRole=role,
                    DisplayName="Customer" if role == "CUSTOMER" else "Agent",
                    Type="MESSAGE",
                    ContentType="text/plain",
                    AbsoluteTime=iso_z(p.t + offset // 1000),
                )
            turns.append(turn)
            offset += length
        doc: dict[str, Any] = {
            "Version": "VOICE-2022-11-30" if voice else "CHAT-2022-11-30",
            "AccountId": "123456789012",
            "Channel": p.channel,
            "ContentMetadata": {"Output": "Redacted", "RedactionTypes": ["PII"]},
            "JobStatus": "COMPLETED",
            "LanguageCode": CONTACT_LENS_LANGUAGES[language],
            "Participants": [
                {"ParticipantId": "CUSTOMER", "ParticipantRole": "CUSTOMER"},
                {"ParticipantId": "AGENT", "ParticipantRole": "AGENT"},
            ],
            "ConversationCharacteristics": {
                "TotalConversationDurationMillis": offset,
                "Sentiment": {
                    "OverallSentiment": {"AGENT": 1.0, "CUSTOMER": vendor}
                    if voice
                    else {"DetailsByParticipantRole": {"AGENT": 1.0, "CUSTOMER": vendor}}
                },
            },
            "Transcript": turns,
        }
        if not voice:
            doc["CustomerMetadata"] = {"ContactId": p.cid, "InstanceId": "cxdemo-instance"}
        kind = "Voice" if voice else "Chat"
        ymd = day_str(self.day0 + (done - self.start_ts) // DAY)
        y, m, dd = ymd.split("-")
        rel = (
            f"ivr/contact_lens/Analysis/{kind}/Redacted/{y}/{m}/{dd}/"
            f"{p.cid}_analysis_redacted_{iso_z(done)}.json"
        )
        self.landing.write(rel, orjson.dumps(doc, option=orjson.OPT_INDENT_2), k)
        self.counts["contact_lens_files"] += 1

    def render_ticket(self, rng: random.Random, p: TicketPlan) -> None:
        tid = self.next_ticket
        self.next_ticket += 1
        self.counts["tickets"] += 1
        t = p.t
        # the ticket's life as (time, status, replies, reopens, solved_at, first_solve)
        states: list[tuple[int, str, int, int, int | None, int | None]] = [
            (t, "new", 0, 0, None, None)
        ]
        if p.deleted is not None:
            states.append((t + p.deleted, "deleted", 0, 0, None, None))
        elif p.reply is not None:
            r = t + p.reply
            states.append((r, "pending" if rng.random() < 0.6 else "open", 1, 0, None, None))
            if p.solve is not None:
                s = t + p.solve
                states.append((s, "solved", 2, 0, s, s))
                last_solve = s
                if p.reopen is not None and p.solve2 is not None:
                    states.append((t + p.reopen, "open", 2, 1, None, s))
                    last_solve = t + p.solve2
                    states.append((last_solve, "solved", 3, 1, last_solve, s))
                states.append(
                    (last_solve + 4 * DAY, "closed", states[-1][2], states[-1][3], last_solve, s)
                )
        # one version per delivery (the last one in it): the API never shows the others
        chosen: dict[int, tuple[int, str, int, int, int | None, int | None]] = {}
        for st in states:
            k = self.delivery_of(st[0])
            if k is None:
                break
            chosen[k] = st
        agent = rng.choice(self.agents_by_group["Sales" if p.group == "Sales" else "Support"])
        requester = p.cust.user_id
        via = self._via(p)
        for k, (ts, status, replies, reopens, solved_at, first_solve) in chosen.items():
            assigned = p.reply is not None and p.deleted is None and ts >= t + p.reply
            ticket = {
                "url": f"{ZENDESK_HOST}/api/v2/tickets/{tid}.json",
                "id": tid,
                "external_id": None,
                "via": via,
                "created_at": iso_z(t),
                "updated_at": iso_z(ts),
                "generated_timestamp": ts,
                "type": p.ttype,
                "subject": p.subject,
                "raw_subject": p.subject,
                "description": p.subject + ".",
                "priority": p.priority,
                "status": status,
                "recipient": "support@cxdemo.example.com" if p.via == "email" else None,
                "requester_id": requester,
                "submitter_id": requester,
                "assignee_id": agent.user_id if assigned else None,
                "organization_id": None,
                "group_id": 360_000_100_000 + len(p.group),
                "collaborator_ids": [],
                "follower_ids": [],
                "email_cc_ids": [],
                "forum_topic_id": None,
                "problem_id": None,
                "has_incidents": False,
                "is_public": True,
                "due_at": None,
                "tags": sorted(p.tags),
                "custom_fields": [
                    {"id": 360_000_200_001, "value": p.tp if "unmapped" not in p.tp else None}
                ],
                "satisfaction_rating": {"score": "unoffered"},
                "sharing_agreement_ids": [],
                "custom_status_id": 360_000_300_000
                + ("new", "open", "pending", "hold", "solved", "closed", "deleted").index(status),
                "fields": [
                    {"id": 360_000_200_001, "value": p.tp if "unmapped" not in p.tp else None}
                ],
                "followup_ids": [],
                "ticket_form_id": 360_000_400_001,
                "brand_id": 360_000_500_001,
                "allow_channelback": p.via in ("twitter", "facebook", "instagram_dm"),
                "allow_attachments": True,
                "from_messaging_channel": p.via == "native_messaging",
            }
            metric = None
            if status != "deleted":
                metric = self._metric_set(
                    tid, p, ts, status, replies, reopens, solved_at, first_solve
                )
            line = orjson.dumps({"ticket": ticket, "metric_set": metric})
            self.zd_tickets[k - 1].write(line + b"\n")
            self.counts["ticket_versions"] += 1
        if p.deleted is None:
            self._ticket_comments(tid, p, requester, agent.user_id)
        if p.survey is not None and p.solve is not None:
            solved = t + (p.solve2 or p.solve)
            self.add_response(
                rng,
                end=solved + 300 + int(rng.expovariate(1 / (6 * 3600))),
                mood=p.survey,
                cust=p.cust,
                ticket=tid,
                channel="email",  # Zendesk sends the survey link by e-mail
            )

    def _ticket_comments(self, tid: int, p: TicketPlan, requester: int, agent: int) -> None:
        """Ticket events with comments (the incremental ticket events export): the customer's
        first message, the agent's reply, and the customer again when the ticket reopens."""
        rng = random.Random(f"{self.seed}:comments:{tid}")
        language = customer_language(p.cust.idx)
        mood = p.tone if p.tone is not None else 0.7
        comments: list[tuple[int, int, str]] = [
            (p.t, requester, customer_text(rng, language, mood - 0.15))
        ]
        if p.reply is not None:
            comments.append((p.t + p.reply, agent, agent_text(language)))
        if p.reopen is not None:
            comments.append((p.t + p.reopen, requester, customer_text(rng, language, 0.2)))
        for n, (ts, author, body) in enumerate(comments):
            k = self.delivery_of(ts)
            if k is None:
                continue
            event_id = tid * 10 + n
            event = {
                "id": 9_000_000_000 + event_id,
                "ticket_id": tid,
                "timestamp": ts,
                "created_at": iso_z(ts),
                "updater_id": author,
                "via": "Web form",
                "event_type": "Audit",
                "merged_ticket_ids": [],
                "system": {"client": "Mozilla/5.0", "location": None},
                "child_events": [
                    {
                        "id": 8_000_000_000 + event_id,
                        "event_type": "Comment",
                        "type": "Comment",
                        "body": body,
                        "html_body": f"<div><p>{body}</p></div>",
                        "plain_body": body,
                        "public": True,
                        "author_id": author,
                        "attachments": [],
                        "audit_id": 9_000_000_000 + event_id,
                        "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
                    }
                ],
            }
            self.zd_events[k - 1].write(orjson.dumps(event) + b"\n")
            self.counts["ticket_comments"] += 1

    @staticmethod
    def _via(p: TicketPlan) -> dict[str, Any]:
        if p.via == "email":
            source: dict[str, Any] = {
                "from": {"address": p.cust.email, "name": f"{p.cust.first} {p.cust.last}"},
                "to": {"address": "support@cxdemo.example.com", "name": "CX Demo Support"},
                "rel": None,
            }
        elif p.via in ("twitter", "facebook", "instagram_dm"):
            source = {
                "from": {"name": p.cust.first},
                "to": {"name": "CX Demo"},
                "rel": "direct_message",
            }
        else:
            source = {"from": {}, "to": {}, "rel": None}
        return {"channel": p.via, "source": source}

    @staticmethod
    def _metric_set(
        tid: int,
        p: TicketPlan,
        ts: int,
        status: str,
        replies: int,
        reopens: int,
        solved_at: int | None,
        first_solve: int | None,
    ) -> dict[str, Any]:
        t = p.t
        replied = p.reply is not None and ts >= t + p.reply
        reply_min = (p.reply or 0) // 60 if replied else None
        first_res = (first_solve - t) // 60 if first_solve is not None else None
        full_res = (solved_at - t) // 60 if solved_at is not None else None

        def mins(v: int | None) -> dict[str, int | None]:
            return {"calendar": v, "business": None if v is None else int(v * 0.55)}

        return {
            "url": f"{ZENDESK_HOST}/api/v2/ticket_metrics/{30_000_000_000 + tid}.json",
            "id": 30_000_000_000 + tid,
            "ticket_id": tid,
            "created_at": iso_z(t),
            "updated_at": iso_z(ts),
            "group_stations": p.stations if replied else 1,
            "assignee_stations": p.stations if replied else 0,
            "reopens": reopens,
            "replies": replies,
            "assignee_updated_at": iso_z(t + p.reply) if replied and p.reply is not None else None,
            "requester_updated_at": iso_z(t),
            "status_updated_at": iso_z(ts),
            "initially_assigned_at": iso_z(t + p.reply)
            if replied and p.reply is not None
            else None,
            "assigned_at": iso_z(t + p.reply) if replied and p.reply is not None else None,
            "solved_at": iso_z(solved_at)
            if solved_at is not None and status in ("solved", "closed")
            else None,
            "latest_comment_added_at": iso_z(ts),
            "custom_status_updated_at": iso_z(ts),
            "reply_time_in_minutes": mins(reply_min),
            "reply_time_in_seconds": {"calendar": p.reply if replied else None},
            "first_resolution_time_in_minutes": mins(first_res),
            "full_resolution_time_in_minutes": mins(full_res),
            "agent_wait_time_in_minutes": mins(0 if replied else None),
            "requester_wait_time_in_minutes": mins(reply_min),
            "on_hold_time_in_minutes": mins(0),
        }

    def render_order(self, rng: random.Random, p: OrderPlan) -> None:
        oid = f"SO-{self.start.year % 100:02d}{self.next_order:07d}"
        self.next_order += 1
        self.counts["orders"] += 1

        def fmt(ts: int) -> str:
            if p.offset == 9999:
                return iso_offset(ts, 0, naive=True)
            if p.offset == 0:
                return iso_z(ts)
            return iso_offset(ts, p.offset)

        ordered = fmt(p.t)
        for delta, status in [(0, "placed"), *p.events]:
            ts = p.t + delta
            d = (ts - self.start_ts) // DAY
            if d >= self.days:
                break
            row = [oid, p.email, ordered, p.amount, "USD", status, fmt(ts)]
            self.seq += 1
            self.order_bucket[d].append((ts, self.seq, row))
            self.counts["order_rows"] += 1

    def add_response(
        self,
        rng: random.Random,
        *,
        end: int,
        mood: float,
        cust: Customer | None,
        channel: str,
        ticket: int | None = None,
        contact: str | None = None,
        touchpoint: str = "",
    ) -> None:
        d = (end - self.start_ts) // DAY
        if d >= self.days:
            return
        r = Response()
        r.response_id = "R_" + "".join(
            rng.choices("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", k=15)
        )
        r.end = end
        r.duration = rng.randint(25, 400)
        r.channel = channel
        octets = (
            rng.randint(11, 223),
            rng.randint(0, 255),
            rng.randint(0, 255),
            rng.randint(1, 254),
        )
        r.ip = ".".join(map(str, octets))
        r.lat = f"{rng.uniform(25, 48):.10f}"
        r.lon = f"{rng.uniform(-122, -71):.10f}"
        if cust is not None:
            r.first, r.last, r.recipient, r.email = cust.first, cust.last, cust.email, cust.email
        r.ticket_id = str(ticket) if ticket is not None else ""
        r.contact_id = contact or ""
        r.touchpoint = touchpoint
        csat = _clamp(1 + 4.4 * mood + rng.gauss(0, 0.9), 1, 5)
        nps = _clamp(11 * mood - 0.5 + rng.gauss(0, 2.0), 0, 10)
        ces = _clamp(1 + 6.6 * mood + rng.gauss(0, 1.0), 1, 7)
        r.csat, r.nps, r.ces = str(csat), str(nps), str(ces)
        pool = COMMENTS_GOOD if csat >= 5 else COMMENTS_MID if csat >= 3 else COMMENTS_BAD
        r.comment = rng.choice(pool)
        # the words in the customer's language, in the tone of their scores (own stream)
        language = "en" if cust is None else customer_language(cust.idx)
        r.language = language.upper()
        if r.comment:
            words = random.Random(f"{self.seed}:comment:{r.response_id}")
            r.comment = customer_text(words, language, (csat - 1) / 4.4)
        x = rng.random()
        if x < model.PARTIAL_SHARE:
            r.finished, r.progress = "0", rng.choice((25, 50, 75))
            r.ces, r.comment = "", ""
            if r.progress == 25:
                r.nps = ""
        elif x < model.PARTIAL_SHARE + model.NON_IP_SHARE:
            r.status = rng.choice(("1", "2", "8"))
            r.channel = {"1": "preview", "2": "test", "8": "email"}[r.status]
            r.ip = "" if r.status != "8" else r.ip
        y = rng.random()
        if y < model.OUT_OF_RANGE_SHARE:
            which = rng.randrange(3)
            if which == 0:
                r.csat = rng.choice(("6", "0", "-99"))
            elif which == 1:
                r.nps = rng.choice(("11", "-99"))
            else:
                r.ces = rng.choice(("8", "0"))
        elif y < model.OUT_OF_RANGE_SHARE + model.SKIPPED_QUESTION_SHARE:
            r.csat = ""
        self.survey_bucket[d].append(r)
        self.counts["survey_responses"] += 1

    # ------------------------------------------------------------------ files per day
    def flush_day(self, d: int) -> None:
        rng = random.Random(f"{self.seed}:files:{d}")
        day = self.day0 + d
        ymd = day_str(day)
        y, m, dd = ymd.split("-")
        k = self.day_delivery[d]
        # Amazon Connect (Kinesis Firehose): F files per day, rotating formats
        records = self.ctr_bucket.pop(d, [])
        records.sort(key=lambda r: (r[0], r[1]))
        expected = self.n_customers * 0.07
        per_day = max(1, min(24, round(expected / model.CTR_PER_FILE)))
        blocks: list[list[bytes]] = [[] for _ in range(per_day)]
        for ts, _, data in records:
            h = ((ts - self.start_ts) % DAY) // 3600
            blocks[h * per_day // 24].append(data)
        for b, recs in enumerate(blocks):
            if not recs:
                continue
            hour = b * 24 // per_day
            fmt = ("jsonl", "json", "json.gz")[(d + b) % 3]
            rel = (
                f"ivr/amazon_connect/{y}/{m}/{dd}/cx-ctr-firehose-1-{ymd}-{hour:02d}-00-00-"
                f"{rng.getrandbits(32):08x}.{fmt}"
            )
            write_ctr_file(self.landing, rel, recs, fmt, k, rng)
        # orders: one daily CRM export
        rows = self.order_bucket.pop(d, [])
        if rows:
            rows.sort(key=lambda r: (r[0], r[1]))
            rel = f"crm/orders/{y}/{m}/orders_{ymd}.csv"
            write_orders_file(self.landing, rel, [r[2] for r in rows], delivery=k, rng=rng)
        # Qualtrics: responses of the day join the export window
        self.survey_window.extend(self.survey_bucket.pop(d, []))
        next_day = d + 1
        if next_day % model.EXPORT_EVERY_DAYS == 0 or next_day in self.bounds[1:]:
            self.export_surveys(rng, next_day, k)

    def export_surveys(self, rng: random.Random, next_day: int, k: int) -> None:
        cut = self.start_ts + next_day * DAY
        since = cut - model.EXPORT_COVERS_DAYS * DAY
        self.survey_window = [r for r in self.survey_window if r.end >= since]
        responses = sorted(self.survey_window, key=lambda r: (r.end, r.response_id))
        legacy = self.export_index % model.LEGACY_EXPORT_EVERY == 1
        self.export_index += 1
        if not responses:
            return
        ymd = day_str(self.day0 + next_day)
        y, m, dd = ymd.split("-")
        if legacy:
            rel = f"survey/qualtrics/{y}-{m}/Post-contact survey (legacy export)_{ymd}.csv"
        else:
            # Qualtrics' own export name: "<survey>_<Month> <day>, <year>_<HH.MM>.csv"
            name = f"Post-contact survey_{MONTHS[int(m) - 1]} {int(dd)}, {y}_06.00.csv"
            rel = f"survey/qualtrics/{y}-{m}/{name}"
        write_qualtrics_file(self.landing, rel, responses, legacy=legacy, delivery=k, rng=rng)

    # ------------------------------------------------------------------ the whole world
    def write_users(self) -> None:
        folder = self.out / "zendesk" / "users"
        folder.mkdir(parents=True, exist_ok=True)
        files = [
            (folder / f"delivery-{k:04d}.jsonl").open("wb") for k in range(1, self.increments + 1)
        ]
        try:
            backfill = self.start_ts - 3 * DAY
            for a in self.agents:
                files[0].write(orjson.dumps(agent_user(a, backfill)) + b"\n")
            for c in self.customers:
                k = self.delivery_of(c.updated) or 1
                locale = {"locale": LOCALES[customer_language(c.idx)]}
                files[k - 1].write(orjson.dumps({**user_object(c), **locale}) + b"\n")
                if c.change_at is not None:
                    k2 = self.delivery_of(c.change_at)
                    if k2 is not None:
                        changed = {**user_object(c, after_change=True), **locale}
                        files[k2 - 1].write(orjson.dumps(changed) + b"\n")
                        self.counts["user_versions"] += 1
        finally:
            for fh in files:
                fh.close()
        self.counts["users"] = len(self.customers) + len(self.agents)
        self.counts["user_versions"] += len(self.customers) + len(self.agents)

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        for sub in ("landing", "zendesk"):
            if (self.out / sub).exists() and any((self.out / sub).iterdir()):
                raise CxError(
                    f"{self.out / sub} is not empty: generate into a new directory (or remove "
                    "it) so the world's files are exactly this run's"
                )
        self.out.mkdir(parents=True, exist_ok=True)
        self.write_users()
        folder = self.out / "zendesk" / "tickets"
        folder.mkdir(parents=True, exist_ok=True)
        self.zd_tickets = [
            (folder / f"delivery-{k:04d}.jsonl").open("wb") for k in range(1, self.increments + 1)
        ]
        events = self.out / "zendesk" / "ticket_events"
        events.mkdir(parents=True, exist_ok=True)
        self.zd_events = [
            (events / f"delivery-{k:04d}.jsonl").open("wb") for k in range(1, self.increments + 1)
        ]
        from rich.console import Console
        from rich.progress import Progress

        progress = Progress(console=Console(stderr=True), disable=not self.progress)
        try:
            with progress:
                days = progress.add_task("generate: days", total=self.days)
                for d in range(self.days):
                    self.plan_day(d)
                    self.render_day(d)
                    self.flush_day(d)
                    progress.advance(days)
        finally:
            for fh in [*self.zd_tickets, *self.zd_events]:
                fh.close()
        manifest = self.manifest()
        (self.out / "manifest.json").write_bytes(
            orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n"
        )
        files = sum(len(f) for f in self.landing.files)
        summary: dict[str, Any] = {
            "out": str(self.out),
            "days": self.days,
            "customers": self.n_customers,
            "increments": self.increments,
            "landing_files": files,
            **{k: v for k, v in sorted(self.counts.items())},
            "malformed_records": len(self.landing.malformed),
            "seconds": round(time.monotonic() - started, 1),
        }
        return summary

    def manifest(self) -> dict[str, Any]:
        deliveries = []
        for k in range(1, self.increments + 1):
            first, end = self.bounds[k - 1], self.bounds[k]
            deliveries.append(
                {
                    "k": k,
                    "first_day": day_str(self.day0 + first),
                    "last_day": day_str(self.day0 + end - 1),
                    "zendesk_cutoff": iso_z(self.start_ts + end * DAY),
                    "zendesk_files": [
                        f"zendesk/tickets/delivery-{k:04d}.jsonl",
                        f"zendesk/users/delivery-{k:04d}.jsonl",
                        f"zendesk/ticket_events/delivery-{k:04d}.jsonl",
                    ],
                    "landing_files": self.landing.files[k - 1],
                }
            )
        inc = None
        if self.incident is not None:
            inc = {
                "start": self.incident.isoformat(),
                "end": (self.incident + timedelta(days=model.INCIDENT_DAYS)).isoformat(),
                "what": "service outage: support call spike, long waits and abandonment, "
                "detractors, social complaints",
            }
        return {
            "format": MANIFEST_FORMAT,
            "seed": self.seed,
            "customers": self.n_customers,
            "days": self.days,
            "start": self.start.isoformat(),
            "end": (self.start + timedelta(days=self.days)).isoformat(),
            "increments": self.increments,
            "landing_dir": "landing",
            "zendesk_dir": "zendesk",
            "zendesk_start_time": self.start_ts - 30 * DAY,
            "incident": inc,
            "counts": dict(sorted(self.counts.items())),
            "deliveries": deliveries,
            "malformed": self.landing.malformed,
        }
