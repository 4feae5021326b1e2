"""The typed settings: every section, key, default and validation rule (``docs/configuration.md``).
How values are read (file, environment) is :mod:`cxscore.settings`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from cxscore.registry import SourceName

# Dotted keys whose values are secrets: they may come only from the environment.
SECRET_KEYS = frozenset(
    {
        "sources.zendesk.api_token",
        "alerts.slack_webhook_url",
        "alerts.webhook_url",
        "alerts.email.smtp_password",
        "identity.hash_key",
    }
)


def is_secret_key(dotted: str) -> bool:
    """A secret setting, a value under one, or a section holding one: its value is never
    shown in a message."""
    return any(
        dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + ".")
        for key in SECRET_KEYS
    )


class ConfigError(Exception):
    """A configuration problem the user must fix; the CLI exits with code 2."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


class WarehouseSettings(_Section):
    url: str | None = Field(
        default=None,
        description="PostgreSQL URL; absent -> embedded PostgreSQL under .cxscore/pg",
    )
    embedded_dir: str = Field(default=".cxscore/pg", description="data dir of the embedded server")
    build_work_mem: str = Field(
        default="64MB",
        pattern=r"^([0-9]+(kB|MB|GB))?$",
        description="work_mem of the dbt build's sessions ('' in the file: the server's)",
    )
    build_random_page_cost: float = Field(
        default=1.1,
        ge=0,
        le=1000,
        description="random_page_cost of the dbt build's sessions (0: the server's)",
    )
    statistics_target: int = Field(
        default=30,
        ge=0,
        le=10000,
        description="default_statistics_target of the ANALYZE after each load and model "
        "(0: the server's)",
    )


class ZendeskSettings(_Section):
    base_url: str | None = None
    start_time: datetime = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
    email: str | None = None
    api_token: SecretStr | None = None
    per_page: int = Field(default=1000, ge=1, le=1000)
    max_retries: int = Field(default=6, ge=0)
    backoff_seconds: float = Field(default=1.0, ge=0)
    timeout_seconds: float = Field(default=60.0, gt=0)
    ticket_comments: bool = True  # the ticket events export (comment text for sentiment)
    parallel_streams: bool = Field(
        default=True,
        description="follow tickets, users and ticket events at the same time (a thread, a "
        "connection and an HTTP session each); false: one after another",
    )


class AmazonConnectSettings(_Section):
    path: str = "ivr/amazon_connect"
    short_abandon_seconds: int = Field(default=5, ge=0)
    contact_lens_path: str = "ivr/contact_lens"  # Contact Lens output files (sentiment)


class QualtricsQuestions(_Section):
    csat: str = "QID1"
    nps: str = "QID2"
    ces: str = "QID3"
    comment: str = "QID4_TEXT"


class QualtricsEmbedded(_Section):
    ticket_id: str = "ticket_id"
    contact_id: str = "contact_id"
    customer_email: str = "customer_email"
    touchpoint: str = "touchpoint"


class QualtricsSettings(_Section):
    path: str = "survey/qualtrics"
    timezone: str = Field(
        default="UTC", description="zone of EndDate when the file does not declare one"
    )
    questions: QualtricsQuestions = QualtricsQuestions()
    embedded: QualtricsEmbedded = QualtricsEmbedded()
    choice_labels: dict[Literal["csat", "nps", "ces"], dict[str, int]] = Field(
        default_factory=dict,
        description="answers exported as choice text: per question, label -> number "
        "(labels match case-insensitively, surrounding spaces ignored)",
    )

    _tz = field_validator("timezone")(_check_timezone)


class OrdersSettings(_Section):
    path: str = "crm/orders"
    timezone: str = "UTC"

    _tz = field_validator("timezone")(_check_timezone)


class SourcesSettings(_Section):
    zendesk: ZendeskSettings = ZendeskSettings()
    amazon_connect: AmazonConnectSettings = AmazonConnectSettings()
    qualtrics: QualtricsSettings = QualtricsSettings()
    orders: OrdersSettings = OrdersSettings()
    enabled: list[SourceName] | None = Field(
        default=None,
        description="sources `extract all` runs; default: every file source, plus zendesk "
        "when base_url is set",
    )


class IdentitySettings(_Section):
    default_country: str = Field(default="US", min_length=2, max_length=2)
    hash_key: SecretStr | None = Field(
        default=None, description="HMAC key for e-mail/phone hashes (secret, env only)"
    )


SmtpTls = Literal["none", "starttls", "smtps"]


class EmailSettings(_Section):
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: SmtpTls = Field(
        default="none",
        description="starttls (port 587), smtps (TLS from the first byte, port 465) or none; "
        "credentials are only ever sent over TLS",
    )
    sender: str | None = None
    recipients: list[str] = []

    @model_validator(mode="after")
    def _no_clear_text_auth(self) -> EmailSettings:
        if self.smtp_password is not None and self.smtp_tls == "none":
            raise ValueError(CLEAR_TEXT_AUTH)
        return self


CLEAR_TEXT_AUTH = (
    "SMTP credentials are set but alerts.email.smtp_tls is 'none': cxscore never sends a "
    "password in clear; set alerts.email.smtp_tls (CX_ALERTS__EMAIL__SMTP_TLS) to starttls "
    "or smtps"
)


class AlertsSettings(_Section):
    slack_webhook_url: SecretStr | None = None
    webhook_url: SecretStr | None = None
    email: EmailSettings = EmailSettings()
    airflow_base_url: str | None = Field(
        default=None, description="links alerts to the Airflow run when set"
    )
    timeout_seconds: float = Field(default=10.0, gt=0)


class OwnerRoute(_Section):
    """Where one owner role hears it. Webhook URLs are secrets: environment only
    (``CX_OWNERS__ROUTES__<ROLE>__SLACK_WEBHOOK_URL`` / ``__WEBHOOK_URL``)."""

    email: list[str] = Field(default=[], description="e-mail recipients of this role")
    slack_webhook_url: SecretStr | None = None
    webhook_url: SecretStr | None = None


class OwnersSettings(_Section):
    """Owner routing (signals.md, "Owners hear it"): role -> channels. The key of a route
    is the role's slug (``Ops supervisor`` -> ``ops_supervisor``); a role without a route
    falls back to the ``alerts`` channels, and the alert says so."""

    routes: dict[str, OwnerRoute] = {}
    report_url: str | None = Field(
        default=None, description="link to the scorecard report in owner alerts and digests"
    )
    sentiment_owner: str = Field(default="CX analyst", description="hears negative sentiment")
    first_response_owner: str = Field(
        default="Ops supervisor", description="hears phone first response above target"
    )


class SignalsSettings(_Section):
    negative_sentiment_below: float = Field(default=-0.5, ge=-1, le=1)
    lookback_hours: int = Field(
        default=24, ge=1, description="negative interactions of the last hours not yet signalled"
    )
    phone_first_response_seconds: float = Field(default=15.0, gt=0)
    phone_signal_per: Literal["hour", "day"] = Field(
        default="day",
        description="at most one phone first-response signal per breaching peak hour, or "
        "per business day (the first breaching peak hour; docs/signals.md, alert volume)",
    )
    peak_hours: list[Annotated[int, Field(ge=0, le=23)]] | None = Field(
        default=None,
        description="hours of the day (business timezone) that are peak; default: the hours "
        "whose 4-week mean phone volume is in the top quarter",
    )
    digest_dir: str = Field(
        default="reports/digests", description="where `cxscore digest --dry-run` writes"
    )


class FollowupRoute(_Section):
    """Where follow-up tickets of one owner role go in Zendesk (ids from the Zendesk admin)."""

    group_id: int | None = Field(default=None, ge=1, description="Zendesk group id")
    assignee_id: int | None = Field(default=None, ge=1, description="Zendesk agent id")


class ClosedLoopSettings(_Section):
    """Closing the loop (signals.md): one Zendesk follow-up ticket per detractor, unhappy
    CSAT answer or negative interaction, exactly once. Opt-in."""

    enabled: bool = Field(default=False, description="create follow-up tickets")
    cooldown_days: int = Field(
        default=7, ge=0, description="at most one follow-up per customer per this many days"
    )
    sla_hours: float = Field(
        default=48.0, gt=0, description="a follow-up is on time when solved within these hours"
    )
    consent_field: str | None = Field(
        default=None,
        description="Qualtrics embedded-data field; when set, only responses whose value is "
        "truthy (1, true, yes, y) get a follow-up",
    )
    routes: dict[str, FollowupRoute] = Field(
        default={},
        description="owner role slug (of the touchpoint's owner) -> Zendesk group_id / "
        "assignee_id of its follow-ups; key `default` for roles without one",
    )
    include_comment: bool = Field(
        default=False,
        description="copy the survey comment into the private note (off: no customer text)",
    )
    max_per_run: int = Field(default=500, ge=1, description="tickets created per run at most")


class QualitySettings(_Section):
    volume_factor: float = Field(
        default=0.5, gt=0, lt=1, description="volume alarm below factor x or above x/factor"
    )
    freshness_hours: float = Field(default=36.0, gt=0)
    completeness_mostly: float = Field(default=0.98, gt=0, le=1)
    volume_days: int = Field(
        default=7, ge=1, description="complete days (before the newest) judged for volume"
    )
    volume_min_baseline: float = Field(
        default=20.0, ge=0, description="days whose 4-week mean is below this are not judged"
    )
    future_tolerance_minutes: int = Field(
        default=10, ge=0, description="clock skew allowed before a timestamp is 'in the future'"
    )
    min_timestamp: datetime | None = Field(
        default=None, description="earliest valid event time; default sources.zendesk.start_time"
    )
    expectations_dir: str | None = Field(
        default=None, description="folder of GX suite files; default: the shipped expectations/"
    )
    parallel_suites: int = Field(
        default=2,
        ge=1,
        description="how many suites a check run validates at once (threads, each with its own "
        "GX context and connection; the work is the warehouse's): the largest tables first",
    )


class ScorecardSettings(_Section):
    lookback_days: int = Field(default=8, ge=0)
    fcr_window_hours: int = Field(
        default=168, ge=1, description="FCR and recontact_7d look-ahead window (scorecard.md)"
    )
    recontact_window_hours: int = Field(
        default=24, ge=1, description="recontact_24h look-ahead window"
    )
    attribution_window_days: int = Field(
        default=7, ge=1, description="last-touch order attribution look-back"
    )
    build_lock_wait_seconds: float = Field(
        default=600.0, ge=0, description="how long a build waits for another one to finish"
    )


class LoadSettings(_Section):
    max_reject_pct: float = Field(default=1.0, ge=0, le=100)
    lock_wait_seconds: float = Field(
        default=600.0, ge=0, description="how long an extract waits for one of the same source"
    )
    parallel_sources: int = Field(
        default=4,
        ge=1,
        description="how many sources `extract all` and `cxscore run` load at once, each in a "
        "process of its own (1: one after another, in the calling process); the default "
        "loads the four sources at once, which kept 2 cores busier than 2 at a time "
        "(docs/performance.md)",
    )


class Settings(_Section):
    warehouse: WarehouseSettings = WarehouseSettings()
    business_timezone: str = "UTC"
    landing_dir: str = "./landing"
    sources: SourcesSettings = SourcesSettings()
    identity: IdentitySettings = IdentitySettings()
    alerts: AlertsSettings = AlertsSettings()
    quality: QualitySettings = QualitySettings()
    scorecard: ScorecardSettings = ScorecardSettings()
    load: LoadSettings = LoadSettings()
    owners: OwnersSettings = OwnersSettings()
    signals: SignalsSettings = SignalsSettings()
    closed_loop: ClosedLoopSettings = ClosedLoopSettings()
    state_dir: str = Field(default=".cxscore", description="local state (embedded PG, airflow)")

    _tz = field_validator("business_timezone")(_check_timezone)

    # provenance of the values, for error messages
    config_file: str | None = Field(default=None, exclude=True)
