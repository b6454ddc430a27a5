"""Class-based plugins (errbot's BotPlugin, invenio's Receiver) through the in-process app."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from hookport import (
    Event,
    Plugin,
    PluginClass,
    ReceiverEvent,
    Request,
    WebhookReceiver,
    receives,
    route,
    verify,
    webhook,
)
from hookport.app import HookportApp
from hookport.assembly import assemble
from hookport.config import load_settings
from hookport.notify import RecordingNotifier
from hookport.store import open_store
from hookport.testing import HookportClient


def client_with(
    plugins: list[Plugin],
    tmp_path: Path,
    notifier: RecordingNotifier,
    config: dict[str, Any] | None = None,
) -> HookportClient:
    """An in-process app whose ctx.send lands in ``notifier``."""
    store = {"url": f"sqlite:///{tmp_path}/t.db"}
    settings = load_settings(None, {}, store=store, **(config or {}))
    assembly = assemble(plugins, settings, notifier)
    return HookportClient(HookportApp(settings, assembly, open_store(settings.store), workers=True))


class BotSettings(BaseModel):
    room: str = "dev"
    greeting: str = "hello"


class PluginExample(PluginClass[BotSettings], name="example"):
    """errbot's examples, as a hookport class."""

    github = receives("/gh", verify=verify.github(secret="s3cret"))

    def __init__(self) -> None:
        self.hits = 0  # state on self, shared by every call
        self.same_ctx: list[bool] = []

    @webhook
    def test(self, request: Any) -> str:
        self.hits += 1
        self.log.debug(repr(request))
        return "OK"

    @webhook("/example/<name>/<action>/")
    def example(self, request: Any, name: str, action: str) -> str:
        return "User %s is performing %s" % (name, action)  # noqa: UP031 - errbot's spelling

    @route("/hits")
    def count(self) -> dict[str, Any]:
        return {"hits": self.hits, "greeting": self.settings.greeting}

    @github.on("push")
    async def on_push(self, event: Event) -> None:
        await self.send(self.settings.room, f"Commit on {event.json['repository']['name']}!")

    @github
    def everything(self, event: Event, ctx: Any) -> None:  # sync: runs on a thread
        self.same_ctx.append(ctx is self.ctx and self.settings.room == "ops")


@pytest.mark.anyio
async def test_errbot_class_plugin_binds_self(tmp_path: Path) -> None:
    notifier = RecordingNotifier()
    bot = PluginExample()
    config = {"plugins": {"example": {"room": "ops", "greeting": "hi"}}}
    async with client_with([bot.plugin], tmp_path, notifier, config) as client:
        assert (await client.send("/test/", b"{}")).text == "OK"
        assert (await client.send("/test", b"x")).text == "OK"
        r = await client.send("/example/gbin/deploy/")
        assert r.text == "User gbin is performing deploy"
        assert (await client.send("/hits", method="GET")).json() == {"hits": 2, "greeting": "hi"}
        body = json.dumps({"repository": {"name": "test"}}).encode()
        assert (await client.send("/gh", body, event_type="push")).status_code == 202
        assert await client.drain() == 1
        names = sorted(ep.name for ep in client.app.assembly.endpoints)
        handlers = [h.name for h in client.app.assembly.receivers["example:/gh"].handlers]
    assert notifier.messages("ops") == ["Commit on test!"]
    assert bot.hits == 2
    assert bot.same_ctx == [True]
    assert names == ["example:/gh", "example:PluginExample.count", "example:PluginExample.example",
                     "example:PluginExample.test"]  # fmt: skip
    assert handlers == ["PluginExample.on_push", "PluginExample.everything"]
    assert bot.plugin.description == "errbot's examples, as a hookport class."


def test_ctx_outside_a_handler_call_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="only available while hookport runs"):
        _ = PluginExample().settings


SECRET = b"invenio-secret"


def sign(body: bytes) -> str:
    return "sha1=" + hmac.new(SECRET, body, hashlib.sha1).hexdigest()


class GitHubReceiver(WebhookReceiver):
    """invenio-github's receiver: background, X-Hub-Signature checked."""

    def __init__(self, receiver_id: str) -> None:
        super().__init__(receiver_id)
        self.events: list[ReceiverEvent] = []

    def check_signature(self, request: Request) -> bool:
        given = request.headers.get("X-Hub-Signature") or ""
        return hmac.compare_digest(given, sign(request.body))

    def run(self, event: ReceiverEvent) -> None:
        self.events.append(event)


class PingReceiver(WebhookReceiver):
    """Synchronous: run's response is the answer."""

    background = False

    async def run(self, event: ReceiverEvent) -> None:
        event.response = {"pong": event.payload["ping"]}
        event.response_code = 200
        event.response_headers = {"X-Receiver": event.receiver_id}


@pytest.mark.anyio
async def test_invenio_receivers_background_and_synchronous(tmp_path: Path) -> None:
    plugin = Plugin("invenio")
    github = GitHubReceiver("github")
    github.register(plugin, "/hooks/receivers/github/events/")
    PingReceiver("ping").register(
        plugin, "/hooks/receivers/ping/events/", verify=verify.token({"alice": "tok"})
    )
    body = json.dumps({"zen": "hi"}).encode()
    ct = {"Content-Type": "application/json"}
    async with client_with([plugin], tmp_path, RecordingNotifier()) as client:
        r = await client.send("/hooks/receivers/github/events/", body, headers=ct)
        assert r.status_code == 401  # a bad signature is a 401 (invenio answered 500)
        signed = {**ct, "X-Hub-Signature": sign(body)}
        r = await client.send("/hooks/receivers/github/events/", body, headers=signed)
        assert (r.status_code, r.json()["status"]) == (202, "queued")
        assert await client.drain() == 1
        stored = await client.event(r.json()["id"])
        r = await client.send("/hooks/receivers/ping/events/", b'{"ping": 1}', headers=ct)
        assert (r.status_code, r.json(), r.headers["x-receiver"]) == (
            200, {"pong": 1}, "ping"
        )  # fmt: skip
        r = await client.send("/hooks/receivers/ping/events/", b"x=1")
        assert r.status_code == 400  # extract_payload: neither JSON nor a form
        rows = {row["name"]: row for row in client.app.ops.routes()}
    assert stored is not None and stored.status.value == "done"
    assert [(e.receiver_id, e.payload, e.id) for e in github.events] == [
        ("github", {"zen": "hi"}, stored.id)
    ]
    assert rows["github"]["kind"] == "receiver"
    assert rows["github"]["verification"] == "GitHubReceiver.check_signature"
    assert rows["github"]["handlers"] == [{"events": ["*"], "handler": "GitHubReceiver.run"}]
    assert (rows["ping"]["kind"], rows["ping"]["methods"]) == ("route", ["POST"])


@pytest.mark.anyio
async def test_a_plugin_file_may_leave_a_class_instance_at_module_level(
    tmp_path: Path,
) -> None:
    from hookport.discovery import load_spec

    (tmp_path / "bot.py").write_text(
        "from hookport import PluginClass, webhook\n"
        "class Bot(PluginClass, name='filebot'):\n"
        "    @webhook\n"
        "    def hello(self, payload):\n"
        "        return 'hi'\n"
        "bot = Bot()\n"
        "plugin = bot.plugin\n"
    )
    plugins = load_spec(str(tmp_path / "bot.py"), tmp_path)
    assert [p.name for p in plugins] == ["filebot"]
    async with HookportClient.create(plugins, tmp_path) as client:
        assert (await client.send("/hello/")).text == "hi"
