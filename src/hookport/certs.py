"""Self-signed certificates for ``hookport serve --tls`` (``hookport cert``), with ``cryptography``.

A certificate made here is its own issuer: senders must pin it (trust this one file), which is
what a test sender, a device on a LAN or a chat bot's webhook does. For a public host, use a
certificate from a CA (see docs/deployment.md).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hookport.errors import ConfigError

KeyType = Literal["ecdsa", "rsa"]
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_CERT = "hookport-cert.pem"
DEFAULT_KEY = "hookport-key.pem"
RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class Certificate:
    """A new certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes
    fingerprint: str
    """SHA-256 of the DER certificate, as ``AA:BB:...`` (what a sender pins)."""
    not_after: dt.datetime


def subject_names(names: Sequence[str]) -> list[x509.GeneralName]:
    """SAN entries: IP addresses as ``IPAddress``, the rest as ``DNSName`` (checked)."""
    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
            continue
        except ValueError:
            pass
        label = name.strip().lower().rstrip(".")
        if not label or not all(_dns_label(part) for part in label.split(".")):
            raise ConfigError(f"{name!r} is neither an IP address nor a host name")
        out.append(x509.DNSName(label))
    return out


def _dns_label(part: str) -> bool:
    if part == "*":  # a wildcard label, e.g. *.example.test
        return True
    return 0 < len(part) <= 63 and part.replace("-", "").isalnum() and part.isascii()


def make_certificate(
    names: Sequence[str] = DEFAULT_NAMES,
    *,
    key_type: KeyType = "ecdsa",
    days: int = 365,
    now: dt.datetime | None = None,
) -> Certificate:
    """A self-signed server certificate for ``names`` (host names and IP addresses).

    ECDSA P-256 (small, fast, accepted everywhere that matters) or RSA 2048 for old clients.
    Valid from one minute before ``now`` (clock skew) for ``days`` days.
    """
    if not names:
        raise ConfigError("a certificate needs at least one host name or IP address")
    if days < 1:
        raise ConfigError("a certificate must be valid for at least one day")
    sans = subject_names(names)
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=1)
    end = start + dt.timedelta(days=days)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=key_type == "rsa",
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return Certificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key_pem,
        fingerprint=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        not_after=end,
    )


def write_certificate(
    cert: Certificate, cert_path: Path, key_path: Path, *, force: bool = False
) -> None:
    """Write both files; the key is created mode 0600 (never readable by others, not even
    for a moment). Refuses to replace an existing file unless ``force``."""
    if cert_path.resolve() == key_path.resolve():
        raise ConfigError("the certificate and the key must be different files")
    if not force:
        for path in (cert_path, key_path):
            if path.exists():
                raise ConfigError(f"{str(path)!r} exists; use --force to replace it")
    _write(key_path, cert.key_pem, 0o600)
    _write(cert_path, cert.cert_pem, 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fd, mode)  # the umask may have narrowed it; never widened past ``mode``
        fh.write(data)
        fh.flush()
        os.fsync(fd)
    tmp.replace(path)
