"""OpenTelemetry spans of a real server on loopback (uvicorn, a SQLite file, in-process workers),
read from the SDK's in-memory exporter: ingest spans, their steps, handler spans linked to them
across the queue, incoming ``traceparent`` headers, refused requests and routes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from tests.integration.test_mount import running

from hookport import Plugin, verify
from hookport.app import HookportApp, create_app
from hookport.config import load_settings
from hookport.events import Event
from hookport.store.base import EventFilter
from hookport.testing import signed_request

pytestmark = pytest.mark.anyio

TOKEN = "trace-token-1"
CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def traced_plugin(seen: list[int]) -> Plugin:
    plugin = Plugin("traced")
    jobs = plugin.receiver(
        "/jobs", verify=verify.token(TOKEN), name="jobs", event_type="X-Type", max_attempts=3
    )

    @jobs.on()
    def flaky(event: Event) -> None:
        seen.append(trace.get_current_span().get_span_context().span_id)
        if event.attempt < 3:
            raise RuntimeError(f"attempt {event.attempt} fails")

    @plugin.route("/hi")
    def hi() -> str:
        return "hi"

    return plugin


@asynccontextmanager
async def traced_server(
    tmp_path: Path, plugin: Plugin, **tracing: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, HookportApp, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = load_settings(
        None,
        {},
        store={"url": f"sqlite:///{tmp_path}/traced.db"},
        worker={"backoff": {"initial": 0.01, "max": 0.02}, "poll_interval": 0.05},
        tracing=tracing,
    )
    app = create_app(settings, [plugin], tracer_provider=provider)
    try:
        async with running(app) as url, httpx.AsyncClient(base_url=url) as client:
            yield client, app, exporter
    finally:
        await app.shutdown()
        provider.shutdown()


async def deliver(
    client: httpx.AsyncClient, app: HookportApp, body: bytes = b"{}", **headers: str
) -> httpx.Response:
    signed = signed_request(app.assembly.receivers["jobs"], body, headers=headers)
    return await client.post(signed.target, content=signed.body, headers=signed.headers)


async def spans_named(
    exporter: InMemorySpanExporter, name: str, count: int, timeout: float = 15.0
) -> list[ReadableSpan]:
    """The finished spans called ``name``, once there are ``count`` of them (deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [s for s in exporter.get_finished_spans() if s.name == name]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} {name} span(s), not {count}, in {timeout}s")
        await asyncio.sleep(0.02)


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> dict[str, ReadableSpan]:
    ctx = parent.get_span_context()
    return {s.name: s for s in spans if s.parent is not None and s.parent.span_id == ctx.span_id}


def ids(context: Any) -> tuple[int, int]:
    """A span context's trace and span ids (a link's context is remote, the span's is not)."""
    return context.trace_id, context.span_id


def attr(span: ReadableSpan) -> Callable[[str], Any]:
    attributes = span.attributes or {}
    return attributes.get


async def test_a_delivery_gives_an_ingest_span_and_a_linked_handler_span_per_attempt(
    tmp_path: Path,
) -> None:
    seen: list[int] = []
    async with traced_server(tmp_path, traced_plugin(seen)) as (client, app, exporter):
        response = await deliver(client, app, **{"X-Type": "build", "Idempotency-Key": "d-1"})
        assert response.status_code == 202
        event_id = response.json()["id"]
        handled = await spans_named(exporter, "hookport.handler", 3)
        (ingest,) = await spans_named(exporter, "hookport.ingest", 1)
        again = await deliver(client, app, **{"X-Type": "build", "Idempotency-Key": "d-1"})
        assert again.status_code == 200
        ingests = await spans_named(exporter, "hookport.ingest", 2)
        stored = await app.ops.get_event(event_id)

    of = attr(ingest)
    assert ingest.kind is SpanKind.SERVER and ingest.parent is None
    assert (of("hookport.endpoint"), of("http.route"), of("http.request.method")) == (
        "jobs", "/jobs", "POST"
    )  # fmt: skip
    assert (of("hookport.event.id"), of("hookport.delivery.id"), of("hookport.event.type")) == (
        event_id, "d-1", "build"
    )  # fmt: skip
    assert of("http.response.status_code") == 202 and of("hookport.rejection.reason") is None
    assert ingest.status.status_code is StatusCode.UNSET
    steps = children(exporter.get_finished_spans(), ingest)
    assert set(steps) == {"hookport.verify", "hookport.append"}
    assert all(s.context.trace_id == ingest.context.trace_id for s in steps.values())
    assert steps["hookport.append"].start_time >= steps["hookport.verify"].end_time

    ctx = ingest.get_span_context()
    assert stored is not None
    flags = f"{ctx.trace_flags:02x}"
    assert stored.trace_context == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{flags}"
    handled.sort(key=lambda s: attr(s)("hookport.attempt"))
    assert [attr(s)("hookport.attempt") for s in handled] == [1, 2, 3]
    assert [attr(s)("hookport.outcome") for s in handled] == ["error", "error", "ok"]
    assert [attr(s)("error.type") for s in handled] == ["RuntimeError", "RuntimeError", None]
    assert [s.status.status_code for s in handled] == [
        StatusCode.ERROR, StatusCode.ERROR, StatusCode.UNSET
    ]  # fmt: skip
    for span in handled:
        assert span.kind is SpanKind.CONSUMER and span.parent is None
        assert span.context.trace_id != ctx.trace_id  # a trace of its own, linked
        assert [ids(link.context) for link in span.links] == [ids(ctx)]
        assert (attr(span)("hookport.endpoint"), attr(span)("hookport.handler")) == ("jobs",
                                                                                     "flaky")  # fmt: skip
        assert attr(span)("hookport.event.id") == event_id
    # The handler ran with its span current: its own spans would be children of it.
    assert seen == [s.context.span_id for s in handled]

    (duplicate,) = [s for s in ingests if s is not ingest]
    assert attr(duplicate)("hookport.duplicate") is True
    assert attr(duplicate)("hookport.event.id") == event_id
    assert attr(duplicate)("http.response.status_code") == 200


@pytest.mark.parametrize("honoured", [True, False])
async def test_an_incoming_traceparent_is_continued_only_when_configured(
    tmp_path: Path, honoured: bool
) -> None:
    caller_trace, caller_span = int(CALLER[3:35], 16), int(CALLER[36:52], 16)
    async with traced_server(tmp_path, traced_plugin([]), incoming_parent=honoured) as (
        client,
        app,
        exporter,
    ):
        response = await deliver(client, app, traceparent=CALLER, **{"X-Type": "t"})
        assert response.status_code == 202
        (ingest,) = await spans_named(exporter, "hookport.ingest", 1)
        first, *_ = await spans_named(exporter, "hookport.handler", 1)
    if honoured:
        assert ingest.context.trace_id == caller_trace
        assert ingest.parent is not None and ingest.parent.span_id == caller_span
    else:
        assert ingest.context.trace_id != caller_trace and ingest.parent is None
    assert [ids(link.context) for link in first.links] == [ids(ingest.context)]


async def test_refused_requests_get_an_ingest_span_with_status_and_reason(tmp_path: Path) -> None:
    async with traced_server(tmp_path, traced_plugin([])) as (client, app, exporter):
        unsigned = await client.post("/jobs", content=b"{}")
        assert unsigned.status_code == 401
        missing = await client.post("/nowhere", content=b"{}")
        assert missing.status_code == 404
        refused, unknown = await spans_named(exporter, "hookport.ingest", 2)
        assert await app.ops.list_events(EventFilter()) == []  # nothing stored

    of = attr(refused)
    assert (of("http.response.status_code"), of("hookport.endpoint")) == (401, "jobs")
    assert of("hookport.rejection.reason") == unsigned.json()["error"]
    assert of("hookport.event.id") is None
    assert refused.status.status_code is StatusCode.UNSET  # the sender's error, not ours
    verified = children(exporter.get_finished_spans(), refused)["hookport.verify"]
    assert verified.status.status_code is StatusCode.ERROR
    assert attr(verified)("error.type") == "VerificationError"

    of = attr(unknown)
    assert of("http.response.status_code") == 404 and of("hookport.endpoint") is None
    assert of("hookport.rejection.reason") == "no endpoint serves this path"
    assert not [s for s in exporter.get_finished_spans() if s.name == "hookport.handler"]


async def test_a_route_gets_a_span_over_its_handler(tmp_path: Path) -> None:
    async with traced_server(tmp_path, traced_plugin([])) as (client, _app, exporter):
        assert (await client.get("/hi")).text == "hi"
        (ingest,) = await spans_named(exporter, "hookport.ingest", 1)
    of = attr(ingest)
    assert (of("hookport.endpoint.kind"), of("http.response.status_code")) == ("route", 200)
    route = children(exporter.get_finished_spans(), ingest)["hookport.route"]
    assert attr(route)("hookport.handler") == "hi"
    assert ingest.start_time <= route.start_time and route.end_time <= ingest.end_time
