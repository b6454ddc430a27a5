"""The web dashboard: endpoints, recent deliveries, one delivery's attempts, replay.

A thin view over :mod:`hookport.operations`, like the CLI. Signing in with the admin token
starts a session (:mod:`hookport.admin.session`): a signed, expiring ``HttpOnly``,
``SameSite=Strict`` cookie (``Secure`` over https), never the token itself. Every POST form
carries the session's CSRF token and must come from this site (``Origin``/``Referer``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from hookport.admin import filters, rejected
from hookport.admin.auth import AdminAuth
from hookport.admin.session import COOKIE, CSRF_FIELD, Session
from hookport.errors import NotFoundError
from hookport.events import EventStatus
from hookport.operations import BULK_CAP, COUNT_CAP, Operations, format_time
from hookport.store.base import ChatCommandFilter

Handler = Callable[[Request], Awaitable[Response]]
_STATUSES = [s.value for s in EventStatus]
_PLATFORMS = ("slack", "discord", "telegram", "irc")


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
        self.env.filters["thousands"] = "{:,}".format

    def routes(self) -> list[Route]:
        """Routes relative to the ``/_hookport`` mount."""
        post = ["POST"]
        return [
            Route("/", self.guarded(self.index)),
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.guarded(self.logout), methods=post),
            Route("/events/{event_id}", self.guarded(self.show)),
            Route("/events/{event_id}/replay", self.guarded(self.replay), methods=post),
            Route("/bulk", self.guarded(self.bulk), methods=post),
            Route("/endpoints", self.guarded(self.endpoints)),
            Route("/endpoints/pause", self.guarded(self.pause), methods=post),
            Route("/endpoints/resume", self.guarded(self.resume), methods=post),
            Route("/rejected", self.guarded(self.rejected)),
            Route("/chatops", self.guarded(self.chat_commands)),
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
        """Deliveries: totals per status, the filter form, one keyset page of the list and
        the bulk actions. ``?partial=1``: only the live part (totals and list), which the
        page's script fetches every few seconds."""
        ops = self.ops
        try:
            view = filters.parse(request.query_params, ops.clock())
        except filters.FilterError as exc:
            return self.page("error.html", request, 400, message=str(exc))
        flt = view.filter
        events = await ops.list_events(flt)
        paused = await ops.paused()
        values: dict[str, Any] = {
            "stats": await ops.stats(),
            "events": [ops.summary(e, paused) for e in events],
            "total": await ops.count_events(flt),
            "cap": COUNT_CAP,
            "view": view,
            "older": events[-1].id if len(events) == flt.limit else None,
        }
        if request.query_params.get("partial"):
            return self.page("deliveries_live.html", request, **values)
        live = f"{_root(request)}/?{view.query(before=flt.before_id, n=view.offset or None)}"
        return self.page(
            "index.html",
            request,
            statuses=_STATUSES,
            ranges=list(filters.RANGES),
            sizes=filters.SIZES,
            live=live + ("&" if live[-1] != "?" else "") + "partial=1",
            **values,
        )

    async def show(self, request: Request) -> Response:
        """One delivery: request and response, attempts grouped by replay, durations, the
        next attempt; ``?partial=1``: only the live part (status and attempts)."""
        event = await self.ops.get_event(request.path_params["event_id"])
        if event is None:
            return self.page("missing.html", request, 404)
        detail = self.ops.detail(event, await self.ops.paused())
        rounds = _rounds(detail["attempts"], event.replays)
        name = "event_live.html" if request.query_params.get("partial") else "event.html"
        return self.page(name, request, event=detail, rounds=rounds)

    async def replay(self, request: Request) -> Response:
        """``POST events/{id}/replay`` (the page asks to confirm first), then back to the
        event, whose live part shows the new round run."""
        event_id = request.path_params["event_id"]
        await self.ops.replay([event_id])
        return RedirectResponse(f"{_root(request)}/events/{event_id}", status_code=303)

    async def bulk(self, request: Request) -> Response:
        """``POST bulk``: replay or delete every event the filter matches, in two steps.

        ``step=preview`` shows how many events the action takes and asks to confirm; the
        confirmation carries the newest id the preview counted (``through``), so events that
        arrive after the preview are left alone. At most :data:`BULK_CAP` events an action.
        """
        form = await request.form()
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        action = fields.get("action", "")
        if action not in {"replay", "delete"}:
            return self.page("error.html", request, 400, message="action: replay or delete")
        try:
            view = filters.parse(fields, self.ops.clock(), paged=False)
        except filters.FilterError as exc:
            return self.page("error.html", request, 400, message=str(exc))
        through = fields.get("through", "")
        if fields.get("step") != "confirm":
            newest = await self.ops.list_events(replace(view.filter, limit=1))
            count = await self.ops.count_events(view.filter, BULK_CAP)
            return self.page(
                "bulk_preview.html",
                request,
                action=action,
                count=count,
                cap=BULK_CAP,
                view=view,
                through=newest[0].id if newest else "",
            )
        if not _ID.fullmatch(through):
            return self.page("error.html", request, 400, message="nothing to act on")
        # before_id is exclusive: "through" + "0" sorts right after "through" among 32-digit ids.
        ids = await self.ops.matching_ids(replace(view.filter, before_id=through + "0"))
        done = await (self.ops.replay(ids) if action == "replay" else self.ops.delete(ids))
        return self.page(
            "bulk_done.html", request, action=action, done=len(done), asked=len(ids), view=view
        )

    async def endpoints(self, request: Request) -> Response:
        """Endpoints: state, backlog, arrival rates, pause and resume."""
        return self.page(
            "endpoints.html",
            request,
            routes=await self.ops.route_states(),
            load=await self.ops.endpoint_load(),
            now=self.ops.clock(),
            durations=_PAUSES,
        )

    async def rejected(self, request: Request) -> Response:
        """Rejected deliveries (4xx answers, hook rule mismatches): metadata only, never a
        body or a header's value; filtered by status, endpoint (or none), time; keyset pages
        with the total."""
        try:
            view = rejected.parse(request.query_params, self.ops.clock())
        except filters.FilterError as exc:
            return self.page("error.html", request, 400, message=str(exc))
        flt = view.filter
        rows = await self.ops.rejections(flt)
        names = [ep.name for ep in self.ops.assembly.endpoints]
        if flt.endpoint is not None and flt.endpoint not in names:
            names.append(flt.endpoint)  # an endpoint no longer served still has its record
        return self.page(
            "rejected.html",
            request,
            rows=rows,
            total=await self.ops.count_rejections(flt),
            cap=COUNT_CAP,
            view=view,
            older=rows[-1]["id"] if len(rows) == flt.limit else None,
            endpoints=names,
            no_endpoint=rejected.NO_ENDPOINT,
            statuses=_REJECTED_STATUSES,
            ranges=list(filters.RANGES),
            sizes=filters.SIZES,
        )

    async def chat_commands(self, request: Request) -> Response:
        """Chat commands run (the chat-ops audit), newest first; ``?platform=`` narrows."""
        platform = request.query_params.get("platform") or None
        if platform not in (None, *_PLATFORMS):
            return self.page(
                "error.html", request, 400, message="platform: one of " + ", ".join(_PLATFORMS)
            )
        commands = await self.ops.chat_commands(ChatCommandFilter(platform=platform, limit=200))
        return self.page(
            "chatops.html", request, commands=commands, platform=platform, platforms=_PLATFORMS
        )

    async def pause(self, request: Request) -> Response:
        """``POST endpoints/pause``: ``name`` and ``for`` (empty: until resumed)."""
        form = await request.form()
        name, duration = str(form.get("name", "")), str(form.get("for", ""))
        if duration and duration not in _PAUSES:
            return self.page("error.html", request, 400, message="for: a duration offered")
        try:
            await self.ops.pause(name, duration=_PAUSES.get(duration), by="dashboard")
        except NotFoundError as exc:
            return self.page("error.html", request, 404, message=str(exc))
        return RedirectResponse(f"{_root(request)}/endpoints", status_code=303)

    async def resume(self, request: Request) -> Response:
        """``POST endpoints/resume``: ``name``; its held events run, oldest first."""
        try:
            await self.ops.resume(str((await request.form()).get("name", "")))
        except NotFoundError as exc:
            return self.page("error.html", request, 404, message=str(exc))
        return RedirectResponse(f"{_root(request)}/endpoints", status_code=303)


_ID = re.compile(r"[0-9a-f]{32}")
_REJECTED_STATUSES = (200, 400, 401, 403, 404, 405, 413, 415)
"""Statuses the rejected page suggests (any other can be typed): the 4xx ingest answers, and
200 for a hook whose trigger rules did not match."""
_PAUSES = {"15m": 900.0, "1h": 3600.0, "24h": 86400.0}
"""Pause lengths the endpoints page offers (empty: until resumed)."""


def _rounds(attempts: list[dict[str, Any]], replays: int) -> list[dict[str, Any]]:
    """Attempts grouped by round, newest round first: the original delivery (0), then each
    replay, each with its attempts and their durations; a replay not yet run is listed empty."""
    grouped: list[list[dict[str, Any]]] = [[] for _ in range(replays + 1)]
    for a in attempts:
        n = min(max(int(a["replay"]), 0), replays)
        grouped[n].append({**a, "ms": (a["finished_at"] - a["started_at"]) * 1000})
    return [{"replay": n, "attempts": grouped[n]} for n in range(replays, -1, -1)]
