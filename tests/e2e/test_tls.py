"""``hookport cert`` and ``hookport serve --tls`` for real: a pinned HTTPS delivery end to end."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.e2e.conftest import run_hookport, wait_until

PLUGIN = str(Path(__file__).parent / "plugins" / "durable.py")


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_cert_writes_a_pair_and_refuses_to_overwrite(tmp_path: Path) -> None:
    done = run_hookport("cert", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    cert_file, key_file = tmp_path / "hookport-cert.pem", tmp_path / "hookport-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    cert = load(cert_file)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=364) < lifetime <= dt.timedelta(days=366)
    assert cert.issuer == cert.subject  # self-signed
    assert cert_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE")
    assert done.stdout.count(":") > 31  # the SHA-256 fingerprint is printed

    before = (cert_file.read_bytes(), key_file.read_bytes())
    again = run_hookport("cert", cwd=tmp_path)
    assert again.returncode == 1
    assert "exists; use --force" in again.stderr and "Traceback" not in again.stderr
    assert (cert_file.read_bytes(), key_file.read_bytes()) == before

    forced = run_hookport(
        "cert", "--force", "--rsa", "hooks.example.test", "10.1.2.3", cwd=tmp_path
    )
    assert forced.returncode == 0, forced.stderr
    cert = load(cert_file)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["hooks.example.test"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.1.2.3")]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_cert_rejects_a_name_that_is_no_host(tmp_path: Path) -> None:
    done = run_hookport("cert", "bad name/with slash", cwd=tmp_path)
    assert done.returncode == 1
    assert "neither an IP address nor a host name" in done.stderr
    assert not (tmp_path / "hookport-key.pem").exists()


def test_https_delivery_with_the_certificate_pinned(serve: Any, tmp_path: Path) -> None:
    assert run_hookport("cert", cwd=tmp_path).returncode == 0
    log = tmp_path / "handled.log"
    server = serve(
        "--plugin",
        PLUGIN,
        "--tls",
        env={"DURABLE_LOG": str(log), "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/tls.db"},
    )
    assert server.url.startswith("https://127.0.0.1:")
    # Pinned: this one certificate is the only trust anchor.
    pinned = ssl.create_default_context(cafile=str(tmp_path / "hookport-cert.pem"))
    with httpx.Client(base_url=server.url, verify=pinned) as client:
        answer = client.post("/in", json={"hello": "tls"})
        assert answer.status_code == 202, answer.text
        event_id = answer.json()["id"]
    wait_until(lambda: log.exists() and f"done {event_id}" in log.read_text(), 15, "the handler")
    # Not pinned: the system's trust store does not know a self-signed certificate.
    with httpx.Client(base_url=server.url) as client, pytest.raises(httpx.ConnectError):
        client.post("/in", json={})
    # Plain HTTP on the TLS port is no delivery.
    plain = server.url.replace("https://", "http://")
    with httpx.Client(base_url=plain) as client, pytest.raises(httpx.HTTPError):
        client.post("/in", json={})


def test_tls_files_from_the_config_file(serve: Any, tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    made = run_hookport(
        "cert", "--cert", "certs/server.pem", "--key", "certs/server.key", cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    (tmp_path / "hookport.toml").write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/cfg.db"\n'
        '[server]\ntls_cert = "certs/server.pem"\ntls_key = "certs/server.key"\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    server = serve("--config", str(tmp_path / "hookport.toml"), "--plugin", PLUGIN, cwd=elsewhere)
    context = ssl.create_default_context(cafile=str(certs / "server.pem"))
    with httpx.Client(base_url=server.url, verify=context) as client:
        assert client.get("/_hookport/health").status_code == 200


def test_tls_problems_are_one_line(tmp_path: Path) -> None:
    missing = run_hookport("serve", "--port", "0", "--tls", cwd=tmp_path)
    assert missing.returncode != 0
    assert "hookport-cert.pem" in missing.stderr and "hookport cert" in missing.stderr
    assert "Traceback" not in missing.stderr

    assert run_hookport("cert", cwd=tmp_path).returncode == 0
    assert run_hookport("cert", "--cert", "b.pem", "--key", "b.key", cwd=tmp_path).returncode == 0
    mismatched = run_hookport(
        "serve",
        "--port",
        "0",
        "--tls-cert",
        "hookport-cert.pem",
        "--tls-key",
        "b.key",
        cwd=tmp_path,
    )
    assert mismatched.returncode != 0
    assert "cannot use TLS certificate" in mismatched.stderr
    assert "Traceback" not in mismatched.stderr
    half = run_hookport("serve", "--port", "0", "--tls-cert", "b.pem", cwd=tmp_path)
    assert half.returncode != 0 and "both a certificate and its key" in half.stderr
