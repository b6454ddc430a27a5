"""OpenTelemetry traces (``[tracing]``; the ``hookport[otel]`` extra): what hookport's spans are.

- ``hookport.ingest`` (kind SERVER): one per request, from its arrival to its answer: method,
  status, endpoint, route; for a stored delivery its event id, delivery id and type; for a
  refused one (4xx) the reason. Children: ``hookport.verify`` (the verifier's check),
  ``hookport.append`` (the wait for the group commit that stored the delivery: the batch is
  shared, the wait is this request's) and ``hookport.route`` (a route's handler).
- ``hookport.handler`` (kind CONSUMER): one per handler run, with endpoint, handler, event,
  attempt, outcome and error type. It runs later, perhaps in another process, so it starts a
  trace of its own and *links* to the ingest span, whose W3C ``traceparent`` is stored with the
  event (``events.trace_context``).

OpenTelemetry is imported here only, and only when tracing is on: hookport runs without it,
and with tracing off the request path pays one ``None`` check per step, nothing else.
Exception messages are never put on spans (they can quote payloads): the error's type is, and
the message stays in the attempt's record (``hookport events show``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Final

from hookport.config import TracingSettings
from hookport.errors import ConfigError

if TYPE_CHECKING:
    from opentelemetry.context import Context as OtelContext
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from hookport.events import Event, NewEvent

INGEST_SPAN: Final = "hookport.ingest"
VERIFY_SPAN: Final = "hookport.verify"
APPEND_SPAN: Final = "hookport.append"
ROUTE_SPAN: Final = "hookport.route"
HANDLER_SPAN: Final = "hookport.handler"

_INSTALL = "pip install 'hookport[otel]'"


def build_tracing(
    settings: TracingSettings, provider: TracerProvider | None = None
) -> Tracing | None:
    """The app's :class:`Tracing`: ``None`` when ``[tracing]`` is off and no ``provider`` is
    given. Without ``provider``, hookport makes its own (SDK, batching, ``settings.exporter``).

    Raises ``ConfigError`` when tracing is on and OpenTelemetry is not installed.
    """
    if provider is None and not settings.enabled:
        return None
    try:
        import opentelemetry.trace  # noqa: F401 - is the API there at all?
    except ImportError:
        raise ConfigError(
            f"[tracing] enabled = true needs OpenTelemetry, which is not installed: {_INSTALL}"
        ) from None
    return Tracing(provider or sdk_provider(settings), incoming_parent=settings.incoming_parent)


def sdk_provider(settings: TracingSettings) -> TracerProvider:
    """A provider of the OpenTelemetry SDK for ``settings``: service name, sampling, exporter.

    The OTLP exporter reads the standard ``OTEL_EXPORTER_OTLP_*`` variables of the process
    environment; the resource reads ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``.
    """
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    except ImportError:
        raise ConfigError(
            f"[tracing] needs the OpenTelemetry SDK, which is not installed: {_INSTALL}"
        ) from None
    named = {SERVICE_NAME: settings.service_name} if settings.service_name else {}
    resource = Resource.create(named)
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "hookport"}))
    sampler = ParentBased(TraceIdRatioBased(settings.sample_ratio))
    provider = SdkTracerProvider(resource=resource, sampler=sampler)
    exporter = _exporter(settings)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _exporter(settings: TracingSettings) -> SpanExporter | None:
    if settings.exporter == "none":
        return None
    if settings.exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # One JSON object a line (the SDK's default spreads each span over many lines).
        return ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ConfigError(
            "[tracing] exporter = 'otlp' needs opentelemetry-exporter-otlp-proto-http, which "
            f"is not installed: {_INSTALL}"
        ) from None
    return OTLPSpanExporter()


class Tracing:
    """Makes hookport's spans with ``provider``'s tracer (built by :func:`build_tracing`).

    ``incoming_parent``: an ingest span continues the trace of the request's W3C
    ``traceparent`` header. Off, the header is ignored (anyone can send one).
    """

    def __init__(self, provider: TracerProvider, *, incoming_parent: bool = False) -> None:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.provider = provider
        self.incoming_parent = incoming_parent
        self._tracer: Tracer = provider.get_tracer("hookport")
        self._propagator = TraceContextTextMapPropagator()

    def ingest(self, method: str, headers: Iterable[tuple[bytes, bytes]]) -> IngestTrace:
        """Start the ``hookport.ingest`` span of a request (ASGI ``headers``)."""
        from opentelemetry.trace import SpanKind

        parent = None
        if self.incoming_parent:
            carrier = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in headers
                if k in (b"traceparent", b"tracestate")
            }
            parent = self._propagator.extract(carrier) if carrier else None
        span = self._tracer.start_span(
            INGEST_SPAN,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
        )
        return IngestTrace(self._tracer, span)

    def handler(self, event: Event, handler: str) -> HandlerTrace:
        """Start the ``hookport.handler`` span of one handler run, linked to the event's
        ingest span (a trace of its own: it runs later, perhaps elsewhere)."""
        from opentelemetry.context import Context
        from opentelemetry.trace import Link, SpanKind, get_current_span

        links = []
        if event.trace_context:
            stored = self._propagator.extract({"traceparent": event.trace_context})
            linked = get_current_span(stored).get_span_context()
            if linked.is_valid:
                links.append(Link(linked))
        span = self._tracer.start_span(
            HANDLER_SPAN,
            context=Context(),  # a root: not a child of whatever is current in the worker
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "hookport.endpoint": event.endpoint,
                "hookport.plugin": event.plugin,
                "hookport.handler": handler,
                "hookport.event.id": event.id,
                "hookport.attempt": event.attempt,
                **({"hookport.event.type": event.type} if event.type else {}),
            },
        )
        return HandlerTrace(span)

    def flush(self, timeout: float = 5.0) -> None:
        """Export the spans still buffered (the app's shutdown calls it)."""
        force_flush = getattr(self.provider, "force_flush", None)  # the API's has none
        if force_flush is not None:
            force_flush(int(timeout * 1000))


class IngestTrace:
    """The ``hookport.ingest`` span of one request, and its steps' child spans."""

    def __init__(self, tracer: Tracer, span: Span) -> None:
        from opentelemetry.trace import set_span_in_context

        self._tracer = tracer
        self.span = span
        self._context: OtelContext = set_span_in_context(span)
        context = span.get_span_context()
        self.traceparent: str | None = (
            f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
            if context.is_valid
            else None
        )
        """The span as a W3C ``traceparent`` (stored with the event), ``None`` if invalid."""

    def endpoint(self, name: str, kind: str, route: str) -> None:
        """The request matched endpoint ``name`` (``kind``: receiver or route) at ``route``."""
        self.span.set_attributes(
            {"hookport.endpoint": name, "hookport.endpoint.kind": kind, "http.route": route}
        )

    def event(self, event: NewEvent) -> None:
        """The delivery is stored as ``event``."""
        self.span.set_attribute("hookport.event.id", event.id)
        if event.delivery_id is not None:
            self.span.set_attribute("hookport.delivery.id", event.delivery_id)
        if event.type is not None:
            self.span.set_attribute("hookport.event.type", event.type)

    def duplicate(self, first_id: str) -> None:
        """The delivery was already stored, as event ``first_id``."""
        self.span.set_attributes({"hookport.duplicate": True, "hookport.event.id": first_id})

    @contextlib.contextmanager
    def child(self, name: str, attributes: Mapping[str, str] | None = None) -> Iterator[None]:
        """A child span over one step; an exception leaving it marks it failed (its type)."""
        from opentelemetry.trace import Status, StatusCode

        span = self._tracer.start_span(name, context=self._context, attributes=attributes)
        try:
            yield
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            span.end()

    def end(self, status: int, reason: str | None = None, error: str | None = None) -> None:
        """End the span with the answer's ``status``; ``reason``: why a 4xx refused it;
        ``error``: the type of the error behind a 5xx."""
        from opentelemetry.trace import Status, StatusCode

        self.span.set_attribute("http.response.status_code", status)
        if reason is not None and 400 <= status < 500:
            self.span.set_attribute("hookport.rejection.reason", reason)
        if status >= 500:  # a 4xx is the sender's error, not the server's (semantic conventions)
            kind = error or str(status)
            self.span.set_attribute("error.type", kind)
            self.span.set_status(Status(StatusCode.ERROR, kind))
        self.span.end()


class HandlerTrace:
    """The ``hookport.handler`` span of one handler run."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def current(self) -> contextlib.AbstractContextManager[object]:
        """Make the span current while the handler runs (its own spans become children)."""
        from opentelemetry.trace import use_span

        return use_span(self.span, record_exception=False, set_status_on_exception=False)

    def end(self, outcome: str, error_type: str | None = None) -> None:
        """End the run: ``outcome`` ok, error, timeout or interrupted; ``error_type`` the
        failure's exception type."""
        from opentelemetry.trace import Status, StatusCode

        self.span.set_attribute("hookport.outcome", outcome)
        if outcome != "ok":
            kind = error_type or outcome
            self.span.set_attribute("error.type", kind)
            self.span.set_status(Status(StatusCode.ERROR, kind))
        self.span.end()
