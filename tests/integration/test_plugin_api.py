"""Plugin-level declarations through the in-process app: URL prefixes and errbot's @webhook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hookport import Event, Plugin, Request, verify
from hookport.testing import HookportClient

NEKRO = "/api/plugin/dev.sample_webhook/webhook"


@pytest.mark.anyio
async def test_prefix_goes_before_every_path_in_its_own_syntax(tmp_path: Path) -> None:
    seen: list[Any] = []
    plugin = Plugin("sample_webhook", prefix=NEKRO + "/")  # a trailing slash is dropped

    @plugin.route("/myevent", methods=["POST"])
    async def myevent(request: Request) -> Any:
        return {"status": "accepted"}, 202

    @plugin.route("/orgs/<org>")
    def org(org: str) -> str:
        return org

    @plugin.route(r"^/n/(?P<n>[0-9]+)$")
    def number(n: str) -> str:
        return n

    github = plugin.receiver("/github", verify=verify.github(secret="s"))

    @github.on("push")
    def on_push(event: Event) -> None:
        seen.append(event.path)

    async with HookportClient.create([plugin], tmp_path) as client:
        r = await client.send(f"{NEKRO}/myevent", b"{}")
        assert (r.status_code, r.json()) == (202, {"status": "accepted"})
        assert (await client.send("/myevent", b"{}")).status_code == 404
        assert (await client.send(f"{NEKRO}/orgs/acme", method="GET")).text == "acme"
        assert (await client.send(f"{NEKRO}/n/7", method="GET")).text == "7"
        assert (await client.send("/api/plugin/devXsample_webhook/webhook/n/7")).status_code == 404
        body = json.dumps({"ref": "x"}).encode()
        assert (await client.send(f"{NEKRO}/github", body, event_type="push")).status_code == 202
        await client.drain()
        paths = [ep.path for ep in client.app.assembly.endpoints]
    assert seen == [f"{NEKRO}/github"]
    assert f"{NEKRO}/orgs/<org>" in paths and f"{NEKRO}/github" in paths


@pytest.mark.parametrize("prefix", ["api", "/api/{x}", "/api/<x>", "/api/(.*)"])
def test_a_prefix_is_a_static_path(prefix: str) -> None:
    with pytest.raises(ValueError, match="static path"):
        Plugin("p", prefix=prefix)


def errbot_plugin() -> Plugin:
    plugin = Plugin("errbot-port")

    @plugin.webhook
    def test(request: Any) -> str:  # errbot: the first parameter is the decoded payload
        return f"OK {request!r}"

    @plugin.webhook("/example/<name>/<action>/")
    def example(request: Any, name: str, action: str) -> str:
        return f"User {name} is performing {action}"

    @plugin.webhook("/github/", form_param="payload")
    def notification(payload: Any) -> str:
        return f"Commit on {payload['repository']['name']}!"

    @plugin.webhook(raw=True)
    def agent(request: Request) -> str:
        return f"Your user-agent is {request.headers.get('user-agent', 'Unknown')}"

    @plugin.webhook
    async def nothing(request: Any) -> None:
        return None

    return plugin


@pytest.mark.anyio
async def test_errbot_webhooks_port_as_written(tmp_path: Path) -> None:
    async with HookportClient.create([errbot_plugin()], tmp_path) as client:
        json_ct = {"Content-Type": "application/json"}
        r = await client.send("/test/", b'{"a": [1]}', headers=json_ct)
        assert (r.status_code, r.text) == (200, "OK {'a': [1]}")
        r = await client.send(
            "/test", b"a=1&b=2", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert r.text == "OK {'a': '1', 'b': '2'}"
        assert (await client.send("/test/", b"plain")).text == "OK 'plain'"
        assert (await client.send("/test/", b"{nope", headers=json_ct)).status_code == 400
        assert (await client.send("/test/", method="GET")).status_code == 405  # POST only
        r = await client.send("/example/gbin/deploy/")
        assert r.text == "User gbin is performing deploy"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        r = await client.send(
            "/github/",
            b"payload=%7B%22repository%22%3A%7B%22name%22%3A%22test%22%7D%7D",
            headers=form,
        )
        assert r.text == "Commit on test!"
        assert (await client.send("/github/", b"other=1", headers=form)).status_code == 400
        r = await client.send("/agent/", headers={"User-Agent": "curl/8"})
        assert r.text == "Your user-agent is curl/8"
        r = await client.send("/nothing/")
        assert (r.status_code, r.content) == (200, b"")  # errbot: None is an empty 200
        names = {ep.name for ep in client.app.assembly.endpoints}
    assert "errbot-port:test" in names and "errbot-port:example" in names


def test_a_webhook_handler_needs_a_payload_parameter() -> None:
    plugin = Plugin("p")
    with pytest.raises(ValueError, match="first parameter to receive the payload"):

        @plugin.webhook
        def nothing() -> str:
            return ""
