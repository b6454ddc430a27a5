"""Shared pieces of every verifier: the base class, secrets, defensive header parsing, body
fields, failures.

Everything here is pure: no I/O except reading the ``environ`` mapping handed to ``resolve``.
Parsing helpers raise :class:`~hookport.errors.VerificationError` (401) for *any* malformed
input, so a bad header can never become a 500.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, NoReturn, Self

import orjson

from hookport.errors import ConfigError, HookportError, VerificationError
from hookport.types import (
    BodyFormat,
    IncomingRequest,
    MultiMapping,
    RequestHead,
    Signed,
    Verified,
    Verifier,
)

SecretInput = str | Sequence[str] | None
"""A secret as declared: one string, several (rotation), or none."""

FORM_TYPE = "application/x-www-form-urlencoded"

# A timestamp header longer than this is not a Unix time; refusing it early keeps int() cheap.
_MAX_TIMESTAMP_DIGITS = 15


def fail(message: str) -> NoReturn:
    """Raise the 401 every verification failure becomes; ``message`` must hold no secret."""
    raise VerificationError(message)


# --- secrets -----------------------------------------------------------------------------------


def _as_tuple(value: SecretInput, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"{what} must be a string or a list of strings")
    return items


@dataclass(frozen=True, slots=True)
class Secrets:
    """Literal secrets plus environment variable names read by :meth:`resolve`.

    The values never appear in ``repr``; the names of environment variables do (they are not
    secret, and they are what an operator needs to see).
    """

    values: tuple[str, ...] = field(default=(), repr=False)
    env: tuple[str, ...] = ()
    label: str = "secret"

    @classmethod
    def declare(
        cls, value: SecretInput, env: SecretInput, *, label: str, required: bool = True
    ) -> Secrets:
        """Validate a declaration: no empty literal, and at least one source when required."""
        values = _as_tuple(value, label)
        names = _as_tuple(env, f"{label}_env")
        if any(not item for item in values):
            raise ConfigError(f"{label} must not be empty")
        if any(not name for name in names):
            raise ConfigError(f"{label}_env must name an environment variable")
        if required and not values and not names:
            raise ConfigError(f"{label} is required: pass {label}= or {label}_env=")
        return cls(values, names, label)

    @property
    def configured(self) -> bool:
        """True when any literal or environment variable was declared."""
        return bool(self.values or self.env)

    def resolve(self, environ: Mapping[str, str]) -> Secrets:
        """Return a copy holding the environment's values; ``ConfigError`` names a missing one."""
        if not self.env:
            return self
        read = tuple(read_env(environ, name, self.label) for name in self.env)
        return Secrets(self.values + read, (), self.label)

    def get(self) -> tuple[str, ...]:
        """The usable values; ``ConfigError`` when the verifier was never resolved."""
        if self.env:
            names = ", ".join(self.env)
            raise ConfigError(
                f"{self.label} comes from the environment ({names}): call resolve(environ) first"
            )
        return self.values

    def first(self) -> str:
        """The value a signer uses (the first declared)."""
        values = self.get()
        if not values:
            raise ConfigError(f"no {self.label} configured")
        return values[0]

    def secret_values(self) -> tuple[str, ...]:
        """The values held now (after :meth:`resolve`: every one); see :func:`secret_values`."""
        return self.values


def secret_values(holder: object) -> frozenset[str]:
    """Every secret value a (resolved) verifier holds, for the log redactor and nothing else.

    Found by walking the verifier's dataclass fields (and tuples of parts, as in ``all_of``)
    down to :class:`Secrets`; any object that keeps secrets another way defines
    ``secret_values()`` returning them (``basic``, ``token``, and custom verifiers).
    """
    own = getattr(holder, "secret_values", None)
    if callable(own):
        return frozenset(own())
    if isinstance(holder, tuple | list):
        return frozenset().union(*(secret_values(item) for item in holder))
    if dataclasses.is_dataclass(holder) and not isinstance(holder, type):
        parts = (secret_values(getattr(holder, f.name)) for f in dataclasses.fields(holder))
        return frozenset().union(*parts)
    return frozenset()


def read_env(environ: Mapping[str, str], name: str, label: str) -> str:
    """Read one variable; missing or empty is a ``ConfigError`` naming it (never its value)."""
    value = environ.get(name)
    if value is None:
        raise ConfigError(f"environment variable {name} ({label}) is not set")
    if not value.strip():
        raise ConfigError(f"environment variable {name} ({label}) is empty")
    return value.strip()


# --- the verifier base ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """A request about to be signed: the arguments of :meth:`~hookport.types.Verifier.sign`."""

    body: bytes
    url: str
    now: float
    event_type: str | None = None
    headers: Mapping[str, str] | None = None

    def signed_by(self, verifier: Verifier) -> Signed:
        """What ``verifier`` adds to this request (a combinator signs with its parts)."""
        return verifier.sign(
            self.body, url=self.url, now=self.now, event_type=self.event_type, headers=self.headers
        )


@dataclass(frozen=True, slots=True)
class BaseVerifier(ABC):
    """What every verifier shares, so that a provider module holds only its provider's logic.

    A subclass is a frozen dataclass. It sets ``scheme`` and ``body_format`` as class
    attributes (or properties, when they depend on the instance), keeps its secrets in
    :class:`Secrets` fields, which the inherited :meth:`resolve` reads from the environment,
    and implements :meth:`verify` and :meth:`_sign`. It satisfies
    :class:`hookport.types.Verifier`.
    """

    @property
    @abstractmethod
    def scheme(self) -> str:
        """Short label shown in ``hookport routes`` (``github``, ``basic``, ``all_of(...)``)."""

    @property
    @abstractmethod
    def body_format(self) -> BodyFormat:
        """What a receiver's body must be before it is stored (else 400); see ``BodyFormat``."""

    def resolve(self, environ: Mapping[str, str]) -> Self:
        """A copy whose :class:`Secrets` fields hold the environment's values (or ``self``)."""
        changes = {
            item.name: value.resolve(environ)
            for item in fields(self)
            if isinstance(value := getattr(self, item.name), Secrets)
        }
        return replace(self, **changes) if changes else self

    early_headers: ClassVar[tuple[str, ...]] = ()
    """Headers every delivery of this provider carries: without one, :meth:`precheck` refuses
    the request before its body is read."""

    @abstractmethod
    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """Accept the request or raise ``VerificationError`` (401) / ``ForbiddenError`` (403)."""

    def precheck(self, head: RequestHead, now: float) -> Verified | None:
        """Refuse what can be refused before the body is read, with :meth:`verify`'s own error.

        Returns None when the body is still needed (a signature over it), or the final
        :class:`Verified` when the head alone decides (basic auth, tokens, IP lists): the
        request pipeline then verifies nothing more. A missing signature header, a wrong
        address or a missing token thus costs the server no body bytes.
        """
        for name in self.early_headers:
            require_header(head.headers, name)
        return None

    def sign(
        self,
        body: bytes,
        *,
        url: str,
        now: float,
        event_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Signed:
        """Headers and query parameters a legitimate sender would add (the subclass's ``_sign``)."""
        return self._sign(Draft(body, url, now, event_type, headers))

    @abstractmethod
    def _sign(self, draft: Draft) -> Signed:
        """The provider's signer: what its sender adds to ``draft``."""


def precheck_of(verifier: Verifier, head: RequestHead, now: float) -> Verified | None:
    """``verifier.precheck(head, now)`` for verifiers that have one (custom ones may not)."""
    check = getattr(verifier, "precheck", None)
    if check is None:
        return None
    result: Verified | None = check(head, now)
    return result


# --- headers -----------------------------------------------------------------------------------


def _is_printable_ascii(value: str) -> bool:
    # str methods run in C: this check sits on every request's hot path.
    return value.isascii() and value.isprintable()


def header(headers: MultiMapping, name: str) -> str | None:
    """One credential header, strictly: absent -> None; conflicting copies or junk -> 401.

    Several identical copies are tolerated (some proxies duplicate headers); several different
    values are refused, since a verifier must not pick the one that happens to match.
    """
    values = headers.getlist(name)
    if not values:
        return None
    if not all(isinstance(item, str) for item in values):
        fail(f"malformed {name} header")
    if len(set(values)) > 1:
        fail(f"conflicting {name} headers")
    value: str = values[0].strip()
    if not _is_printable_ascii(value):
        fail(f"malformed {name} header")
    return value or None


def require_header(headers: MultiMapping, name: str) -> str:
    """Like :func:`header`, but a missing or empty header is a 401."""
    value = header(headers, name)
    if value is None:
        fail(f"missing {name} header")
    return value


def info_header(headers: MultiMapping, name: str) -> str | None:
    """An informational header (event name, delivery id): first value, stripped, or None."""
    value = headers.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def first_header(headers: MultiMapping, names: Sequence[str]) -> str | None:
    """The first informational header present among ``names``."""
    for name in names:
        value = info_header(headers, name)
        if value is not None:
            return value
    return None


def split_prefixed(value: str, prefix: str, name: str) -> str:
    """Strip a required prefix such as ``sha256=``; its absence is a 401."""
    if not value.startswith(prefix):
        fail(f"malformed {name} header: expected {prefix}...")
    return value[len(prefix) :]


def parse_timestamp(value: str, name: str) -> int:
    """Parse a Unix-seconds header value (digits only) or raise 401."""
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_TIMESTAMP_DIGITS:
        fail(f"malformed {name}: expected Unix seconds")
    return int(value)


def check_tolerance(timestamp: float, now: float, tolerance: float) -> None:
    """Refuse a timestamp further than ``tolerance`` seconds in the past *or* the future."""
    if timestamp < now - tolerance:
        fail("timestamp is too old (outside the tolerance)")
    if timestamp > now + tolerance:
        fail("timestamp is in the future (outside the tolerance)")


def decode_hex(value: str, name: str) -> bytes:
    """Strict hex decoding; anything else is a 401."""
    if not value.isascii():
        fail(f"malformed {name}: not hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        fail(f"malformed {name}: not hex")


def decode_base64(value: str, name: str) -> bytes:
    """Strict standard base64 decoding; anything else is a 401."""
    if not value.isascii():
        fail(f"malformed {name}: not base64")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        fail(f"malformed {name}: not base64")


# --- bodies ------------------------------------------------------------------------------------


def json_object(data: bytes | str | None) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (never raises)."""
    if data is None:
        return None
    try:
        # orjson: this runs on every delivery of JSON providers (GitHub's ``action``); it is
        # 2.6x faster than the stdlib and only stricter (no NaN, BOM or lone surrogates).
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def str_field(doc: Mapping[str, Any] | None, *path: str) -> str | None:
    """A nested string field of a JSON object, or None."""
    current: Any = doc
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current if isinstance(current, str) and current else None


def is_form(headers: MultiMapping | Mapping[str, str] | None) -> bool:
    """True when the ``Content-Type`` header says urlencoded form."""
    if headers is None:
        return False
    content_type = _content_type(headers)
    return content_type.split(";", 1)[0].strip().lower() == FORM_TYPE


def _content_type(headers: MultiMapping | Mapping[str, str]) -> str:
    value = headers.get("content-type")
    if isinstance(value, str):
        return value
    for key, item in headers.items():
        if isinstance(key, str) and key.lower() == "content-type":
            return str(item)
    return ""


def form_field(request: IncomingRequest, name: str) -> str | None:
    """One urlencoded form field of the request, or None (a malformed form is not our 401)."""
    if not is_form(request.headers):
        return None
    try:
        value = request.form.get(name)
    except (HookportError, ValueError, LookupError):  # a malformed form is ingest's 400
        return None
    return value if isinstance(value, str) else None


# Loosest to strictest, for the combinators. "json" counts as stricter than "json_or_payload"
# although it refuses forms the other admits: combining a form provider with a JSON-only one
# describes no real sender, so an order is all that is needed.
_FORMATS: tuple[BodyFormat, ...] = ("any", "json_or_form", "json_or_payload", "json")


def strictest(formats: Iterable[BodyFormat]) -> BodyFormat:
    """The strictest body rule of several (``all_of``: every part's rule holds)."""
    return max(formats, key=_FORMATS.index, default="any")


def loosest(formats: Iterable[BodyFormat]) -> BodyFormat:
    """The loosest body rule of several (``any_of``: any alternative may be the sender)."""
    return min(formats, key=_FORMATS.index, default="any")


def new_delivery_id() -> str:
    """A fresh delivery id for signers: a random UUID."""
    return str(uuid.uuid4())


def join_scheme(name: str, parts: Sequence[str]) -> str:
    """Label of a composite verifier: ``all_of(github, ip_allow)``."""
    return f"{name}({', '.join(parts)})"
