"""Dashboard sessions: signed, expiring cookies, CSRF tokens, the sign-in throttle, headers.

A session cookie is ``v1.<expiry>.<session id>.<mac>``: the MAC is HMAC-SHA256 under a key
derived from the admin token, so rotating the token ends every session, and the cookie never
holds the token itself. A session's CSRF token is derived from its id under the same key (no
server state); a signed-out session id is remembered until it would have expired anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from urllib.parse import urlsplit

from hookport.proxies import is_trusted
from hookport.types import MultiMapping

COOKIE = "hookport_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
_VERSION = "v1"

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cache-control", "no-store"),
)
"""Sent with every ``/_hookport`` answer. ``same-origin`` (not ``no-referrer``) so that browsers
still send ``Origin`` with the dashboard's own POSTs, which :func:`same_origin` checks."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class Session:
    """A signed-in dashboard session."""

    id: str
    expires: int

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a session needs an id")


class Sessions:
    """Issues and checks session cookies and CSRF tokens under a key from the admin token."""

    def __init__(
        self,
        token: str,
        lifetime: float,
        clock: Callable[[], float] = time.time,
        max_revoked: int = 10_000,
    ) -> None:
        self._key = hmac.new(token.encode(), b"hookport dashboard session v1", "sha256").digest()
        self.lifetime = lifetime
        self._clock = clock
        self._revoked: OrderedDict[str, int] = OrderedDict()
        self._max_revoked = max_revoked

    def _mac(self, message: str) -> str:
        return _b64(hmac.new(self._key, message.encode(), hashlib.sha256).digest())

    def issue(self) -> tuple[Session, str]:
        """A new session and its cookie value."""
        session = Session(secrets.token_hex(16), int(self._clock() + self.lifetime))
        body = f"{_VERSION}.{session.expires}.{session.id}"
        return session, f"{body}.{self._mac(body)}"

    def check(self, cookie: str | None) -> Session | None:
        """The session of a cookie value, if it is ours, unexpired and not signed out."""
        if not cookie or len(cookie) > 200:
            return None
        parts = cookie.split(".")
        if len(parts) != 4 or parts[0] != _VERSION or not parts[1].isdigit():
            return None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(parts[3].encode(), self._mac(body).encode()):
            return None
        expires = int(parts[1])
        if expires <= self._clock() or parts[2] in self._revoked:
            return None
        return Session(parts[2], expires)

    def csrf(self, session: Session) -> str:
        """The CSRF token of a session (for forms and the ``X-CSRF-Token`` header)."""
        return self._mac(f"csrf.{session.id}")

    def csrf_ok(self, session: Session, given: str | None) -> bool:
        """Whether ``given`` is the session's CSRF token (constant-time)."""
        return bool(given) and hmac.compare_digest(
            (given or "").encode(), self.csrf(session).encode()
        )

    def revoke(self, session: Session) -> None:
        """Sign a session out (remembered until it would have expired; bounded)."""
        now = self._clock()
        for sid, expires in list(self._revoked.items()):
            if expires <= now:
                del self._revoked[sid]
        while len(self._revoked) >= self._max_revoked:
            self._revoked.popitem(last=False)
        self._revoked[session.id] = session.expires


class SignInThrottle:
    """At most ``failures`` failed sign-ins per client within ``window`` seconds; then refuse.

    Memory is bounded: at most ``max_clients`` clients are tracked (the oldest forgotten).
    """

    def __init__(
        self,
        failures: int = 5,
        window: float = 60.0,
        max_clients: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.window = window
        self._max = max_clients
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        times = self._seen.get(client)
        if times is None:
            return deque()
        cutoff = self._clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._seen[client]
        return times

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None if it may now."""
        times = self._recent(client)
        if len(times) < self.failures:
            return None
        return max(1, int(times[0] + self.window - self._clock()) + 1)

    def failed(self, client: str) -> None:
        """Count one failed sign-in of ``client``."""
        times = self._recent(client)
        if client not in self._seen:
            while len(self._seen) >= self._max:
                self._seen.popitem(last=False)
            self._seen[client] = times
        times.append(self._clock())
        self._seen.move_to_end(client)


def forwarded_https(
    scheme: str,
    peer: str | None,
    headers: MultiMapping,
    trusted: Sequence[IPv4Network | IPv6Network],
) -> bool:
    """Whether the client reached us over https: TLS here, or a trusted proxy says so."""
    if scheme == "https":
        return True
    if not is_trusted(peer, trusted):
        return False
    proto = headers.get("x-forwarded-proto")
    if proto is not None:
        return str(proto).split(",")[0].strip().lower() == "https"
    for line in headers.getlist("forwarded"):
        for pair in line.split(",")[0].split(";"):
            key, _, value = pair.strip().partition("=")
            if key.lower() == "proto":
                return bool(value.strip('"').lower() == "https")
    return False


def same_origin(
    headers: MultiMapping,
    peer: str | None,
    trusted: Sequence[IPv4Network | IPv6Network],
) -> bool:
    """Whether a POST came from a page of this server: its ``Origin`` (else ``Referer``) names
    the host the request was sent to (``Host``, or a trusted proxy's ``X-Forwarded-Host``)."""
    source = headers.get("origin") or headers.get("referer")
    if not source or source == "null":
        return False
    netloc = urlsplit(source).netloc.lower()
    hosts = {h.strip().lower() for h in headers.getlist("host")}
    if is_trusted(peer, trusted):
        hosts.update(h.split(",")[0].strip().lower() for h in headers.getlist("x-forwarded-host"))
    return bool(netloc) and netloc in hosts
