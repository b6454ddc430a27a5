"""Twilio: ``X-Twilio-Signature: <base64 HMAC-SHA1>`` under the account's auth token.

Form requests: the HMAC covers the full public URL followed by every POST parameter, sorted by
name, as ``name + value``. JSON requests: the URL carries ``bodySHA256=<hex SHA-256 of the
body>``; the HMAC covers the URL alone and the body must hash to that value. Twilio may sign
the URL with or without the default port, so both forms are tried.

``request.url`` must be the public URL Twilio called: set ``[server] base_url`` when hookport
runs behind a proxy. Delivery id: ``I-Twilio-Idempotency-Token`` (stable across retries).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from hookport.types import BodyFormat, IncomingRequest, MultiMapping, Signed, Verified
from hookport.verify import _hmac
from hookport.verify.base import (
    BaseVerifier,
    Draft,
    Secrets,
    fail,
    info_header,
    is_form,
    new_delivery_id,
    require_header,
)

SIGNATURE = "X-Twilio-Signature"
BODY_HASH = "bodySHA256"
DEFAULT_PORTS = {"https": 443, "http": 80}


def url_variants(url: str) -> list[str]:
    """The URL as given, without its port, and with the scheme's default port added."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        fail("request URL cannot be parsed")
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if port is not None:
        other = hostport[: hostport.rfind(":")]
    elif parts.scheme in DEFAULT_PORTS:
        other = f"{hostport}:{DEFAULT_PORTS[parts.scheme]}"
    else:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=userinfo + at + other))]


def params_text(pairs: Iterable[tuple[str, str]]) -> str:
    """``name + value`` for every parameter, sorted by name then value."""
    return "".join(name + value for name, value in sorted(pairs))


def _form_pairs(form: MultiMapping) -> list[tuple[str, str]]:
    pairs = [(name, value) for name in set(form) for value in form.getlist(name)]
    if not all(isinstance(name, str) and isinstance(value, str) for name, value in pairs):
        fail("form fields must be text")
    return pairs


def _body_params(request: IncomingRequest) -> str:
    """The signed parameter text: nothing for ``bodySHA256`` requests, else the form."""
    expected = request.query.get(BODY_HASH)
    if isinstance(expected, str):
        actual = hashlib.sha256(request.body).hexdigest().encode()
        if not hmac.compare_digest(actual, expected.strip().lower().encode("utf-8", "replace")):
            fail("body does not match bodySHA256")
        return ""
    if not is_form(request.headers):
        return ""
    try:
        return params_text(_form_pairs(request.form))
    except (ValueError, LookupError):
        fail("malformed form body")


@dataclass(frozen=True, slots=True, kw_only=True)
class TwilioVerifier(BaseVerifier):
    """Verifies Twilio requests; build it with :func:`hookport.verify.twilio`."""

    scheme: ClassVar[str] = "twilio"
    body_format: ClassVar[BodyFormat] = "any"
    """Twilio posts forms (JSON only for some products)."""
    early_headers: ClassVar[tuple[str, ...]] = (SIGNATURE,)

    secret: Secrets

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check the signature over the public URL and the parameters."""
        keys = _hmac.keys_of(self.secret.get())
        candidate = _hmac.decode(require_header(request.headers, SIGNATURE), "base64", SIGNATURE)
        params = _body_params(request)
        found = False
        for url in url_variants(request.url):
            found |= _hmac.matches([candidate], keys, (url + params).encode(), "sha1")
        if not found:
            fail("signature does not match")
        return Verified(delivery_id=info_header(request.headers, "I-Twilio-Idempotency-Token"))

    def _sign(self, draft: Draft) -> Signed:
        """Sign a form body, or add ``bodySHA256`` to the query for any other body.

        The query parameter must be appended to ``url`` as ``?bodySHA256=..`` (or ``&..``
        when ``url`` already has a query), which is how hookport's sender builds the URL.
        """
        key = self.secret.first().encode("utf-8")
        body, url = draft.body, draft.url
        query: dict[str, str] = {}
        if body and not is_form(draft.headers):
            query[BODY_HASH] = hashlib.sha256(body).hexdigest()
            url = url.rstrip("?")
            url += ("&" if "?" in url else "?") + f"{BODY_HASH}={query[BODY_HASH]}"
            params = ""
        else:
            params = params_text(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        signature = _hmac.sign(key, (url + params).encode(), "sha1", "base64")
        return Signed(
            headers={SIGNATURE: signature, "I-Twilio-Idempotency-Token": new_delivery_id()},
            query=query,
        )
