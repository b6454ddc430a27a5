"""GitLab: the ``X-Gitlab-Token`` secret token, and GitLab's signed webhooks.

Secret token: GitLab sends the configured token verbatim in ``X-Gitlab-Token``; it is compared
in constant time. Signing token (``whsec_...``, newer GitLab versions): GitLab signs like
Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>``
over ``{id}.{timestamp}.{body}``). When both are configured, both must pass.

Event type: the body's ``object_kind`` (``push``, ``tag_push``, ``merge_request``, ``note``,
``pipeline``, ``build``...), else ``X-Gitlab-Event`` normalised (``Push Hook`` -> ``push``).
Delivery id: ``Idempotency-Key`` (stable across retries), else ``X-Gitlab-Event-UUID``.
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
    fail,
    first_header,
    info_header,
    json_object,
    new_delivery_id,
    require_header,
    str_field,
)
from hookport.verify.standard import hmac_key, sign_headers, verify_headers

TOKEN = "X-Gitlab-Token"  # noqa: S105 - a header name, not a secret
DELIVERY_HEADERS = ("Idempotency-Key", "X-Gitlab-Event-UUID")


def normalise_event(value: str | None) -> str | None:
    """``Merge Request Hook`` -> ``merge_request``."""
    if value is None:
        return None
    name = value.strip().lower().removesuffix(" hook").strip()
    return name.replace(" ", "_") or None


def header_event(event_type: str) -> str:
    """``merge_request`` -> ``Merge Request Hook`` (what a signer puts in ``X-Gitlab-Event``)."""
    return " ".join(word.capitalize() for word in event_type.split("_")) + " Hook"


@dataclass(frozen=True, slots=True, kw_only=True)
class GitLabVerifier(BaseVerifier):
    """Verifies GitLab deliveries; build it with :func:`hookport.verify.gitlab`."""

    scheme: ClassVar[str] = "gitlab"
    body_format: ClassVar[BodyFormat] = "json"
    """GitLab always sends JSON."""

    token: Secrets
    signing_secret: Secrets
    tolerance: float = 300

    def __post_init__(self) -> None:
        if not self.signing_secret.env:
            self._keys()

    def _keys(self) -> list[bytes]:
        return [hmac_key(secret) for secret in self.signing_secret.get()]

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check the token and/or the signature, whichever are configured."""
        tokens = self.token.get()
        keys = self._keys()
        if tokens and _hmac.equal_any(require_header(request.headers, TOKEN), tokens) is None:
            fail(f"invalid {TOKEN}")
        if keys:
            verify_headers(request, now, keys=keys, public_keys=(), tolerance=self.tolerance)
        doc = json_object(request.body)
        event = str_field(doc, "object_kind") or normalise_event(
            info_header(request.headers, "X-Gitlab-Event")
        )
        return Verified(
            event_type=event, delivery_id=first_header(request.headers, DELIVERY_HEADERS)
        )

    def _sign(self, draft: Draft) -> Signed:
        """Headers GitLab would send: token and/or signature, event, idempotency key."""
        delivery = new_delivery_id()
        out = {
            "X-Gitlab-Event": header_event(draft.event_type or "push"),
            "Idempotency-Key": delivery,
            "X-Gitlab-Event-UUID": new_delivery_id(),
        }
        tokens = self.token.get()
        if tokens:
            out[TOKEN] = tokens[0]
        keys = self._keys()
        if keys:
            out.update(
                sign_headers(draft.body, draft.now, key=keys[0], private=None, msg_id=delivery)
            )
        return Signed(headers=out)
