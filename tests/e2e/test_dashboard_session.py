"""The dashboard's session on a real server: a signed, expiring cookie (never the token), CSRF
tokens and an origin check on every POST, sign-out, security headers, the sign-in throttle."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import wait_until

PLUGIN = str(Path(__file__).parent / "plugins" / "site.py")
TOKEN = "admin-token-session-e2e-7d1c"
HEADERS = {
    "content-security-policy": "default-src 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/s.db",
        "HOOKPORT_CHANNELS__OUT": "json://127.0.0.1:9/x",
        "SITE_GITHUB_SECRET": "x",
        "SITE_RESULTS": str(tmp_path / "r.log"),
        "HOOKPORT_ADMIN_TOKEN": TOKEN,
        **extra,
    }


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None, "no CSRF field in the page"
    return match.group(1)


def _assert_security_headers(answer: httpx.Response, what: str) -> None:
    for name, value in HEADERS.items():
        assert value in answer.headers.get(name, ""), (
            f"{what}: {name} is {answer.headers.get(name)!r}"
        )


def test_session_cookie_csrf_logout_and_headers(serve: Any, tmp_path: Path) -> None:
    server = serve("--plugin", PLUGIN, env=_env(tmp_path))
    here = {"Origin": server.url}
    with httpx.Client(base_url=server.url, timeout=10) as c:
        event_id = c.post("/inbox", content=b"{}").json()["id"]
        # Every /_hookport answer carries the security headers, signed in or not.
        for path in ("/_hookport/", "/_hookport/login", "/_hookport/health", "/_hookport/api/events",
                     "/_hookport/static/dashboard.css", "/_hookport/metrics"):  # fmt: skip
            _assert_security_headers(c.get(path), path)
        login_page = c.get("/_hookport/login").text
        assert "<style" not in login_page and "<script>" not in login_page
        assert " style=" not in login_page  # the CSP allows no inline style

        # The old cookie (the raw token) is no session.
        c.cookies.set("hookport_admin", TOKEN)
        c.cookies.set("hookport_session", TOKEN)
        assert c.get("/_hookport/").status_code == 401
        c.cookies.clear()

        # Signing in from another site is refused (login CSRF).
        foreign = c.post(
            "/_hookport/login", data={"token": TOKEN}, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        assert "hookport_session" not in foreign.headers.get("set-cookie", "")

        r = c.post("/_hookport/login", data={"token": TOKEN}, headers=here)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        value = c.cookies["hookport_session"]
        assert TOKEN not in cookie
        assert re.fullmatch(r"v1\.\d+\.[0-9a-f]{32}\.[A-Za-z0-9_-]+", value), value
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=strict" in lowered
        assert "max-age=43200" in lowered and "path=/_hookport" in lowered
        assert "secure" not in lowered  # plain http, no trusted proxy

        page = c.get(f"/_hookport/events/{event_id}")
        assert page.status_code == 200
        _assert_security_headers(page, "event page")
        csrf = _csrf(page.text)
        assert TOKEN not in page.text

        # A tampered cookie (a later expiry) is refused.
        parts = value.split(".")
        forged = ".".join([parts[0], str(int(parts[1]) + 3600), parts[2], parts[3]])
        with httpx.Client(base_url=server.url, cookies={"hookport_session": forged}) as f:
            assert f.get("/_hookport/").status_code == 401

        replay = f"/_hookport/events/{event_id}/replay"
        assert c.post(replay, headers=here).status_code == 403  # no CSRF token
        assert c.post(replay, data={"csrf": "x" + csrf[1:]}, headers=here).status_code == 403
        evil = {"Origin": "https://evil.example"}
        assert c.post(replay, data={"csrf": csrf}, headers=evil).status_code == 403
        assert c.post(replay, data={"csrf": csrf}).status_code == 403  # neither Origin nor Referer
        referer = {"Referer": f"{server.url}/_hookport/events/{event_id}"}
        assert c.post(replay, data={"csrf": csrf}, headers=referer).status_code == 303
        assert c.post(replay, data={"csrf": csrf}, headers=here).status_code == 303

        # The JSON API takes the session too (what the dashboard's scripts use); its POSTs need
        # the CSRF header.
        assert c.get("/_hookport/api/events").status_code == 200
        api_replay = f"/_hookport/api/events/{event_id}/replay"
        assert c.post(api_replay, headers=here).status_code == 403
        ok = c.post(api_replay, headers={**here, "X-CSRF-Token": csrf})
        assert ok.status_code == 200

        # Signing out ends the session: the same cookie is refused afterwards.
        out = c.post("/_hookport/logout", data={"csrf": csrf}, headers=here)
        assert out.status_code == 303
        with httpx.Client(base_url=server.url, cookies={"hookport_session": value}) as old:
            assert old.get("/_hookport/").status_code == 401
            assert old.get("/_hookport/api/events").status_code == 401


def test_secure_cookie_behind_a_trusted_https_proxy(serve: Any, tmp_path: Path) -> None:
    env = _env(tmp_path, HOOKPORT_SERVER__TRUSTED_PROXIES='["127.0.0.1/32"]')
    server = serve("--plugin", PLUGIN, env=env)
    with httpx.Client(base_url=server.url, timeout=10) as c:
        host = server.url.split("://", 1)[1]
        proxied = {"X-Forwarded-Proto": "https", "Origin": f"https://{host}"}
        r = c.post("/_hookport/login", data={"token": TOKEN}, headers=proxied)
        assert r.status_code == 303
        assert "secure" in r.headers["set-cookie"].lower()
        plain = c.post("/_hookport/login", data={"token": TOKEN}, headers={"Origin": server.url})
        assert "secure" not in plain.headers["set-cookie"].lower()


def test_secure_cookie_needs_the_proxy_to_be_trusted(serve: Any, tmp_path: Path) -> None:
    server = serve("--plugin", PLUGIN, env=_env(tmp_path))
    with httpx.Client(base_url=server.url, timeout=10) as c:
        spoofed = {"X-Forwarded-Proto": "https", "Origin": server.url}
        r = c.post("/_hookport/login", data={"token": TOKEN}, headers=spoofed)
        assert r.status_code == 303
        assert "secure" not in r.headers["set-cookie"].lower()


def test_sign_in_throttle_and_rate_limited_log(serve: Any, tmp_path: Path) -> None:
    server = serve("--plugin", PLUGIN, env=_env(tmp_path))
    here = {"Origin": server.url}
    with httpx.Client(base_url=server.url, timeout=10) as c:
        for _ in range(5):
            assert (
                c.post("/_hookport/login", data={"token": "guess"}, headers=here).status_code == 401
            )
        throttled = c.post("/_hookport/login", data={"token": TOKEN}, headers=here)
        assert throttled.status_code == 429  # even the right token, until the minute is over
        assert 1 <= int(throttled.headers["retry-after"]) <= 61
        assert "Too many failed sign-ins" in throttled.text
        api = c.get("/_hookport/api/events", headers={"Authorization": f"Bearer {TOKEN}"})
        assert api.status_code == 429
        assert api.json()["error"] == "too many failed sign-ins"
        assert c.get("/_hookport/health").status_code == 200  # the server keeps serving
    line = server.wait_for_line("admin sign-in failed")
    assert "client=127.0.0.1" in line and "surface=dashboard" in line
    assert "guess" not in "".join(server.output)
    failures = [ln for ln in server.output if "admin sign-in failed" in ln]
    assert len(failures) == 1  # five failures, one line (the rest are counted)


def test_api_bearer_failures_are_throttled(serve: Any, tmp_path: Path) -> None:
    server = serve("--plugin", PLUGIN, env=_env(tmp_path))
    with httpx.Client(base_url=server.url, timeout=10) as c:
        for _ in range(5):
            r = c.get("/_hookport/api/events", headers={"Authorization": "Bearer nope"})
            assert r.status_code == 401
        r = c.get("/_hookport/api/events", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 429
    wait_until(lambda: any("surface=api" in ln for ln in server.output), 10, "the api log line")
