"""Bitbucket Cloud and Bitbucket Server / Data Center.

Signature: ``X-Hub-Signature: sha256=<hex HMAC of the raw body>`` (both editions, when a secret
is set on the webhook). Event type: ``X-Event-Key`` (``repo:push``, ``pullrequest:created``).
Delivery id: ``X-Request-UUID`` (Cloud) or ``X-Request-Id`` (Server). ``X-Hook-UUID`` names the
webhook, not the delivery, so it is never used as a delivery id.
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
    first_header,
    info_header,
    new_delivery_id,
    require_header,
)
from hookport.verify.github import hub_candidate

SIGNATURE = "X-Hub-Signature"
DELIVERY_HEADERS = ("X-Request-UUID", "X-Request-Id")


@dataclass(frozen=True, slots=True, kw_only=True)
class BitbucketVerifier(BaseVerifier):
    """Verifies Bitbucket deliveries; build it with :func:`hookport.verify.bitbucket`."""

    scheme: ClassVar[str] = "bitbucket"
    body_format: ClassVar[BodyFormat] = "json"
    """Bitbucket always sends JSON."""
    early_headers: ClassVar[tuple[str, ...]] = (SIGNATURE,)

    secret: Secrets

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check ``X-Hub-Signature`` over the raw body."""
        keys = _hmac.keys_of(self.secret.get())
        value = require_header(request.headers, SIGNATURE)
        _hmac.verify([hub_candidate(value, "sha256", SIGNATURE)], keys, request.body)
        return Verified(
            event_type=info_header(request.headers, "X-Event-Key"),
            delivery_id=first_header(request.headers, DELIVERY_HEADERS),
        )

    def _sign(self, draft: Draft) -> Signed:
        """Headers Bitbucket Cloud would send."""
        key = self.secret.first().encode("utf-8")
        return Signed(
            headers={
                SIGNATURE: "sha256=" + _hmac.sign(key, draft.body, "sha256", "hex"),
                "X-Event-Key": draft.event_type or "repo:push",
                "X-Request-UUID": new_delivery_id(),
            }
        )
