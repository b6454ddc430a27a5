"""Request values as adnanh/webhook sees them: headers, query, payload, and references to them.

A :class:`HookRequest` is built once per delivery from hookport's :class:`~hookport.http.Request`.
Headers are keyed by Go's canonical names, the first value of each; the query likewise; the
payload is parsed by content type as adnanh does (``json`` anywhere in the type, form, ``xml``,
multipart), an array body becoming ``{"root": [...]}``.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from hookport.hooks.gohttp import canonical_header
from hookport.hooks.gojson import decode_first, marshal, to_text
from hookport.hooks.model import Argument
from hookport.types import IncomingRequest

__all__ = ["HookRequest", "ParameterNodeError", "ValueErrorKind", "get_parameter", "parse_query"]


class ParameterNodeError(LookupError):
    """A referenced value is not in the request (a rule is then simply false)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"parameter node not found: {key}")
        self.key = key


class ValueErrorKind(ValueError):
    """A reference that cannot be read at all (an unknown source): adnanh answers 500."""


@dataclass
class HookRequest:
    """One delivery as rules and commands read it."""

    method: str
    remote_addr: str
    content_type: str
    body: bytes
    headers: dict[str, Any]
    query: dict[str, Any]
    parsed_payload: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    soft_signature_failures: bool = False
    request: IncomingRequest | None = None
    """The request itself, for ``verify`` rules (hookport's verifiers read it whole)."""
    pending_json: bytes | None = field(default=None, repr=False)
    """A JSON body not parsed yet: :attr:`payload` parses it when first read (a hook whose
    rules and command never look at the payload costs no parse)."""

    @property
    def payload(self) -> dict[str, Any] | None:
        """The parsed payload (None: none, or not an object/array)."""
        if self.pending_json is not None:
            self.parsed_payload = parse_json_payload(self.pending_json)
            self.pending_json = None
        return self.parsed_payload

    @payload.setter
    def payload(self, value: dict[str, Any] | None) -> None:
        self.pending_json = None
        self.parsed_payload = value

    def get(self, arg: Argument) -> str:
        """The referenced value as text; ``ParameterNodeError`` or ``ValueErrorKind``."""
        reader = _SOURCES.get(arg.source)
        if reader is None:
            raise ValueErrorKind("no source for value retrieval")
        return reader(self, arg.name)

    def _request_value(self, name: str) -> str:
        key = name.lower()
        if key == "remote-addr":
            return self.remote_addr
        if key == "method":
            return self.method
        raise ValueErrorKind(f"unsupported request key: {name!r}")


_SOURCES: dict[str, Callable[[HookRequest, str], str]] = {
    "header": lambda r, n: to_text(get_parameter(canonical_header(n), r.headers)),
    "url": lambda r, n: to_text(get_parameter(n, r.query)),
    "query": lambda r, n: to_text(get_parameter(n, r.query)),
    "payload": lambda r, n: to_text(get_parameter(n, r.payload or {})),
    "string": lambda r, n: n,
    "raw-request-body": lambda r, n: r.body.decode("utf-8", "surrogateescape"),
    "request": HookRequest._request_value,
    "entire-payload": lambda r, n: marshal(r.payload),
    "entire-headers": lambda r, n: marshal(r.headers),
    "entire-query": lambda r, n: marshal(r.query),
}
"""adnanh's parameter sources (``url`` and ``query`` are one)."""


def get_parameter(key: str, params: Any) -> Any:
    """adnanh's ``GetParameter``: a raw key first, then ``a.b.0.c`` dotted paths."""
    if isinstance(params, list):
        head, dot, rest = key.partition(".")
        if not params or not head.isdigit() or int(head) >= len(params):
            raise ParameterNodeError(key)
        return get_parameter(rest, params[int(head)]) if dot else params[int(head)]
    if isinstance(params, dict):
        if key in params:
            return params[key]
        head, dot, rest = key.partition(".")
        if head in params:
            return get_parameter(rest, params[head]) if dot else params[head]
    raise ParameterNodeError(key)


def parse_query(text: str, *, strict: bool) -> dict[str, str]:
    """Go's ``url.ParseQuery``, first value of each key.

    ``strict``: any bad pair (a ``;``, a bad ``%`` escape) fails the whole parse with
    ``ValueError``, as a form body does; otherwise bad pairs are skipped, as ``URL.Query()``.
    """
    out: dict[str, str] = {}
    for part in text.split("&"):
        if not part:
            continue
        if ";" in part:
            if strict:
                raise ValueError("invalid semicolon separator in query")
            continue
        key, _, value = part.partition("=")
        try:
            k, v = _unescape(key), _unescape(value)
        except ValueError:
            if strict:
                raise
            continue
        out.setdefault(k, v)
    return out


def _unescape(text: str) -> str:
    pieces = text.split("%")
    for piece in pieces[1:]:
        if len(piece) < 2 or not all(c in "0123456789abcdefABCDEF" for c in piece[:2]):
            raise ValueError(f"invalid URL escape in {text!r}")
    raw = unquote_to_bytes(text.replace("+", " "))
    return raw.decode("utf-8", "surrogateescape")


def first_values(pairs: Mapping[str, list[str]]) -> dict[str, str]:
    """Go's ``map[string][]string`` reduced to the first value of each key."""
    return {k: v[0] for k, v in pairs.items() if v}


def b64decode_prefix(text: str) -> bytes:
    """``base64.StdEncoding.DecodeString``: what decodes before the first error."""
    data = text.encode("utf-8", "surrogateescape")
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error:
        pass
    good = b""
    for end in range(4, len(data) + 1, 4):
        try:
            good = binascii.a2b_base64(data[:end], strict_mode=True)
        except binascii.Error:
            break
    return good


def parse_json_payload(body: bytes) -> dict[str, Any] | None:
    """``ParseJSONPayload``: an object, or an array under ``"root"``; None if not JSON."""
    text = body.decode("utf-8", "replace")
    try:
        value = decode_first(text)
    except ValueError:
        return None
    if text.lstrip(" \t\r\n\x0b\x0c").startswith("["):
        return {"root": value}
    return value if isinstance(value, dict) else None
