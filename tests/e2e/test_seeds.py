"""Every example of the five seed documents, through a real ``hookport serve``.

The plugins are ``examples/seeds/`` (one per document); notifications go over real HTTP to a
loopback collector (Apprise ``json://``), and worker-side handlers log lines the tests wait for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest

from tests.e2e.conftest import run_hookport, wait_until

SEEDS = Path(__file__).resolve().parents[2] / "examples" / "seeds"
PLUGINS = [
    str(SEEDS / f"{name}.py") for name in ("helga", "errbot", "event_map", "nekro", "invenio")
]
NEKRO = "/api/plugin/dev.sample_webhook/webhook"
GITHUB_SECRET = "nekro-github-secret"
INVENIO_KEY = "invenio-secret-key"
ENV = {
    "WEBHOOKS_CREDENTIALS": "helga:hunter2",
    "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
    "WEBHOOKS_SECRET_KEY": INVENIO_KEY,
    "INVENIO_ACCESS_TOKEN": "tok",
    "HOOKPORT_ADMIN_TOKEN": "admin-token",
}
# errbot's own `!webhook test /github payload=...` body, as its document gives it (shortened).
ERRBOT_GITHUB = "payload=" + quote(
    json.dumps(
        {"pusher": {"name": "gbin"}, "repository": {"name": "test"}, "ref": "refs/heads/master"}
    )
)


class Collector:
    """Notifications Apprise posted (``json://``), by path."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def messages(self, path: str) -> list[str]:
        with self.lock:
            return [m for p, m in self.got if p == path]

    def wait_for(self, path: str, text: str) -> None:
        wait_until(lambda: any(text in m for m in self.messages(path)), 15, f"{text!r} at {path}")


@pytest.fixture
def collector() -> Iterator[tuple[Collector, int]]:
    box = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with box.lock:
                box.got.append((unquote(self.path), body.get("message", "")))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box, server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def config(tmp_path: Path, collector: tuple[Collector, int]) -> Path:
    port = collector[1]
    path = tmp_path / "hookport.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/seeds.db"\n'
        '[server]\nbase_url = "https://hooks.example.com"\n'
        '[server.urls]\n"github" = "https://github.user.ultrahook.com/?access_token={token}"\n'
        # Run-time targets: the recipient a handler names (to=) ends the path.
        f'[channels]\nirc = "json://127.0.0.1:{port}/irc/{{to}}"\n'
        f'chat = "json://127.0.0.1:{port}/chat/{{to}}"\n'
        '[admin]\ntoken_env = "HOOKPORT_ADMIN_TOKEN"\n'
        '[plugins.sample_webhook]\nNOTIFICATION_CHAT_KEY = "group_42"\n'
        '[plugins.errbot]\nCHATROOM_PRESENCE = ["#a", "#b"]\n'
    )
    return path


def _plugin_args() -> list[str]:
    return [arg for plugin in PLUGINS for arg in ("--plugin", plugin)]


@pytest.fixture
def seeds(serve: Any, config: Path) -> Any:
    return serve("--config", str(config), *_plugin_args(), env=ENV)


def _cli(config: Path, tmp_path: Path, *args: str) -> Any:
    done = run_hookport(*args, "--config", str(config), *_plugin_args(), cwd=tmp_path, env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_helga(seeds: Any, collector: tuple[Collector, int]) -> None:
    box = collector[0]
    with httpx.Client(base_url=seeds.url) as c:
        assert (c.get("/foo").status_code, c.get("/foo").text) == (200, "message sent")
        box.wait_for("/irc/#foo", "someone hit the /foo endpoint")
        r = c.get("/foo/7")
        assert (r.status_code, r.text) == (200, "message sent")
        box.wait_for("/irc/#foo", "someone hit the /foo endpoint with bar 7")
        assert c.get("/foo/seven").status_code == 404  # the group is [0-9]+
        r = c.post("/foo")
        assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD, OPTIONS")  # GET default
        r = c.get("/auth/foo")
        assert (r.status_code, r.headers["www-authenticate"][:5]) == (401, "Basic")
        assert c.get("/auth/foo", auth=("helga", "wrong")).status_code == 401
        assert c.get("/auth/foo", auth=("helga", "hunter2")).text == "message sent"
        r = c.get("/status/foo")
        assert (r.status_code, r.text) == (404, "foo is always 404")
        r = c.get("/error/foo")
        assert (r.status_code, r.json()) == (404, {"error": "foo is always 404"})
        r = c.get("/page/foo")
        assert r.headers["content-type"].startswith("text/html")
        assert "<p>someone hit /page/foo</p>" in r.text


def test_errbot(seeds: Any, collector: tuple[Collector, int]) -> None:
    box = collector[0]
    with httpx.Client(base_url=seeds.url) as c:
        for path in ("/test/", "/test"):
            r = c.post(path, json={"a": 1})
            assert (r.status_code, r.text) == (200, "OK")
        seeds.wait_for_line("errbot test got {'a': 1}")  # JSON decoded for the handler
        assert c.get("/test/").status_code == 405  # POST only, as errbot
        assert c.post("/example/gbin/deploy/").text == "User gbin is performing deploy"
        r = c.post("/github/", content=ERRBOT_GITHUB,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert (r.status_code, r.content) == (200, b"")  # None: an empty 200
        box.wait_for("/chat/#a", "Commit on test!")  # one message per room of CHATROOM_PRESENCE
        box.wait_for("/chat/#b", "Commit on test!")
        r = c.post("/raw_test/", headers={"User-Agent": "curl/8"})
        assert r.text == "Your user-agent is curl/8"
        r = c.post("/example/")
        assert (r.text, r.headers["x-powered-by"]) == ("OK", "Errbot")
        r = c.post("/forbidden/")
        assert (r.status_code, r.json()) == (403, {"error": "Forbidden"})


def test_errbot_chat_commands_as_cli(seeds: Any, config: Path, tmp_path: Path) -> None:
    # !webhook test /test
    done = _cli(config, tmp_path, "send", "/test/", "--data", '{"b": 2}', "--url", seeds.url)
    assert "200" in done.stdout and "OK" in done.stdout
    seeds.wait_for_line("errbot test got {'b': 2}")
    # !webhook test /github payload=...
    done = _cli(config, tmp_path, "send", "/github/", "--data", ERRBOT_GITHUB,
                "-H", "Content-Type: application/x-www-form-urlencoded", "--url", seeds.url)  # fmt: skip
    assert "200" in done.stdout
    # !webstatus
    listed = _cli(config, tmp_path, "routes").stdout
    for path in ("/test/", "/example/<name>/<action>/", "/github/", "/raw_test/", "/forbidden/"):
        assert path in listed


def test_errbot_generate_certificate(serve: Any, config: Path, tmp_path: Path) -> None:
    assert run_hookport("cert", cwd=tmp_path).returncode == 0  # !generate certificate
    server = serve("--config", str(config), *_plugin_args(), "--tls", env=ENV)
    pinned = ssl.create_default_context(cafile=str(tmp_path / "hookport-cert.pem"))
    with httpx.Client(base_url=server.url, verify=pinned) as c:
        assert c.post("/test/", json={}).text == "OK"


def test_event_map(seeds: Any) -> None:
    with httpx.Client(base_url=seeds.url) as c:
        r = c.post("/webhook/", json={"event": "repo.push", "ref": "main"})
        assert (r.status_code, r.json()["status"]) == (202, "queued")
        seeds.wait_for_line("event_map repo_push {'event': 'repo.push', 'ref': 'main'}")
        assert c.post("/webhook/", json={"event": "repo.create"}).status_code == 202
        seeds.wait_for_line("event_map repo_create")
        assert c.get("/webhook/").status_code == 405  # @require_POST
        unknown = c.post("/webhook/", json={"event": "repo.fork"}).json()["id"]
        seeds.wait_for_line(f"no handler to run for event {unknown}")  # not registered


def _github(body: bytes, event: str, secret: str = GITHUB_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-Hub-Signature-256": f"sha256={digest}",
    }


def test_nekro(seeds: Any, collector: tuple[Collector, int]) -> None:
    box = collector[0]
    push = json.dumps({
        "repository": {"full_name": "dev/sample"}, "pusher": {"name": "gbin"},
        "commits": [{"message": "voila\nmore"}],
    }).encode()  # fmt: skip
    with httpx.Client(base_url=seeds.url) as c:
        r = c.post(f"{NEKRO}/github", content=push, headers=_github(push, "push"))
        assert (r.status_code, r.json()) == (
            200, {"status": "success", "message": "Event 'push' received and acknowledged."}
        )  # fmt: skip
        box.wait_for("/chat/group_42", "📦 Code push event\nRepository: dev/sample\nPusher: gbin\n"
                                        "Commits: 1\nLatest commit: voila")  # fmt: skip
        r = c.post(f"{NEKRO}/github", content=push, headers=_github(push, "push", "wrong"))
        assert r.status_code == 401
        assert c.post(f"{NEKRO}/github", content=push).status_code == 401  # no signature
        bad = b"{not json"
        assert (
            c.post(f"{NEKRO}/github", content=bad, headers=_github(bad, "push")).status_code == 400
        )
        r = c.post(f"{NEKRO}/github", content=b"{}", headers=_github(b"{}", "issues"))
        assert r.json()["message"] == "Event 'issues' received and acknowledged."

        assert c.get(f"{NEKRO}/resource").json()["status"] == "available"
        r = c.post(f"{NEKRO}/resource", json={"x": 1})
        assert (r.status_code, r.json()["status"]) == (201, "created")
        assert c.delete(f"{NEKRO}/resource").json() == {"status": "deleted"}
        r = c.put(f"{NEKRO}/resource")
        assert (r.status_code, r.json()) == (405, {"error": "Method Not Allowed"})

        fields = {"report_name": "weekly", "target_chat": "group_7"}
        report = b"all green\n" * 50
        r = c.post(f"{NEKRO}/upload_report", data=fields,
                   files={"report_file": ("r.txt", report, "text/plain")})  # fmt: skip
        assert r.json() == {"status": "success", "filename": "r.txt", "size": len(report)}
        box.wait_for(
            "/chat/group_7", "Received new report 'weekly' (r.txt). Content summary:\nall green"
        )
        r = c.post(f"{NEKRO}/upload_report", data=fields,
                   files={"report_file": ("r.png", b"\x89PNG", "image/png")})  # fmt: skip
        assert (r.status_code, r.json()) == (
            400,
            {"error": "Only text file uploads are supported."},
        )

        r = c.post(f"{NEKRO}/start_job", json={"task_id": "t1", "notify_chat_key": "group_9"})
        assert (r.status_code, r.json()["status"]) == (202, "queued")
        box.wait_for("/chat/group_9", "Task t1 processing completed. Result is: XXXX")
        seeds.wait_for_line("Time-consuming task t1 completed and notified.")
        assert c.post(f"{NEKRO}/start_job", json={"task_id": "t2"}).status_code == 202
        seeds.wait_for_line("start_job: notify_chat_key not provided")


def test_invenio(seeds: Any, config: Path, tmp_path: Path) -> None:
    path = "/hooks/receivers/github/events/"
    body = json.dumps({"zen": "hi"}).encode()
    sig = "sha1=" + hmac.new(INVENIO_KEY.encode(), body, hashlib.sha1).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature": sig}
    with httpx.Client(base_url=seeds.url) as c:
        assert c.post(path, content=body, headers=headers).status_code == 401  # no access token
        r = c.post(f"{path}?access_token=tok", content=body,
                   headers={**headers, "X-Hub-Signature": "sha1=00"})  # fmt: skip
        assert (r.status_code, r.json()) == (
            401,
            {"error": "invalid signature"},
        )  # InvalidSignature
        r = c.post(f"{path}?access_token=tok", content=body, headers=headers)
        assert (r.status_code, r.json()["status"]) == (202, "queued")  # CeleryReceiver
        event_id = r.json()["id"]
        seeds.wait_for_line("invenio github ran for ci: hi")  # user_id: the token's name
        r = c.options(path)
        assert (r.status_code, r.headers["allow"]) == (204, "OPTIONS, POST")
        assert c.post("/hooks/receivers/nope/events/?access_token=tok").status_code == 404

        r = c.post("/hooks/receivers/echo/events/?access_token=tok", json={"a": 1})  # Receiver
        assert (r.status_code, r.json(), r.headers["x-receiver"]) == (
            200, {"echo": {"a": 1}, "user": None}, "echo"
        )  # fmt: skip
        r = c.post("/hooks/receivers/echo/events/?access_token=tok", content=b"<xml/>",
                   headers={"Content-Type": "application/xml"})  # fmt: skip
        assert r.status_code == 400  # InvalidPayload

        # Event.response / response_headers: the answer is stored and shown by the API ...
        api = c.get(f"/_hookport/api/events/{event_id}",
                    headers={"Authorization": "Bearer admin-token"}).json()  # fmt: skip
        assert api["response"]["status"] == 202
        assert json.loads(api["response"]["body"]) == {"id": event_id, "status": "queued"}
        assert ["content-type", "application/json"] in api["response"]["headers"]
    # ... and by `hookport events show`.
    shown = _cli(config, tmp_path, "events", "show", event_id).stdout
    assert "response 202" in shown and f'"id":"{event_id}"' in shown


def test_hook_urls_for_every_seed(config: Path, tmp_path: Path) -> None:
    lines = _cli(config, tmp_path, "routes", "--urls").stdout.splitlines()
    base = "https://hooks.example.com"
    for expected in (
        f"{base}/foo",
        f"{base} + a path matching /foo/(?P<bar>[0-9]+)",
        f"{base}/test/",
        f"{base}/example/{{name}}/{{action}}/",
        f"{base}{NEKRO}/github",
        f"{base}/webhook/",
        "https://github.user.ultrahook.com/?access_token=tok",  # WEBHOOKS_DEBUG_RECEIVER_URLS
        f"{base}/hooks/receivers/echo/events/?access_token=tok",  # get_hook_url(access_token)
    ):
        assert expected in lines, (expected, lines)


def test_disabled_webhooks(config: Path, tmp_path: Path) -> None:
    text = config.read_text().replace("[admin]", '[plugins]\ndisabled = ["helga"]\n[admin]')
    config.write_text(text)  # helga's DISABLED_WEBHOOKS
    listed = _cli(config, tmp_path, "routes").stdout
    assert "/auth/foo" not in listed and "/test/" in listed
