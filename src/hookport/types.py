"""Protocols and aliases shared by every layer: the map of hookport's seams.

Nothing here imports a framework: verifiers, routing and the plugin declarations depend on these
structural types, and :class:`hookport.http.Request` satisfies :class:`IncomingRequest`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, overload, runtime_checkable

JSON: TypeAlias = dict[str, Any] | list[Any] | str | int | float | bool | None

BodyFormat: TypeAlias = Literal["any", "json", "json_or_form", "json_or_payload"]
"""What a receiver's body must be, checked after verification and before storing (else 400):

- ``"any"``: not checked (Twilio's forms, Shopify's legacy XML, generic HMAC, tokens, ...);
- ``"json"``: one strict JSON document, whatever the ``Content-Type`` (Stripe, GitLab, ...);
- ``"json_or_form"``: a JSON document under a JSON ``Content-Type``, a UTF-8 form under
  ``application/x-www-form-urlencoded``; any other type is refused (Slack);
- ``"json_or_payload"``: as ``"json_or_form"``, and the form's ``payload`` field is a JSON
  document (GitHub's and Gitea's form content type). A bodiless ``GET`` passes (Gitea's GET
  deliveries carry the payload in the query).
"""
"""A decoded JSON document."""


class Clock(Protocol):
    """Returns the current time as Unix seconds; injected so verification is testable."""

    def __call__(self) -> float: ...


class MultiMapping(Protocol):
    """Read-only multi-valued mapping (headers, query strings, form fields).

    ``get`` returns the first value; ``getlist`` returns every value in arrival order. Header
    mappings compare names case-insensitively. Starlette's ``Headers`` and ``QueryParams``
    and hookport's ``FormFields`` satisfy it.
    """

    @overload
    def get(self, key: str, /) -> Any | None: ...
    @overload
    def get(self, key: str, default: Any, /) -> Any: ...
    def getlist(self, key: Any) -> list[Any]: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __iter__(self) -> Iterator[Any]: ...
    def keys(self) -> Any: ...
    def items(self) -> Any: ...


class RequestHead(Protocol):
    """What is known of a request before its body is read (for :meth:`Verifier.precheck`).

    ``url`` is the public URL (built from ``[server] base_url`` when set), as a sender that signs
    the URL (Twilio) saw it. ``client`` is the peer address after trusted-proxy resolution.
    """

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def headers(self) -> MultiMapping: ...
    @property
    def query(self) -> MultiMapping: ...
    @property
    def client(self) -> str | None: ...


@runtime_checkable
class IncomingRequest(RequestHead, Protocol):
    """What verification and event extraction may read of a request: its head and body.

    ``body`` is the entity after ``Content-Encoding`` decoding: the bytes the sender signed.
    """

    @property
    def body(self) -> bytes: ...
    @property
    def form(self) -> MultiMapping: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """An immediate answer a verifier gives instead of recording the delivery.

    Used for handshakes: Slack's ``url_verification`` challenge, Discord's PING.
    """

    status: int
    body: bytes
    media_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class Verified:
    """What a successful verification learned about the delivery.

    ``sender``: identity (basic-auth user, token name, provider name). ``event_type`` and
    ``delivery_id``: derived by verifiers that know their provider; ``None`` when unknown.
    ``reply``: set for handshakes that must be answered at once and not stored.
    """

    sender: str | None = None
    event_type: str | None = None
    delivery_id: str | None = None
    reply: Reply | None = None

    def merge(self, other: Verified) -> Verified:
        """Combine two results, keeping the first known value of each field."""
        return Verified(
            sender=self.sender if self.sender is not None else other.sender,
            event_type=self.event_type if self.event_type is not None else other.event_type,
            delivery_id=self.delivery_id if self.delivery_id is not None else other.delivery_id,
            reply=self.reply if self.reply is not None else other.reply,
        )


@dataclass(frozen=True, slots=True)
class Signed:
    """What a signer adds to an outgoing request so that its verifier accepts it."""

    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


class Verifier(Protocol):
    """Checks one delivery; pure over (request, now). Every verifier has a signer twin.

    Declared verifiers may name secrets by environment variable; :meth:`resolve` reads them at
    assembly (never at import) and returns a verifier ready to use, or raises ``ConfigError``.
    """

    @property
    def scheme(self) -> str:
        """Short label shown in ``hookport routes`` (``github``, ``basic``, ``all_of(...)``)."""
        ...

    @property
    def body_format(self) -> BodyFormat:
        """What a receiver's body must be before it is stored (else 400); see ``BodyFormat``."""
        ...

    def resolve(self, environ: Mapping[str, str]) -> Verifier:
        """Return a copy with secrets read from ``environ``; ``ConfigError`` if missing/empty."""
        ...

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Accept the request or raise ``VerificationError`` (401) / ``ForbiddenError`` (403)."""
        ...

    def sign(
        self,
        body: bytes,
        *,
        url: str,
        now: float,
        event_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Signed:
        """Headers and query parameters a legitimate sender would add to this request.

        Signers also add a fresh delivery id where the provider sends one, and put
        ``event_type`` where the provider carries it (a header), so test sends look real.
        """
        ...
