"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>,v1=<hex>,...``.

``v1`` is the hex HMAC-SHA256 of ``{t}.{raw body}`` under the endpoint's ``whsec_...`` secret
(used as text, not decoded). Several ``v1`` entries appear while Stripe rolls a secret; other
schemes (``v0`` test signatures) are ignored. Event type and delivery id come from the JSON
body's ``type`` and ``id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hookport.types import BodyFormat, IncomingRequest, Signed, Verified
from hookport.verify import _hmac
from hookport.verify.base import (
    BaseVerifier,
    Draft,
    Secrets,
    check_tolerance,
    fail,
    json_object,
    parse_timestamp,
    require_header,
    str_field,
)

SIGNATURE = "Stripe-Signature"


def _is_hex(text: str) -> bool:
    return bool(text) and len(text) % 2 == 0 and all(ch in "0123456789abcdefABCDEF" for ch in text)


def parse_signature_header(value: str) -> tuple[str, list[bytes]]:
    """Split ``t=..,v1=..`` into the timestamp text and the raw ``v1`` signatures."""
    timestamps: list[str] = []
    signatures: list[bytes] = []
    for item in value.split(","):
        key, equals, text = item.strip().partition("=")
        if not equals or not key:
            fail(f"malformed {SIGNATURE} header: expected key=value pairs")
        if key == "t":
            timestamps.append(text)
        elif key == "v1" and _is_hex(text):
            # An undecodable v1 can never match; Stripe's own library skips it likewise.
            signatures.append(bytes.fromhex(text))
    if len(timestamps) != 1:
        fail(f"malformed {SIGNATURE} header: expected exactly one t=")
    if not signatures:
        fail(f"no valid v1 signature in {SIGNATURE} header")
    return timestamps[0], signatures


@dataclass(frozen=True, slots=True, kw_only=True)
class StripeVerifier(BaseVerifier):
    """Verifies Stripe deliveries; build it with :func:`hookport.verify.stripe`."""

    scheme: ClassVar[str] = "stripe"
    body_format: ClassVar[BodyFormat] = "json"
    """Stripe events are JSON."""
    early_headers: ClassVar[tuple[str, ...]] = (SIGNATURE,)

    secret: Secrets
    tolerance: float = 300

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check a ``v1`` signature and the timestamp (past and future)."""
        keys = _hmac.keys_of(self.secret.get())
        raw_timestamp, candidates = parse_signature_header(
            require_header(request.headers, SIGNATURE)
        )
        timestamp = parse_timestamp(raw_timestamp, "Stripe-Signature t")
        check_tolerance(timestamp, now, self.tolerance)
        _hmac.verify(candidates, keys, f"{raw_timestamp}.".encode() + request.body)
        doc = json_object(request.body)
        return Verified(event_type=str_field(doc, "type"), delivery_id=str_field(doc, "id"))

    def _sign(self, draft: Draft) -> Signed:
        """The ``Stripe-Signature`` header; type and id travel in the body, as with Stripe."""
        timestamp = str(int(draft.now))
        key = self.secret.first().encode("utf-8")
        signature = _hmac.sign(key, f"{timestamp}.".encode() + draft.body, "sha256", "hex")
        return Signed(headers={SIGNATURE: f"t={timestamp},v1={signature}"})
