from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxscore.cli import app
from cxscore.settings import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cx.yml"
    path.write_text(text)
    return path


def test_defaults_without_any_file() -> None:
    s = load_settings(environ={})
    assert s.warehouse.url is None
    assert s.business_timezone == "UTC"
    assert s.sources.amazon_connect.short_abandon_seconds == 5
    assert s.sources.qualtrics.questions.csat == "QID1"
    assert s.alerts.email.smtp_port == 25
    assert s.config_file is None


def test_file_then_env_override(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "business_timezone: Europe/Berlin\n"
        "sources:\n  amazon_connect: {short_abandon_seconds: 8}\n",
    )
    s = load_settings(path, environ={"CX_SOURCES__AMAZON_CONNECT__SHORT_ABANDON_SECONDS": "3"})
    assert s.business_timezone == "Europe/Berlin"
    assert s.sources.amazon_connect.short_abandon_seconds == 3
    s2 = load_settings(path, environ={"CX_WAREHOUSE__URL": "postgresql://u@h:5/cx"})
    assert s2.warehouse.url == "postgresql://u@h:5/cx"
    assert s2.sources.amazon_connect.short_abandon_seconds == 8


def test_cx_config_env_and_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "landing_dir: /data/landing\n")
    assert load_settings(environ={"CX_CONFIG": str(path)}).landing_dir == "/data/landing"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cxscore.yml").write_text("landing_dir: ./here\n")
    assert load_settings(environ={}).landing_dir == "./here"


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  qualtrics:\n    timezon: UTC\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert "sources.qualtrics.timezon" in str(err.value)
    assert str(path) in str(err.value)


def test_wrong_type_names_key_and_env_var() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"CX_ALERTS__EMAIL__SMTP_PORT": "many"})
    msg = str(err.value)
    assert "alerts.email.smtp_port" in msg
    assert "CX_ALERTS__EMAIL__SMTP_PORT" in msg


def test_bad_timezone_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="business_timezone"):
        load_settings(write(tmp_path, "business_timezone: Mars/Olympus\n"), environ={})


def test_secret_in_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "alerts:\n  slack_webhook_url: https://hooks.example/T000/B000/xyz\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert "CX_ALERTS__SLACK_WEBHOOK_URL" in str(err.value)


def test_password_in_file_url_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "warehouse:\n  url: postgresql://cx:hunter2@db:5432/cx\n")
    with pytest.raises(ConfigError, match=r"warehouse\.url"):
        load_settings(path, environ={})


def test_secrets_from_env_are_masked() -> None:
    s = load_settings(environ={"CX_SOURCES__ZENDESK__API_TOKEN": "tok-123"})
    assert s.sources.zendesk.api_token is not None
    assert s.sources.zendesk.api_token.get_secret_value() == "tok-123"
    assert "tok-123" not in repr(s)


def test_cli_exit_code_2_names_key(tmp_path: Path) -> None:
    path = write(tmp_path, "warehouse:\n  port: 5432\n")
    result = CliRunner().invoke(app, ["warehouse", "url", "--config", str(path)])
    assert result.exit_code == 2
    assert "warehouse.port" in result.output
    assert str(path) in result.output


def test_every_command_has_help() -> None:
    runner = CliRunner()
    commands = [
        [],
        ["warehouse"],
        ["warehouse", "up"],
        ["warehouse", "init"],
        ["warehouse", "url"],
        ["generate"],
        ["serve-sources"],
        ["extract"],
        ["check"],
        ["build"],
        ["run"],
        ["report"],
        ["demo"],
    ]
    for cmd in commands:
        result = runner.invoke(app, [*cmd, "--help"])
        assert result.exit_code == 0, (cmd, result.output)
        assert "Usage:" in result.output
        if cmd and cmd != ["warehouse"]:
            assert "--config" in result.output, cmd


def _dotted_keys(model: type, prefix: str = "") -> list[str]:
    from pydantic import BaseModel

    keys = []
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        if name == "config_file":
            continue
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys.extend(_dotted_keys(ann, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_every_setting_is_documented() -> None:
    from cxscore.settings import Settings

    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    keys = _dotted_keys(Settings)
    assert len(keys) > 40
    missing = []
    for key in keys:
        parent, _, leaf = key.rpartition(".")
        # grouped rows like `alerts.email.smtp_host` / `smtp_port` or `x.{a,b}` count
        if f"`{key}`" in doc or (parent and f"`{parent}." in doc and leaf in doc):
            continue
        missing.append(key)
    assert not missing, f"docs/configuration.md does not describe {missing}"


def test_reserved_prefixes_are_not_settings() -> None:
    # the generated dbt profile exports CX_DBT_*; Cosmos copies them into os.environ
    s = load_settings(environ={"CX_DBT_HOST": "h", "CX_TEST_PG_URL": "x", "CX_BENCH_ROWS": "1"})
    assert s.warehouse.url is None


# ------------------------------------------------------------ environment values by type


def test_env_text_settings_are_taken_verbatim() -> None:
    s = load_settings(
        environ={
            "CX_IDENTITY__DEFAULT_COUNTRY": "NO",  # Norway, not YAML's False
            "CX_ALERTS__EMAIL__SMTP_PASSWORD": "83920174",  # a password, not a number
            "CX_ALERTS__EMAIL__SMTP_TLS": "starttls",
            "CX_ALERTS__EMAIL__SENDER": "on",  # YAML 1.1 would read True
            "CX_SOURCES__QUALTRICS__QUESTIONS__CSAT": "0012",
            "CX_LANDING_DIR": "2026-01-01",  # not a date
            "CX_ALERTS__EMAIL__RECIPIENTS": "[NO, 0012, a@x.org]",  # list items are text too
        }
    )
    assert s.identity.default_country == "NO"
    assert s.alerts.email.smtp_password is not None
    assert s.alerts.email.smtp_password.get_secret_value() == "83920174"
    assert s.alerts.email.sender == "on"
    assert s.sources.qualtrics.questions.csat == "0012"
    assert s.landing_dir == "2026-01-01"
    assert s.alerts.email.recipients == ["NO", "0012", "a@x.org"]


def test_env_typed_settings_are_parsed_by_their_type() -> None:
    s = load_settings(
        environ={
            "CX_ALERTS__EMAIL__SMTP_PORT": "587",
            "CX_QUALITY__VOLUME_FACTOR": "0.25",
            "CX_SOURCES__ZENDESK__START_TIME": "2026-02-01T00:00:00Z",
            "CX_SOURCES__ENABLED": "orders, qualtrics",
            "CX_ALERTS__EMAIL__RECIPIENTS": "a@x.org,b@x.org",
            "CX_ALERTS__EMAIL__SMTP_HOST": "",  # empty: unset (compose's ${VAR:-})
        }
    )
    assert s.alerts.email.smtp_port == 587
    assert s.quality.volume_factor == 0.25
    assert s.sources.zendesk.start_time.isoformat() == "2026-02-01T00:00:00+00:00"
    assert s.sources.enabled == ["orders", "qualtrics"]
    assert s.alerts.email.recipients == ["a@x.org", "b@x.org"]
    assert s.alerts.email.smtp_host is None


def test_unknown_cx_variable_is_still_a_typo() -> None:
    for name in ("CX_BI_PASSWORD", "CX_IDENTITY__DEFAULT_CONTRY", "CX_WAREHOUSE_POOL_SLOTS"):
        with pytest.raises(ConfigError) as err:
            load_settings(environ={name: "s3cr3t-value"})
        assert f"(in environment variable {name})" in str(err.value)
        assert "unknown key" in str(err.value)
        assert "s3cr3t-value" not in str(err.value)


def test_no_message_prints_a_secret_value() -> None:
    # a secret given where a section is expected, a secret with a wrong shape
    cases = [
        {"CX_ALERTS__EMAIL__SMTP_PASSWORD": "83920174"},  # without TLS: refused
        {"CX_SOURCES__ZENDESK__API_TOKEN__X": "tok-83920174"},
        {"CX_ALERTS__EMAIL": "smtp_password-83920174"},
        {"CX_WAREHOUSE__URL": "postgresql://cx:83920174@db/cx", "CX_WAREHOUSE__PORT": "1"},
    ]
    for environ in cases:
        with pytest.raises(ConfigError) as err:
            load_settings(environ=environ)
        assert "83920174" not in str(err.value), environ


def test_cli_refuses_clear_text_smtp_auth_with_exit_2_naming_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CX_ALERTS__EMAIL__SMTP_PASSWORD", "83920174")
    monkeypatch.setenv("CX_ALERTS__EMAIL__SMTP_USER", "cx")
    result = CliRunner().invoke(app, ["warehouse", "url"])
    assert result.exit_code == 2
    assert "alerts.email.smtp_tls" in result.output
    assert "CX_ALERTS__EMAIL__SMTP_TLS" in result.output
    assert "83920174" not in result.output
    for mode in ("starttls", "smtps"):
        s = load_settings(
            environ={
                "CX_ALERTS__EMAIL__SMTP_PASSWORD": "83920174",
                "CX_ALERTS__EMAIL__SMTP_TLS": mode,
            }
        )
        assert s.alerts.email.smtp_tls == mode


def test_password_query_parameter_in_file_url_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "warehouse:\n  url: postgresql://cx@db:5432/cx?password=hunter2\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert "warehouse.url" in str(err.value)
    assert "CX_WAREHOUSE__URL" in str(err.value)
    assert "hunter2" not in str(err.value)
    assert "postgresql://cx@db:5432/cx?password=***" in str(err.value)


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """docker compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$."""
    import re

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        given = variables.get(name, "")
        if op == ":-":
            return given or arg
        if op == ":?":
            assert given, f"compose requires {name}: {arg}"
            return given
        return given

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}", one, value).replace(
        "$$", "$"
    )


def test_compose_environment_loads_cleanly() -> None:
    """Every CX_* variable docker-compose.yml gives the Airflow containers is a setting, with
    the .env values a user fills in (test values) and with the defaults."""
    import yaml

    compose = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text()
    )
    required = {
        "AIRFLOW_DB_PASSWORD": "pw-airflow",
        "AIRFLOW_FERNET_KEY": "fernet",
        "AIRFLOW_JWT_SECRET": "jwt",
        "AIRFLOW_API_SECRET_KEY": "api",
        "WAREHOUSE_PASSWORD": "83920174",
        "CX_IDENTITY__HASH_KEY": "0123456789",
    }
    filled = {
        **required,
        "CX_ALERTS__SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/XYZ",
        "CX_ALERTS__EMAIL__SMTP_HOST": "smtp.example.org",
        "CX_BUSINESS_TIMEZONE": "Europe/Oslo",
    }
    services = compose["services"]
    for name in ("airflow-init", "airflow-worker", "airflow-scheduler"):
        for variables in (required, filled):
            env = {
                key: _interpolate(str(value), variables)
                for key, value in services[name]["environment"].items()
            }
            assert any(k.startswith("CX_") for k in env), name
            settings = load_settings(environ=env)
            assert settings.identity.hash_key is not None
            assert settings.identity.hash_key.get_secret_value() == "0123456789"
    assert settings.business_timezone == "Europe/Oslo"
    assert settings.alerts.slack_webhook_url is not None
