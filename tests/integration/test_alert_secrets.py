"""No alert path leaks a secret: a failing webhook's secret path, SMTP credentials without
TLS; and TLS (STARTTLS, SMTPS) before AUTH against a real local SMTP server."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cxscore.alerts import Alert, airflow_failure_callback, send_alert
from cxscore.redaction import clear_registry
from cxscore.settings import load_settings
from tests.receivers import Mailbox, free_port

SECRET_PATH = "/services/T0CX/B0CX/Zk3yS3cr3tPath"


def test_failing_webhook_secret_path_is_in_no_error_or_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clear_registry()
    dead = f"http://127.0.0.1:{free_port()}{SECRET_PATH}?token=qs-secret-1"
    settings = load_settings(
        environ={
            "CX_ALERTS__SLACK_WEBHOOK_URL": dead,
            "CX_ALERTS__WEBHOOK_URL": dead.replace("T0CX", "T1CX"),
            "CX_ALERTS__TIMEOUT_SECONDS": "2",
        }
    )
    with caplog.at_level(logging.DEBUG):
        errors = send_alert(settings, Alert(event="task_failed", severity="critical", title="x"))
    port = dead.split(":")[2].split("/")[0]
    assert [e.split(": ", 1)[0] for e in errors] == [
        f"slack (http://127.0.0.1:{port}/***)",
        f"webhook (http://127.0.0.1:{port}/***)",
    ]
    assert all(": ConnectionError: " in e for e in errors)
    everything = json.dumps(errors) + caplog.text
    for secret in ("Zk3yS3cr3tPath", "T0CX", "T1CX", "qs-secret-1", "/services"):
        assert secret not in everything


def test_airflow_failure_alert_hides_secrets_of_the_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A task that failed with a secret in its error: the alert shows it redacted."""
    from tests.receivers import Receiver

    receiver = Receiver()
    try:
        monkeypatch.setenv("CX_ALERTS__WEBHOOK_URL", f"{receiver.base}/hook-secret-path")
        monkeypatch.setenv("CX_WAREHOUSE__URL", "postgresql://cx:pw-83920174@db/cx")
        error = RuntimeError(
            "could not reach postgresql://cx:pw-83920174@db/cx nor "
            f"{receiver.base}/hook-secret-path"
        )
        airflow_failure_callback(
            {"ti": SimpleNamespace(dag_id="d", task_id="t"), "exception": error}
        )
        ((path, body),) = receiver.posts
    finally:
        receiver.stop()
    assert path == "/hook-secret-path"
    text = json.dumps(body)
    assert "pw-83920174" not in text and "hook-secret-path" not in text
    assert "postgresql://cx:***@db/cx" in body["observed"]


# ------------------------------------------------------------------------------ SMTP TLS


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Logins:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bool]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        assert isinstance(data, LoginPassword)
        over_tls = session.ssl is not None or (  # STARTTLS, or TLS from the first byte
            server.transport.get_extra_info("ssl_object") is not None
        )
        self.seen.append((data.login.decode(), data.password.decode(), over_tls))
        return AuthResult(success=True)


@pytest.fixture
def tls_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ssl.SSLContext]:
    cert, key = _certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's own CA
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    yield server


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_smtp_credentials_go_over_tls(mode: str, tls_files: ssl.SSLContext) -> None:
    from aiosmtpd.controller import Controller

    mailbox, logins, port = Mailbox(), Logins(), free_port()
    options: dict[str, Any] = {"authenticator": logins, "auth_require_tls": True}
    if mode == "starttls":
        options |= {"tls_context": tls_files, "require_starttls": True}
    else:  # TLS from the first byte (aiosmtpd only knows STARTTLS for auth_require_tls)
        options |= {"ssl_context": tls_files, "auth_require_tls": False}
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        settings = load_settings(
            environ={
                "CX_ALERTS__EMAIL__SMTP_HOST": "127.0.0.1",
                "CX_ALERTS__EMAIL__SMTP_PORT": str(port),
                "CX_ALERTS__EMAIL__SMTP_USER": "cx-mailer",
                "CX_ALERTS__EMAIL__SMTP_PASSWORD": "83920174",
                "CX_ALERTS__EMAIL__SMTP_TLS": mode,
                "CX_ALERTS__EMAIL__SENDER": "cx@example.com",
                "CX_ALERTS__EMAIL__RECIPIENTS": "[ops@example.com]",
                "CX_ALERTS__TIMEOUT_SECONDS": "5",
            }
        )
        errors = send_alert(settings, Alert(event="task_failed", severity="critical", title="x"))
    finally:
        controller.stop()
    assert errors == []
    assert logins.seen == [("cx-mailer", "83920174", True)]
    assert [m["Subject"] for m in mailbox.messages] == ["[cxscore critical] x"]


def test_smtp_connection_credentials_without_tls_are_refused(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Credentials from the Airflow connection cx_alerts_smtp while smtp_tls is none: no
    AUTH in clear; the delivery error names the setting, not the password."""
    from aiosmtpd.controller import Controller

    mailbox, logins, port = Mailbox(), Logins(), free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=logins, auth_require_tls=False
    )
    controller.start()
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "cx_ingest")
    monkeypatch.setenv(
        "AIRFLOW_CONN_CX_ALERTS_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "login": "cx",
                "password": "83920174",
            }
        ),
    )
    try:
        settings = load_settings(
            environ={
                "CX_ALERTS__EMAIL__SENDER": "cx@example.com",
                "CX_ALERTS__EMAIL__RECIPIENTS": "[ops@example.com]",
            }
        )
        with caplog.at_level(logging.ERROR, logger="cxscore.alerts"):
            errors = send_alert(
                settings, Alert(event="task_failed", severity="critical", title="x")
            )
    finally:
        controller.stop()
    assert len(errors) == 1
    assert errors[0].startswith("email: ClearTextAuthRefused: SMTP credentials are set but ")
    assert "CX_ALERTS__EMAIL__SMTP_TLS" in errors[0]
    assert "83920174" not in errors[0] + caplog.text
    assert logins.seen == [] and mailbox.messages == []
