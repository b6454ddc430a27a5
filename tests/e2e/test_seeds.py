"""A real `hookport serve` answers the seed documents' examples as their users wrote them."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import run_hookport

PLUGIN = str(Path(__file__).parent / "plugins" / "seeds.py")
SECRET = "seeds-invenio-secret"
NEKRO = "/api/plugin/dev.sample_webhook/webhook"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "hookport.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/seeds.db"\n'
        '[server]\nbase_url = "https://hooks.example.com"\n'
        '[server.urls]\n"github" = "https://github.user.ultrahook.com"\n'
        '[channels]\nout = "json://127.0.0.1:9/none"\n'
        '[plugins.sample_webhook]\nNOTIFICATION_CHAT_KEY = "group_42"\n'
    )
    return path


@pytest.fixture
def seeds(serve: Any, config: Path) -> Any:
    return serve("--config", str(config), "--plugin", PLUGIN, env={"SEEDS_INVENIO_SECRET": SECRET})


def test_helga_errbot_and_nekro_routes(seeds: Any) -> None:
    with httpx.Client(base_url=seeds.url) as c:
        r = c.get("/foo/7")
        assert (r.status_code, r.text) == (200, "someone hit the /foo endpoint with bar 7")
        assert (c.get("/always404").status_code, c.get("/always404").json()) == (
            404, {"error": "foo is always 404"}
        )  # fmt: skip
        for path in ("/test/", "/test"):  # errbot's bare @webhook, either slash
            r = c.post(path, json={"a": 1})
            assert (r.status_code, r.text) == (200, "OK")
        seeds.wait_for_line("errbot test got {'a': 1}")
        r = c.post("/example/gbin/deploy/")
        assert r.text == "User gbin is performing deploy"
        r = c.get(f"{NEKRO}/resource")
        assert r.json() == {"status": "available", "chat": "group_42"}
        r = c.post(f"{NEKRO}/resource", json={})
        assert (r.status_code, r.json()) == (201, {"status": "created", "id": "r1"})
        assert c.delete(f"{NEKRO}/resource").json() == {"status": "deleted"}
        assert c.put(f"{NEKRO}/resource").status_code == 405


def test_options_and_an_unanswerable_return_over_http(seeds: Any) -> None:
    with httpx.Client(base_url=seeds.url) as c:
        r = c.options("/hooks/receivers/github/events/")
        assert (r.status_code, r.headers["allow"], r.content) == (204, "OPTIONS, POST", b"")
        assert "content-length" not in r.headers
        r = c.options("/foo/1")
        assert (r.status_code, r.headers["allow"]) == (204, "GET, HEAD, OPTIONS")
        for _ in range(2):
            r = c.get("/count")
            assert (r.status_code, r.json()) == (500, {"error": "internal server error"})
        assert c.get("/foo/1").status_code == 200  # still serving
    line = seeds.wait_for_line("cannot be answered")
    assert "plugin=helga" in line and "handler=count" in line and "type=int" in line
    assert "Traceback" not in "".join(seeds.output)


def test_receivers_nekro_blog_and_invenio(seeds: Any) -> None:
    with httpx.Client(base_url=seeds.url) as c:
        r = c.post(f"{NEKRO}/start_job", json={"task_id": "t1", "notify_chat_key": "g"})
        assert (r.status_code, r.json()["status"]) == (202, "queued")
        seeds.wait_for_line("nekro job t1 done for group_42")
        assert c.post("/webhook", json={"event": "repo.push"}).status_code == 202
        assert c.get("/webhook").status_code == 405  # the blog's view is POST only
        seeds.wait_for_line("blog repo_push repo.push")
        body = json.dumps({"zen": "hi"}).encode()
        headers = {"Content-Type": "application/json"}
        path = "/hooks/receivers/github/events/"
        assert c.post(path, content=body, headers=headers).status_code == 401
        sig = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
        r = c.post(path, content=body, headers={**headers, "X-Hub-Signature": sig})
        assert r.status_code == 202
        seeds.wait_for_line("invenio run github hi")
        r = c.post("/hooks/receivers/echo/events/?access_token=tok", json={"a": 1})
        assert (r.status_code, r.json()) == (200, {"echo": {"a": 1}})
        assert c.post("/hooks/receivers/echo/events/", json={}).status_code == 401


def test_routes_urls_for_the_seeds(config: Path, tmp_path: Path) -> None:
    done = run_hookport(
        "routes", "--urls", "--config", str(config), "--plugin", PLUGIN, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    base = "https://hooks.example.com"
    for expected in (
        f"{base} + a path matching /foo/(?P<bar>[0-9]+)",
        f"{base}/test/",
        f"{base}/example/{{name}}/{{action}}/",
        f"{base}{NEKRO}/resource",
        "https://github.user.ultrahook.com",
        f"{base}/hooks/receivers/echo/events/?access_token=tok",
    ):
        assert expected in lines, (expected, lines)
