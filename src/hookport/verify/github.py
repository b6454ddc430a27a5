"""GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC of the raw body>``.

Signing without an event type names the event the body's shape shows (``ref`` and ``commits``:
``push``; see :mod:`hookport.verify.github_events`), else ``ping``.

Event type: ``X-GitHub-Event`` plus ``.`` and the body's ``action`` when there is one
(``issues.opened``). The body may be JSON or, with GitHub's form content type, a ``payload``
form field holding the JSON; the signature covers the raw body either way.
Delivery id: ``X-GitHub-Delivery``. The SHA-1 ``X-Hub-Signature`` is accepted only with
``allow_sha1=True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hookport.types import BodyFormat, IncomingRequest, RequestHead, Signed, Verified
from hookport.verify import _hmac
from hookport.verify.base import (
    BaseVerifier,
    Draft,
    Secrets,
    fail,
    form_field,
    header,
    info_header,
    json_object,
    new_delivery_id,
    split_prefixed,
    str_field,
)
from hookport.verify.github_events import github_event

SIGNATURE_256 = "X-Hub-Signature-256"
SIGNATURE_1 = "X-Hub-Signature"


def hub_candidate(value: str, algorithm: _hmac.Algorithm, name: str) -> bytes:
    """Raw bytes of a ``<algorithm>=<hex>`` header value (GitHub, Bitbucket, Gitea's copy)."""
    return _hmac.decode(split_prefixed(value, f"{algorithm}=", name), "hex", name)


def event_with_action(request: IncomingRequest, event: str | None) -> str | None:
    """``event`` + ``.action`` from the JSON body or the form's ``payload`` field."""
    if event is None:
        return None
    if b"action" not in request.body:
        return event  # most deliveries (push) have none: skip parsing the whole document
    doc = json_object(request.body)
    if doc is None:
        doc = json_object(form_field(request, "payload"))
    action = str_field(doc, "action")
    return f"{event}.{action}" if action else event


@dataclass(frozen=True, slots=True, kw_only=True)
class GitHubVerifier(BaseVerifier):
    """Verifies GitHub deliveries; build it with :func:`hookport.verify.github`."""

    scheme: ClassVar[str] = "github"
    body_format: ClassVar[BodyFormat] = "json_or_payload"
    """JSON, or the form content type with the JSON in its ``payload`` field."""

    secret: Secrets
    allow_sha1: bool = False

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check the signature over the raw body; derive type and delivery id."""
        keys = _hmac.keys_of(self.secret.get())
        candidate, algorithm = self._candidate(request)
        _hmac.verify([candidate], keys, request.body, algorithm)
        event = info_header(request.headers, "X-GitHub-Event")
        return Verified(
            event_type=event_with_action(request, event),
            delivery_id=info_header(request.headers, "X-GitHub-Delivery"),
        )

    def precheck(self, head: RequestHead, now: float) -> Verified | None:
        """Refuse a delivery without a usable signature header before its body is read."""
        self._candidate(head)
        return None

    def _candidate(self, request: RequestHead) -> tuple[bytes, _hmac.Algorithm]:
        value = header(request.headers, SIGNATURE_256)
        if value is not None:
            return hub_candidate(value, "sha256", SIGNATURE_256), "sha256"
        if not self.allow_sha1:
            fail(f"missing {SIGNATURE_256} header")
        legacy = header(request.headers, SIGNATURE_1)
        if legacy is None:
            fail(f"missing {SIGNATURE_256} header")
        return hub_candidate(legacy, "sha1", SIGNATURE_1), "sha1"

    def _sign(self, draft: Draft) -> Signed:
        """Headers GitHub would send: both signatures (SHA-1 only if allowed), event, delivery."""
        key = self.secret.first().encode("utf-8")
        out = {SIGNATURE_256: "sha256=" + _hmac.sign(key, draft.body, "sha256", "hex")}
        if self.allow_sha1:
            out[SIGNATURE_1] = "sha1=" + _hmac.sign(key, draft.body, "sha1", "hex")
        event = draft.event_type or github_event(draft.body) or "ping"
        out["X-GitHub-Event"] = event.split(".", 1)[0]
        out["X-GitHub-Delivery"] = new_delivery_id()
        return Signed(headers=out)
