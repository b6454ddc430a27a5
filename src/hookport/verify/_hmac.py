"""The one HMAC core every signature verifier uses.

Digests are computed over raw bytes and compared as raw bytes with :func:`hmac.compare_digest`.
Every candidate signature is compared with every key, without stopping at the first match, so
the time taken does not tell which key (or which candidate) was right.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence
from typing import Literal

from hookport.errors import ConfigError
from hookport.verify.base import decode_base64, decode_hex, fail

Algorithm = Literal["sha1", "sha256", "sha512"]
Encoding = Literal["hex", "base64"]

ALGORITHMS: tuple[Algorithm, ...] = ("sha1", "sha256", "sha512")
ENCODINGS: tuple[Encoding, ...] = ("hex", "base64")


def check_options(algorithm: str, encoding: str) -> None:
    """Refuse an unknown algorithm or encoding at declaration time."""
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
    if encoding not in ENCODINGS:
        raise ConfigError(f"encoding must be one of {', '.join(ENCODINGS)}")


def digest(key: bytes, message: bytes, algorithm: Algorithm = "sha256") -> bytes:
    """The raw HMAC of ``message`` under ``key``."""
    return hmac.digest(key, message, algorithm)  # OpenSSL's one-shot HMAC, no Python object


def encode(raw: bytes, encoding: Encoding) -> str:
    """Text form of a digest: lowercase hex or standard base64."""
    if encoding == "hex":
        return raw.hex()
    return base64.b64encode(raw).decode("ascii")


def decode(value: str, encoding: Encoding, name: str) -> bytes:
    """Raw bytes of a presented signature; malformed text is a 401."""
    if encoding == "hex":
        return decode_hex(value, name)
    return decode_base64(value, name)


def sign(key: bytes, message: bytes, algorithm: Algorithm, encoding: Encoding) -> str:
    """The encoded signature a sender would present."""
    return encode(digest(key, message, algorithm), encoding)


def matches(
    candidates: Sequence[bytes],
    keys: Sequence[bytes],
    message: bytes,
    algorithm: Algorithm = "sha256",
) -> bool:
    """True when any candidate equals the HMAC under any key; compares all pairs."""
    found = False
    for key in keys:
        expected = digest(key, message, algorithm)
        for candidate in candidates:
            found |= hmac.compare_digest(expected, candidate)
    return found


def verify(
    candidates: Sequence[bytes],
    keys: Sequence[bytes],
    message: bytes,
    algorithm: Algorithm = "sha256",
) -> None:
    """Raise a 401 unless a candidate matches; the message never says which key came close."""
    if not candidates:
        fail("no signature to check")
    if not matches(candidates, keys, message, algorithm):
        fail("signature does not match")


def keys_of(secrets: Sequence[str]) -> list[bytes]:
    """Secrets as HMAC keys (UTF-8 bytes)."""
    return [secret.encode("utf-8") for secret in secrets]


def equal_any(presented: str, expected: Sequence[str]) -> int | None:
    """Index of the expected value equal to ``presented``, compared in constant time.

    Used for plain tokens; every expected value is compared, and bytes are compared so that
    non-ASCII input cannot raise.
    """
    given = presented.encode("utf-8", "surrogatepass")
    found: int | None = None
    for index, value in enumerate(expected):
        if hmac.compare_digest(given, value.encode("utf-8")) and found is None:
            found = index
    return found
