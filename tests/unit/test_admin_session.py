"""Session cookies: signed under a key from the admin token, expiring, revocable; the throttle."""

from __future__ import annotations

from starlette.datastructures import Headers

from hookport.admin.session import Sessions, SignInThrottle, forwarded_https, same_origin
from hookport.proxies import parse_networks


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_cookie_expires_and_never_holds_the_token() -> None:
    clock = Clock()
    sessions = Sessions("the-admin-token", 3600, clock=clock)
    session, cookie = sessions.issue()
    assert "the-admin-token" not in cookie
    assert sessions.check(cookie) == session
    clock.now += 3599
    assert sessions.check(cookie) is not None
    clock.now += 2
    assert sessions.check(cookie) is None


def test_rotating_the_token_ends_every_session() -> None:
    _, cookie = Sessions("old-token", 3600).issue()
    assert Sessions("old-token", 3600).check(cookie) is not None  # stateless: any process
    assert Sessions("new-token", 3600).check(cookie) is None


def test_malformed_and_revoked_cookies_are_refused() -> None:
    sessions = Sessions("tok", 3600)
    session, cookie = sessions.issue()
    for bad in ("", "v1", "v2" + cookie[2:], cookie + "x", cookie.replace(".", "..", 1), "x" * 500):
        assert sessions.check(bad) is None, bad
    assert sessions.csrf_ok(session, sessions.csrf(session))
    assert not sessions.csrf_ok(session, None)
    other, _ = sessions.issue()
    assert not sessions.csrf_ok(other, sessions.csrf(session))
    sessions.revoke(session)
    assert sessions.check(cookie) is None


def test_revocations_are_bounded() -> None:
    sessions = Sessions("tok", 3600, max_revoked=3)
    issued = [sessions.issue() for _ in range(5)]
    for session, _ in issued:
        sessions.revoke(session)
    assert len(sessions._revoked) == 3


def test_throttle_window_and_bound() -> None:
    clock = Clock()
    throttle = SignInThrottle(failures=2, window=60, max_clients=2, clock=clock)
    throttle.failed("a")
    assert throttle.retry_after("a") is None
    throttle.failed("a")
    assert throttle.retry_after("a") == 61
    clock.now += 61
    assert throttle.retry_after("a") is None
    for client in ("b", "c", "d"):
        throttle.failed(client)
    assert len(throttle._seen) <= 2


def test_https_and_origin_through_trusted_proxies_only() -> None:
    trusted = parse_networks(["10.0.0.0/8"])
    fwd = Headers({"x-forwarded-proto": "https", "host": "hooks.example"})
    assert forwarded_https("https", "1.2.3.4", Headers({}), [])
    assert forwarded_https("http", "10.0.0.5", fwd, trusted)
    assert not forwarded_https("http", "1.2.3.4", fwd, trusted)
    assert forwarded_https(
        "http", "10.0.0.5", Headers({"forwarded": "for=1.2.3.4;proto=https"}), trusted
    )
    assert same_origin(
        Headers({"origin": "https://hooks.example", "host": "hooks.example"}), None, []
    )
    assert not same_origin(Headers({"origin": "null", "host": "hooks.example"}), None, [])
    assert not same_origin(
        Headers({"origin": "https://evil.example", "host": "hooks.example"}), None, []
    )
    proxied = Headers({"origin": "https://public.example", "host": "127.0.0.1:8080",
                       "x-forwarded-host": "public.example"})  # fmt: skip
    assert same_origin(proxied, "10.0.0.5", trusted)
    assert not same_origin(proxied, "1.2.3.4", trusted)
