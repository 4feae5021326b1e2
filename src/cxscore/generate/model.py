"""The knobs of the synthetic world: volumes, seasonality, quality per touchpoint.

Everything the simulator treats as "how this business behaves" is a constant here, so the
model can be read (and tuned) in one place; ``docs/synthetic-world.md`` explains it.
Rates are per customer per day, before the weekday and incident factors.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------- customers
SEGMENTS = (("gold", 0.12), ("silver", 0.30), ("bronze", 0.55), ("", 0.02), (None, 0.01))
# how often a segment's customers start journeys, relative to the average
SEGMENT_ACTIVITY = {"gold": 1.6, "silver": 1.1, "bronze": 0.85, "": 0.9, None: 0.9}
# survey mood and order value by segment
SEGMENT_MOOD = {"gold": 0.03, "silver": 0.0, "bronze": -0.02, "": 0.0, None: 0.0}
ORDER_MEDIAN = {"gold": 160.0, "silver": 85.0, "bronze": 45.0, "": 60.0, None: 60.0}
NEW_CUSTOMER_SHARE = 0.08  # sign up during the world (appear in later API deliveries)
CUSTOMER_UPDATE_SHARE = 0.03  # change phone or segment during the world
SHARED_EMAIL_SHARE = 0.015
SHARED_PHONE_SHARE = 0.01
NO_PHONE_SHARE = 0.15
AGENTS = 36

# ----------------------------------------------------------------------------- journeys
JOURNEY_RATES = {
    "campaign": 0.003,  # LZMOT: reply to a social campaign
    "shopping": 0.018,  # ZMOT/FMOT: pre-sales question, then (days later) buying with help
    "support": 0.026,  # SMOT: phone / e-mail / chat / IVR support, recontacts when unresolved
    "billing": 0.008,  # SMOT: billing line or IVR balance
    "returns": 0.003,  # SMOT: web returns questions without a return
    "onboarding": 0.006,  # SMOT: app onboarding tickets
    "review": 0.0018,  # UMOT: public reviews
    "retention": 0.001,  # phone "Retention" queue: matches no rule -> unmapped_phone
    "general_web": 0.001,  # web ticket with no known tag -> unmapped_web
    "api_ticket": 0.0006,  # ticket created over the API -> channel other
    "outbound": 0.004,  # agent-initiated calls (loaded, not scored)
    "task": 0.001,  # Connect TASK contacts started by API (loaded, not scored)
    "organic_order": 0.028,  # orders without any contact (by customers not in contact lately)
    "relationship_survey": 0.0012,  # surveys linked by e-mail + touchpoint only
}
# journeys that are contacts: a customer starts one only when quiet for QUIET_DAYS since the
# last contact of their previous journey (most customers contact the brand rarely; quick
# recontacts come from unresolved problems inside a journey, which is what the metric means)
QUIET_JOURNEYS = frozenset(JOURNEY_RATES) - {"outbound", "task", "api_ticket"}  # not theirs
QUIET_DAYS = 8
PICK_TRIES = 6  # re-draws to find a quiet customer before the journey is dropped
# days between planned journey steps (campaign reply -> shopping, pre-sales -> purchase):
# longer than the FCR window, so the next step is not a recontact
STEP_GAP_DAYS = (8, 21)
# the weekday factor (Mon..Sun) and hour-of-day weights (UTC) by channel family
WEEKDAY = (1.22, 1.1, 1.05, 1.0, 0.95, 0.6, 0.5)
HOURLY = {
    "voice": (
        0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 1.6, 3.6, 5.6, 6.6, 6.1,
        5.0, 5.6, 6.2, 5.6, 5.0, 4.4, 3.4, 2.4, 1.7, 1.1, 0.6, 0.4,
    ),
    "chat": (
        0.4, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 3.6, 4.2, 4.4,
        4.2, 4.4, 4.6, 4.5, 4.4, 4.6, 5.0, 5.4, 5.6, 4.8, 3.0, 1.4,
    ),
    "async": (
        0.8, 0.5, 0.4, 0.3, 0.3, 0.5, 1.0, 2.0, 3.2, 3.8, 4.0, 3.9,
        3.6, 3.8, 3.9, 3.8, 3.6, 3.4, 3.2, 3.2, 3.0, 2.6, 1.8, 1.2,
    ),
    "social": (
        1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.8, 3.0, 3.2,
        3.4, 3.4, 3.3, 3.3, 3.4, 3.8, 4.4, 4.8, 5.0, 4.6, 3.4, 2.0,
    ),
}  # fmt: skip

# ----------------------------------------------------------------------------- incident
INCIDENT_DAYS = 7  # the outage week: Monday to Sunday
# extra support/billing demand on incident day 0..6 (1.0 = normal)
INCIDENT_DEMAND = (2.9, 2.4, 1.9, 1.5, 1.25, 1.1, 1.05)
INCIDENT_SOCIAL = (9.0, 7.0, 4.0, 2.5, 1.6, 1.2, 1.0)  # review/complaint factor
INCIDENT_STAFFING = (1.0, 1.05, 1.3, 1.35, 1.3, 1.2, 1.1)  # ops reacts from day 2
INCIDENT_MOOD = (0.22, 0.2, 0.15, 0.1, 0.06, 0.03, 0.02)  # survey mood penalty

# ----------------------------------------------------------------------------- queues
# Amazon Connect queues: (base utilisation, seconds scale of the wait curve)
QUEUES = {
    ("VOICE", "Sales"): (0.45, 9.0),
    ("VOICE", "Support"): (0.68, 11.0),
    ("VOICE", "Billing"): (0.80, 12.0),
    ("VOICE", "Retention"): (0.55, 10.0),
    ("CHAT", "Sales"): (0.45, 45.0),
    ("CHAT", "Support"): (0.62, 50.0),
    ("CHAT", "Billing"): (0.70, 50.0),
}
SHORT_ABANDON_SHARE = 0.025
VOICE_PATIENCE = (20.0, 200.0)  # callers hang up after min + Exp(mean) seconds
CHAT_PATIENCE = (60.0, 500.0)
CALLBACK_OFFER_WAIT = 150.0  # offer a callback when the expected wait exceeds this
HANDLE_SECONDS = {"Sales": 300.0, "Support": 420.0, "Billing": 360.0, "Retention": 480.0}
TRANSFERS = {  # after an answered call: target queue -> probability
    "Support": (("Billing", 0.07), ("Retention", 0.02)),
    "Billing": (("Support", 0.05),),
    "Sales": (("Support", 0.03),),
    "Retention": (),
}
RESOLVE = {  # probability a handled contact solves the problem (lower during the incident)
    "Sales": 0.93,
    "Support": 0.82,
    "Billing": 0.74,
    "Retention": 0.8,
    "email": 0.8,
    "chat": 0.85,
    "ivr": 0.8,
}

# ----------------------------------------------------------------------------- quality
# latent experience per touchpoint (0..1) before waits, recontacts and the incident
BASE_MOOD = {
    "social_campaign_reply": 0.84,
    "web_presales_question": 0.96,
    "chat_presales": 0.96,
    "phone_sales": 0.97,
    "chat_checkout_help": 0.96,
    "phone_support": 0.87,
    "phone_billing": 0.75,
    "ivr_self_service": 0.8,
    "email_support": 0.78,
    "chat_support": 0.91,
    "web_returns": 0.66,
    "app_onboarding": 0.96,
    "social_review": 0.7,
    "unmapped_phone": 0.72,
    "unmapped_web": 0.76,
    "unmapped_chat": 0.75,
    "unmapped_other": 0.76,
}
# Zendesk first reply (median hours, log-normal sigma) and solve time after it (median hours)
ZD_REPLY = {
    "social_campaign_reply": (1.2, 0.7, 2.0),
    "social_review": (5.0, 0.8, 10.0),
    "web_presales_question": (1.0, 0.7, 3.0),
    "web_returns": (8.0, 0.6, 30.0),
    "email_support": (3.0, 0.7, 14.0),
    "chat_presales": (0.02, 0.6, 0.2),
    "chat_checkout_help": (0.02, 0.6, 0.15),
    "chat_support": (0.03, 0.7, 0.3),
    "app_onboarding": (0.8, 0.6, 4.0),
    "unmapped_web": (6.0, 0.8, 20.0),
    "unmapped_social": (6.0, 0.8, 12.0),
    "unmapped_other": (10.0, 0.8, 24.0),
}
# survey response rate per touchpoint: in-app and post-chat surveys are answered, e-mailed
# links after a bad experience mostly are not
SURVEY_RESPONSE = {
    "phone_sales": 0.95,  # short IVR survey right after the call
    "chat_presales": 0.95,  # post-chat survey in the widget
    "chat_checkout_help": 0.95,
    "web_presales_question": 0.9,
    "app_onboarding": 0.93,  # in-app survey
    "chat_support": 0.8,
    "phone_support": 0.6,
    "ivr_self_service": 0.35,
    "phone_billing": 0.18,
    "email_support": 0.14,
    "web_returns": 0.15,
}
SURVEY_RESPONSE_DEFAULT = 0.2
# share of callers whose number no customer has, by queue (anonymous callers are mostly on
# the busy lines; sales callers are nearly always known)
UNKNOWN_CALLER = {"Sales": 0.005, "Support": 0.1, "Billing": 0.3, "Retention": 0.12}
GUEST_CHAT_SHARE = {"Sales": 0.005, "Support": 0.03, "Billing": 0.15}
# per-touchpoint ticket handling (reopens, second group, still open at the end)
TICKET_QUALITY = {  # touchpoint: (reopen, transfer, still open)
    "chat_presales": (0.01, 0.02, 0.003),
    "chat_checkout_help": (0.01, 0.02, 0.003),
    "web_presales_question": (0.015, 0.03, 0.005),
    "app_onboarding": (0.01, 0.03, 0.003),
    "email_support": (0.12, 0.12, 0.04),
    "web_returns": (0.14, 0.1, 0.05),
}
# a ticket solves the problem (else the customer chases it: the returns desk often fails)
TICKET_RESOLVE = {
    "chat_presales": 0.95,
    "chat_checkout_help": 0.95,
    "web_presales_question": 0.95,
    "app_onboarding": 0.95,
    "web_returns": 0.55,
}
TICKET_REOPEN = 0.06
TICKET_DELETED = 0.01
TICKET_TRANSFER = 0.06  # group_stations 2
TICKET_ESCALATED_TAG = 0.04
TICKET_URGENT = 0.02
GUEST_ORDER_SHARE = 0.08

# ----------------------------------------------------------------------------- orders
CONVERSION = {
    "phone_sales": 0.45,
    "chat_checkout_help": 0.42,
    "presales_only": 0.22,
    "app_onboarding": 0.22,  # first in-app order after onboarding help
}
# the sales team's conversion programme: assisted conversion rises by this share of its
# starting value per week (steadily, not by luck: conversions follow the rate closely)
CONVERSION_TREND_PER_WEEK = 0.08
ASSISTED_GUEST_SHARE = 0.01  # an agent places the order on the customer's own account
REFUND_RATE = {"phone_sales": 0.03, "chat_checkout_help": 0.10, "organic": 0.05, "other": 0.05}
RETURN_SHARE_OF_REFUNDS = 0.6  # the rest are refunds without a return
CANCEL_RATE = 0.03

# ----------------------------------------------------------------------------- surveys
EXPORT_EVERY_DAYS = 7
EXPORT_COVERS_DAYS = 8  # one day of overlap with the previous export
LEGACY_EXPORT_EVERY = 4  # export index 1, 5, 9, ... uses the legacy layout
PARTIAL_SHARE = 0.04
NON_IP_SHARE = 0.015
OUT_OF_RANGE_SHARE = 0.012
SKIPPED_QUESTION_SHARE = 0.03

# ----------------------------------------------------------------------------- files
CTR_PER_FILE = 2000  # target records per Connect file (more files per day when busier)
DUPLICATE_SHARE = 0.015  # identical copy in the same file (at-least-once delivery)
UPDATED_COPY_SHARE = 0.01  # a later copy with a greater LastUpdateTimestamp
MALFORMED_MIN_ROWS = 200  # a file gets malformed records only from this many rows on
CONTACT_LENS_SHARE = 0.6  # answered calls and chats analysed by Contact Lens (a file each)
