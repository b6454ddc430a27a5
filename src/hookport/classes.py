"""Class-based plugins, for errbot's ``BotPlugin`` and invenio-webhooks' ``Receiver`` users.

Both are the function API underneath, not a second machinery:

- :class:`PluginClass`: methods marked with :func:`route`, :func:`webhook` or a
  :func:`receives` declaration's ``.on(...)`` only *record* marks. An instance's
  :attr:`~PluginClass.plugin` is an ordinary :class:`~hookport.plugin.Plugin`, built on first
  use, whose routes and receiver handlers are the instance's *bound* methods, so ``self`` is the
  instance (its state lives as long as the plugin). ``self.ctx``, ``self.settings``,
  ``self.send`` and ``self.log`` are those of the handler call running now (a context var set
  by :mod:`hookport.injection` around every call).
- :class:`WebhookReceiver`: invenio's ``check_signature`` / ``extract_payload`` / ``run(event)``
  on one object. :meth:`~WebhookReceiver.register` adds it to a plugin as a receiver
  (``background = True``, invenio's ``CeleryReceiver``: hookport answers 202 and a worker runs
  ``run``, with retries) or as a route (``background = False``, invenio's ``Receiver``: ``run``
  answers inside the request). ``check_signature`` becomes a verifier, so a ``False`` is a 401
  before anything is stored (invenio answered a bad signature with a 500).
"""

from __future__ import annotations

import inspect
import logging
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from hookport.context import Context, HandlerLogger
from hookport.errors import PayloadError, VerificationError
from hookport.events import Event
from hookport.http import HeaderMap, Request, Response
from hookport.injection import current_call
from hookport.plugin import Plugin, SettingsT_co
from hookport.types import IncomingRequest, Signed, Verified, Verifier

F = TypeVar("F", bound=Callable[..., Any])

_MARKS = "__hookport_marks__"


@dataclass(frozen=True, slots=True)
class _Mark:
    kind: str  # "route" | "webhook" | "on"
    path: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    receiver: ReceiverDeclaration | None = None
    event_types: tuple[str, ...] = ()


def _marker(mark: _Mark) -> Callable[[F], F]:
    def decorator(func: F) -> F:
        marks: list[_Mark] = func.__dict__.setdefault(_MARKS, [])
        marks.append(mark)
        return func

    return decorator


def route(path: str, **options: Any) -> Callable[[F], F]:
    """Mark a :class:`PluginClass` method as a route: ``Plugin.route(path, **options)``."""
    return _marker(_Mark("route", path, options))


@typing.overload
def webhook(func: F, /) -> F: ...
@typing.overload
def webhook(path: str | None = None, /, **options: Any) -> Callable[[F], F]: ...
def webhook(path: str | Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """errbot's ``@webhook`` for :class:`PluginClass` methods: ``Plugin.webhook`` (bare:
    ``POST /<method name>/``, the payload first; ``form_param=``, ``raw=`` as in errbot)."""
    if callable(path):
        return _marker(_Mark("webhook"))(path)
    return _marker(_Mark("webhook", path, options))


class ReceiverDeclaration:
    """A receiver declared in a :class:`PluginClass` body: ``Plugin.receiver(path, **options)``.

    ``@decl.on("push")`` marks a method as a handler of it; ``@decl`` as a catch-all.
    """

    def __init__(self, path: str, options: Mapping[str, Any]) -> None:
        self.path = path
        self.options = dict(options)

    def on(self, *event_types: str) -> Callable[[F], F]:
        """Mark a method as a handler for ``event_types`` (none: every type)."""
        return _marker(_Mark("on", receiver=self, event_types=event_types or ("*",)))

    def __call__(self, func: F) -> F:
        return self.on("*")(func)

    def __repr__(self) -> str:
        return f"<receiver declaration {self.path!r}>"


def receives(path: str, **options: Any) -> ReceiverDeclaration:
    """Declare a receiver in a :class:`PluginClass` body (``github = receives("/github", ...)``);
    its handler methods are marked with ``@github.on(...)``.

    Named ``receives`` so that it does not collide with :class:`~hookport.plugin.Receiver` in
    ``from hookport import ...``.
    """
    return ReceiverDeclaration(path, options)


class PluginClass(Generic[SettingsT_co]):
    """Base of class-based plugins; ``class Bot(PluginClass[Settings], name="bot")``.

    Class keywords: ``name`` (default: the class name), ``description``, ``prefix``,
    ``channels``, ``templates``, ``settings`` (default: the type parameter, when it is a
    pydantic model). ``Bot().plugin`` is the plugin to load; a plugin module may also leave the
    instance itself at module level (``bot = Bot()``): discovery takes its ``plugin``.
    """

    _hookport_options: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(
        cls,
        *,
        name: str | None = None,
        description: str | None = None,
        prefix: str = "",
        channels: tuple[str, ...] | list[str] = (),
        templates: str | None = None,
        settings: type[BaseModel] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls._hookport_options = {
            "name": name or cls.__name__,
            "description": description if description is not None else _first_line(cls),
            "prefix": prefix,
            "channels": tuple(channels),
            "templates": templates,
            "settings": settings or _type_parameter(cls),
        }

    @property
    def plugin(self) -> Plugin[SettingsT_co]:
        """The :class:`~hookport.plugin.Plugin` of this instance, its methods bound."""
        built: Plugin[SettingsT_co] | None = self.__dict__.get("_hookport_plugin")
        if built is None:
            built = self.__dict__["_hookport_plugin"] = _build(self)
        return built

    @property
    def ctx(self) -> Context[SettingsT_co]:
        """The :class:`~hookport.context.Context` of the handler call running now."""
        values = current_call()
        found = values.get("ctx") if values is not None else None
        if not isinstance(found, Context):
            raise RuntimeError(
                f"{type(self).__name__}.ctx is only available while hookport runs one of its "
                "handlers (settings and send are per call)"
            )
        return found

    @property
    def settings(self) -> SettingsT_co:
        """The plugin's validated settings, as ``ctx.settings`` (inside a handler call)."""
        return self.ctx.settings

    @property
    def log(self) -> HandlerLogger:
        """The call's logger inside a handler call (bound to event, endpoint, handler), else
        the plugin's logger."""
        values = current_call()
        found = values.get("ctx") if values is not None else None
        if isinstance(found, Context):
            return found.log
        name = self._hookport_options.get("name", type(self).__name__)
        return logging.LoggerAdapter(logging.getLogger(f"hookport.plugin.{name}"), {})

    async def send(self, channel: str, message: str, *, title: str | None = None) -> None:
        """``ctx.send`` of the running call: a notification through ``[channels]``."""
        await self.ctx.send(channel, message, title=title)


def _first_line(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def _type_parameter(cls: type) -> type[BaseModel] | None:
    for base in getattr(cls, "__orig_bases__", ()):
        if typing.get_origin(base) is PluginClass:
            args = typing.get_args(base)
            if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
                return args[0]
    return None


def _build(instance: PluginClass[Any]) -> Plugin[Any]:
    cls = type(instance)
    options = dict(cls._hookport_options or {"name": cls.__name__})
    plugin: Plugin[Any] = Plugin(options.pop("name"), **options)
    plugin.module_file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    members: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):  # subclasses override, declaration order is kept
        members.update(vars(klass))
    receivers = {
        id(value): plugin.receiver(value.path, **value.options)
        for value in members.values()
        if isinstance(value, ReceiverDeclaration)
    }
    for attr, value in members.items():
        for mark in getattr(value, _MARKS, ()):
            _register(plugin, receivers, mark, getattr(instance, attr))
    return plugin


def _register(
    plugin: Plugin[Any], receivers: Mapping[int, Any], mark: _Mark, bound: Callable[..., Any]
) -> None:
    if mark.kind == "route" and mark.path is not None:
        plugin.route(mark.path, **mark.options)(bound)
    elif mark.kind == "webhook":
        plugin.webhook(mark.path, **mark.options)(bound)
    else:
        target = receivers.get(id(mark.receiver))
        if target is None:
            where = getattr(bound, "__qualname__", bound)
            raise ValueError(
                f"{plugin.name}: {where} handles {mark.receiver!r}, which is not declared in "
                "this class"
            )
        target.on(*mark.event_types)(bound)


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
        options.setdefault("description", _first_line(type(self)))
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
    def requires_json(self) -> bool:
        """As the inner verifier."""
        return self.inner.requires_json if self.inner is not None else False

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
