"""Receivers and recorded routes through the public test kit, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from hookport import Event, Plugin, Request, verify
from hookport.events import AppendResult, NewEvent
from hookport.store.base import EventFilter, Store
from hookport.testing import HookportClient


@pytest.mark.anyio
async def test_path_parameters_keep_their_type_in_workers(tmp_path: Path) -> None:
    seen: list[Any] = []
    plugin = Plugin("typed")
    r = plugin.receiver("/orgs/{org}/hooks/{hook_id:int}")

    @r
    def handle(event: Event, org: str, hook_id: int) -> None:
        seen.append((org, hook_id))

    async with HookportClient.create([plugin], tmp_path) as client:
        response = await client.send("/orgs/acme/hooks/42", b"{}")
        assert response.status_code == 202
        assert await client.drain() == 1
    assert seen == [("acme", 42)]


@pytest.mark.anyio
async def test_event_type_dispatch_subtypes_and_overrides(tmp_path: Path) -> None:
    calls: list[str] = []
    plugin = Plugin("types")
    gh = plugin.receiver("/gh", verify=verify.github(secret="s3cret"))

    @gh.on("issues")
    def any_issue(event: Event) -> None:
        calls.append(f"issues:{event.type}")

    @gh.on("issues.opened")
    def opened(event: Event) -> None:
        calls.append(f"opened:{event.type}")

    @gh.on("push")
    def push(event: Event) -> None:
        calls.append("push")

    by_header = plugin.receiver("/h", event_type="X-Kind")
    by_callable = plugin.receiver("/c", event_type=lambda req: req.query.get("kind"))

    @by_header.on("alpha")
    @by_callable.on("beta")
    def typed(event: Event) -> None:
        calls.append(f"typed:{event.type}")

    async with HookportClient.create([plugin], tmp_path) as client:
        body = json.dumps({"action": "opened"}).encode()
        assert (await client.send("/gh", body, event_type="issues")).status_code == 202
        assert (await client.send("/h", b"{}", headers={"X-Kind": "alpha"})).status_code == 202
        assert (await client.send("/c?kind=beta", b"{}")).status_code == 202
        await client.drain()
    assert sorted(calls) == [
        "issues:issues.opened",
        "opened:issues.opened",
        "typed:alpha",
        "typed:beta",
    ]


@pytest.mark.anyio
async def test_dedupe_can_be_turned_off(tmp_path: Path) -> None:
    plugin = Plugin("nodedupe")
    plugin.receiver("/a")
    plugin.receiver("/b", dedupe=False)
    async with HookportClient.create([plugin], tmp_path) as client:
        key = {"Idempotency-Key": "same"}
        a = [(await client.send("/a", b"{}", headers=key)).json()["status"] for _ in range(2)]
        b = [(await client.send("/b", b"{}", headers=key)).json()["status"] for _ in range(2)]
    assert a == ["queued", "duplicate"]
    assert b == ["queued", "queued"]


@pytest.mark.anyio
async def test_json_providers_reject_non_json_before_storing(tmp_path: Path) -> None:
    plugin = Plugin("strict")
    plugin.receiver("/stripe", verify=verify.stripe(secret="whsec_test"))
    async with HookportClient.create([plugin], tmp_path) as client:
        r = await client.send("/stripe", b"not json")
        assert r.status_code == 400
        assert "malformed JSON" in r.json()["error"]
        assert (
            await client.app.ops.list_events(
                __import__("hookport.store.base", fromlist=["EventFilter"]).EventFilter()
            )
            == []
        )


@pytest.mark.anyio
async def test_routes_record_request_and_response_unless_told_not_to(tmp_path: Path) -> None:
    plugin = Plugin("rec")

    @plugin.route("/kept", methods=["POST"], record=True)
    def kept(request: Request) -> dict[str, int]:
        return {"len": len(request.body)}

    @plugin.route("/skipped", methods=["POST"], record=False)
    def skipped() -> str:
        return "no record"

    async with HookportClient.create([plugin], tmp_path) as client:
        assert (await client.send("/kept", b"abc")).json() == {"len": 3}
        assert (await client.send("/skipped", b"abc")).text == "no record"

        events = await client.app.ops.list_events(EventFilter())
        assert [(e.kind, e.endpoint, e.status.value) for e in events] == [
            ("route", "rec:kept", "done")
        ]
        full = await client.event(events[0].id)
        assert full is not None and full.response is not None
        assert (full.body, full.response.status, full.response.body) == (b"abc", 200, b'{"len":3}')


@pytest.mark.anyio
async def test_unverified_routes_record_metadata_only_and_bodies_past_the_cap_are_dropped(
    tmp_path: Path,
) -> None:
    plugin = Plugin("rec")
    secret = "route-secret"

    @plugin.route("/open/{name}", methods=["POST"])
    def open_route(name: str) -> str:
        return f"hello {name}"

    @plugin.route("/signed", methods=["POST"], verify=verify.github(secret=secret))
    def signed(request: Request) -> str:
        return "ok"

    settings = {"store": {"url": f"sqlite:///{tmp_path}/r.db", "route_record_max": "1KB"}}
    async with HookportClient.create([plugin], tmp_path, **settings) as client:
        assert (await client.send("/open/ann", b"x" * 500)).text == "hello ann"
        assert (await client.send("/signed", b"small", event_type="ping")).text == "ok"
        assert (await client.send("/signed", b"y" * 2000, event_type="ping")).text == "ok"

        events = await client.app.ops.list_events(EventFilter())
        by_body = []
        for summary in reversed(events):
            event = await client.event(summary.id)
            assert event is not None and event.response is not None
            by_body.append((event.path, len(event.body), event.response.status))
        # unverified: metadata only; verified: kept in full unless over the 1 KB cap
        assert by_body == [("/open/ann", 0, 200), ("/signed", 5, 200), ("/signed", 0, 200)]


@pytest.mark.anyio
async def test_retention_prunes_old_done_events_and_keeps_dead_ones(tmp_path: Path) -> None:
    import time

    from hookport.events import EventStatus, new_event_id

    plugin = Plugin("ret")
    plugin.receiver("/in")
    old = time.time() - 40 * 86400

    def record(status: EventStatus, at: float = old) -> NewEvent:
        return NewEvent(
            id=new_event_id(at),
            kind="route",
            plugin="ret",
            endpoint="ret:/in",
            type=None,
            delivery_id=None,
            received_at=at,
            method="POST",
            path="/in",
            query_string="",
            headers=[],
            body=b"",
            params={},
            sender=None,
            source_ip=None,
            status=status,
        )

    client = HookportClient.create(
        [plugin], tmp_path, store={"url": f"sqlite:///{tmp_path}/r.db", "retention": "30d"}
    )
    store = client.app.store
    await store.open()
    await store.append(record(EventStatus.DONE))
    await store.append(record(EventStatus.DEAD))
    recent = await store.append(record(EventStatus.DONE, time.time()))
    await store.close()
    async with client:  # start-up runs the first prune pass

        async def statuses() -> list[str]:
            return sorted(e.status.value for e in await client.app.ops.list_events(EventFilter()))

        import anyio

        with anyio.fail_after(10):
            while await statuses() != ["dead", "done"]:
                await anyio.sleep(0.02)
        assert await client.event(recent.id) is not None


@pytest.mark.anyio
async def test_a_nul_character_is_a_400_and_stores_nothing(tmp_path: Path) -> None:
    # PostgreSQL refuses NUL in text: such a request must be refused alone (400), before it
    # joins a group commit whose other deliveries it would fail.
    plugin = Plugin("nul")
    r = plugin.receiver("/hooks/{name}")
    r(lambda event: None)
    plugin.route("/pages/{name}", record=True)(lambda name: f"page {name}")

    async with HookportClient.create([plugin], tmp_path) as client:
        response = await client.send("/hooks/a%00b", b"{}")
        assert response.status_code == 400
        assert "NUL" in response.json()["error"]
        answered = await client.http.get("/pages/a%00b")  # answered; only its record is refused
        assert answered.status_code == 200
        assert (await client.send("/hooks/ok", b"{}")).status_code == 202
        events = await client.app.store.list(EventFilter())
        assert [e.path for e in events] == ["/hooks/ok"]


@pytest.mark.anyio
async def test_events_of_ordered_receivers_are_appended_as_ordered(tmp_path: Path) -> None:
    # The store needs to know: on PostgreSQL ordered appends pass the arrival-order barrier.
    plugin = Plugin("order")
    plugin.receiver("/one", concurrency=1)(lambda event: None)
    plugin.receiver("/many", concurrency=4)(lambda event: None)
    plugin.receiver("/free")(lambda event: None)
    async with HookportClient.create([plugin], tmp_path) as client:
        original = client.app.ingest.store.append
        appended: list[tuple[str, bool]] = []

        async def recording(event: NewEvent) -> AppendResult:
            appended.append((event.path, event.ordered))
            return await original(event)

        client.app.ingest.store = cast(Store, SimpleNamespace(append=recording))
        for path in ("/one", "/many", "/free"):
            assert (await client.send(path, b"{}")).status_code == 202
    assert appended == [("/one", True), ("/many", False), ("/free", False)]


@pytest.mark.anyio
async def test_an_event_no_handler_takes_is_unhandled_and_runs_once_replayed(
    tmp_path: Path,
) -> None:
    from hookport.events import EventStatus

    db = {"url": f"sqlite:///{tmp_path}/u.db"}
    before = Plugin("gh")
    hooks = before.receiver("/gh", verify=verify.github(secret="s3cret"))

    @hooks.on("push")
    def push(event: Event) -> None:
        pass

    async with HookportClient.create([before], tmp_path, store=db) as client:
        fork = (await client.send("/gh", b"{}", event_type="fork")).json()["id"]
        pushed = (await client.send("/gh", b"{}", event_type="push")).json()["id"]
        assert await client.drain() == 2
        unhandled, done = await client.event(fork), await client.event(pushed)
        assert unhandled is not None and done is not None
        assert (unhandled.status, list(unhandled.attempts)) == (EventStatus.UNHANDLED, [])
        assert done.status is EventStatus.DONE

    ran: list[str] = []
    after = Plugin("gh")
    hooks = after.receiver("/gh", verify=verify.github(secret="s3cret"))

    @hooks.on("fork")
    def fork_handler(event: Event) -> None:
        ran.append(event.id)

    async with HookportClient.create([after], tmp_path, store=db) as client:
        assert await client.app.ops.replay([fork]) == [fork]
        assert await client.drain() == 1
        replayed = await client.event(fork)
        assert replayed is not None and replayed.status is EventStatus.DONE
    assert ran == [fork]
