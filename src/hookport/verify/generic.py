"""A configurable HMAC verifier for senders without a dedicated module.

The signature header holds ``prefix + encode(HMAC(secret, message))``. The message is built
from ``template``: ``{body}`` (the raw body, required), ``{timestamp}`` (the text of
``timestamp_header``, checked against ``tolerance`` past and future) and ``{delivery_id}``
(the text of ``delivery_id_header``). ``"{timestamp}.{body}"`` matches many providers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter
from typing import ClassVar

from hookport.errors import ConfigError
from hookport.types import BodyFormat, IncomingRequest, RequestHead, Signed, Verified
from hookport.verify import _hmac
from hookport.verify.base import (
    BaseVerifier,
    Draft,
    Secrets,
    check_tolerance,
    info_header,
    new_delivery_id,
    parse_timestamp,
    require_header,
    split_prefixed,
)

FIELDS = ("body", "timestamp", "delivery_id")


def parse_template(template: str) -> tuple[tuple[str, str | None], ...]:
    """Split a template into (literal, field) pieces, refusing anything but the known fields."""
    try:
        pieces = tuple((literal, name) for literal, name, _, _ in Formatter().parse(template))
    except ValueError:
        raise ConfigError("template is malformed (unbalanced braces)") from None
    names = [name for _, name in pieces if name is not None]
    unknown = sorted({name for name in names if name not in FIELDS})
    if unknown:
        raise ConfigError(f"template has unknown fields {unknown}; use {', '.join(FIELDS)}")
    if names.count("body") != 1:
        raise ConfigError("template must contain {body} exactly once")
    return pieces


@dataclass(frozen=True, slots=True, kw_only=True)
class HmacVerifier(BaseVerifier):
    """Generic HMAC verifier; build it with :func:`hookport.verify.hmac`."""

    scheme: ClassVar[str] = "hmac"
    body_format: ClassVar[BodyFormat] = "any"
    """The generic verifier makes no assumption about the body."""

    secret: Secrets
    header: str
    algorithm: _hmac.Algorithm = "sha256"
    encoding: _hmac.Encoding = "hex"
    prefix: str = ""
    timestamp_header: str | None = None
    tolerance: float = 300
    template: str = "{body}"
    event_type_header: str | None = None
    delivery_id_header: str | None = None

    def __post_init__(self) -> None:
        _hmac.check_options(self.algorithm, self.encoding)
        if not self.header:
            raise ConfigError("header is required")
        names = {name for _, name in parse_template(self.template)}
        if "timestamp" in names and not self.timestamp_header:
            raise ConfigError("template uses {timestamp}: set timestamp_header")
        if "delivery_id" in names and not self.delivery_id_header:
            raise ConfigError("template uses {delivery_id}: set delivery_id_header")

    def _message(self, body: bytes, values: Mapping[str, str]) -> bytes:
        out = b""
        for literal, name in parse_template(self.template):
            out += literal.encode("utf-8")
            if name == "body":
                out += body
            elif name is not None:
                out += values[name].encode("utf-8")
        return out

    def _values(self, request: IncomingRequest, now: float) -> dict[str, str]:
        values: dict[str, str] = {}
        if self.timestamp_header:
            raw = require_header(request.headers, self.timestamp_header)
            check_tolerance(parse_timestamp(raw, self.timestamp_header), now, self.tolerance)
            values["timestamp"] = raw
        if self.delivery_id_header and "{delivery_id}" in self.template:
            values["delivery_id"] = require_header(request.headers, self.delivery_id_header)
        return values

    def precheck(self, head: RequestHead, now: float) -> Verified | None:
        """Refuse a delivery without the signature header before its body is read."""
        require_header(head.headers, self.header)
        return None

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Check the signature (and the timestamp when configured)."""
        keys = _hmac.keys_of(self.secret.get())
        presented = require_header(request.headers, self.header)
        value = split_prefixed(presented, self.prefix, self.header)
        candidate = _hmac.decode(value, self.encoding, self.header)
        message = self._message(request.body, self._values(request, now))
        _hmac.verify([candidate], keys, message, self.algorithm)
        return Verified(
            event_type=info_header(request.headers, self.event_type_header)
            if self.event_type_header
            else None,
            delivery_id=info_header(request.headers, self.delivery_id_header)
            if self.delivery_id_header
            else None,
        )

    def _sign(self, draft: Draft) -> Signed:
        """The signature header plus the configured timestamp, type and id headers."""
        out: dict[str, str] = {}
        if self.timestamp_header:
            out[self.timestamp_header] = str(int(draft.now))
        if self.delivery_id_header:
            out[self.delivery_id_header] = new_delivery_id()
        if self.event_type_header and draft.event_type:
            out[self.event_type_header] = draft.event_type
        values = {
            "timestamp": out.get(self.timestamp_header or "", ""),
            "delivery_id": out.get(self.delivery_id_header or "", ""),
        }
        key = self.secret.first().encode("utf-8")
        message = self._message(draft.body, values)
        signature = _hmac.sign(key, message, self.algorithm, self.encoding)
        out[self.header] = self.prefix + signature
        return Signed(headers=out)
