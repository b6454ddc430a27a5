"""The web dashboard: endpoints, recent deliveries, one delivery's attempts, replay.

A thin view over :mod:`hookport.operations`, like the CLI. Signing in stores the admin token in
an ``HttpOnly``, ``SameSite=Strict`` cookie (which also keeps other sites from posting replays).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from hookport.events import EventStatus
from hookport.operations import Operations, event_detail, event_summary
from hookport.store.base import EventFilter

COOKIE = "hookport_admin"
Handler = Callable[[Request], Awaitable[Response]]


def _when(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return body


def dashboard_routes(ops: Callable[[], Awaitable[Operations]], token: str | None) -> list[Route]:
    """Routes of the dashboard, mounted under ``/_hookport``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    env.filters["pretty"] = _pretty

    def page(name: str, request: Request, status: int = 200, **values: Any) -> HTMLResponse:
        html = env.get_template(name).render(root=request.scope.get("root_path", ""), **values)
        return HTMLResponse(html, status_code=status)

    def signed_in(request: Request) -> bool:
        given = request.cookies.get(COOKIE, "")
        return bool(token) and hmac.compare_digest(given.encode(), (token or "").encode())

    def guarded(handler: Handler) -> Handler:
        async def wrapper(request: Request) -> Response:
            if not token:
                return page("login.html", request, 403, disabled=True, failed=False)
            if not signed_in(request):
                return page("login.html", request, 401, disabled=False, failed=False)
            return await handler(request)

        return wrapper

    async def login(request: Request) -> Response:
        form = await request.form()
        given = str(form.get("token", ""))
        root = request.scope.get("root_path", "")
        if token and hmac.compare_digest(given.encode(), token.encode()):
            response = RedirectResponse(f"{root}/", status_code=303)
            response.set_cookie(COOKIE, given, httponly=True, samesite="strict", path=root or "/")
            return response
        return page("login.html", request, 401, disabled=not token, failed=True)

    async def index(request: Request) -> Response:
        o = await ops()
        q = request.query_params
        status = q.get("status") or ""
        known = {s.value for s in EventStatus}
        flt = EventFilter(
            receiver=q.get("receiver") or None,
            status=EventStatus(status) if status in known else None,
            type=q.get("type") or None,
            limit=100,
        )
        events = [event_summary(e) for e in await o.list_events(flt)]
        return page(
            "index.html",
            request,
            stats=await o.stats(),
            routes=o.routes(),
            events=events,
            statuses=[s.value for s in EventStatus],
            query=dict(q),
        )

    async def show(request: Request) -> Response:
        event = await (await ops()).get_event(request.path_params["event_id"])
        if event is None:
            return page("missing.html", request, 404)
        return page("event.html", request, event=event_detail(event))

    async def replay(request: Request) -> Response:
        event_id = request.path_params["event_id"]
        await (await ops()).replay([event_id])
        root = request.scope.get("root_path", "")
        return RedirectResponse(f"{root}/events/{event_id}", status_code=303)

    return [
        Route("/", guarded(index)),
        Route("/login", login, methods=["POST"]),
        Route("/events/{event_id}", guarded(show)),
        Route("/events/{event_id}/replay", guarded(replay), methods=["POST"]),
    ]
