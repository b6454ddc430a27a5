"""Slack: ``X-Slack-Signature: v0=<hex>`` with ``X-Slack-Request-Timestamp``.

``v0`` is the hex HMAC-SHA256 of ``v0:{timestamp}:{raw body}`` under the app's signing secret.
Event type: the body's ``type``, or ``event.type`` for ``event_callback`` (Events API);
interactive ``payload`` forms give their ``type``; slash commands give ``slash_command``.
Delivery id: ``event_id``. The Events API ``url_verification`` handshake is answered at once
with the challenge (``answer_challenge=True``) and is not recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from hookport.types import BodyFormat, IncomingRequest, Reply, Signed, Verified
from hookport.verify import _hmac
from hookport.verify.base import (
    BaseVerifier,
    Draft,
    Secrets,
    check_tolerance,
    form_field,
    json_object,
    parse_timestamp,
    require_header,
    split_prefixed,
    str_field,
)

SIGNATURE = "X-Slack-Signature"
TIMESTAMP = "X-Slack-Request-Timestamp"


def event_type(doc: Mapping[str, Any] | None) -> str | None:
    """``event.type`` for ``event_callback``, else the top-level ``type``."""
    kind = str_field(doc, "type")
    if kind == "event_callback":
        return str_field(doc, "event", "type") or kind
    return kind


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackVerifier(BaseVerifier):
    """Verifies Slack requests; build it with :func:`hookport.verify.slack`."""

    scheme: ClassVar[str] = "slack"
    body_format: ClassVar[BodyFormat] = "json_or_form"
    """Events API: JSON; slash commands and interactivity: forms."""
    early_headers: ClassVar[tuple[str, ...]] = (TIMESTAMP, SIGNATURE)

    secret: Secrets
    tolerance: float = 300
    answer_challenge: bool = True

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check the ``v0`` signature and the timestamp (past and future)."""
        keys = _hmac.keys_of(self.secret.get())
        raw_timestamp = require_header(request.headers, TIMESTAMP)
        check_tolerance(parse_timestamp(raw_timestamp, TIMESTAMP), now, self.tolerance)
        value = split_prefixed(require_header(request.headers, SIGNATURE), "v0=", SIGNATURE)
        candidate = _hmac.decode(value, "hex", SIGNATURE)
        _hmac.verify([candidate], keys, f"v0:{raw_timestamp}:".encode() + request.body)
        return self._describe(request)

    def _describe(self, request: IncomingRequest) -> Verified:
        doc = json_object(request.body)
        if doc is None:
            return _describe_form(request)
        challenge = str_field(doc, "challenge")
        if self.answer_challenge and str_field(doc, "type") == "url_verification" and challenge:
            body = json.dumps({"challenge": challenge}).encode()
            return Verified(event_type="url_verification", reply=Reply(200, body))
        return Verified(event_type=event_type(doc), delivery_id=str_field(doc, "event_id"))

    def _sign(self, draft: Draft) -> Signed:
        """The two headers Slack sends (type and id travel in the body)."""
        timestamp = str(int(draft.now))
        key = self.secret.first().encode("utf-8")
        signature = _hmac.sign(key, f"v0:{timestamp}:".encode() + draft.body, "sha256", "hex")
        return Signed(headers={SIGNATURE: f"v0={signature}", TIMESTAMP: timestamp})


def _describe_form(request: IncomingRequest) -> Verified:
    """Interactivity (``payload`` JSON field) or a slash command (``command`` field)."""
    payload = json_object(form_field(request, "payload"))
    if payload is not None:
        return Verified(event_type=str_field(payload, "type"))
    if form_field(request, "command") is not None:
        return Verified(event_type="slash_command")
    return Verified()
