"""invenio-webhooks' receiver shape on hookport: :class:`WebhookReceiver`.

invenio's ``check_signature`` / ``extract_payload`` / ``run(event)`` on one object.
:meth:`~WebhookReceiver.register` adds it to a plugin as an ordinary receiver
(``background = True``, invenio's ``CeleryReceiver``: hookport answers 202 and a worker runs
``run``, with retries) or as an ordinary route (``background = False``, invenio's ``Receiver``:
``run`` answers inside the request). ``check_signature`` becomes a verifier, so a ``False`` is a
401 before anything is stored (invenio answered a bad signature with a 500).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hookport.context import Context
from hookport.errors import PayloadError, VerificationError
from hookport.events import Event
from hookport.http import HeaderMap, Request, Response
from hookport.plugin import Plugin
from hookport.types import BodyFormat, IncomingRequest, Signed, Verified, Verifier


@dataclass
class ReceiverEvent:
    """What :meth:`WebhookReceiver.run` receives: invenio's ``Event``, over hookport's delivery.

    ``payload``: what ``extract_payload`` returned. ``user_id``: the sender's identity from
    verification. ``id``: the stored event's id (background receivers; None in a route).
    ``response``, ``response_code``, ``response_headers``: the answer of a synchronous receiver
    (``background = False``), which ``run`` may set; a background receiver has answered 202
    already. ``delivery``: the hookport :class:`~hookport.events.Event` or
    :class:`~hookport.http.Request`; ``ctx``: the call's context (``send``, ``settings``).
    """

    receiver_id: str
    payload: Any
    payload_headers: dict[str, str]
    user_id: str | None
    ctx: Context
    delivery: Event | Request
    id: str | None = None
    response: Any = field(default_factory=lambda: {"status": 202, "message": "Accepted."})
    response_code: int = 202
    response_headers: dict[str, str] = field(default_factory=dict)


class WebhookReceiver:
    """invenio-webhooks' ``Receiver`` (``background = False``) and ``CeleryReceiver``
    (``background = True``, the default) on hookport. Override :meth:`run`, and
    :meth:`check_signature` / :meth:`extract_payload` where needed; then
    ``MyReceiver("github").register(plugin, "/github")``.
    """

    background: ClassVar[bool] = True

    def __init__(self, receiver_id: str) -> None:
        self.receiver_id = receiver_id

    def check_signature(self, request: Request) -> bool:
        """True if the request is authentic (default: no check). ``False`` answers 401."""
        return True

    def extract_payload(self, request: Request) -> Any:
        """The payload ``run`` gets: JSON, or a dict of form fields (invenio's default)."""
        if request.content_type == "application/json" or request.content_type.endswith("+json"):
            return request.json
        if request.content_type == "application/x-www-form-urlencoded":
            return {key: request.form.get(key) for key in request.form}
        raise PayloadError(f"receiver does not support the content type {request.content_type!r}")

    def run(self, event: ReceiverEvent) -> Any:
        """Handle one event (sync or ``async def``); raise to fail it (retried if background)."""
        raise NotImplementedError(f"{type(self).__name__} must implement run(event)")

    def register(
        self, plugin: Plugin[Any], path: str, *, verify: Verifier | None = None, **options: Any
    ) -> None:
        """Add this receiver to ``plugin`` at ``path``: a receiver if :attr:`background`, else a
        POST route. ``verify``: a hookport verifier checked before ``check_signature``;
        ``options``: keywords of ``plugin.receiver`` or ``plugin.route``."""
        overridden = type(self).check_signature is not WebhookReceiver.check_signature
        verifier = _CheckSignature(self, verify) if overridden else verify
        options.setdefault("name", self.receiver_id)
        options.setdefault("description", _first_line(type(self).__doc__))
        if self.background:
            recv = plugin.receiver(path, verify=verifier, **options)
            recv.on("*")(self._handler(background=True))
        else:
            options.setdefault("methods", ("POST",))
            plugin.route(path, verify=verifier, **options)(self._handler(background=False))

    def _handler(self, *, background: bool) -> Callable[..., Any]:
        def hook_event(delivery: Event | Request, ctx: Context) -> ReceiverEvent:
            request = delivery if isinstance(delivery, Request) else _as_request(delivery)
            payload = self.extract_payload(request)
            headers = dict(request.headers.items())
            sender = delivery.sender if isinstance(delivery, Event) else None
            event_id = delivery.id if isinstance(delivery, Event) else None
            return ReceiverEvent(
                self.receiver_id, payload, headers, sender, ctx, delivery, event_id
            )

        def answer(hook: ReceiverEvent) -> Response:
            return Response.json(hook.response, hook.response_code, hook.response_headers)

        if inspect.iscoroutinefunction(self.run):

            async def run_async(delivery: Event | Request, ctx: Context) -> Response | None:
                hook = hook_event(delivery, ctx)
                await self.run(hook)
                return None if background else answer(hook)

            handler: Callable[..., Any] = run_async
        else:

            def run(delivery: Event | Request, ctx: Context) -> Response | None:
                hook = hook_event(delivery, ctx)
                self.run(hook)
                return None if background else answer(hook)

            handler = run
        return _named(handler, f"{type(self).__name__}.run", "event" if background else "request")


def _named(func: Callable[..., Any], qualname: str, first: str) -> Callable[..., Any]:
    """Give ``func`` a readable name and the injection name of its first parameter."""

    def call(**kwargs: Any) -> Any:
        return func(kwargs[first], kwargs["ctx"])

    async def call_async(**kwargs: Any) -> Any:
        return await func(kwargs[first], kwargs["ctx"])

    wrapper: Callable[..., Any] = call_async if inspect.iscoroutinefunction(func) else call
    wrapper.__qualname__ = wrapper.__name__ = qualname
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(first, kw), inspect.Parameter("ctx", kw)]
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return wrapper


def _as_request(event: Event) -> Request:
    """The stored delivery as the :class:`Request` ``extract_payload`` reads."""
    query = f"?{event.query_string}" if event.query_string else ""
    return Request(
        method=event.method,
        path=event.path,
        url=event.path + query,
        raw_headers=HeaderMap(list(event.headers)),
        query_string=event.query_string,
        body=event.body,
        client=event.source_ip,
        params=event.params,
    )


@dataclass(frozen=True, slots=True)
class _CheckSignature:
    """A verifier over a :class:`WebhookReceiver`'s ``check_signature`` (after ``inner``)."""

    receiver: WebhookReceiver
    inner: Verifier | None = None

    @property
    def scheme(self) -> str:
        """``check_signature``, after the inner verifier's label."""
        own = f"{type(self.receiver).__name__}.check_signature"
        return f"{self.inner.scheme}+{own}" if self.inner is not None else own

    @property
    def body_format(self) -> BodyFormat:
        """As the inner verifier."""
        return self.inner.body_format if self.inner is not None else "any"

    def resolve(self, environ: Mapping[str, str]) -> Verifier:
        """Resolve the inner verifier."""
        inner = self.inner.resolve(environ) if self.inner is not None else None
        return _CheckSignature(self.receiver, inner)

    def verify(self, request: IncomingRequest, now: float) -> Verified:
        """The inner verifier, then ``check_signature``; ``False`` is a 401."""
        verified = self.inner.verify(request, now) if self.inner is not None else Verified()
        if not isinstance(request, Request) or not self.receiver.check_signature(request):
            raise VerificationError("invalid signature")
        return verified

    def sign(
        self,
        body: bytes,
        *,
        url: str,
        now: float,
        event_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Signed:
        """What the inner verifier signs (a custom ``check_signature`` cannot be signed)."""
        if self.inner is None:
            return Signed()
        return self.inner.sign(body, url=url, now=now, event_type=event_type, headers=headers)


def _first_line(doc: str | None) -> str:
    text = (doc or "").strip()
    return text.splitlines()[0] if text else ""
