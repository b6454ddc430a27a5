"""Receivers read what routes read, refuse bodies their provider never sends, keep their answer.

Issue 11: a signed GitHub delivery whose JSON body is not JSON was stored and acknowledged;
receivers had no multipart ``form``/``files`` nor ``form_param``; a receiver's answer was not
recorded on the event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from hookport import Event, Plugin, verify
from hookport.operations import event_detail
from hookport.store.base import EventFilter
from hookport.testing import HookportClient

JSON_CT = {"Content-Type": "application/json"}
FORM_CT = {"Content-Type": "application/x-www-form-urlencoded"}


def _plugin(seen: list[Any]) -> Plugin:
    plugin = Plugin("bodies")
    github = plugin.receiver("/github", verify=verify.github(secret="s"))
    slack = plugin.receiver("/slack", verify=verify.slack(secret="s"))
    uploads = plugin.receiver("/uploads")

    @github
    def on_github(event: Event) -> None:
        seen.append(("github", event.form_param("payload") if event.form else event.json))

    @slack
    def on_slack(event: Event) -> None:
        seen.append(("slack", event.form.get("command")))

    @uploads
    def on_upload(event: Event) -> None:
        files = [(f.field, f.filename, f.content_type, f.size, f.content) for f in event.files]
        seen.append(("upload", dict(event.form.items()), files))

    return plugin


async def _stored(client: HookportClient) -> int:
    return len(await client.app.store.list(EventFilter()))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"not json", JSON_CT, "malformed JSON"),
        (b'{"a": 1} trailing', JSON_CT, "malformed JSON"),
        (b'{"a": 1}', {"Content-Type": "application/vnd.github+json"}, None),
        (b'{"zen": "x"}', FORM_CT, "'payload' field"),
        (urlencode({"payload": "{nope"}).encode(), FORM_CT, "malformed JSON"),
        (b'{"zen": "x"}', {"Content-Type": "text/plain"}, "Content-Type text/plain"),
        (b'{"zen": "x"}', {"Content-Type": "application/octet-stream"}, "is not accepted"),
    ],
)
async def test_github_bodies_are_checked_by_content_type_before_storing(
    tmp_path: Path, body: bytes, headers: dict[str, str], reason: str | None
) -> None:
    async with HookportClient.create([_plugin([])], tmp_path) as client:
        r = await client.send("/github", body, event_type="push", headers=headers)
        if reason is None:
            assert r.status_code == 202
            return
        assert r.status_code == 400
        assert reason in r.json()["error"]
        assert await _stored(client) == 0
        assert (await client.send("/github", b"{}", headers=JSON_CT)).status_code == 202


@pytest.mark.anyio
async def test_github_form_delivery_is_read_with_form_param(tmp_path: Path) -> None:
    seen: list[Any] = []
    async with HookportClient.create([_plugin(seen)], tmp_path) as client:
        form = urlencode({"payload": json.dumps({"repository": {"name": "test"}})}).encode()
        r = await client.send("/github", form, event_type="push", headers=FORM_CT)
        assert r.status_code == 202
        await client.drain()
    assert seen == [("github", {"repository": {"name": "test"}})]


@pytest.mark.anyio
async def test_unsigned_bad_body_is_a_401_not_a_400(tmp_path: Path) -> None:
    async with HookportClient.create([_plugin([])], tmp_path) as client:
        r = await client.http.post("/github", content=b"junk", headers=JSON_CT)
        assert r.status_code == 401  # nothing about the body is said to an unverified sender


@pytest.mark.anyio
async def test_slack_forms_need_no_payload_but_json_must_be_json(tmp_path: Path) -> None:
    seen: list[Any] = []
    async with HookportClient.create([_plugin(seen)], tmp_path) as client:
        slash = urlencode({"command": "/deploy", "text": "prod"}).encode()
        assert (await client.send("/slack", slash, headers=FORM_CT)).status_code == 202
        r = await client.send("/slack", b"{bad", headers=JSON_CT)
        assert r.status_code == 400
        assert (await client.send("/slack", b"\xff=1", headers=FORM_CT)).status_code == 400
        await client.drain()
    assert seen == [("slack", "/deploy")]


def _multipart(boundary: str, content: bytes) -> bytes:
    return (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="report_name"\r\n\r\nweekly\r\n'
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="report_file"; filename="r.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


@pytest.mark.anyio
async def test_receivers_read_multipart_fields_and_files(tmp_path: Path) -> None:
    seen: list[Any] = []
    content = b"line one\n" * 200_000  # 1.8 MB: past python-multipart's in-memory default
    body = _multipart("XyZ", content)
    headers = {"Content-Type": "multipart/form-data; boundary=XyZ"}
    async with HookportClient.create([_plugin(seen)], tmp_path) as client:
        assert (await client.send("/uploads", body, headers=headers)).status_code == 202
        await client.drain()
    assert seen == [
        ("upload", {"report_name": "weekly"},
         [("report_file", "r.txt", "text/plain", len(content), content)]),
    ]  # fmt: skip


@pytest.mark.anyio
async def test_malformed_multipart_fails_the_handler_not_the_server(tmp_path: Path) -> None:
    seen: list[Any] = []
    headers = {"Content-Type": "multipart/form-data"}  # no boundary
    async with HookportClient.create([_plugin(seen)], tmp_path) as client:
        r = await client.send("/uploads", b"--x\r\n", headers=headers)
        await client.drain()
        event = await client.event(r.json()["id"])
    assert seen == []
    assert event is not None and event.last_error is not None
    assert "boundary" in event.last_error


@pytest.mark.anyio
async def test_the_receivers_answer_is_stored_and_shown(tmp_path: Path) -> None:
    async with HookportClient.create([_plugin([])], tmp_path) as client:
        r = await client.send("/uploads", b"hello", headers={"Idempotency-Key": "d-1"})
        assert r.status_code == 202
        event = await client.event(r.json()["id"])
        assert event is not None and event.response is not None
        assert event.response.status == 202
        assert event.response.body == r.content
        assert ("content-type", "application/json") in event.response.headers
        shown = event_detail(event)["response"]
        assert shown["status"] == 202 and json.loads(shown["body"]) == r.json()
        again = await client.send("/uploads", b"hello", headers={"Idempotency-Key": "d-1"})
        assert (again.status_code, again.json()["status"]) == (200, "duplicate")
        first = await client.event(r.json()["id"])
        assert first is not None and first.response == event.response  # the first answer


@pytest.mark.anyio
async def test_options_on_a_receiver_is_204_with_allow(tmp_path: Path) -> None:
    async with HookportClient.create([_plugin([])], tmp_path) as client:
        r = await client.http.options("/github")
        assert (r.status_code, r.headers["allow"], r.content) == (204, "OPTIONS, POST", b"")
        assert await _stored(client) == 0
