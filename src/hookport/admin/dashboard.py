"""The web dashboard: endpoints, recent deliveries, one delivery's attempts, replay.

A thin view over :mod:`hookport.operations`, like the CLI. Signing in with the admin token
starts a session (:mod:`hookport.admin.session`): a signed, expiring ``HttpOnly``,
``SameSite=Strict`` cookie (``Secure`` over https), never the token itself. Every POST form
carries the session's CSRF token and must come from this site (``Origin``/``Referer``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from hookport.admin.auth import AdminAuth
from hookport.admin.session import COOKIE, CSRF_FIELD, Session
from hookport.events import EventStatus
from hookport.operations import Operations, format_time
from hookport.store.base import EventFilter

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

    def __init__(self, ops: Operations, auth: AdminAuth) -> None:
        self.ops = ops
        self.auth = auth
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
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.guarded(self.logout), methods=["POST"]),
            Route("/events/{event_id}", self.guarded(self.show)),
            Route("/events/{event_id}/replay", self.guarded(self.replay), methods=["POST"]),
        ]

    def page(
        self,
        name: str,
        request: Request,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **values: Any,
    ) -> Response:
        """Render a template of ``admin/templates`` (with the session's CSRF token, if any)."""
        session: Session | None = getattr(request.state, "session", None)
        sessions = self.auth.sessions
        csrf = sessions.csrf(session) if session is not None and sessions is not None else ""
        html = self.env.get_template(name).render(
            root=_root(request), csrf=csrf, csrf_field=CSRF_FIELD, signed_in=bool(csrf), **values
        )
        return HTMLResponse(html, status_code=status, headers=headers)

    def sign_in_page(
        self, request: Request, status: int, *, failed: bool = False, wait: int | None = None
    ) -> Response:
        """The sign-in form (or why the dashboard is off, or a throttled client's wait)."""
        headers = {"Retry-After": str(wait)} if wait is not None else None
        return self.page(
            "login.html",
            request,
            status,
            headers,
            disabled=not self.auth.token,
            failed=failed,
            wait=wait,
        )

    def guarded(self, handler: Handler) -> Handler:
        """Show the sign-in page without a valid session; a POST also needs the session's CSRF
        token and a same-origin ``Origin`` (else 403)."""

        async def wrapper(request: Request) -> Response:
            if not self.auth.token:
                return self.sign_in_page(request, 403)
            session = self.auth.session(request)
            if session is None:
                return self.sign_in_page(request, 401)
            if request.method == "POST":
                given = str((await request.form()).get(CSRF_FIELD, "")) or None
                if not self.auth.post_allowed(request, session, given):
                    return self.page("forbidden.html", request, 403)
            request.state.session = session
            return await handler(request)

        return wrapper

    async def login(self, request: Request) -> Response:
        """``GET login``: the form; ``POST login``: check the token, start a session.

        Five failures from one client within a minute: 429 with ``Retry-After``.
        """
        if request.method == "GET" or not self.auth.token:
            return self.sign_in_page(request, 200 if self.auth.token else 403)
        wait = self.auth.retry_after(request)
        if wait is not None:
            return self.sign_in_page(request, 429, wait=wait)
        if not self.auth.from_this_site(request):
            return self.page("forbidden.html", request, 403)
        given = str((await request.form()).get("token", ""))
        if not self.auth.token_ok(given) or self.auth.sessions is None:
            self.auth.failed(request, "dashboard")
            return self.sign_in_page(request, 401, failed=True)
        _, cookie = self.auth.sessions.issue()
        response = RedirectResponse(f"{_root(request)}/", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(self.auth.session_lifetime),
            httponly=True,
            samesite="strict",
            secure=self.auth.https(request),
            path=_root(request) or "/",
        )
        return response

    async def logout(self, request: Request) -> Response:
        """``POST logout``: end the session (its cookie is refused from now on)."""
        if self.auth.sessions is not None:
            self.auth.sessions.revoke(request.state.session)
        response = RedirectResponse(f"{_root(request)}/login", status_code=303)
        response.delete_cookie(
            COOKIE,
            path=_root(request) or "/",
            httponly=True,
            samesite="strict",
            secure=self.auth.https(request),
        )
        return response

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
