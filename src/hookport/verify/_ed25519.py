"""Ed25519 helpers for the asymmetric schemes (Standard Webhooks ``v1a``, Discord)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hookport.errors import ConfigError

KEY_SIZE = 32
SIGNATURE_SIZE = 64


def public_key(raw: bytes, label: str) -> Ed25519PublicKey:
    """A public key from its 32 raw bytes; anything else is a ``ConfigError``."""
    if len(raw) != KEY_SIZE:
        raise ConfigError(f"{label} must be a {KEY_SIZE}-byte Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key(raw: bytes, label: str) -> Ed25519PrivateKey:
    """A private key from its 32-byte seed (or seed + public key, 64 bytes)."""
    if len(raw) not in (KEY_SIZE, 2 * KEY_SIZE):
        raise ConfigError(f"{label} must be a {KEY_SIZE}-byte Ed25519 seed")
    return Ed25519PrivateKey.from_private_bytes(raw[:KEY_SIZE])


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def matches(candidates: Sequence[bytes], keys: Sequence[Ed25519PublicKey], message: bytes) -> bool:
    """True when any candidate is a valid signature of ``message`` under any key."""
    found = False
    for key in keys:
        for candidate in candidates:
            found |= _valid(key, candidate, message)
    return found


def _valid(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    if len(signature) != SIGNATURE_SIZE:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
