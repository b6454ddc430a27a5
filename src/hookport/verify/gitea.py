"""Gitea and Forgejo (and Gogs-compatible senders).

Signature: ``X-Gitea-Signature`` / ``X-Forgejo-Signature``: the hex HMAC-SHA256 with no prefix.
Gitea signs the *payload document*: the raw body with the JSON content type, but only the
``payload`` field with the form content type (and the ``payload`` query parameter for GET
webhooks). Event type: ``X-Gitea-Event`` / ``X-Forgejo-Event`` plus ``.action`` from the
payload, as for GitHub. Delivery id: ``X-Gitea-Delivery`` / ``X-Forgejo-Delivery``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import parse_qs

from hookport.types import BodyFormat, IncomingRequest, RequestHead, Signed, Verified
from hookport.verify import _hmac
from hookport.verify.base import (
    BaseVerifier,
    Draft,
    Secrets,
    fail,
    first_header,
    form_field,
    header,
    is_form,
    json_object,
    new_delivery_id,
    str_field,
)
from hookport.verify.github_events import github_event

SIGNATURE_HEADERS = ("X-Forgejo-Signature", "X-Gitea-Signature", "X-Gogs-Signature")
EVENT_HEADERS = ("X-Forgejo-Event", "X-Gitea-Event", "X-Gogs-Event")
DELIVERY_HEADERS = ("X-Forgejo-Delivery", "X-Gitea-Delivery", "X-Gogs-Delivery")


def _candidate(request: RequestHead) -> bytes:
    """The one signature presented; Forgejo sends the same value under two names."""
    found: set[bytes] = set()
    for name in SIGNATURE_HEADERS:
        value = header(request.headers, name)
        if value is not None:
            found.add(_hmac.decode(value, "hex", name))
    if not found:
        fail("missing X-Gitea-Signature header")
    if len(found) > 1:
        fail("conflicting Gitea signature headers")
    return found.pop()


def signed_payload(request: IncomingRequest) -> bytes:
    """The bytes Gitea signed: the ``payload`` field for form/GET deliveries, else the body."""
    value: str | None
    if request.method.upper() == "GET":
        query_value = request.query.get("payload")
        value = query_value if isinstance(query_value, str) else None
    elif is_form(request.headers):
        value = form_field(request, "payload")
    else:
        return request.body
    if value is None:
        fail("missing payload field")
    return value.encode("utf-8")


@dataclass(frozen=True, slots=True, kw_only=True)
class GiteaVerifier(BaseVerifier):
    """Verifies Gitea / Forgejo deliveries; build it with :func:`hookport.verify.gitea`."""

    scheme: ClassVar[str] = "gitea"
    body_format: ClassVar[BodyFormat] = "json_or_payload"
    """JSON, or the form content type with the JSON in its ``payload`` field."""

    secret: Secrets

    def precheck(self, head: RequestHead, now: float) -> Verified | None:
        """Refuse a delivery without one signature header before its body is read."""
        _candidate(head)
        return None

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check the signature over the payload document."""
        keys = _hmac.keys_of(self.secret.get())
        candidate = _candidate(request)
        payload = signed_payload(request)
        _hmac.verify([candidate], keys, payload)
        event = first_header(request.headers, EVENT_HEADERS)
        action = str_field(json_object(payload), "action")
        return Verified(
            event_type=f"{event}.{action}" if event and action else event,
            delivery_id=first_header(request.headers, DELIVERY_HEADERS),
        )

    def _sign(self, draft: Draft) -> Signed:
        """Headers Gitea would send; with a form ``Content-Type``, signs the ``payload`` field."""
        payload = draft.body
        if is_form(draft.headers):
            fields = parse_qs(draft.body.decode("utf-8", "replace"), keep_blank_values=True)
            payload = fields.get("payload", [""])[0].encode("utf-8")
        signature = _hmac.sign(self.secret.first().encode("utf-8"), payload, "sha256", "hex")
        return Signed(
            headers={
                "X-Gitea-Signature": signature,
                "X-Gitea-Event": (draft.event_type or github_event(payload) or "push").split(
                    ".", 1
                )[0],
                "X-Gitea-Delivery": new_delivery_id(),
            }
        )
