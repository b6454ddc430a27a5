"""The request pipeline: match -> read body -> verify -> route handler | durable append -> answer.

This is the only module that touches the ASGI request. It is written against raw ASGI for the
hot path (a receiver acknowledgement is a dict lookup, a body read, an HMAC, one group-committed
append and a JSON answer); errors are mapped to HTTP answers here and only here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from hookport.assembly import Assembly, Endpoint, ReceiverEndpoint, RouteEndpoint
from hookport.body import BodyBudget, BodyHold, ClientDisconnected, check_format, read_body
from hookport.context import Context
from hookport.errors import (
    EndpointPaused,
    ForbiddenError,
    HTTPError,
    PayloadError,
    PayloadTooLarge,
    RequestTimeout,
    StoreUnavailable,
    VerificationError,
)
from hookport.events import (
    EventKind,
    EventStatus,
    NewEvent,
    RecordedResponse,
    check_delivery_id,
    check_storable,
    fallback_delivery_id,
    fallback_event_type,
    new_event_id,
)
from hookport.http import (
    Enqueue,
    HeaderMap,
    Request,
    RequestHead,
    Response,
    UnsupportedReturn,
    error_response,
    to_response,
)
from hookport.metrics import Metrics
from hookport.observability import LogLimiter
from hookport.pauses import PauseBook
from hookport.proxies import resolve_client
from hookport.rejections import RejectionLog, rejection
from hookport.routing import Match, RouteMatch
from hookport.store.base import Store
from hookport.templating import html_renderer
from hookport.threads import ThreadLane
from hookport.tracing import APPEND_SPAN, ROUTE_SPAN, VERIFY_SPAN, IngestTrace, Tracing
from hookport.types import Verified
from hookport.verify.base import precheck_of

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

log = logging.getLogger("hookport.ingest")

_JSON_CT = (b"content-type", b"application/json")


class Ingest:
    """Answers webhook requests for one assembled set of plugins."""

    def __init__(
        self,
        assembly: Assembly,
        store: Store,
        *,
        max_body_size: int,
        trusted_proxies: list[IPv4Network | IPv6Network],
        base_url: str | None,
        metrics: Metrics,
        route_threads: ThreadLane,
        route_record_max: int = 65_536,
        body_timeout: float = 60.0,
        max_buffered: int = 100_000_000,
        pauses: PauseBook | None = None,
        rejections: RejectionLog | None = None,
        clock: Callable[[], float] = time.time,
        tracing: Tracing | None = None,
    ) -> None:
        self.assembly = assembly
        self.table = assembly.table
        self.store = store
        self.max_body_size = max_body_size
        self.trusted = trusted_proxies
        self.base_url = base_url.rstrip("/") if base_url else None
        self.metrics = metrics
        self.route_threads = route_threads
        self.route_record_max = route_record_max
        self.body_timeout = body_timeout
        self.bodies = BodyBudget(max_buffered)
        self.clock = clock
        self.pauses = pauses
        self.rejected = rejections
        self._rejections = LogLimiter(log)
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """Handle one HTTP request whose route path (mount prefix removed) is ``path``."""
        started = time.perf_counter()
        method: str = scope["method"]
        trace = self.tracing.ingest(method, scope["headers"]) if self.tracing is not None else None
        found = self.table.match(method, path)
        endpoint = found.target  # set exactly when the match is FULL
        if endpoint is None:
            status, reason = await self._unmatched(scope, send, path, found)
            if trace is not None:
                trace.end(status, reason)
            return
        if trace is not None:
            trace.endpoint(endpoint.name, endpoint.kind, endpoint.path)
        status, reason, error = 500, None, None
        hold = self.bodies.hold()
        try:
            status, reason = await self._handle(
                endpoint, scope, receive, send, path, found.params, hold, trace
            )
            self.metrics.observe_ingest(endpoint.kind, time.perf_counter() - started)
            if reason is not None:
                self._reject(scope, path, endpoint.name, status, reason)
        except (HTTPError, StoreUnavailable) as exc:  # the one place errors become answers
            status = await self._send_error(send, endpoint, exc, scope)
            reason, error = exc.message, type(exc).__name__
            if 400 <= status < 500:
                self._reject(scope, path, endpoint.name, status, exc.message)
        except ClientDisconnected:
            status, error = 499, "ClientDisconnected"
        except Exception as exc:  # the last line of defence: log it, answer 500, keep serving
            log.exception("unhandled error", extra={"endpoint": endpoint.name, "path": path})
            await _send_json(send, 500, {"error": "internal server error"})
            error = type(exc).__name__
        finally:
            hold.release()  # the body is committed, answered or refused: its memory is free
        self.metrics.count_request(endpoint.name, method, status)
        if trace is not None:
            trace.end(status, reason, error)

    async def _unmatched(
        self, scope: Scope, send: Send, path: str, found: RouteMatch[Endpoint]
    ) -> tuple[int, str | None]:
        """Answer a request no endpoint takes: 404, 405 (or 204 for OPTIONS); status, reason."""
        method: str = scope["method"]
        if found.kind is Match.PARTIAL:
            allow = ", ".join(found.allow)
            if method == "OPTIONS":  # no endpoint here declares OPTIONS: hookport answers
                await send({"type": "http.response.start", "status": 204,
                            "headers": [(b"allow", allow.encode())]})  # fmt: skip
                await send({"type": "http.response.body", "body": b""})
                self.metrics.count_request(None, method, 204)
                return 204, None
            reason = f"method {method} not allowed; use {allow}"
            await _send_json(send, 405, {"error": reason}, [(b"allow", allow.encode())])
            self.metrics.count_request(None, method, 405)
            self._reject(scope, path, None, 405, reason)
            return 405, reason
        await _send_json(send, 404, {"error": f"no endpoint at {path}"})
        self.metrics.count_request(None, method, 404)
        reason = "no endpoint serves this path"
        self._reject(scope, path, None, 404, reason)
        return 404, reason

    async def _handle(
        self,
        ep: Endpoint,
        scope: Scope,
        receive: Receive,
        send: Send,
        path: str,
        params: dict[str, Any],
        hold: BodyHold,
        trace: IngestTrace | None,
    ) -> tuple[int, str | None]:
        """The answer's status, and why it is a rejected delivery (``None``: it is not)."""
        if isinstance(ep, RouteEndpoint) and self.pauses is not None:
            await self._check_paused(ep)  # a paused receiver goes on storing: only routes stop
        head = self._head(scope, path, params)
        # What the head alone can refuse (no signature header, wrong address, no token) is
        # refused before a byte of the body is read; what it alone decides needs no more.
        early = None
        if ep.verifier is not None:
            if trace is None:
                early = precheck_of(ep.verifier, head, self.clock())
            else:
                with trace.child(VERIFY_SPAN):
                    early = precheck_of(ep.verifier, head, self.clock())
        request = Request.from_head(head, await self._read_body(receive, head, hold))
        verified = early or Verified()
        if ep.verifier is not None and early is None:
            if trace is None:
                verified = ep.verifier.verify(request, self.clock())
            else:
                with trace.child(VERIFY_SPAN):
                    verified = ep.verifier.verify(request, self.clock())
            if verified.reply is not None:
                reply = verified.reply
                await _send(
                    send, reply.status, reply.body, [(b"content-type", reply.media_type.encode())]
                )
                return reply.status, _rejected_status(reply.status, "answered by the verifier")
        if isinstance(ep, RouteEndpoint):
            return await self._route(ep, request, verified, send, trace)
        return await self._receive(ep, request, verified, send, trace), None

    async def _check_paused(self, ep: RouteEndpoint) -> None:
        assert self.pauses is not None
        pause = (await self.pauses.current()).get(ep.name)
        if pause is None:
            return
        if pause.expires_at is None:
            raise EndpointPaused(ep.name)
        raise EndpointPaused(ep.name, math.ceil(pause.expires_at - self.clock()))

    def _reject(
        self, scope: Scope, path: str, endpoint: str | None, status: int, reason: str
    ) -> None:
        """Count and record a rejected delivery (metadata only; never blocks: see
        hookport.rejections)."""
        self.metrics.delivery_rejected(endpoint, status)
        if self.rejected is None:
            return
        names = [k.decode("latin-1") for k, _ in scope["headers"]]
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        self.rejected.add(
            rejection(
                method=scope["method"],
                path=path,
                endpoint=endpoint,
                status=status,
                reason=reason,
                source_ip=self._client(scope),
                header_names=names,
                body_size=int(declared) if declared.isdigit() else 0,
            )
        )

    def _client(self, scope: Scope) -> str | None:
        peer = scope.get("client")
        headers = HeaderMap.from_asgi(scope["headers"]) if self.trusted else None
        if headers is None:
            return peer[0] if peer else None
        return resolve_client(peer[0] if peer else None, headers, self.trusted)

    def _head(self, scope: Scope, path: str, params: dict[str, Any]) -> RequestHead:
        """What the request is before its body: built once, from the ASGI scope."""
        headers = HeaderMap.from_asgi(scope["headers"])
        query_string = scope.get("query_string", b"").decode("latin-1")
        peer = scope.get("client")
        return RequestHead(
            method=scope["method"],
            path=path,
            url=self._public_url(scope, headers, path, query_string),
            headers=headers,
            query_string=query_string,
            client=resolve_client(peer[0] if peer else None, headers, self.trusted),
            params=params,
        )

    async def _read_body(self, receive: Receive, head: RequestHead, hold: BodyHold) -> bytes:
        """The body, within ``body_timeout``, its bytes taken from the in-flight budget."""
        try:
            async with asyncio.timeout(self.body_timeout):
                return await read_body(receive, head.headers, self.max_body_size, hold)
        except TimeoutError:
            raise RequestTimeout(self.body_timeout) from None

    def _public_url(self, scope: Scope, headers: HeaderMap, path: str, query_string: str) -> str:
        suffix = path + (f"?{query_string}" if query_string else "")
        root = scope.get("root_path", "")
        if self.base_url:
            return f"{self.base_url}{root}{suffix}"
        host = headers.get("host") or "localhost"
        return f"{scope.get('scheme', 'http')}://{host}{root}{suffix}"

    async def _receive(
        self,
        ep: ReceiverEndpoint,
        request: Request,
        verified: Verified,
        send: Send,
        trace: IngestTrace | None,
    ) -> int:
        if ep.verifier is not None:  # what the provider sends, else a 400: nothing stored
            check_format(ep.verifier.body_format, request)
        event_id = new_event_id()
        # The answer is known before the commit (ids are hex: no JSON encoder needed), so it
        # is stored with the delivery, as invenio's Event.response / response_headers.
        queued = b'{"id":"%s","status":"queued"}' % event_id.encode()
        event = self._new_event(
            ep,
            request,
            verified,
            kind="receiver",
            type=self._event_type(ep, request, verified),
            delivery_id=self._delivery_id(ep, request, verified),
            ordered=ep.ordered,
            id=event_id,
            response=RecordedResponse(202, _queued_headers(queued), queued),
            trace=trace,
        )
        check_storable(event)
        stored = len(event.body) + sum(len(k) + len(v) for k, v in event.headers)
        if stored > self.max_body_size:  # headers count toward what one delivery may store
            raise PayloadTooLarge(self.max_body_size)
        if trace is None:
            result = await self.store.append(event)  # the wait for its batch's commit
        else:
            with trace.child(APPEND_SPAN):
                result = await self.store.append(event)
        if result.duplicate:  # answered, not stored: the first delivery keeps its own answer
            if trace is not None:
                trace.duplicate(result.id)
            body = b'{"id":"%s","status":"duplicate"}' % result.id.encode()
            await _send(send, 200, body, [_JSON_CT])
            return 200
        await _send(send, 202, queued, [_JSON_CT])
        return 202

    def _event_type(self, ep: ReceiverEndpoint, request: Request, verified: Verified) -> str | None:
        source = ep.event_type
        if isinstance(source, str):
            value = request.headers.get(source)
            return str(value) if value is not None else None
        if source is not None:
            return source(request)
        if verified.event_type is not None:
            return verified.event_type
        return fallback_event_type(request.headers)

    def _delivery_id(
        self, ep: ReceiverEndpoint, request: Request, verified: Verified
    ) -> str | None:
        if not ep.dedupe:
            return None
        value = verified.delivery_id or fallback_delivery_id(request.headers)
        return check_delivery_id(value) if value else None

    async def _route(
        self,
        ep: RouteEndpoint,
        request: Request,
        verified: Verified,
        send: Send,
        trace: IngestTrace | None,
    ) -> tuple[int, str | None]:
        ctx = Context(
            plugin=ep.plugin,
            notifier=self.assembly.notifier,
            endpoint=ep.name,
            handler=ep.handler,
            settings=ep.settings,
        )
        values = {"request": request, "ctx": ctx, **request.params}
        try:
            fields = {"plugin": ep.plugin.name, "endpoint": ep.name, "handler": ep.handler}
            if trace is None:
                result = await ep.call.call(values, threads=self.route_threads, log_fields=fields)
            else:
                with trace.child(ROUTE_SPAN, {"hookport.handler": ep.handler}):
                    result = await ep.call.call(
                        values, threads=self.route_threads, log_fields=fields
                    )
        except HTTPError as exc:
            response = error_response(exc)
            if 400 <= response.status < 500:  # the route's own reason (a public message)
                response.rejected = exc.message
        else:
            if isinstance(result, Enqueue):
                return await self._enqueue(ep, request, verified, result, send, trace), None
            response = self._to_response(ep, result)
        await _send(
            send,
            response.status,
            response.body,
            [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.header_list()],
            head=request.method == "HEAD",
        )
        if ep.record != "off":
            await self._record(ep, request, verified, response, trace)
        rejected = response.rejected or _rejected_status(response.status, "answered by the route")
        return response.status, rejected

    async def _enqueue(
        self,
        ep: RouteEndpoint,
        request: Request,
        verified: Verified,
        job: Enqueue,
        send: Send,
        trace: IngestTrace | None,
    ) -> int:
        """Store ``request`` as an event of ``job.receiver``, then answer ``job.response``."""
        target = self.assembly.receivers.get(job.receiver)
        if target is None or target.plugin is not ep.plugin:
            raise LookupError(f"route {ep.name} enqueued for {job.receiver!r}, not a receiver "
                              "of its plugin")  # fmt: skip
        response = job.response
        event = self._new_event(
            target,
            request,
            verified,
            kind="receiver",
            type=job.event_type,
            delivery_id=self._delivery_id(target, request, verified),
            ordered=target.ordered,
            response=RecordedResponse(response.status, response.header_list(), response.body),
            trace=trace,
        )
        check_storable(event)
        stored = len(event.body) + sum(len(k) + len(v) for k, v in event.headers)
        if stored > self.max_body_size:
            raise PayloadTooLarge(self.max_body_size)
        if trace is None:
            await self.store.append(event)  # a duplicate gets the same answer: it was taken
        else:
            with trace.child(APPEND_SPAN):
                await self.store.append(event)
        await _send(
            send,
            response.status,
            response.body,
            [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.header_list()],
            head=request.method == "HEAD",
        )
        return response.status

    def _to_response(self, ep: RouteEndpoint, result: Any) -> Response:
        try:
            return to_response(result, convert=html_renderer(ep.templates, ep.plugin.name))
        except UnsupportedReturn as exc:  # the handler's bug: say whose, answer 500, keep serving
            fields = {"plugin": ep.plugin.name, "handler": ep.handler, "endpoint": ep.name}
            log.error(
                "route handler returned a value that cannot be answered: %s",
                exc,
                extra={**fields, "type": exc.type_name},
            )
            return Response.json({"error": "internal server error"}, 500)

    async def _record(
        self,
        ep: RouteEndpoint,
        request: Request,
        verified: Verified,
        response: Response,
        trace: IngestTrace | None,
    ) -> None:
        # Metadata only for unverified routes (anyone can send them), and never bodies past
        # the cap: a route's record must not let anonymous traffic fill the disk.
        keep = ep.record == "full" and (
            len(request.body) + len(response.body) <= self.route_record_max
        )
        event = self._new_event(
            ep,
            request,
            verified,
            kind="route",
            type=verified.event_type,
            delivery_id=None,
            status=EventStatus.DONE,
            response=RecordedResponse(
                response.status, response.header_list(), response.body if keep else b""
            ),
            body=request.body if keep else b"",
            trace=trace,
        )
        try:
            check_storable(event)
            if trace is None:
                await self.store.append(event)
            else:
                with trace.child(APPEND_SPAN):
                    await self.store.append(event)
        except PayloadError as exc:  # answered already; only the record is refused
            log.warning("route call not recorded: %s", exc.message, extra={"endpoint": ep.name})
        except StoreUnavailable:
            # The handler already answered; losing the record of a route is not losing a
            # delivery, so it is logged, not turned into an error.
            log.warning("route call not recorded: store unavailable", extra={"endpoint": ep.name})

    def _new_event(
        self,
        ep: Endpoint,
        request: Request,
        verified: Verified,
        *,
        kind: EventKind,
        type: str | None,
        delivery_id: str | None,
        status: EventStatus = EventStatus.QUEUED,
        response: RecordedResponse | None = None,
        ordered: bool = False,
        body: bytes | None = None,
        id: str | None = None,
        trace: IngestTrace | None = None,
    ) -> NewEvent:
        event = NewEvent(
            id=id or new_event_id(),
            kind=kind,
            plugin=ep.plugin.name,
            endpoint=ep.name,
            type=type,
            delivery_id=delivery_id,
            received_at=self.clock(),
            method=request.method,
            path=request.path,
            query_string=request.query_string,
            headers=request.header_pairs(),
            body=request.body if body is None else body,
            params=dict(request.params),
            sender=verified.sender,
            source_ip=request.client,
            status=status,
            response=response,
            ordered=ordered,
            trace_context=trace.traceparent if trace is not None else None,
        )
        if trace is not None:
            trace.event(event)
        return event

    async def _send_error(
        self, send: Send, ep: Endpoint, exc: HTTPError | StoreUnavailable, scope: Scope
    ) -> int:
        # Rate-limited by (endpoint, status, reason): a flood of bad signatures is one line
        # every few seconds with a count, not one line per request.
        response = error_response(exc)
        if response.status in (401, 403) and isinstance(exc, VerificationError | ForbiddenError):
            self.metrics.verification_failed(ep.name, response.status, exc.message)
        elif response.status == 503:
            self.metrics.answered_unavailable(ep.name)
        if isinstance(exc, StoreUnavailable):
            level, message = logging.ERROR, "answering 503"
        else:
            level = logging.WARNING if exc.status in (401, 403) else logging.INFO
            message = "rejected"
        fields = {
            "endpoint": ep.name,
            "status": response.status,
            "reason": exc.message,
            "client": self._client(scope),
        }
        self._rejections.log(level, (ep.name, response.status, exc.message), message, fields)
        await _send(
            send,
            response.status,
            response.body,
            [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.header_list()],
        )
        return response.status


def _rejected_status(status: int, reason: str) -> str | None:
    """``reason`` for a 4xx answer (a rejected delivery), else None."""
    return reason if 400 <= status < 500 else None


def _queued_headers(body: bytes) -> list[tuple[str, str]]:
    """The headers of a receiver's acknowledgement, as :func:`_send` sends them."""
    return [("content-type", "application/json"), ("content-length", str(len(body)))]


async def _send(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], *, head: bool = False
) -> None:
    if not any(k == b"content-length" for k, _ in headers):
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _send_json(
    send: Send, status: int, data: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(data, separators=(",", ":")).encode()
    await _send(send, status, body, [_JSON_CT, *(headers or [])])


__all__ = ["Ingest", "PayloadError"]
