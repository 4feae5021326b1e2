"""One typed settings object: a YAML file overlaid by ``CX_<SECTION>__<KEY>`` environment variables.

Resolution order (later wins): built-in defaults, the YAML file (``--config F``, else
``$CX_CONFIG``, else ``./cxscore.yml`` when it exists), then environment variables.
An environment value is read as its setting's type: text and secrets verbatim (``NO`` is
Norway, ``83920174`` a password), numbers, booleans and times parsed by pydantic, lists as
``a, b`` or ``[a, b]`` (items kept as text); an empty value is an unset one. Every ``CX_*``
variable must name a setting (the prefix belongs to settings alone). Unknown keys and wrong
types raise :class:`ConfigError`, whose message names the key and where it came from (file
path or environment variable) and never shows a secret's value. Secrets are accepted only
from the environment: a secret key found in a file is an error, and so is a password in a
file's ``warehouse.url`` (``user:pw@`` or ``?password=``).

Nothing here does I/O at import time.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from cxscore.paths import PROJECT_ROOT_ENV
from cxscore.redaction import redact_text, redact_url, url_has_password
from cxscore.registry import SourceName

ENV_PREFIX = "CX_"
DEFAULT_CONFIG_FILE = "cxscore.yml"

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


def _env_overrides(environ: dict[str, str]) -> dict[str, tuple[list[str], str, str]]:
    """Map dotted key -> (path parts, raw value, env var name) for CX_* variables."""
    result: dict[str, tuple[list[str], str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "CX_CONFIG":
            continue
        # reserved: test, benchmark and demo knobs, the dbt executable and the generated dbt
        # profile's variables, the project root (cxscore.paths)
        if (
            name.startswith(("CX_TEST_", "CX_BENCH_", "CX_DBT_", "CX_DEMO_"))
            or name == PROJECT_ROOT_ENV
        ):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if any(not p for p in parts):
            continue
        result[".".join(parts)] = (parts, value, name)
    return result


def _field_annotation(parts: list[str]) -> Any:
    """The type annotation of the setting at ``parts`` (None for an unknown key)."""
    model: Any = Settings
    annotation: Any = None
    for part in parts:
        if get_origin(model) is dict:  # a mapping of named entries (owners.routes.<role>)
            annotation = _strip_optional(get_args(model)[1])
            model = annotation
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None or field.exclude:
            return None
        annotation = _strip_optional(field.annotation)
        model = annotation
    return annotation


def _strip_optional(annotation: Any) -> Any:
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _parse_env_value(parts: list[str], raw: str) -> Any:
    """An environment value as the setting's type reads it. Text (and secrets) verbatim:
    ``NO`` is Norway, ``83920174`` a password. Lists: ``[a, b]`` (a YAML flow sequence, its
    items kept as text) or ``a, b``. Numbers, booleans and times: the raw text, which the
    settings model parses and checks by type. A key that is not a setting keeps its text, so
    that validation reports it as unknown."""
    annotation = _field_annotation(parts)
    if get_origin(annotation) is list:
        text = raw.strip()
        if text.startswith("["):
            try:
                # BaseLoader: every scalar stays a string (no YAML 1.1 "NO" -> False)
                value = yaml.load(text, Loader=yaml.BaseLoader)
            except yaml.YAMLError:
                return raw
            return value
        return [item.strip() for item in text.split(",") if item.strip()]
    if get_origin(annotation) is dict or (
        isinstance(annotation, type) and issubclass(annotation, BaseModel)
    ):
        # a mapping setting or a whole section as a YAML/JSON flow mapping, e.g.
        # CX_SOURCES__ORDERS='{path: x}' or CX_SOURCES__QUALTRICS__CHOICE_LABELS='{"csat": ..}'
        try:  # BaseLoader: scalars stay text; the model parses them by their type
            value = yaml.load(raw, Loader=yaml.BaseLoader)
        except yaml.YAMLError:
            return raw
        return value
    return raw


def _set_path(data: dict[str, Any], parts: list[str], value: Any) -> None:
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _flatten_keys(data: Any, prefix: str = "") -> list[str]:
    keys: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            dotted = f"{prefix}.{k}" if prefix else str(k)
            keys.append(dotted)
            keys.extend(_flatten_keys(v, dotted))
    return keys


def resolve_config_path(
    config: str | os.PathLike[str] | None, environ: dict[str, str]
) -> Path | None:
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    if environ.get("CX_CONFIG"):
        path = Path(environ["CX_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"config file {path} (from $CX_CONFIG) does not exist")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_settings(
    config: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Build the settings; raises ConfigError naming the key and its origin on any problem."""
    env = dict(os.environ if environ is None else environ)
    path = resolve_config_path(config, env)
    data: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        data = loaded
        for key in _flatten_keys(data):
            origin[key] = str(path)
            if (key in SECRET_KEYS or _is_owner_secret(key)) and _get_path(
                data, key.split(".")
            ) is not None:
                env_name = ENV_PREFIX + "__".join(p.upper() for p in key.split("."))
                raise ConfigError(
                    f"{path}: key '{key}' is a secret and must not be in a file; "
                    f"set the environment variable {env_name} instead"
                )
        url = _get_path(data, ["warehouse", "url"])
        if isinstance(url, str) and url_has_password(url):
            raise ConfigError(
                f"{path}: key 'warehouse.url' contains a password "
                f"({redact_url(url)}); put the URL in the environment variable "
                "CX_WAREHOUSE__URL (or use a ~/.pgpass file) instead"
            )
    for dotted, (parts, raw, env_name) in sorted(_env_overrides(env).items()):
        if raw.strip() == "":  # an empty variable is an unset one (compose's ${X:-})
            continue
        _set_path(data, parts, _parse_env_value(parts, raw))
        origin[dotted] = f"environment variable {env_name}"
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, origin, path)) from exc
    settings.config_file = str(path) if path else None
    return settings


def _is_owner_secret(key: str) -> bool:
    """owners.routes.<role>.slack_webhook_url / webhook_url: secrets, environment only."""
    parts = key.split(".")
    return (
        len(parts) == 4
        and parts[:2] == ["owners", "routes"]
        and parts[3] in ("slack_webhook_url", "webhook_url")
    )


def _get_path(data: Any, parts: list[str]) -> Any:
    node = data
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _describe_validation_error(
    exc: ValidationError, origin: dict[str, str], path: Path | None
) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        below = sorted({o for k, o in origin.items() if k.startswith(key + ".")})
        where = origin.get(key) or ", ".join(below) or (str(path) if path else "defaults")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key '{key}' (in {where})"
        else:
            given = err.get("input")
            msg = f"key '{key}' (in {where}): {err['msg']}"
            if not isinstance(given, dict) and not is_secret_key(key):
                shown = redact_text(given) if isinstance(given, str) else given
                msg += f" (got {shown!r})"
        lines.append(msg)
    return "invalid configuration:\n  " + "\n  ".join(lines)
