"""The web dashboard: endpoints, recent deliveries, one delivery's attempts, replay.

A thin view over :mod:`hookport.operations`, like the CLI. Signing in stores the admin token in
an ``HttpOnly``, ``SameSite=Strict`` cookie (which also keeps other sites from posting replays).
"""

from __future__ import annotations

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
from hookport.operations import Operations, format_time
from hookport.store.base import EventFilter

COOKIE = "hookport_admin"
Handler = Callable[[Request], Awaitable[Response]]
_STATUSES = [s.value for s in EventStatus]


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return body


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


class Dashboard:
    """HTML views over the app's operations (the app starts before it calls them)."""

    def __init__(self, ops: Operations, token: str | None) -> None:
        self.ops = ops
        self.token = token
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters["when"] = format_time
        self.env.filters["pretty"] = _pretty

    def routes(self) -> list[Route]:
        """Routes relative to the ``/_hookport`` mount."""
        return [
            Route("/", self.guarded(self.index)),
            Route("/login", self.login, methods=["POST"]),
            Route("/events/{event_id}", self.guarded(self.show)),
            Route("/events/{event_id}/replay", self.guarded(self.replay), methods=["POST"]),
        ]

    def page(self, name: str, request: Request, status: int = 200, **values: Any) -> Response:
        """Render a template of ``admin/templates``."""
        html = self.env.get_template(name).render(root=_root(request), **values)
        return HTMLResponse(html, status_code=status)

    def _signed_in(self, request: Request) -> bool:
        given = request.cookies.get(COOKIE, "").encode()
        return bool(self.token) and hmac.compare_digest(given, (self.token or "").encode())

    def guarded(self, handler: Handler) -> Handler:
        """Show the sign-in page unless the admin cookie holds the token."""

        async def wrapper(request: Request) -> Response:
            if not self.token:
                return self.page("login.html", request, 403, disabled=True, failed=False)
            if not self._signed_in(request):
                return self.page("login.html", request, 401, disabled=False, failed=False)
            return await handler(request)

        return wrapper

    async def login(self, request: Request) -> Response:
        """``POST login``: check the token, set the cookie."""
        given = str((await request.form()).get("token", ""))
        if self.token and hmac.compare_digest(given.encode(), self.token.encode()):
            response = RedirectResponse(f"{_root(request)}/", status_code=303)
            response.set_cookie(
                COOKIE, given, httponly=True, samesite="strict", path=_root(request) or "/"
            )
            return response
        return self.page("login.html", request, 401, disabled=not self.token, failed=True)

    async def index(self, request: Request) -> Response:
        """Counts per status, endpoints, and the newest deliveries (filterable)."""
        ops = self.ops
        q = request.query_params
        status = q.get("status") or ""
        flt = EventFilter(
            endpoint=q.get("endpoint") or None,
            status=EventStatus(status) if status in _STATUSES else None,
            type=q.get("type") or None,
            limit=100,
        )
        events = [ops.summary(e) for e in await ops.list_events(flt)]
        return self.page(
            "index.html",
            request,
            stats=await ops.stats(),
            routes=ops.routes(),
            events=events,
            statuses=_STATUSES,
            query=dict(q),
        )

    async def show(self, request: Request) -> Response:
        """One delivery: request, attempts with errors, response."""
        event = await self.ops.get_event(request.path_params["event_id"])
        if event is None:
            return self.page("missing.html", request, 404)
        return self.page("event.html", request, event=self.ops.detail(event))

    async def replay(self, request: Request) -> Response:
        """``POST events/{id}/replay``, then back to the event."""
        event_id = request.path_params["event_id"]
        await self.ops.replay([event_id])
        return RedirectResponse(f"{_root(request)}/events/{event_id}", status_code=303)
