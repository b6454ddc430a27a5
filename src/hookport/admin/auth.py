"""Who may use the admin API and the dashboard: the admin token, or a dashboard session.

The JSON API takes ``Authorization: Bearer <admin token>``, or the dashboard's session cookie
(what the dashboard's own scripts use; their POSTs also need the ``X-CSRF-Token`` header and a
same-origin ``Origin``). Failed sign-ins are throttled per client and logged, rate-limited.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network

from starlette.requests import Request

from hookport.admin.session import (
    COOKIE,
    CSRF_HEADER,
    Session,
    Sessions,
    SignInThrottle,
    forwarded_https,
    same_origin,
)
from hookport.observability import LogLimiter
from hookport.proxies import resolve_client

log = logging.getLogger("hookport.admin")


@dataclass
class AdminAuth:
    """The admin token, the dashboard's sessions and the sign-in throttle of one app."""

    token: str | None
    session_lifetime: float = 12 * 3600.0
    trusted_proxies: Sequence[IPv4Network | IPv6Network] = ()
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    sessions: Sessions | None = field(init=False)
    _limiter: LogLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = Sessions(self.token, self.session_lifetime) if self.token else None
        self._limiter = LogLimiter(log, every=5.0)

    def client(self, request: Request) -> str:
        """The client address (through trusted proxies), for the throttle and logs."""
        peer = request.client.host if request.client else None
        return resolve_client(peer, request.headers, self.trusted_proxies) or "unknown"

    def token_ok(self, given: str) -> bool:
        """Whether ``given`` is the admin token (constant-time)."""
        return bool(self.token) and hmac.compare_digest(given.encode(), (self.token or "").encode())

    def bearer_ok(self, request: Request) -> bool:
        """Whether the request carries ``Authorization: Bearer <admin token>``."""
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value.strip())

    def session(self, request: Request) -> Session | None:
        """The request's valid dashboard session, if any."""
        if self.sessions is None:
            return None
        return self.sessions.check(request.cookies.get(COOKIE))

    def post_allowed(self, request: Request, session: Session, given_csrf: str | None) -> bool:
        """A session's POST: same origin and the session's CSRF token."""
        assert self.sessions is not None  # a session exists only with a token
        peer = request.client.host if request.client else None
        return same_origin(request.headers, peer, self.trusted_proxies) and (
            self.sessions.csrf_ok(session, given_csrf)
        )

    def csrf_header(self, request: Request) -> str | None:
        """The CSRF token a script sent."""
        return request.headers.get(CSRF_HEADER)

    def from_this_site(self, request: Request) -> bool:
        """``Origin``/``Referer`` names this server (the sign-in form's CSRF guard)."""
        peer = request.client.host if request.client else None
        return same_origin(request.headers, peer, self.trusted_proxies)

    def https(self, request: Request) -> bool:
        """Whether the browser reached us over https (the cookie is then ``Secure``)."""
        peer = request.client.host if request.client else None
        return forwarded_https(request.url.scheme, peer, request.headers, self.trusted_proxies)

    def retry_after(self, request: Request) -> int | None:
        """Seconds this client must wait before another sign-in attempt, if throttled."""
        return self.throttle.retry_after(self.client(request))

    def failed(self, request: Request, surface: str) -> None:
        """Count and log (rate-limited) a failed sign-in on ``surface`` (dashboard or api)."""
        client = self.client(request)
        self.throttle.failed(client)
        self._limiter.log(
            logging.WARNING,
            ("sign-in failed", surface),
            "admin sign-in failed",
            {"surface": surface, "client": client},
        )
