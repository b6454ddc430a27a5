"""Shopify: ``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the raw body>``.

The key is the app's client secret (or the secret shown for webhooks created in the admin).
Event type: ``X-Shopify-Topic`` (``orders/create``). Delivery id: ``X-Shopify-Webhook-Id``.
Shopify signs no timestamp, so replays are caught only by delivery-id dedupe.
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
    info_header,
    new_delivery_id,
    require_header,
)

SIGNATURE = "X-Shopify-Hmac-Sha256"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShopifyVerifier(BaseVerifier):
    """Verifies Shopify deliveries; build it with :func:`hookport.verify.shopify`."""

    scheme: ClassVar[str] = "shopify"
    body_format: ClassVar[BodyFormat] = "any"
    """A Shopify subscription may still use the legacy XML format."""
    early_headers: ClassVar[tuple[str, ...]] = (SIGNATURE,)

    secret: Secrets

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check the base64 HMAC over the raw body."""
        keys = _hmac.keys_of(self.secret.get())
        value = require_header(request.headers, SIGNATURE)
        _hmac.verify([_hmac.decode(value, "base64", SIGNATURE)], keys, request.body)
        return Verified(
            event_type=info_header(request.headers, "X-Shopify-Topic"),
            delivery_id=info_header(request.headers, "X-Shopify-Webhook-Id"),
        )

    def _sign(self, draft: Draft) -> Signed:
        """Headers Shopify would send."""
        key = self.secret.first().encode("utf-8")
        return Signed(
            headers={
                SIGNATURE: _hmac.sign(key, draft.body, "sha256", "base64"),
                "X-Shopify-Topic": draft.event_type or "shop/update",
                "X-Shopify-Webhook-Id": new_delivery_id(),
            }
        )
