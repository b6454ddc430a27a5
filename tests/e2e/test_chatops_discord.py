"""Discord interactions end to end: a real ``hookport serve`` on loopback, requests signed with
an Ed25519 key made here (``cryptography``, already a dependency), a local HTTP server standing
in for Discord's API (deferred answers are PATCHed there)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.e2e import chat_script
from tests.e2e.capture_server import Capture

PLUGINS = Path(__file__).parent / "plugins"
PLUGIN = str(PLUGINS / "gated.py")
CHAT = "/_hookport/chat/discord"
ADMIN, STRANGER = "80351110224678912", "11111111111111111"
APP_ID, TOKEN = "1234567890", "aW50ZXJhY3Rpb24tdG9rZW4.x_y-z"


def setup(
    tmp_path: Path, capture: Capture, serve: Any, plugin: str = PLUGIN
) -> tuple[Any, Ed25519PrivateKey, Path]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    release = tmp_path / "release"
    config = tmp_path / "hookport.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/e2e.db"\n'
        '[worker]\npoll_interval = "100ms"\nmax_attempts = 1\n'
        "[chatops]\nslow_after = 1.0\n"
        "[chatops.discord]\nenabled = true\n"
        'public_key_env = "DISCORD_PUBLIC_KEY"\n'
        f'users = ["{ADMIN}"]\n'
        f'api_base = "{capture.url}/api/v10"\n'
    )
    env = {
        "DISCORD_PUBLIC_KEY": public,
        "CHAT_RELEASE": str(release),
        "HOOKPORT_ADMIN_TOKEN": chat_script.ADMIN_TOKEN,
    }
    server = serve("--config", str(config), "--plugin", plugin, env=env)
    return server, key, release


def command(text: str, *, user: str = ADMIN, in_guild: bool = True) -> dict[str, Any]:
    who = {"id": user, "username": "someone"}
    doc: dict[str, Any] = {
        "id": "1190000000000000001",
        "type": 2,
        "application_id": APP_ID,
        "token": TOKEN,
        "channel_id": "1178023456123456789",
        "data": {
            "id": "1",
            "name": "hookport",
            "type": 1,
            "options": [{"name": "command", "type": 3, "value": text}],
        },
    }
    doc.update({"member": {"user": who}} if in_guild else {"user": who})
    return doc


def post(server: Any, key: Ed25519PrivateKey, doc: dict[str, Any], **kw: Any) -> httpx.Response:
    body = json.dumps(doc).encode()
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + body).hex()
    headers = {
        "Content-Type": "application/json",
        "X-Signature-Ed25519": signature,
        "X-Signature-Timestamp": timestamp,
    }
    return httpx.post(server.url + CHAT, content=body, headers=headers, timeout=10, **kw)


def inbox_state(server: Any, key: Ed25519PrivateKey) -> str:
    """The inbox row's state column in the ``status`` answer."""
    content = post(server, key, command("status")).json()["data"]["content"]
    [row] = [line for line in content.splitlines() if line.startswith("inbox ")]
    return row.split()[1]


def test_ping_is_ponged_and_a_bad_signature_is_refused(
    serve: Any, tmp_path: Path, capture: Capture
) -> None:
    server, key, _ = setup(tmp_path, capture, serve)
    pong = post(server, key, {"id": "1", "type": 1, "application_id": APP_ID, "token": TOKEN})
    assert pong.status_code == 200 and pong.json() == {"type": 1}

    forged = post(server, Ed25519PrivateKey.generate(), command("pause inbox"))
    assert forged.status_code == 401
    assert "error" in forged.json()
    unsigned = httpx.post(server.url + CHAT, json=command("status"), timeout=10)
    assert unsigned.status_code == 401
    assert inbox_state(server, key) == "active"


def test_commands_are_answered_in_discord_markdown_and_the_allow_list_holds(
    serve: Any, tmp_path: Path, capture: Capture
) -> None:
    server, key, _ = setup(tmp_path, capture, serve)
    status = post(server, key, command("status"))
    assert status.status_code == 200, status.text
    answer = status.json()
    assert answer["type"] == 4
    assert answer["data"]["allowed_mentions"] == {"parse": []}
    content = answer["data"]["content"]
    assert content.startswith("**") and "inbox" in content and "```" in content

    refused = post(server, key, command("pause inbox", user=STRANGER, in_guild=False))
    assert refused.json()["type"] == 4
    assert refused.json()["data"]["flags"] == 64  # only the caller sees it
    assert "flags" not in answer["data"]
    refusal = refused.json()["data"]["content"]
    assert "pause" in refusal and "allow" in refusal.lower(), refusal
    assert inbox_state(server, key) == "active"

    allowed = post(server, key, command("pause inbox 30m")).json()["data"]["content"]
    assert "paused inbox" in allowed, allowed
    assert inbox_state(server, key) == "paused"

    # The chat endpoint lists itself; its verifier holds only a public key and cannot sign
    # (which listing URLs once tripped over).
    routes = post(server, key, command("routes")).json()["data"]
    assert "chat/discord" in routes["content"] and "flags" not in routes, routes

    unknown = post(server, key, {**command("status"), "data": {"name": "other"}})
    assert unknown.status_code == 400 and "unknown application command" in unknown.json()["error"]


def test_a_slow_command_is_deferred_and_its_answer_patched_to_the_original_message(
    serve: Any, tmp_path: Path, capture: Capture
) -> None:
    server, key, release = setup(tmp_path, capture, serve)
    started = time.monotonic()
    deferred = post(server, key, command("test /slow"))
    assert deferred.status_code == 200 and deferred.json() == {"type": 5}, deferred.text
    assert time.monotonic() - started < 3.0  # within Discord's 3 s
    assert capture.received == []  # the command is still held by the route
    release.touch()
    path = f"/api/v10/webhooks/{APP_ID}/{TOKEN}/messages/@original"
    [follow_up] = capture.wait_for(path, 1, timeout=30)
    assert follow_up.method == "PATCH"
    body = json.loads(follow_up.body)
    assert "slow done" in body["content"] and body["allowed_mentions"] == {"parse": []}
    assert TOKEN not in "".join(server.output)  # the interaction token is never logged


def unmarked(content: str) -> str:
    """Discord markdown as plain text: escapes and mention breakers removed."""
    return re.sub(r"\\(.)", r"\1", content).replace("\u200b", "")


@pytest.mark.anyio
async def test_every_command_does_what_it_says(
    serve: Any, tmp_path: Path, capture: Capture
) -> None:
    server, key, _ = setup(tmp_path, capture, serve, str(PLUGINS / "chatty.py"))
    original = f"/api/v10/webhooks/{APP_ID}/{TOKEN}/messages/@original"

    async def ask(text: str, user: str, done: Callable[[str], bool]) -> str:
        before = len(capture.at(original))
        answer = (await asyncio.to_thread(post, server, key, command(text, user=user))).json()
        if answer["type"] == 5:  # deferred: the answer replaces the original message
            patched = await asyncio.to_thread(capture.wait_for, original, before + 1)
            return unmarked(json.loads(patched[before].body)["content"])
        assert answer["type"] == 4, answer
        return unmarked(answer["data"]["content"])

    channel = "1178023456123456789"
    chat = chat_script.Chat(
        "discord", ask, ADMIN, STRANGER, channel, endpoints=3, chat_path="/_hookport/chat/discord"
    )
    await chat_script.run_every_command(chat, server.url)
