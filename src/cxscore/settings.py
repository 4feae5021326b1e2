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
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from cxscore.paths import PROJECT_ROOT_ENV
from cxscore.redaction import redact_text, redact_url, url_has_password
from cxscore.settings_schema import (  # the settings model, re-exported
    CLEAR_TEXT_AUTH,
    SECRET_KEYS,
    AlertsSettings,
    AmazonConnectSettings,
    ClosedLoopSettings,
    ConfigError,
    EmailSettings,
    FollowupRoute,
    IdentitySettings,
    LoadSettings,
    OrdersSettings,
    OwnerRoute,
    OwnersSettings,
    QualitySettings,
    QualtricsEmbedded,
    QualtricsQuestions,
    QualtricsSettings,
    ScorecardSettings,
    Settings,
    SignalsSettings,
    SourcesSettings,
    WarehouseSettings,
    ZendeskSettings,
    is_secret_key,
)

ENV_PREFIX = "CX_"
DEFAULT_CONFIG_FILE = "cxscore.yml"

__all__ = [
    "CLEAR_TEXT_AUTH",
    "DEFAULT_CONFIG_FILE",
    "ENV_PREFIX",
    "SECRET_KEYS",
    "AlertsSettings",
    "AmazonConnectSettings",
    "ClosedLoopSettings",
    "ConfigError",
    "EmailSettings",
    "FollowupRoute",
    "IdentitySettings",
    "LoadSettings",
    "OrdersSettings",
    "OwnerRoute",
    "OwnersSettings",
    "QualitySettings",
    "QualtricsEmbedded",
    "QualtricsQuestions",
    "QualtricsSettings",
    "ScorecardSettings",
    "Settings",
    "SignalsSettings",
    "SourcesSettings",
    "WarehouseSettings",
    "ZendeskSettings",
    "is_secret_key",
    "load_settings",
    "resolve_config_path",
]


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
