"""Discord interactions and webhook events: Ed25519 over ``{timestamp}{raw body}``.

Headers: ``X-Signature-Ed25519`` (hex signature) and ``X-Signature-Timestamp``; the key is the
application's public key (hex, from the developer portal). Discord documents no tolerance, so
the default 300 s applies.

Interactions: PING (``type`` 1) is answered at once with ``{"type": 1}``; other types become
``application_command``, ``message_component``, ``autocomplete``, ``modal_submit``; the
delivery id is the interaction ``id``. Webhook events (body with ``version`` and ``event``):
PING (``type`` 0) is answered with 204; events take ``event.type`` (``APPLICATION_AUTHORIZED``).

Signing needs the private key (hex seed), which only tests and ``hookport send`` have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hookport.errors import ConfigError
from hookport.types import BodyFormat, IncomingRequest, Reply, Signed, Verified
from hookport.verify import _ed25519
from hookport.verify.base import (
    BaseVerifier,
    Draft,
    Secrets,
    check_tolerance,
    decode_hex,
    fail,
    json_object,
    parse_timestamp,
    require_header,
    str_field,
)

SIGNATURE = "X-Signature-Ed25519"
TIMESTAMP = "X-Signature-Timestamp"
INTERACTION_TYPES = {
    2: "application_command",
    3: "message_component",
    4: "autocomplete",
    5: "modal_submit",
}
PONG = Reply(200, b'{"type":1}')


def _hex_key(value: str, label: str) -> bytes:
    try:
        return bytes.fromhex(value.strip())
    except ValueError:
        raise ConfigError(f"{label} must be hex") from None


def public_key(value: str) -> Ed25519PublicKey:
    """The application's public key from its hex form."""
    return _ed25519.public_key(_hex_key(value, "public_key"), "public_key")


def private_public_key(value: str) -> Ed25519PublicKey:
    """The public half of a hex private key (seed)."""
    return _ed25519.private_key(_hex_key(value, "private_key"), "private_key").public_key()


def describe(doc: Mapping[str, Any] | None) -> Verified:
    """Event type, delivery id and handshake reply of a verified body."""
    if doc is None:
        return Verified()
    kind = doc.get("type")
    kind = None if isinstance(kind, bool) else kind  # JSON true is not the number 1
    if "event" in doc and "version" in doc:  # webhook events, not interactions
        if kind == 0:
            return Verified(event_type="ping", reply=Reply(204, b""))
        return Verified(event_type=str_field(doc, "event", "type"))
    if kind == 1:
        return Verified(event_type="ping", reply=PONG)
    name = INTERACTION_TYPES.get(kind) if isinstance(kind, int) else None
    return Verified(event_type=name, delivery_id=str_field(doc, "id"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscordVerifier(BaseVerifier):
    """Verifies Discord requests; build it with :func:`hookport.verify.discord`."""

    scheme: ClassVar[str] = "discord"
    body_format: ClassVar[BodyFormat] = "json"
    """interactions are JSON."""
    early_headers: ClassVar[tuple[str, ...]] = (TIMESTAMP, SIGNATURE)

    public_key: Secrets
    private_key: Secrets
    tolerance: float = 300

    def __post_init__(self) -> None:
        if not self.public_key.env and not self.private_key.env:
            self._keys()

    def _keys(self) -> list[Ed25519PublicKey]:
        keys = [public_key(value) for value in self.public_key.get()]
        return keys + [private_public_key(value) for value in self.private_key.get()]

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check the Ed25519 signature and the timestamp; answer PINGs."""
        keys = self._keys()
        raw_timestamp = require_header(request.headers, TIMESTAMP)
        check_tolerance(parse_timestamp(raw_timestamp, TIMESTAMP), now, self.tolerance)
        signature = decode_hex(require_header(request.headers, SIGNATURE), SIGNATURE)
        if not _ed25519.matches([signature], keys, raw_timestamp.encode() + request.body):
            fail("signature does not match")
        return describe(json_object(request.body))

    def _sign(self, draft: Draft) -> Signed:
        """The two headers Discord sends; needs ``private_key``."""
        privates = self.private_key.get()
        if not privates:
            raise ConfigError("signing Discord requests needs private_key (hex seed)")
        key = _ed25519.private_key(_hex_key(privates[0], "private_key"), "private_key")
        timestamp = str(int(draft.now))
        signature = key.sign(timestamp.encode() + draft.body).hex()
        return Signed(headers={SIGNATURE: signature, TIMESTAMP: timestamp})
