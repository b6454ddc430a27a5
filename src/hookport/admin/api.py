"""Admin endpoints over :mod:`hookport.operations`.

``health`` and ``ready`` are open (for load balancers), ``metrics`` is Prometheus text, and
``api/*`` needs the admin token (``Authorization: Bearer <token>``; the token comes from the
environment variable named by ``[admin] token_env``; without it the API is off).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookport.admin.dashboard import dashboard_routes
from hookport.events import EventStatus
from hookport.observability import Metrics
from hookport.operations import Operations, event_detail, event_summary
from hookport.store.base import EventFilter

Handler = Callable[[Request], Awaitable[Response]]


def build_admin_app(
    ops: Callable[[], Awaitable[Operations]], metrics: Metrics, admin_token: str | None
) -> Starlette:
    """The admin app; ``ops`` returns the started runtime's operations."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        ok, reason = await (await ops()).ready()
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "reason": reason},
            status_code=200 if ok else 503,
        )

    async def metrics_view(request: Request) -> Response:
        return Response(
            generate_latest(metrics.registry), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    def guarded(handler: Handler) -> Handler:
        async def wrapper(request: Request) -> Response:
            if not admin_token:
                return JSONResponse(
                    {"error": "admin API disabled: no admin token configured"}, status_code=403
                )
            given = request.headers.get("authorization", "")
            expected = f"Bearer {admin_token}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return JSONResponse(
                    {"error": "missing or invalid admin token"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return await handler(request)

        return wrapper

    async def list_events(request: Request) -> Response:
        q = request.query_params
        try:
            status = EventStatus(q["status"]) if q.get("status") else None
            limit = min(int(q.get("limit", "50")), 1000)
            since = float(q["since"]) if q.get("since") else None
        except ValueError as exc:
            return JSONResponse({"error": f"bad query parameter: {exc}"}, status_code=400)
        events = await (await ops()).list_events(
            EventFilter(
                receiver=q.get("receiver"),
                status=status,
                type=q.get("type"),
                since=since,
                limit=limit,
                before_id=q.get("before"),
            )
        )
        return JSONResponse({"events": [event_summary(e) for e in events]})

    async def show_event(request: Request) -> Response:
        event = await (await ops()).get_event(request.path_params["event_id"])
        if event is None:
            return JSONResponse({"error": "no such event"}, status_code=404)
        return JSONResponse(event_detail(event))

    async def replay_event(request: Request) -> Response:
        done = await (await ops()).replay([request.path_params["event_id"]])
        if not done:
            return JSONResponse({"error": "no such event"}, status_code=404)
        return JSONResponse({"replayed": done})

    async def routes(request: Request) -> Response:
        return JSONResponse({"routes": (await ops()).routes()})

    async def stats(request: Request) -> Response:
        return JSONResponse({"events": await (await ops()).stats()})

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/ready", ready),
            Route("/metrics", metrics_view),
            Route("/api/routes", guarded(routes)),
            Route("/api/stats", guarded(stats)),
            Route("/api/events", guarded(list_events)),
            Route("/api/events/{event_id}", guarded(show_event)),
            Route("/api/events/{event_id}/replay", guarded(replay_event), methods=["POST"]),
            *dashboard_routes(ops, admin_token),
        ]
    )
