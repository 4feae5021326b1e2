"""The one place that hides secrets from messages: URLs, free text, JSON-like summaries.

Every log line, error message, alert, ``--json`` output and task return value that may carry
a URL, an exception text or a configured secret goes through these functions:

- :func:`redact_url`: a URL with its password (``user:pw@`` or a ``?password=`` style query
  parameter) replaced by ``***``; everything else kept (the database name, a link's path).
- :func:`redact_webhook_url`: a webhook URL, whose path and query *are* the secret (Slack),
  reduced to its scheme and host.
- :func:`redact_text`: free text (an exception message) with every registered secret value,
  every URL password and every ``password=...`` pair hidden.
- :func:`redact_obj`: the same over dicts, lists and strings (``--json`` output, XCom).

Secrets are registered per process with :func:`register_settings` (every ``SecretStr`` of
the settings, the webhook paths, the warehouse password) or :func:`register_secret`; inside
an Airflow task :func:`mask_in_airflow` also hands them to Airflow's secrets masker, so that
task logs and rendered template fields hide them too. Nothing here imports Airflow unless
asked to.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from cxscore.settings import Settings

MASK = "***"
# query parameters and key=value words whose value is a credential
SECRET_PARAM_NAMES = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "token",
        "access_token",
        "api_key",
        "apikey",
        "api_token",
        "sig",
        "signature",
    }
)
# shorter values are not registered: replacing them would garble unrelated text
MIN_SECRET_LENGTH = 4

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")
# key=value / key: value words in free text (libpq keyword DSNs, tracebacks); not "pass"
# or "sig" here, which would hit dbt's "PASS=12"
_PAIR_NAMES = SECRET_PARAM_NAMES - {"pass", "sig", "signature"}
_KEY_VALUE = re.compile(
    r"(?i)\b(" + "|".join(sorted(_PAIR_NAMES, key=len, reverse=True)) + r")"
    r"(\s*[=:]\s*)('[^']*'|\"[^\"]*\"|[^\s&;,'\"]+)"
)
_registry: dict[str, str] = {}  # secret value -> what is shown instead
_lock = threading.Lock()


def url_has_password(url: str) -> bool:
    """True when the URL carries a credential: ``user:pw@host`` or ``?password=...``."""
    try:
        parts = urlsplit(url)
        if parts.password:
            return True
    except ValueError:
        return False
    return any(
        key.lower() in SECRET_PARAM_NAMES and value
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )


def redact_url(url: str) -> str:
    """The URL with every credential replaced by ``***`` (userinfo password, secret-named
    query parameters); host, port, path and other parameters are kept."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return _redact_pairs(url)
    netloc = parts.netloc
    if password is not None and "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in SECRET_PARAM_NAMES for key, _ in pairs):
            query = "&".join(
                f"{quote(key, safe='')}="
                + (MASK if key.lower() in SECRET_PARAM_NAMES else quote(value, safe="/"))
                for key, value in pairs
            )
    if netloc == parts.netloc and query == parts.query:
        return url
    if not netloc and url.startswith(f"{parts.scheme}://"):  # postgresql:///db?host=/socket
        rest = urlunsplit(("", "", parts.path, query, parts.fragment))
        return f"{parts.scheme}://{rest}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_webhook_url(url: str) -> str:
    """A webhook URL as it may be shown: ``https://hooks.slack.com/***`` (the host at most;
    the path and query of an incoming webhook are its secret)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    if not host:
        return MASK
    return f"{parts.scheme}://{host}{port}/{MASK}"


def webhook_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that must never be shown: the whole URL, its path, its
    query (raw and percent-decoded)."""
    found = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return found
    for piece in (parts.path, parts.query):
        if piece and piece != "/":
            found += [piece, unquote(piece)]
    if parts.password:
        found += [parts.password, unquote(parts.password)]
    return found


def register_secret(*values: str | None) -> None:
    """Remember values that :func:`redact_text` hides from now on in this process (a full
    webhook URL is shown as its host, see :func:`redact_webhook_url`)."""
    with _lock:
        for value in values:
            if value and len(value) >= MIN_SECRET_LENGTH:
                shown = redact_webhook_url(value) if value.startswith("http") else MASK
                _registry[value] = shown


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret value of the settings, with the derived forms that may appear in text
    (a webhook's path, the warehouse URL's password)."""
    from pydantic import BaseModel, SecretStr

    found: list[str] = []

    def walk(model: BaseModel) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, SecretStr):
                secret = value.get_secret_value()
                if secret:
                    found.append(secret)
                    if "://" in secret:
                        found.extend(webhook_secrets(secret))
            elif isinstance(value, BaseModel):
                walk(value)

    walk(settings)
    url = settings.warehouse.url
    if url:
        found.extend(url_secrets(url))
    return found


def url_secrets(url: str) -> list[str]:
    """The credentials inside a URL (userinfo password, secret-named query values)."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        if parts.password:
            found += [parts.password, unquote(parts.password)]
    except ValueError:
        return found
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in SECRET_PARAM_NAMES and value:
            found += [value, quote(value, safe="")]
    return found


def register_settings(settings: Settings) -> list[str]:
    """Register every secret of the settings (see :func:`settings_secrets`); returns them."""
    found = settings_secrets(settings)
    register_secret(*found)
    return found


def mask_in_airflow(values: Iterable[str]) -> None:
    """Hand secrets to Airflow's secrets masker (task log, rendered template fields), and
    register them here too. Airflow 3.3: ``airflow.sdk.log.mask_secret`` masks in the task
    process and tells the supervisor. Without Airflow installed this only registers."""
    values = [v for v in values if v and len(v) >= MIN_SECRET_LENGTH]
    register_secret(*values)
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # cxscore without Airflow (the CLI alone)
        return
    for value in values:
        mask_secret(value)


def redact_text(text: str, extra: Iterable[str | None] = ()) -> str:
    """Free text without secrets: registered values and ``extra`` ones, URL credentials and
    ``password=...`` pairs are replaced by ``***``."""
    if not text:
        return text
    with _lock:
        values = dict(_registry)
    for value in extra:
        if value and len(value) >= MIN_SECRET_LENGTH and value not in values:
            values[value] = redact_webhook_url(value) if value.startswith("http") else MASK
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, values[value])
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    return _redact_pairs(text)


def _redact_pairs(text: str) -> str:
    return _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


_REQUEST_PATH = re.compile(r"(?i)(\burl: )(\S+)")


def describe_error(exc: BaseException, url: str | None = None) -> str:
    """``Type: message`` of an exception, safe to log and return: besides
    :func:`redact_text`, the parts of ``url`` (a webhook: path, query) and the request path
    that ``requests``/``urllib3`` put in their messages (``... with url: /services/...``)
    are hidden."""
    extra = webhook_secrets(url) if url else []
    text = redact_text(f"{type(exc).__name__}: {exc}", extra)
    return _REQUEST_PATH.sub(lambda m: f"{m.group(1)}{MASK}", text)


def redact_obj(value: Any, extra: Iterable[str | None] = ()) -> Any:
    """:func:`redact_text` over every string of a JSON-like value (dicts, lists, tuples)."""
    extra = list(extra)
    if isinstance(value, str):
        return redact_text(value, extra)
    if isinstance(value, dict):
        return {k: redact_obj(v, extra) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_obj(v, extra) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record's message through :func:`redact_text`
    (attach it to a handler: the CLI's stderr handler has one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


def clear_registry() -> None:
    """Forget the registered secrets (tests)."""
    with _lock:
        _registry.clear()
