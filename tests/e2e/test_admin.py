"""The admin API, the dashboard and metrics on a running server, behind the admin token."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

PLUGIN = str(Path(__file__).parent / "plugins" / "site.py")
TOKEN = "admin-token-for-tests"


def test_admin_api_dashboard_and_metrics(serve: Any, tmp_path: Path) -> None:
    server = serve(
        "--plugin",
        PLUGIN,
        env={
            "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/a.db",
            "HOOKPORT_CHANNELS__OUT": "json://127.0.0.1:9/x",
            "SITE_GITHUB_SECRET": "x",
            "SITE_RESULTS": str(tmp_path / "r.log"),
            "HOOKPORT_ADMIN_TOKEN": TOKEN,
        },
    )
    with httpx.Client(base_url=server.url) as c:
        event_id = c.post("/inbox", content=b'{"hello": "<b>world</b>"}').json()["id"]
        assert c.get("/_hookport/api/events").status_code == 401
        wrong = c.get("/_hookport/api/events", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        listed = c.get("/_hookport/api/events", headers=auth).json()["events"]
        assert [e["id"] for e in listed] == [event_id]
        assert c.get("/_hookport/api/events?status=bogus", headers=auth).status_code == 400
        detail = c.get(f"/_hookport/api/events/{event_id}", headers=auth).json()
        assert detail["body"] == '{"hello": "<b>world</b>"}'
        assert c.get("/_hookport/api/events/nope", headers=auth).status_code == 404
        routes = c.get("/_hookport/api/routes", headers=auth).json()["routes"]
        assert {"/inbox", "/github", "/private"} <= {r["path"] for r in routes}

        assert c.get("/_hookport/").status_code == 401  # the sign-in page
        here = {"Origin": server.url}  # a browser's form POST names its origin
        wrong_login = c.post("/_hookport/login", data={"token": "wrong"}, headers=here)
        assert wrong_login.status_code == 401
        r = c.post("/_hookport/login", data={"token": TOKEN}, headers=here)
        assert r.status_code == 303
        assert "httponly" in r.headers["set-cookie"].lower()
        page = c.get("/_hookport/")
        assert page.status_code == 200
        assert event_id[:12] in page.text
        assert "/github" in c.get("/_hookport/endpoints").text
        deadline = time.monotonic() + 15
        while (
            "done" not in c.get(f"/_hookport/api/events/{event_id}", headers=auth).json()["status"]
        ):
            assert time.monotonic() < deadline, "event not processed"
            time.sleep(0.05)
        shown = c.get(f"/_hookport/events/{event_id}")
        assert "&lt;b&gt;world&lt;/b&gt;" in shown.text  # bodies are escaped, never rendered
        assert "on_inbox" in shown.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', shown.text)
        assert csrf is not None
        r = c.post(
            f"/_hookport/events/{event_id}/replay", data={"csrf": csrf.group(1)}, headers=here
        )
        assert r.status_code == 303
        metrics = c.get("/_hookport/metrics").text
        assert (
            'hookport_requests_total{endpoint="site:/inbox",method="POST",status="202"} 1.0'
            in metrics
        )
    # Without the cookie a replay is refused.
    with httpx.Client(base_url=server.url) as anonymous:
        assert anonymous.post(f"/_hookport/events/{event_id}/replay").status_code == 401


def test_admin_api_is_off_without_a_token(serve: Any, tmp_path: Path) -> None:
    server = serve(
        "--plugin",
        PLUGIN,
        env={
            "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/b.db",
            "HOOKPORT_CHANNELS__OUT": "json://127.0.0.1:9/x",
            "SITE_GITHUB_SECRET": "x",
        },
    )
    with httpx.Client(base_url=server.url) as c:
        r = c.get("/_hookport/api/events", headers={"Authorization": "Bearer x"})
        assert r.status_code == 403
        assert "disabled" in r.json()["error"]
        assert c.get("/_hookport/").status_code == 403
