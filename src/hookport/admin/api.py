"""Admin endpoints over :mod:`hookport.operations`.

``health`` and ``ready`` are open (for load balancers), ``metrics`` is Prometheus text, and
``api/*`` needs the admin token (``Authorization: Bearer <token>``; the token comes from the
environment variable named by ``[admin] token_env``; without it the API is off) or a dashboard
session (see :mod:`hookport.admin.auth`). Every answer carries the security headers of
:data:`hookport.admin.session.SECURITY_HEADERS`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from importlib import metadata
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hookport.admin.auth import AdminAuth
from hookport.admin.dashboard import Dashboard
from hookport.admin.openapi import openapi_spec, operations
from hookport.admin.session import SECURITY_HEADERS
from hookport.config import parse_duration
from hookport.errors import HTTPError, NotFoundError, StoreUnavailable
from hookport.events import EventStatus
from hookport.http import Response as HookportResponse
from hookport.http import error_response
from hookport.metrics import Metrics
from hookport.operations import Operations, pause_fields
from hookport.store.base import ChatCommandFilter, EventFilter, RejectionFilter

Handler = Callable[[Request], Awaitable[Response]]


class AdminAPI:
    """The JSON endpoints over the app's operations (the app starts before it calls them)."""

    def __init__(self, ops: Operations, metrics: Metrics, auth: AdminAuth) -> None:
        self.ops = ops
        self.metrics = metrics
        self.auth = auth

    def routes(self) -> list[Route]:
        """Routes relative to the ``/_hookport`` mount."""
        return [
            Route("/health", self.health),
            Route("/ready", self.ready),
            Route("/metrics", self.metrics_text),
            Route("/api/", self.index),
            Route("/api/openapi.json", self.openapi),
            Route("/api/routes", self.guarded(self.list_routes)),
            Route("/api/stats", self.guarded(self.stats)),
            Route("/api/events", self.guarded(self.list_events)),
            Route("/api/events/{event_id}", self.guarded(self.show_event)),
            Route("/api/rejections", self.guarded(self.list_rejections)),
            Route("/api/chatops", self.guarded(self.list_chat_commands)),
            Route("/api/events/{event_id}/replay", self.guarded(self.replay), methods=["POST"]),
            Route("/api/endpoints/{name}/pause", self.guarded(self.pause), methods=["POST"]),
            Route("/api/endpoints/{name}/resume", self.guarded(self.resume), methods=["POST"]),
        ]

    def guarded(self, handler: Handler) -> Handler:
        """Require ``Authorization: Bearer <admin token>`` (constant-time compare) or a
        dashboard session (whose POSTs need ``X-CSRF-Token`` and a same-origin ``Origin``).
        A client with 5 failed tokens within 60 s is answered 429 for the rest of the minute."""

        @functools.wraps(handler)
        async def wrapper(request: Request) -> Response:
            auth = self.auth
            if not auth.token:
                return _error(403, "admin API disabled: no admin token configured")
            wait = auth.retry_after(request)
            if wait is not None:
                return _error(429, "too many failed sign-ins", {"Retry-After": str(wait)})
            if not auth.bearer_ok(request):
                session = auth.session(request)
                if session is None:
                    if "authorization" in request.headers:
                        auth.failed(request, "api")
                    return _error(
                        401, "missing or invalid admin token", {"WWW-Authenticate": "Bearer"}
                    )
                if request.method != "GET" and not auth.post_allowed(
                    request, session, auth.csrf_header(request)
                ):
                    return _error(403, "missing CSRF token or cross-origin request")
            try:
                return await handler(request)
            except StoreUnavailable as exc:  # the store's error, answered as ingest answers it
                return _answer(error_response(exc))

        return wrapper

    async def health(self, request: Request) -> Response:
        """Liveness: the process answers."""
        return JSONResponse({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        """Readiness: the store answers."""
        ok, reason = await self.ops.ready()
        body = {"status": "ok" if ok else "unavailable", "reason": reason}
        return JSONResponse(body, status_code=200 if ok else 503)

    async def index(self, request: Request) -> Response:
        """The API's index: where its description is, and every operation (no token needed)."""
        spec = self.spec(request)
        return JSONResponse(
            {
                "name": spec["info"]["title"],
                "openapi": f"{request.scope.get('root_path', '')}/api/openapi.json",
                "authentication": "Authorization: Bearer <admin token>",
                "operations": [
                    {"method": method, "path": path, "summary": op["summary"]}
                    for method, path, op in operations(spec)
                ],
            }
        )

    async def openapi(self, request: Request) -> Response:
        """The OpenAPI 3.1 description of this API, generated from its routes (no token needed)."""
        return JSONResponse(self.spec(request))

    def spec(self, request: Request) -> dict[str, Any]:
        """The OpenAPI document with paths under the mount this request came through."""
        prefix = request.scope.get("root_path", "") or "/_hookport"
        return openapi_spec(self.routes(), prefix=prefix, version=_version())

    async def metrics_text(self, request: Request) -> Response:
        """Prometheus exposition (the pause gauge from a fresh read of the pause table)."""
        if not self.metrics.enabled:
            return _error(404, "metrics are off ([server] metrics = false)")
        await self.ops.paused()
        return Response(
            await self.metrics.exposition(),
            media_type="text/plain; version=0.0.4; charset=utf-8",
        )

    async def list_events(self, request: Request) -> Response:
        """List recorded events, newest first.

        ``GET api/events?endpoint=&status=&type=&since=&limit=&before=``; page on with
        ``before=<the last id>``.
        ---
        parameters:
          - {name: endpoint, in: query, schema: {type: string}, description: endpoint name}
          - name: status
            in: query
            schema: {type: string, enum: [queued, processing, done, retrying, dead, unhandled]}
          - {name: type, in: query, schema: {type: string}, description: event type}
          - {name: since, in: query, schema: {type: number}, description: Unix time}
          - {name: limit, in: query, schema: {type: integer, default: 50}}
          - {name: before, in: query, schema: {type: string}, description: event id to page on}
        responses:
          "400": {description: a query parameter that does not parse}
        """
        q = request.query_params
        try:
            status = EventStatus(q["status"]) if q.get("status") else None
            since = float(q["since"]) if q.get("since") else None
            flt = EventFilter(
                endpoint=q.get("endpoint") or q.get("receiver"),  # receiver=: the round-1 name
                status=status,
                type=q.get("type"),
                since=since,
                limit=int(q.get("limit", "50")),
                before_id=q.get("before"),
            )
        except ValueError as exc:
            return _error(400, f"bad query parameter: {exc}")
        events = await self.ops.list_events(flt)
        paused = await self.ops.paused()
        return JSONResponse({"events": [self.ops.summary(e, paused) for e in events]})

    async def list_rejections(self, request: Request) -> Response:
        """List rejected deliveries (4xx answers and hook rule mismatches), newest first.

        Metadata only: id, time, method, path, endpoint (``null`` for a path no endpoint
        serves), status, reason, source address, header names and declared body size; never a
        body or a header's value.
        ``GET api/rejections?status=&endpoint=&no_endpoint=&since=&until=&limit=&before=``.
        The answer has ``total`` (the matches, the page aside, counted up to 10,000) and
        ``next_before``: the ``before`` of the next, older page (``null`` when this page is not
        full).
        ---
        parameters:
          - {name: status, in: query, schema: {type: integer}, description: "HTTP status, e.g. 401"}
          - {name: endpoint, in: query, schema: {type: string}, description: endpoint name}
          - name: no_endpoint
            in: query
            schema: {type: boolean, default: false}
            description: only paths no endpoint serves (not with endpoint)
          - {name: since, in: query, schema: {type: number}, description: Unix time (included)}
          - {name: until, in: query, schema: {type: number}, description: Unix time (excluded)}
          - {name: limit, in: query, schema: {type: integer, default: 50}}
          - {name: before, in: query, schema: {type: integer}, description: rejection id to page on}
        responses:
          "200":
            description: one page of rejections
            content:
              application/json:
                schema: {$ref: "#/components/schemas/RejectionPage"}
          "400": {description: a query parameter that does not parse}
        """
        q = request.query_params
        try:
            flt = RejectionFilter(
                status=int(q["status"]) if q.get("status") else None,
                endpoint=q.get("endpoint") or None,
                no_endpoint=_flag(q.get("no_endpoint", "")),
                since=float(q["since"]) if q.get("since") else None,
                until=float(q["until"]) if q.get("until") else None,
                limit=int(q.get("limit", "50")),
                before_id=int(q["before"]) if q.get("before") else None,
            )
        except ValueError as exc:
            return _error(400, f"bad query parameter: {exc}")
        found = await self.ops.rejections(flt)
        older = found[-1]["id"] if len(found) == flt.limit else None
        total = await self.ops.count_rejections(flt)
        return JSONResponse({"rejections": found, "total": total, "next_before": older})

    async def list_chat_commands(self, request: Request) -> Response:
        """List chat commands run (the chat-ops audit), newest first.

        Each: time, platform, user, channel, the command text (a ``test`` body is not kept),
        result (``ok``, ``refused`` or ``error``) and a short summary of the answer.
        ``GET api/chatops?platform=&since=&limit=``.
        ---
        parameters:
          - name: platform
            in: query
            schema: {type: string, enum: [slack, discord, telegram, irc]}
          - {name: since, in: query, schema: {type: number}, description: Unix time}
          - {name: limit, in: query, schema: {type: integer, default: 50}}
        responses:
          "400": {description: a query parameter that does not parse}
        """
        q = request.query_params
        try:
            flt = ChatCommandFilter(
                since=float(q["since"]) if q.get("since") else None,
                platform=q.get("platform") or None,
                limit=int(q.get("limit", "50")),
            )
        except ValueError as exc:
            return _error(400, f"bad query parameter: {exc}")
        return JSONResponse({"commands": await self.ops.chat_commands(flt)})

    async def show_event(self, request: Request) -> Response:
        """One event with its headers, body, attempts and response.
        ---
        responses:
          "404": {description: no such event}
        """
        event = await self.ops.get_event(request.path_params["event_id"])
        if event is None:
            return _error(404, "no such event")
        return JSONResponse(self.ops.detail(event, await self.ops.paused()))

    async def replay(self, request: Request) -> Response:
        """Run one event's handlers again (it is queued; answers ``{"replayed": n}``).
        ---
        responses:
          "404": {description: no such event}
        """
        done = await self.ops.replay([request.path_params["event_id"]])
        if not done:
            return _error(404, "no such event")
        return JSONResponse({"replayed": done})

    async def list_routes(self, request: Request) -> Response:
        """Every endpoint in match precedence, with its verification and state."""
        return JSONResponse({"routes": await self.ops.route_states()})

    async def pause(self, request: Request) -> Response:
        """Pause an endpoint: receivers keep storing and acknowledging, workers hold its events.

        Optional JSON body ``{"for": "30m"}``: the pause lifts itself after that long.
        ---
        requestBody:
          required: false
          content:
            application/json:
              schema: {type: object, properties: {for: {type: string, example: 30m}}}
        responses:
          "400": {description: the body is not JSON or not a duration}
          "404": {description: no such endpoint}
        """
        try:
            body = json.loads(await request.body() or b"{}")
            duration = body.get("for") if isinstance(body, dict) else None
            seconds = None if duration is None else parse_duration(duration)
            pause = await self.ops.pause(
                request.path_params["name"], duration=seconds, by="admin API"
            )
        except NotFoundError as exc:
            return _error(404, str(exc))
        except ValueError as exc:  # not JSON, or not a duration
            return _error(400, f"bad request body: {exc}")
        return JSONResponse({"endpoint": pause.endpoint, **pause_fields(pause)})

    async def resume(self, request: Request) -> Response:
        """Resume a paused endpoint; answers ``{"endpoint", "state", "was_paused"}``.
        ---
        responses:
          "404": {description: no such endpoint}
        """
        name = request.path_params["name"]
        try:
            lifted = await self.ops.resume(name)
        except NotFoundError as exc:
            return _error(404, str(exc))
        return JSONResponse({"endpoint": name, "state": "active", "was_paused": lifted})

    async def stats(self, request: Request) -> Response:
        """The number of events per status."""
        return JSONResponse({"events": await self.ops.stats()})


def _flag(text: str) -> bool:
    """A boolean query parameter: ``true``/``1``/``yes`` or ``false``/``0``/``no``/empty."""
    value = text.strip().lower()
    if value in {"true", "1", "yes"}:
        return True
    if value in {"", "false", "0", "no"}:
        return False
    raise ValueError(f"not a boolean: {text[:20]!r}")


@functools.cache
def _version() -> str:
    try:
        return metadata.version("hookport")
    except metadata.PackageNotFoundError:  # running from a source tree without metadata
        return "0"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _answer(error_response(HTTPError(status, message, headers=headers)))


def _answer(response: HookportResponse) -> Response:
    return Response(
        response.body,
        status_code=response.status,
        headers=dict(response.header_list()),
    )


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class SecurityHeaders:
    """ASGI wrapper: every answer gets :data:`SECURITY_HEADERS` (unless it set its own)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_admin_app(
    ops: Operations,
    metrics: Metrics,
    admin_token: str | None,
    *,
    session_lifetime: float = 12 * 3600.0,
    trusted_proxies: Sequence[IPv4Network | IPv6Network] = (),
) -> SecurityHeaders:
    """The ``/_hookport`` app: health, readiness, metrics, the JSON API and the dashboard."""
    auth = AdminAuth(admin_token, session_lifetime, trusted_proxies)
    api = AdminAPI(ops, metrics, auth)
    dashboard = Dashboard(ops, auth)
    static = StaticFiles(directory=str(Path(__file__).parent / "static"))
    routes = [*api.routes(), *dashboard.routes(), Mount("/static", static, name="static")]
    return SecurityHeaders(Starlette(routes=routes))
