"""The CLI against a real running server: send --url, sign + replay, notifications out."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import run_hookport

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "examples" / "hookport.toml"
SITE = str(Path(__file__).parent / "plugins" / "site.py")


def hookport(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_hookport(*args, cwd=cwd, env=env)


def test_send_url_and_sign_against_the_example(serve: Any, tmp_path: Path) -> None:
    env = {"HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/ex.db"}
    server = serve("--config", str(EXAMPLE_CONFIG), env=env, cwd=ROOT)
    out = hookport(
        "send",
        "/hello/world",
        "--method",
        "GET",
        "--url",
        server.url,
        "--config",
        str(EXAMPLE_CONFIG),
        cwd=ROOT,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[:2] == ["HTTP 200 OK", "hello world"]
    out = hookport(
        "send",
        "/github",
        "--event",
        "push",
        "--data",
        "@examples/push.json",
        "--url",
        server.url,
        "--config",
        str(EXAMPLE_CONFIG),
        cwd=ROOT,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "HTTP 202 Accepted" in out.stdout and '"status":"queued"' in out.stdout
    server.wait_for_line("octocat pushed 6 commit(s) to octo-org/hello-world")

    body = (ROOT / "examples" / "push.json").read_bytes()
    signed = hookport(
        "sign",
        "--scheme",
        "github",
        "--secret",
        "dev-only-github-secret",
        "--data",
        "@examples/push.json",
        "--event",
        "push",
        cwd=ROOT,
    )
    assert signed.returncode == 0, signed.stderr
    headers = dict(line.split(": ", 1) for line in signed.stdout.splitlines())
    headers["Content-Type"] = "application/json"
    with httpx.Client(base_url=server.url) as c:
        assert c.post("/github", content=body, headers=headers).status_code == 202
        tampered = body.replace(b"octocat", b"mallory")
        r = c.post("/github", content=tampered, headers=headers)
        assert r.status_code == 401
        assert c.post("/github", content=body, headers=headers).json()["status"] == "duplicate"


class _Collector(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    arrived = threading.Event()

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        type(self).arrived.set()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[tuple[str, type[_Collector]]]:
    handler = type("Collector", (_Collector,), {"received": [], "arrived": threading.Event()})
    httpd = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def test_ctx_send_reaches_an_apprise_json_endpoint(
    serve: Any, tmp_path: Path, collector: tuple[str, Any]
) -> None:
    address, handler = collector
    server = serve(
        "--plugin",
        SITE,
        env={
            "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/n.db",
            "HOOKPORT_CHANNELS__OUT": "json://${COLLECTOR}/hook",
            "COLLECTOR": address,
            "SITE_GITHUB_SECRET": "x",
        },
    )
    with httpx.Client(base_url=server.url) as c:
        r = c.post("/notify-me")
        assert (r.status_code, r.text) == (200, "sent")
    assert handler.arrived.wait(10)
    note = handler.received[0]
    assert (note["title"], note["message"]) == ("hello", "a message from a route")
