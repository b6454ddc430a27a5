"""``hookport cert``: a self-signed certificate and key for ``hookport serve --tls``."""

from __future__ import annotations

from pathlib import Path

import click

from hookport.certs import (
    DEFAULT_CERT,
    DEFAULT_KEY,
    DEFAULT_NAMES,
    make_certificate,
    write_certificate,
)
from hookport.cli._common import emit_json


@click.command()
@click.argument("names", nargs=-1, metavar="[HOST_OR_IP]...")
@click.option(
    "--cert",
    "cert_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CERT,
    show_default=True,
    help="Where to write the certificate (PEM).",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_KEY,
    show_default=True,
    help="Where to write the private key (PEM, mode 0600).",
)
@click.option("--rsa", is_flag=True, help="RSA 2048 instead of ECDSA P-256 (for old clients).")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=365,
    show_default=True,
    help="Days the certificate is valid.",
)
@click.option("--force", is_flag=True, help="Replace existing files.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def cert(
    names: tuple[str, ...],
    cert_path: Path,
    key_path: Path,
    rsa: bool,
    days: int,
    force: bool,
    as_json: bool,
) -> None:
    """Write a self-signed TLS certificate and key for HOST_OR_IP... (default: localhost,
    127.0.0.1 and ::1), valid for one year. Serve it with 'hookport serve --tls'; senders pin
    the certificate file (e.g. curl --cacert hookport-cert.pem)."""
    made = make_certificate(names or DEFAULT_NAMES, key_type="rsa" if rsa else "ecdsa", days=days)
    write_certificate(made, cert_path, key_path, force=force)
    info = {
        "certificate": str(cert_path),
        "key": str(key_path),
        "names": list(names or DEFAULT_NAMES),
        "key_type": "rsa-2048" if rsa else "ecdsa-p256",
        "not_after": made.not_after.isoformat(timespec="seconds"),
        "sha256": made.fingerprint,
    }
    if as_json:
        emit_json(info)
        return
    click.echo(f"certificate  {cert_path}")
    click.echo(f"key          {key_path} (mode 0600)")
    click.echo(f"names        {', '.join(info['names'])}")
    click.echo(f"key type     {info['key_type']}, valid until {info['not_after']}")
    click.echo(f"sha256       {made.fingerprint}")
