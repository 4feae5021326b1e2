"""cxscore.transform helpers: the HMAC pads, the generated key, vars, env and profile."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import stat
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from cxscore import transform
from cxscore.settings import ConfigError, load_settings
from cxscore.warehouse import session_options

HMAC_SQL = (
    "select encode(sha256(decode(%(opad)s, 'hex') || sha256(decode(%(ipad)s, 'hex')"
    " || convert_to(%(msg)s, 'UTF8'))), 'hex')"
)


def _hmac_from_pads(ipad_hex: str, opad_hex: str, message: bytes) -> str:
    inner = hashlib.sha256(bytes.fromhex(ipad_hex) + message).digest()
    return hashlib.sha256(bytes.fromhex(opad_hex) + inner).hexdigest()


@pytest.mark.parametrize(
    "key",
    [b"k", b"test-hmac-key", b"x" * 64, b"a much longer key than one sha-256 block " * 3],
)
def test_pads_reproduce_hmac_sha256(key: bytes) -> None:
    ipad, opad = transform.hmac_pads(key)
    assert len(ipad) == len(opad) == 128
    for message in (b"a@x.com", b"+14155550102", "émile@exämple.fr".encode()):
        expected = hmac.new(key, message, hashlib.sha256).hexdigest()
        assert _hmac_from_pads(ipad, opad, message) == expected


@pytest.mark.pg
def test_core_sql_hmac_equals_python_hmac(pg_url: str) -> None:
    """The SQL of macros/hash_pii.sql (core sha256, no pgcrypto) on real PostgreSQL."""
    key = b"test-hmac-key"
    ipad, opad = transform.hmac_pads(key)
    with contextlib.closing(psycopg2.connect(pg_url)) as conn, conn.cursor() as cur:
        for message in ("a@x.com", "+14155550102", "émile@exämple.fr"):
            cur.execute(HMAC_SQL, {"ipad": ipad, "opad": opad, "msg": message})
            [(digest,)] = cur.fetchall()
            assert digest == hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


@pytest.mark.pg
def test_macro_reads_the_pads_from_pgoptions(pg_url: str, tmp_path: Path) -> None:
    """dbt_env's PGOPTIONS gives a session the pads the hash_pii macro reads."""
    settings = load_settings(
        environ={"CX_IDENTITY__HASH_KEY": "s3cret", "CX_STATE_DIR": str(tmp_path)}
    )
    env = transform.dbt_env(settings, pg_url)
    connection = psycopg2.connect(pg_url, options=env["PGOPTIONS"])
    with contextlib.closing(connection) as conn, conn.cursor() as cur:
        cur.execute(
            "select encode(sha256(decode(current_setting('cx.hmac_opad'), 'hex') ||"
            " sha256(decode(current_setting('cx.hmac_ipad'), 'hex') ||"
            " convert_to('b@x.com', 'UTF8'))), 'hex'), current_setting('timezone')"
        )
        [(digest, tz)] = cur.fetchall()
        cur.execute("show jit")  # cxscore's session settings (cxscore.warehouse)
        assert cur.fetchone() == ("off",)
        cur.execute("show work_mem")  # warehouse.build_work_mem
        assert cur.fetchone() == ("64MB",)
        cur.execute("show default_statistics_target")  # warehouse.statistics_target
        assert cur.fetchone() == ("30",)
        cur.execute("show random_page_cost")  # warehouse.build_random_page_cost
        assert cur.fetchone() == ("1.1",)
    assert digest == hmac.new(b"s3cret", b"b@x.com", hashlib.sha256).hexdigest()
    assert tz == "UTC"


def test_missing_key_is_generated_once_with_mode_0600(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(environ={"CX_STATE_DIR": str(tmp_path / "state")})
    with caplog.at_level(logging.WARNING, logger="cxscore.transform"):
        first = transform.hash_key(settings)
    assert "identity.hash_key is not set" in caplog.text
    path = tmp_path / "state" / "hash_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 64
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cxscore.transform"):
        assert transform.hash_key(settings) == first
    assert caplog.text == ""
    configured = load_settings(
        environ={"CX_STATE_DIR": str(tmp_path / "state"), "CX_IDENTITY__HASH_KEY": "abc"}
    )
    assert transform.hash_key(configured) == b"abc"


def test_vars_env_and_profile_carry_no_secret(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "CX_IDENTITY__HASH_KEY": "topsecret",
            "CX_STATE_DIR": str(tmp_path),
            "CX_BUSINESS_TIMEZONE": "Europe/Berlin",
            "CX_SCORECARD__LOOKBACK_DAYS": "3",
            "CX_SCORECARD__FCR_WINDOW_HOURS": "72",
            "CX_IDENTITY__DEFAULT_COUNTRY": "de",
        }
    )
    assert transform.dbt_vars(settings) == {
        "business_timezone": "Europe/Berlin",
        "lookback_days": 3,
        "fcr_window_hours": 72,
        "recontact_window_hours": 24,
        "attribution_window_days": 7,
        "short_abandon_seconds": 5,
        "default_country": "DE",
        "closed_loop_enabled": False,
        "closed_loop_cooldown_days": 7,
        "closed_loop_sla_hours": 48.0,
        "closed_loop_consent_field": "",
    }
    env = transform.dbt_env(settings, "postgresql://cx:pw@db.example:6543/warehouse")
    assert env["CX_DBT_HOST"] == "db.example"
    assert env["CX_DBT_PORT"] == "6543"
    assert env["CX_DBT_DBNAME"] == "warehouse"
    assert env["DBT_ENV_SECRET_CX_DBT_PASSWORD"] == "pw"
    ipad, opad = transform.hmac_pads(b"topsecret")
    assert env["DBT_ENV_SECRET_CX_HMAC_IPAD"] == ipad
    assert env["DBT_ENV_SECRET_CX_HMAC_OPAD"] == opad
    assert f"cx.hmac_ipad={ipad}" in env["PGOPTIONS"]
    # the embedded server: a Unix socket directory is the host
    socket_env = transform.dbt_env(settings, "postgresql://postgres@/cxscore?host=/tmp/pg%20dir")
    assert socket_env["CX_DBT_HOST"] == "/tmp/pg dir"
    folder = transform.write_profile(settings)
    text = (folder / "profiles.yml").read_text()
    assert folder == tmp_path.resolve() / "dbt"
    assert "topsecret" not in text and "pw" not in text.replace("password", "")
    assert ipad not in text


def test_one_dbt_profile_and_one_source_of_dbt_vars() -> None:
    """The example profile is the generated one written out; every var the dbt project
    reads comes from the settings (dbt_project.yml keeps no second copy of a default)."""
    import re

    import yaml

    from cxscore.paths import dbt_project_dir
    from cxscore.settings import Settings

    project = dbt_project_dir()
    example = yaml.safe_load((project / "profiles.example.yml").read_text(encoding="utf-8"))
    from cxscore.dbt_profile import profile_dict

    assert example == profile_dict()
    assert "vars" not in yaml.safe_load((project / "dbt_project.yml").read_text("utf-8"))
    used = set()
    for path in [*project.glob("models/**/*.sql"), *project.glob("macros/**/*.sql")]:
        used |= set(re.findall(r"var\(\s*['\"](\w+)['\"]", path.read_text("utf-8")))
    assert used - {"as_of_date"} == set(transform.dbt_vars(Settings())), used


def test_parse_needs_no_database(tmp_path: Path) -> None:
    """Cosmos renders the DAG from manifest.json; `dbt parse` must work offline."""
    import json

    settings = load_settings(environ={"CX_STATE_DIR": str(tmp_path)})
    manifest = json.loads(transform.parse_project(settings).read_text())
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for name in ("touchpoint_scorecard", "touchpoint_scorecard_wide", "touchpoint_transitions"):
        assert nodes[name]["config"]["contract"]["enforced"] is True
        # built into the internal schema; BI reads the published copy in marts only
        assert nodes[name]["schema"] == "marts_build"
        assert nodes[name]["config"]["grants"] == {}
    assert nodes["stg_zendesk__tickets"]["schema"] == "staging"
    assert nodes["fct_interactions"]["config"]["materialized"] == "incremental"
    assert sum(1 for u in manifest["unit_tests"]) >= 13


def _key_in_a_process(state_dir: str, start: Any) -> bytes:
    start.wait()  # every process creates the key at the same moment
    settings = load_settings(environ={"CX_STATE_DIR": state_dir})
    return transform.hash_key(settings)


def test_concurrent_first_runs_agree_on_one_key(tmp_path: Path) -> None:
    """Eight processes that all find no key file, in several rounds: one key per state dir,
    complete in every reader (the file is linked into place fsynced and whole, never read
    empty), no temp files left."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    processes, rounds = 8, 6
    with context.Manager() as manager, context.Pool(processes) as pool:
        for round_ in range(rounds):
            state = tmp_path / f"state{round_}"
            start = manager.Barrier(processes)
            keys = pool.starmap(_key_in_a_process, [(str(state), start)] * processes)
            assert len(set(keys)) == 1 and len(keys[0]) == 64, (round_, keys)
            assert (state / "hash_key").read_text().strip().encode() == keys[0]
            assert sorted(p.name for p in state.iterdir()) == ["hash_key"]


@pytest.mark.parametrize("content", ["", "\n", "abc123", "g" * 64])
def test_a_damaged_key_file_is_never_used(tmp_path: Path, content: str) -> None:
    (tmp_path / "hash_key").write_text(content)
    settings = load_settings(environ={"CX_STATE_DIR": str(tmp_path)})
    with pytest.raises(transform.TransformError) as err:
        transform.hash_key(settings)
    assert str(tmp_path / "hash_key") in str(err.value)
    assert "CX_IDENTITY__HASH_KEY" in str(err.value)


def test_the_builds_work_mem_is_a_setting(tmp_path: Path) -> None:
    """warehouse.build_work_mem reaches the dbt sessions' PGOPTIONS; a value PostgreSQL
    would not take is refused when the settings load."""
    url = "postgresql://u@h/db"
    settings = load_settings(
        environ={"CX_IDENTITY__HASH_KEY": "k", "CX_WAREHOUSE__BUILD_WORK_MEM": "256MB"}
    )
    assert " -c work_mem=256MB " in transform.dbt_env(settings, url)["PGOPTIONS"]
    # '' in the settings file (an empty variable is unset): the server's own work_mem
    config = tmp_path / "cxscore.yml"
    config.write_text("warehouse:\n  build_work_mem: ''\n", encoding="utf-8")
    settings = load_settings(config, environ={"CX_IDENTITY__HASH_KEY": "k"})
    assert "work_mem" not in transform.dbt_env(settings, url)["PGOPTIONS"]
    with pytest.raises(ConfigError, match="build_work_mem"):
        load_settings(environ={"CX_WAREHOUSE__BUILD_WORK_MEM": "lots"})


def test_the_builds_random_page_cost_is_a_setting() -> None:
    """warehouse.build_random_page_cost reaches the dbt sessions' PGOPTIONS (and no other
    session's); 0 leaves the server's; a negative cost is refused when the settings load."""
    url = "postgresql://u@h/db"
    settings = load_settings(
        environ={"CX_IDENTITY__HASH_KEY": "k", "CX_WAREHOUSE__BUILD_RANDOM_PAGE_COST": "2.5"}
    )
    assert " -c random_page_cost=2.5 " in transform.dbt_env(settings, url)["PGOPTIONS"]
    settings = load_settings(
        environ={"CX_IDENTITY__HASH_KEY": "k", "CX_WAREHOUSE__BUILD_RANDOM_PAGE_COST": "0"}
    )
    assert "random_page_cost" not in transform.dbt_env(settings, url)["PGOPTIONS"]
    assert "random_page_cost" not in session_options()  # loads and checks: the server's
    with pytest.raises(ConfigError, match="build_random_page_cost"):
        load_settings(environ={"CX_WAREHOUSE__BUILD_RANDOM_PAGE_COST": "-1"})


def test_the_statistics_target_is_a_setting() -> None:
    """warehouse.statistics_target reaches the dbt sessions' PGOPTIONS (their post-hook
    ANALYZE); 0 leaves the server's default_statistics_target; out of range is refused."""
    url = "postgresql://u@h/db"
    settings = load_settings(environ={"CX_IDENTITY__HASH_KEY": "k"})
    assert " -c default_statistics_target=30" in transform.dbt_env(settings, url)["PGOPTIONS"]
    settings = load_settings(
        environ={"CX_IDENTITY__HASH_KEY": "k", "CX_WAREHOUSE__STATISTICS_TARGET": "0"}
    )
    assert "default_statistics_target" not in transform.dbt_env(settings, url)["PGOPTIONS"]
    with pytest.raises(ConfigError, match="statistics_target"):
        load_settings(environ={"CX_WAREHOUSE__STATISTICS_TARGET": "-1"})
