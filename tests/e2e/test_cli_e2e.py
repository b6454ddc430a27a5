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


def test_serve_says_where_the_dashboard_and_metrics_are(serve: Any, tmp_path: Path) -> None:
    store = {
        "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/d.db",
        "SITE_GITHUB_SECRET": "x",
        "HOOKPORT_CHANNELS__OUT": "json://127.0.0.1:9/out",
    }
    off = serve("--plugin", SITE, env={**store, "HOOKPORT_ADMIN_TOKEN": ""})
    line = off.wait_for_line("dashboard: ")
    assert "dashboard: off, no admin token (set HOOKPORT_ADMIN_TOKEN" in line
    metrics = off.wait_for_line("metrics: ").split("metrics: ", 1)[1].strip()
    assert metrics == f"{off.url}/_hookport/metrics"
    exposition = httpx.get(metrics)
    assert exposition.status_code == 200 and "hookport_events" in exposition.text
    assert httpx.get(f"{off.url}/_hookport/").status_code == 403  # off indeed
    assert "no endpoints" not in "".join(off.output)
    off.stop()

    on = serve("--plugin", SITE, env={**store, "HOOKPORT_ADMIN_TOKEN": "t0ken-for-the-test"})
    dashboard = on.wait_for_line("dashboard: ").split("dashboard: ", 1)[1].split()[0]
    assert dashboard == f"{on.url}/_hookport/"
    page = httpx.get(dashboard)
    assert page.status_code == 401 and "<form" in page.text  # the dashboard's sign-in
    assert "t0ken-for-the-test" not in "".join(on.output)
    on.stop()

    logged = serve(
        "--plugin", SITE, "--log-format", "json", env={**store, "HOOKPORT_ADMIN_TOKEN": ""}
    )
    record = json.loads(logged.wait_for_line('"metrics: '))  # with JSON logs: a log record
    assert record["message"] == f"metrics: {logged.url}/_hookport/metrics"
    logged.stop()

    dark = serve("--plugin", SITE, env={**store, "HOOKPORT_SERVER__METRICS": "false"})
    assert "metrics: off ([server] metrics = false)" in dark.wait_for_line("metrics: ")
    assert httpx.get(f"{dark.url}/_hookport/metrics").status_code == 404


def test_serve_without_any_plugin_or_hook_warns(serve: Any, tmp_path: Path) -> None:
    server = serve(env={"HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/e.db"})
    line = server.wait_for_line("no endpoints")
    assert "no plugin or hook is loaded" in line and "--plugin" in line


def test_a_port_in_use_is_one_line_naming_the_holder(tmp_path: Path) -> None:
    import os
    import socket

    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        out = hookport(
            "serve", "--host", "127.0.0.1", "--port", str(port), "--plugin", SITE,
            cwd=tmp_path,
            env={"HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/p.db", "SITE_GITHUB_SECRET": "x",
                 "HOOKPORT_CHANNELS__OUT": "json://127.0.0.1:9/out"},
        )  # fmt: skip
    finally:
        held.close()
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "hookport listening" not in out.stdout
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error: ")]
    name = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert errors == [
        f"Error: port {port} on 127.0.0.1 is already in use by {name} (pid {os.getpid()}); "
        "stop it, or listen elsewhere with --port (or [server] port)"
    ], out.stderr


def test_shell_completion_as_documented(tmp_path: Path) -> None:
    script = hookport(cwd=tmp_path, env={"_HOOKPORT_COMPLETE": "bash_source"})
    assert script.returncode == 0, script.stderr
    assert "complete -o nosort -F _hookport_completion hookport" in script.stdout
    # What bash asks the script for: the words so far and the one being completed.
    asked = {"_HOOKPORT_COMPLETE": "bash_complete"}
    words = hookport(cwd=tmp_path, env={**asked, "COMP_WORDS": "hookport ev", "COMP_CWORD": "1"})
    assert words.stdout.split() == ["plain,events"]
    statuses = hookport(cwd=tmp_path, env={**asked, "COMP_WORDS": "hookport events list --status ",
                                           "COMP_CWORD": "4"})  # fmt: skip
    assert "plain,dead" in statuses.stdout.split() and "plain,unhandled" in statuses.stdout.split()
    zsh = hookport(cwd=tmp_path, env={"_HOOKPORT_COMPLETE": "zsh_source"})
    assert zsh.stdout.startswith("#compdef hookport")
