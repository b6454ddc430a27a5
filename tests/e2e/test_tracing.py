"""Traces out of real ``hookport`` processes: OTLP/HTTP to a collector set by the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` variable, and the link from a handler span to its delivery's
ingest span across the queue when ``serve --no-workers`` and ``worker`` are separate processes
on one PostgreSQL.

The collector is the recording loopback server of ``capture_server.py``; its requests are
decoded with OpenTelemetry's own protobuf classes. The console exporter writes one JSON object
a line on stdout. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.e2e import pg
from tests.e2e.capture_server import Capture
from tests.e2e.conftest import Server, start, wait_until

PLUGIN = str(Path(__file__).parent / "plugins" / "durable.py")
TRACING = {
    "HOOKPORT_TRACING__ENABLED": "true",
    "OTEL_BSP_SCHEDULE_DELAY": "50",  # export batches every 50 ms, not every 5 s
}


def otlp_spans(capture: Capture) -> list[tuple[str, dict[str, Any]]]:
    """Every span the collector received: (service name, span) as protobuf-JSON-like dicts."""
    found = []
    for request in capture.at("/v1/traces"):
        message = ExportTraceServiceRequest.FromString(request.body)
        for resource in message.resource_spans:
            service = next(
                a.value.string_value
                for a in resource.resource.attributes
                if a.key == "service.name"
            )
            for scope in resource.scope_spans:
                for span in scope.spans:
                    found.append((service, _otlp_span(span)))
    return found


def _otlp_span(span: Any) -> dict[str, Any]:
    attributes = {}
    for a in span.attributes:
        kind = a.value.WhichOneof("value")
        attributes[a.key] = getattr(a.value, kind)
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_id": span.parent_span_id.hex(),
        "links": [(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
        "attributes": attributes,
    }


def test_spans_go_to_the_otlp_endpoint_of_the_standard_variables(
    serve: Callable[..., Server], capture: Capture, tmp_path: Path
) -> None:
    env = {
        **TRACING,
        "OTEL_EXPORTER_OTLP_ENDPOINT": capture.url,
        "HOOKPORT_TRACING__SERVICE_NAME": "hooks-under-test",
        "DURABLE_LOG": str(tmp_path / "handled.log"),
    }
    server = serve("--plugin", PLUGIN, env=env)
    response = httpx.post(f"{server.url}/in", content=b"{}", timeout=10)
    assert response.status_code == 202
    event_id = response.json()["id"]

    def names() -> list[str]:
        return [span["name"] for _, span in otlp_spans(capture)]

    wait_until(
        lambda: {"hookport.ingest", "hookport.handler"} <= set(names()), 20, "exported spans"
    )
    spans = {span["name"]: (service, span) for service, span in otlp_spans(capture)}
    service, ingest = spans["hookport.ingest"]
    assert service == "hooks-under-test"
    assert ingest["attributes"]["hookport.event.id"] == event_id
    assert ingest["attributes"]["http.response.status_code"] == 202
    assert spans["hookport.append"][1]["parent_id"] == ingest["span_id"]
    _, handler = spans["hookport.handler"]
    assert handler["links"] == [(ingest["trace_id"], ingest["span_id"])]
    assert handler["attributes"]["hookport.outcome"] == "ok"
    assert capture.at("/v1/traces")[0].headers["content-type"] == "application/x-protobuf"


def console_spans(server: Server) -> list[dict[str, Any]]:
    """The spans a process printed with ``exporter = "console"`` (one JSON object a line)."""
    return [json.loads(line) for line in server.output if line.startswith('{"name": "hookport.')]


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for the test (skips without PostgreSQL, unless required)."""
    with pg.admin_dsn() as admin, pg.fresh_database(admin) as dsn:
        yield dsn


@pytest.mark.postgres
def test_the_link_survives_the_queue_between_a_server_and_a_worker_process(
    database: str, tmp_path: Path
) -> None:
    env = {
        **TRACING,
        "HOOKPORT_TRACING__EXPORTER": "console",
        "HOOKPORT_STORE__URL": database,
        "DURABLE_LOG": str(tmp_path / "handled.log"),
    }
    args = ["--plugin", PLUGIN]
    ingest_node = start(
        ["serve", "--host", "127.0.0.1", "--port", "0", "--no-workers", *args], cwd=tmp_path,
        env=env,
    )  # fmt: skip
    try:
        worker = start(["worker", *args], cwd=tmp_path, env=env, announce="hookport worker running")
        try:
            response = httpx.post(f"{ingest_node.url}/in", content=b"{}", timeout=10)
            assert response.status_code == 202
            wait_until(
                lambda: any(s["name"] == "hookport.handler" for s in console_spans(worker)),
                20,
                "the worker's handler span",
            )
            wait_until(
                lambda: any(s["name"] == "hookport.ingest" for s in console_spans(ingest_node)),
                20,
                "the server's ingest span",
            )
        finally:
            worker.close()
    finally:
        ingest_node.close()
    (ingest,) = [s for s in console_spans(ingest_node) if s["name"] == "hookport.ingest"]
    (handler,) = [s for s in console_spans(worker) if s["name"] == "hookport.handler"]
    assert ingest["attributes"]["hookport.event.id"] == response.json()["id"]
    assert handler["attributes"]["hookport.event.id"] == response.json()["id"]
    linked = [
        (link["context"]["trace_id"], link["context"]["span_id"]) for link in handler["links"]
    ]
    assert linked == [(ingest["context"]["trace_id"], ingest["context"]["span_id"])]
    assert handler["context"]["trace_id"] != ingest["context"]["trace_id"]
    assert not [s for s in console_spans(worker) if s["name"] == "hookport.ingest"]
