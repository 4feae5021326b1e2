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
