"""Standard Webhooks (https://www.standardwebhooks.com) and Svix, its header-branded variant.

Headers: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` (or ``svix-id``,
``svix-timestamp``, ``svix-signature``). The signed content is ``{id}.{timestamp}.{body}``.
``webhook-signature`` holds space-separated ``version,base64`` entries: ``v1`` is HMAC-SHA256
under a ``whsec_<base64>`` secret, ``v1a`` is Ed25519 under a ``whpk_<base64>`` public key.
Unknown versions are skipped (senders may add new ones); a malformed entry is a 401.
Event type: the body's ``type``. Delivery id: ``webhook-id``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hookport.errors import ConfigError
from hookport.types import BodyFormat, IncomingRequest, Signed, Verified
from hookport.verify import _ed25519, _hmac
from hookport.verify.base import (
    BaseVerifier,
    Draft,
    Secrets,
    check_tolerance,
    decode_base64,
    fail,
    header,
    json_object,
    parse_timestamp,
    require_header,
    str_field,
)

Flavour = Literal["standard", "svix"]
PREFIXES: dict[Flavour, str] = {"standard": "webhook-", "svix": "svix-"}


def _b64_key(value: str, prefix: str, label: str) -> bytes:
    """Decode ``<prefix><base64>`` (prefix optional, padding optional) or raise ``ConfigError``."""
    text = value.strip().removeprefix(prefix)
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{label} is not valid base64 (expected {prefix}<base64>)") from None
    if not raw:
        raise ConfigError(f"{label} must not be empty")
    return raw


def hmac_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret."""
    return _b64_key(secret, "whsec_", "secret")


def public_key(value: str) -> Ed25519PublicKey:
    """The Ed25519 key of a ``whpk_`` public key."""
    return _ed25519.public_key(_b64_key(value, "whpk_", "public_key"), "public_key")


def private_public_key(value: str) -> Ed25519PublicKey:
    """The public half of a ``whsk_`` private key."""
    return _ed25519.private_key(_b64_key(value, "whsk_", "private_key"), "private_key").public_key()


def _entries(value: str) -> tuple[list[bytes], list[bytes]]:
    """Split a signature header into (v1 HMACs, v1a Ed25519 signatures), raw bytes."""
    symmetric: list[bytes] = []
    asymmetric: list[bytes] = []
    for entry in value.split(" "):
        if not entry:
            continue
        version, comma, encoded = entry.partition(",")
        if not comma or not version or not encoded:
            fail("malformed signature header: expected version,signature")
        if version == "v1":
            symmetric.append(decode_base64(encoded, "v1 signature"))
        elif version == "v1a":
            asymmetric.append(decode_base64(encoded, "v1a signature"))
    return symmetric, asymmetric


def _flavour_of(request: IncomingRequest) -> str:
    """Header prefix in use: ``webhook-`` unless only the ``svix-`` headers are present."""
    if header(request.headers, "webhook-signature") is None and header(
        request.headers, "svix-signature"
    ):
        return "svix-"
    return "webhook-"


def verify_headers(
    request: IncomingRequest,
    now: float,
    *,
    keys: Sequence[bytes],
    public_keys: Sequence[Ed25519PublicKey],
    tolerance: float,
) -> str:
    """Check a Standard Webhooks signature; return the message id (the delivery id)."""
    prefix = _flavour_of(request)
    msg_id = require_header(request.headers, prefix + "id")
    raw_timestamp = require_header(request.headers, prefix + "timestamp")
    check_tolerance(parse_timestamp(raw_timestamp, prefix + "timestamp"), now, tolerance)
    symmetric, asymmetric = _entries(require_header(request.headers, prefix + "signature"))
    if not (symmetric if keys else []) and not (asymmetric if public_keys else []):
        fail("no signature of a supported version")
    message = f"{msg_id}.{raw_timestamp}.".encode() + request.body
    symmetric_ok = _hmac.matches(symmetric, keys, message)
    if not _ed25519.matches(asymmetric, public_keys, message) | symmetric_ok:
        fail("signature does not match")
    return msg_id


def sign_headers(
    body: bytes,
    now: float,
    *,
    key: bytes | None,
    private: str | None,
    prefix: str = "webhook-",
    msg_id: str | None = None,
) -> dict[str, str]:
    """The three headers a Standard Webhooks sender adds (``v1`` and/or ``v1a``)."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = str(int(now))
    message = f"{msg_id}.{timestamp}.".encode() + body
    signatures = []
    if key is not None:
        signatures.append("v1," + _hmac.sign(key, message, "sha256", "base64"))
    if private is not None:
        raw = _ed25519.private_key(_b64_key(private, "whsk_", "private_key"), "private_key")
        signatures.append("v1a," + base64.b64encode(raw.sign(message)).decode("ascii"))
    if not signatures:
        raise ConfigError("signing needs a secret or a private key (a public key only verifies)")
    return {
        prefix + "id": msg_id,
        prefix + "timestamp": timestamp,
        prefix + "signature": " ".join(signatures),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class StandardVerifier(BaseVerifier):
    """Verifies Standard Webhooks / Svix; build it with :func:`hookport.verify.standard`."""

    body_format: ClassVar[BodyFormat] = "json"
    """Standard Webhooks payloads are JSON."""

    secret: Secrets
    public_key: Secrets
    private_key: Secrets
    tolerance: float = 300
    flavour: Flavour = "standard"

    def __post_init__(self) -> None:
        self.check()

    @property
    def scheme(self) -> str:
        """``standard`` or ``svix``."""
        return self.flavour

    def check(self) -> None:
        """Parse every known key now, so a malformed one is a startup ``ConfigError``."""
        if not self.secret.env:
            self._keys()
        if not self.public_key.env and not self.private_key.env:
            self._public_keys()

    def _keys(self) -> list[bytes]:
        return [hmac_key(secret) for secret in self.secret.get()]

    def _public_keys(self) -> list[Ed25519PublicKey]:
        keys = [public_key(value) for value in self.public_key.get()]
        return keys + [private_public_key(value) for value in self.private_key.get()]

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check the signature and the timestamp (past and future)."""
        msg_id = verify_headers(
            request,
            now,
            keys=self._keys(),
            public_keys=self._public_keys(),
            tolerance=self.tolerance,
        )
        doc = json_object(request.body)
        return Verified(event_type=str_field(doc, "type"), delivery_id=msg_id)

    def _sign(self, draft: Draft) -> Signed:
        """Headers a sender adds: ``v1`` with the first secret, ``v1a`` with a private key."""
        keys = self._keys()
        privates = self.private_key.get()
        out = sign_headers(
            draft.body,
            draft.now,
            key=keys[0] if keys else None,
            private=privates[0] if privates else None,
            prefix=PREFIXES[self.flavour],
        )
        return Signed(headers=out)
