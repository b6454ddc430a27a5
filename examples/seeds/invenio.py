"""invenio-webhooks (seed 004), ported to hookport: receivers, events, signatures, hook URLs.

Each example side by side with the original, and every difference with its reason:
``docs/migrating.md``.

invenio authenticates ``?access_token=`` with OAuth; here a token verifier checks it (tokens
from ``INVENIO_ACCESS_TOKENS``) and names the sender, which becomes ``user_id``.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from hookport import Plugin, ReceiverEvent, Request, WebhookReceiver, verify

invenio = Plugin("invenio", description="invenio-webhooks' receivers")
access = verify.token(secret_env={"ci": "INVENIO_ACCESS_TOKEN"}, header=None)


def get_hmac(message: bytes) -> str:
    """invenio's ``get_hmac``: the hex HMAC-SHA1 of ``message`` under WEBHOOKS_SECRET_KEY."""
    key = os.environ.get("WEBHOOKS_SECRET_KEY", "").encode()
    return hmac.new(key, message, hashlib.sha1).hexdigest()


def check_x_hub_signature(signature: str, message: bytes) -> bool:
    """invenio's ``check_x_hub_signature``: GitHub's ``X-Hub-Signature`` (``sha1=<hex>``)."""
    return hmac.compare_digest(signature, "sha1=" + get_hmac(message))


class GitHubReceiver(WebhookReceiver):
    """GitHub pushes, handled by a worker (CeleryReceiver)."""

    background = True

    def check_signature(self, request: Request) -> bool:
        signature = request.headers.get("X-Hub-Signature") or ""
        return check_x_hub_signature(signature, request.body)

    def run(self, event: ReceiverEvent) -> None:
        event.ctx.log.info(
            "invenio %s ran for %s: %s", self.receiver_id, event.user_id, event.payload["zen"]
        )


class EchoReceiver(WebhookReceiver):
    """Answers in the request with what it received (Receiver)."""

    background = False

    def run(self, event: ReceiverEvent) -> None:
        event.response = {"echo": event.payload, "user": event.user_id}
        event.response_code = 200
        event.response_headers = {"X-Receiver": self.receiver_id}


GitHubReceiver("github").register(invenio, "/hooks/receivers/github/events/", verify=access)
EchoReceiver("echo").register(invenio, "/hooks/receivers/echo/events/", verify=access)
