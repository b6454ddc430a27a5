"""Pause and resume through the app: a paused receiver under load stores everything and runs
nothing; resume runs all of it, in arrival order for ``concurrency=1``; a paused route answers
503 with Retry-After. On both backends, with the app's own workers running."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from hookport import Event, Plugin, verify
from hookport.config import load_settings
from hookport.errors import NotFoundError
from hookport.events import EventStatus
from hookport.store.base import EventFilter, LeaseRequest
from hookport.testing import HookportClient

pytestmark = pytest.mark.anyio

LOAD = 200


def store_url(backend: str, store_target: str) -> str:
    return f"sqlite:///{store_target}" if backend == "sqlite" else store_target


def pausable() -> tuple[Plugin, list[str]]:
    ran: list[str] = []
    plugin = Plugin("pausable")
    inbox = plugin.receiver(
        "/in", name="inbox", concurrency=1, verify=verify.github(secret="s3cret")
    )

    @inbox
    async def handle(event: Event) -> None:
        ran.append(event.id)

    @plugin.route("/hello", name="hello")
    def hello() -> str:
        return "hello"

    return plugin, ran


async def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_paused_receiver_under_load_stores_all_runs_none_then_resumes_in_order(
    backend: str, store_target: str, tmp_path: Path
) -> None:
    plugin, ran = pausable()
    settings = load_settings(
        None, {}, store={"url": store_url(backend, store_target)}, worker={"poll_interval": 0.05}
    )
    async with HookportClient.create([plugin], tmp_path, settings) as client:
        app = client.app
        assert app.worker is not None
        await app.worker.start()  # the real background loop, polling every 50 ms
        await app.ops.pause("inbox", by="test")

        async def deliver(i: int) -> str:
            response = await client.send("/in", b'{"n": %d}' % i, event_type="push")
            assert response.status_code == 202, response.text
            return str(response.json()["id"])

        accepted = await asyncio.gather(*(deliver(i) for i in range(LOAD)))
        assert len(set(accepted)) == LOAD
        stats = await app.ops.stats()
        assert stats["queued"] == LOAD  # every delivery stored and acknowledged
        # Even asked directly, the store hands none of them out; the worker ran none.
        probe = LeaseRequest("probe", 10, 60, time.time(), endpoints=["inbox"])
        assert await app.store.lease(probe) == []
        assert ran == []
        listed = await app.ops.list_events(EventFilter(endpoint="inbox", limit=1))
        paused = await app.ops.paused()
        assert listed[0].status is EventStatus.QUEUED and "inbox" in paused

        assert await app.ops.resume("inbox") is True
        await wait_for(lambda: len(ran) == LOAD, 60, "every held event to run")
        # The last handler has run; its outcome commits a moment later.
        deadline = time.monotonic() + 10
        while (await app.ops.stats())["done"] < LOAD:
            assert time.monotonic() < deadline, "the last outcome was never recorded"
            await asyncio.sleep(0.01)
        arrival = await app.store.ids_with_status(EventStatus.DONE)
        assert ran == arrival  # concurrency=1: one at a time, in arrival order
        assert sorted(ran) == sorted(accepted)
        assert (await app.ops.stats())["done"] == LOAD


async def test_a_paused_route_answers_503_with_retry_after(tmp_path: Path) -> None:
    plugin, _ = pausable()
    async with HookportClient.create([plugin], tmp_path) as client:
        assert (await client.send("/hello", method="GET")).status_code == 200
        await client.app.ops.pause("hello", duration=90)
        response = await client.send("/hello", method="GET")
        assert response.status_code == 503
        assert response.json() == {"error": "endpoint hello is paused, retry later"}
        assert 85 <= int(response.headers["retry-after"]) <= 90
        states = {r["name"]: r for r in await client.app.ops.route_states()}
        assert states["hello"]["state"] == "paused" and states["inbox"]["state"] == "active"
        assert await client.app.ops.resume("hello") is True
        assert (await client.send("/hello", method="GET")).text == "hello"


async def test_unknown_names_and_bad_durations_are_refused(tmp_path: Path) -> None:
    plugin, _ = pausable()
    async with HookportClient.create([plugin], tmp_path) as client:
        with pytest.raises(NotFoundError, match="no endpoint named 'nope'"):
            await client.app.ops.pause("nope")
        with pytest.raises(ValueError, match="positive"):
            await client.app.ops.pause("inbox", duration=0)
        with pytest.raises(NotFoundError):
            await client.app.ops.resume("nope")


async def test_admin_api_and_metrics_show_and_change_pauses(tmp_path: Path) -> None:
    plugin, _ = pausable()
    settings = load_settings(
        None,
        {"HOOKPORT_ADMIN_TOKEN": "t0ken"},
        store={"url": f"sqlite:///{tmp_path}/api.db"},
    )
    async with HookportClient.create([plugin], tmp_path, settings) as client:
        auth = {"Authorization": "Bearer t0ken"}
        http = client.http
        refused = await http.post("/_hookport/api/endpoints/inbox/pause")
        assert refused.status_code == 401
        bad = await http.post(
            "/_hookport/api/endpoints/inbox/pause", headers=auth, content=b'{"for": "soon"}'
        )
        assert bad.status_code == 400 and "invalid duration" in bad.json()["error"]
        missing = await http.post("/_hookport/api/endpoints/nope/pause", headers=auth)
        assert missing.status_code == 404
        done = await http.post(
            "/_hookport/api/endpoints/inbox/pause", headers=auth, content=b'{"for": "30m"}'
        )
        assert done.status_code == 200
        body = done.json()
        assert body["state"] == "paused" and body["paused_by"] == "admin API"
        assert 1790 <= body["paused_until"] - time.time() <= 1800
        routes = (await http.get("/_hookport/api/routes", headers=auth)).json()["routes"]
        assert {r["name"]: r["state"] for r in routes} == {"inbox": "paused", "hello": "active"}
        sent = await client.send("/in", b"{}", event_type="push")
        events = (await http.get("/_hookport/api/events", headers=auth)).json()["events"]
        assert [(e["id"], e["held"]) for e in events] == [(sent.json()["id"], True)]
        metrics = (await http.get("/_hookport/metrics")).text
        assert 'hookport_endpoint_paused{endpoint="inbox"} 1.0' in metrics
        assert 'hookport_endpoint_paused{endpoint="hello"} 0.0' in metrics
        resumed = await http.post("/_hookport/api/endpoints/inbox/resume", headers=auth)
        assert resumed.json() == {"endpoint": "inbox", "state": "active", "was_paused": True}
        metrics = (await http.get("/_hookport/metrics")).text
        assert 'hookport_endpoint_paused{endpoint="inbox"} 0.0' in metrics
