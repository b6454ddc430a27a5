"""Certificates made by ``hookport.certs``: names, keys, validity, files."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from hookport.certs import make_certificate, subject_names, write_certificate
from hookport.errors import ConfigError


def test_names_are_ips_or_dns_names() -> None:
    sans = subject_names(["[::1]", "Hooks.Example.test.", "*.dev.test", "10.0.0.1"])
    assert sans == [
        x509.IPAddress(ipaddress.ip_address("::1")),
        x509.DNSName("hooks.example.test"),
        x509.DNSName("*.dev.test"),
        x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
    ]
    for bad in ("", "a b", "x/y", "é.test", "a" * 64 + ".test", "a..b"):
        with pytest.raises(ConfigError):
            subject_names([bad])


def test_validity_starts_just_before_now() -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    made = make_certificate(["localhost"], days=30, now=now)
    cert = x509.load_pem_x509_certificate(made.cert_pem)
    assert cert.not_valid_before_utc == now - dt.timedelta(minutes=1)
    assert cert.not_valid_after_utc == now - dt.timedelta(minutes=1) + dt.timedelta(days=30)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    with pytest.raises(ConfigError):
        make_certificate([], days=1)
    with pytest.raises(ConfigError):
        make_certificate(["localhost"], days=0)


def test_the_pair_loads_into_an_ssl_context_and_the_key_is_private(tmp_path: Path) -> None:
    old = os.umask(0)  # even a permissive umask leaves the key 0600
    try:
        write_certificate(make_certificate(), tmp_path / "c.pem", tmp_path / "k.pem")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
        tmp_path / "c.pem", tmp_path / "k.pem"
    )
    with pytest.raises(ConfigError, match="exists"):
        write_certificate(make_certificate(), tmp_path / "c.pem", tmp_path / "other.pem")
    assert not (tmp_path / "other.pem").exists()
    with pytest.raises(ConfigError, match="different files"):
        write_certificate(make_certificate(), tmp_path / "x.pem", tmp_path / "x.pem")
