"""Credential verifiers that need no provider: HTTP Basic, shared tokens, client IP allow-lists.

``basic`` answers failures with ``WWW-Authenticate``; ``token`` accepts a header (optionally
with an auth scheme such as ``Bearer``) or an ``access_token`` query parameter; ``ip_allow``
answers 403. ``ip_allow`` trusts ``request.client``, which hookport has already resolved through
``[server] trusted_proxies``: forwarded headers from untrusted peers never reach it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar, Self

from hookport.errors import ConfigError, ForbiddenError, VerificationError
from hookport.types import BodyFormat, RequestHead, Signed, Verified
from hookport.verify._hmac import equal_any
from hookport.verify.base import BaseVerifier, Draft, fail, header, read_env

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Pair = tuple[str | None, str]


def _matching_pair(user: bytes, password: bytes, pairs: tuple[tuple[str, str], ...]) -> int | None:
    """Index of the matching credential; every credential is compared, in constant time."""
    found: int | None = None
    for index, (name, secret) in enumerate(pairs):
        same = hmac.compare_digest(user, name.encode()) & hmac.compare_digest(
            password, secret.encode()
        )
        if same and found is None:
            found = index
    return found


def split_credential(value: str, origin: str) -> tuple[str, str]:
    """``user:password`` -> (user, password); ``ConfigError`` naming ``origin`` if malformed."""
    user, colon, password = value.partition(":")
    if not colon or not user or not password:
        raise ConfigError(f"{origin} must be user:password with both parts non-empty")
    return user, password


def _check_realm(realm: str) -> None:
    if not realm or any(ch in realm for ch in '"\\') or not realm.isprintable():
        raise ConfigError("realm must be printable text without quotes or backslashes")


@dataclass(frozen=True, slots=True, kw_only=True)
class BasicVerifier(BaseVerifier):
    """HTTP Basic authentication; build it with :func:`hookport.verify.basic`."""

    scheme: ClassVar[str] = "basic"
    body_format: ClassVar[BodyFormat] = "any"

    credentials: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    credentials_env: tuple[str, ...] = ()
    realm: str = "hookport"

    def __post_init__(self) -> None:
        _check_realm(self.realm)

    def resolve(self, environ: Mapping[str, str]) -> Self:
        """Read ``credentials_env`` variables, each holding ``user:password``."""
        read = tuple(
            split_credential(read_env(environ, name, "credentials"), f"environment variable {name}")
            for name in self.credentials_env
        )
        return replace(self, credentials=self.credentials + read, credentials_env=())

    def secret_values(self) -> tuple[str, ...]:
        """The passwords (user names are not secret: they become ``sender``)."""
        return tuple(password for _, password in self.credentials)

    def _pairs(self) -> tuple[tuple[str, str], ...]:
        if self.credentials_env:
            names = ", ".join(self.credentials_env)
            raise ConfigError(f"credentials come from the environment ({names}): resolve first")
        return self.credentials

    def challenge(self) -> dict[str, str]:
        """The ``WWW-Authenticate`` header every failure carries."""
        return {"WWW-Authenticate": f'Basic realm="{self.realm}", charset="UTF-8"'}

    def precheck(self, head: RequestHead, now: float) -> Verified | None:
        """The whole check: credentials are in the head, the body is not needed."""
        return self.verify(head, now)

    def verify(self, request: RequestHead, now: float) -> Verified:
        """Check ``Authorization: Basic``; the matched user becomes ``sender``."""
        pairs = self._pairs()
        try:
            user, password = _basic_credentials(request)
        except VerificationError as exc:
            raise VerificationError(exc.message, headers=self.challenge()) from None
        index = _matching_pair(user, password, pairs)
        if index is None:
            raise VerificationError("invalid credentials", headers=self.challenge())
        return Verified(sender=pairs[index][0])

    def _sign(self, draft: Draft) -> Signed:
        """``Authorization: Basic`` with the first credential."""
        pairs = self._pairs()
        if not pairs:
            raise ConfigError("no credentials configured")
        token = base64.b64encode(f"{pairs[0][0]}:{pairs[0][1]}".encode()).decode("ascii")
        return Signed(headers={"Authorization": f"Basic {token}"})


def _basic_credentials(request: RequestHead) -> tuple[bytes, bytes]:
    value = header(request.headers, "Authorization")
    if value is None:
        fail("missing Authorization header")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        fail("expected Basic credentials")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        fail("malformed Basic credentials")
    user, colon, password = decoded.partition(b":")
    if not colon:
        fail("malformed Basic credentials")
    return user, password


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenVerifier(BaseVerifier):
    """Shared-token authentication; build it with :func:`hookport.verify.token`."""

    scheme: ClassVar[str] = "token"
    body_format: ClassVar[BodyFormat] = "any"

    tokens: tuple[Pair, ...] = field(default=(), repr=False)
    tokens_env: tuple[Pair, ...] = ()
    header: str | None = "X-Hook-Token"
    query: str | None = "access_token"
    auth_scheme: str | None = None

    def __post_init__(self) -> None:
        if not self.header and not self.query:
            raise ConfigError("token needs a header or a query parameter to read")

    def resolve(self, environ: Mapping[str, str]) -> Self:
        """Read ``tokens_env`` variables."""
        read = tuple((name, read_env(environ, var, "token")) for name, var in self.tokens_env)
        return replace(self, tokens=self.tokens + read, tokens_env=())

    def secret_values(self) -> tuple[str, ...]:
        """The token values (their names are not secret: they become ``sender``)."""
        return tuple(value for _, value in self.tokens)

    def _tokens(self) -> tuple[Pair, ...]:
        if self.tokens_env:
            names = ", ".join(var for _, var in self.tokens_env)
            raise ConfigError(f"tokens come from the environment ({names}): resolve first")
        return self.tokens

    def _presented(self, request: RequestHead) -> str:
        if self.header:
            value = header(request.headers, self.header)
            if value is not None:
                return self._strip_scheme(value)
        if self.query:
            values = request.query.getlist(self.query)
            if len(set(values)) > 1:
                fail(f"conflicting {self.query} parameters")
            if values and isinstance(values[0], str) and values[0]:
                return values[0]
        raise VerificationError("missing token")

    def _strip_scheme(self, value: str) -> str:
        if self.auth_scheme is None:
            return value
        scheme, _, token = value.partition(" ")
        if scheme.lower() != self.auth_scheme.lower() or not token.strip():
            fail(f"expected {self.auth_scheme} credentials in {self.header}")
        return token.strip()

    def precheck(self, head: RequestHead, now: float) -> Verified | None:
        """The whole check: the token is in the head, the body is not needed."""
        return self.verify(head, now)

    def verify(self, request: RequestHead, now: float) -> Verified:
        """Compare the presented token with every token; its name becomes ``sender``."""
        tokens = self._tokens()
        found = equal_any(self._presented(request), [value for _, value in tokens])
        if found is None:
            fail("invalid token")
        return Verified(sender=tokens[found][0])

    def _sign(self, draft: Draft) -> Signed:
        """The first token, in the header when one is configured, else in the query."""
        tokens = self._tokens()
        if not tokens:
            raise ConfigError("no token configured")
        value = tokens[0][1]
        if self.header:
            text = f"{self.auth_scheme} {value}" if self.auth_scheme else value
            return Signed(headers={self.header: text})
        return Signed(query={self.query or "access_token": value})


def parse_network(value: str) -> IPNetwork:
    """A CIDR (or a single address) as a network; ``ConfigError`` if malformed."""
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ConfigError(f"ip_allow: {value!r} is not an IP address or CIDR") from None


def parse_client(value: str | None) -> IPAddress | None:
    """The client address (``1.2.3.4``, ``::1``, ``[::1]:80``, ``1.2.3.4:80``), or None."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True, slots=True)
class IpAllowVerifier(BaseVerifier):
    """Client address allow-list; build it with :func:`hookport.verify.ip_allow`.

    It holds no secret, so the inherited ``resolve`` returns it unchanged.
    """

    scheme: ClassVar[str] = "ip_allow"
    body_format: ClassVar[BodyFormat] = "any"

    networks: tuple[IPNetwork, ...]

    def precheck(self, head: RequestHead, now: float) -> Verified | None:
        """The whole check: the address is known before the body."""
        return self.verify(head, now)

    def verify(self, request: RequestHead, now: float) -> Verified:
        """403 unless ``request.client`` is inside one of the networks."""
        address = parse_client(request.client)
        if address is None or not any(address in network for network in self.networks):
            raise ForbiddenError()
        return Verified()

    def _sign(self, draft: Draft) -> Signed:
        """Nothing: the address is the credential."""
        return Signed()
