"""Plugins: named bundles of endpoint declarations.

Decorators only *record* frozen specs on the :class:`Plugin`; nothing is registered anywhere
else and no I/O happens. ``create_app`` validates and assembles every plugin's specs into one
route table.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, overload

from pydantic import BaseModel
from typing_extensions import TypeVar as DefaultTypeVar

from hookport.events import Event
from hookport.payload import payload_first
from hookport.types import IncomingRequest, Verifier

F = TypeVar("F", bound=Callable[..., Any])

SettingsT_co = DefaultTypeVar(
    "SettingsT_co", bound=BaseModel | None, default=BaseModel | None, covariant=True
)
"""A plugin's settings model (``None`` without one): ``Plugin[Model]`` gives ``Context[Model]``."""

RecordMode = Literal["full", "metadata", "off"]
"""What the store keeps of a route's call: everything, metadata without bodies, or nothing."""

EventTypeSource = str | Callable[[IncomingRequest], str | None]
"""A header name, or a callable of the request, that gives a receiver's event type."""

HandlerFilter = Callable[[Event], bool] | Mapping[str, Any]
"""``when=`` of a handler: a predicate of the event, or a rule tree in the language of hooks'
``trigger-rule`` (``{"match": {"type": "value", "value": "main", "parameter": {"source":
"payload", "name": "ref"}}}``; ``and``/``or``/``not``), compiled and checked at assembly."""


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A respond-mode endpoint: the handler's return value is the HTTP answer."""

    plugin: str
    path: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]
    verify: Verifier | None
    name: str
    description: str
    record: bool | RecordMode | None


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """A receiver handler and the event types it accepts (``"*"`` matches every type)."""

    event_types: tuple[str, ...]
    func: Callable[..., Any]
    name: str
    when: HandlerFilter | None = None
    """Run only for events it accepts (the type must match too); see :data:`HandlerFilter`."""

    def matches(self, event_type: str | None) -> bool:
        """True if this handler runs for ``event_type``.

        A declared type also matches its sub-types: ``"issues"`` matches ``"issues.opened"``.
        """
        for wanted in self.event_types:
            if wanted in ("*", event_type):
                return True
            if event_type is not None and event_type.startswith(wanted + "."):
                return True
        return False


class Receiver:
    """An accept-then-process endpoint: hookport answers 202 and workers run the handlers.

    Use ``@receiver.on("push")`` to add handlers, or the receiver itself as a decorator to add a
    catch-all handler.
    """

    def __init__(
        self,
        plugin: Plugin,
        path: str,
        *,
        methods: Sequence[str],
        verify: Verifier | None,
        name: str | None,
        description: str,
        event_type: EventTypeSource | None,
        dedupe: bool,
        max_attempts: int | None,
        timeout: float | None,
        concurrency: int | None,
        routed: bool = True,
    ) -> None:
        self.plugin = plugin
        self.path = path
        self.methods = _methods(methods)
        self.verify = verify
        self.name = name or f"{plugin.name}:{path}"
        self.description = description
        self.event_type = event_type
        self.dedupe = dedupe
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.concurrency = concurrency
        self.routed = routed
        self.handlers: list[HandlerSpec] = []

    def on(
        self, *event_types: str, when: HandlerFilter | None = None, name: str | None = None
    ) -> Callable[[F], F]:
        """Register the decorated function for these event types (``"*"``: every type).

        ``when``: run it only for events that pass this filter, a predicate of the event or a
        rule tree in ``trigger-rule``'s language (:data:`HandlerFilter`); an event no handler
        accepts is handled by none. ``name``: the handler's name in outcomes (default: the
        function's qualified name).
        """
        if not event_types:
            event_types = ("*",)
        if when is not None and not callable(when) and not isinstance(when, Mapping):
            raise TypeError("when= takes a predicate of the event or a rule table (a mapping)")

        def decorator(func: F) -> F:
            self.plugin._check_open()
            spec = HandlerSpec(tuple(event_types), func, name or _qualname(func), when)
            self.handlers.append(spec)
            return func

        return decorator

    def __call__(self, func: F) -> F:
        """Register ``func`` as a catch-all handler."""
        return self.on("*")(func)

    def handlers_for(self, event_type: str | None) -> list[HandlerSpec]:
        """The handlers that run for ``event_type``, in declaration order."""
        return [h for h in self.handlers if h.matches(event_type)]

    def __repr__(self) -> str:
        return f"<Receiver {self.name!r} {self.path!r}>"


class Plugin(Generic[SettingsT_co]):
    """A named bundle of endpoints.

    ``settings``: a pydantic model class filled from ``[plugins.<name>]`` and the environment,
    handed to handlers as ``ctx.settings``; the plugin is then a ``Plugin[Model]``, and handlers
    annotated ``ctx: Context[Model]`` see ``ctx.settings`` as a ``Model`` (never None).
    ``channels``: notification channels the plugin uses, checked at start-up. ``prefix``: a
    static path put before every path of the plugin (Nekro Agent's
    ``/api/plugin/{author}.{module}/webhook``), in whatever syntax each path is written.
    """

    @overload
    def __init__(
        self: Plugin[None],
        name: str,
        *,
        description: str = ...,
        settings: None = ...,
        channels: Sequence[str] = ...,
        templates: str | None = ...,
        prefix: str = ...,
    ) -> None: ...
    @overload
    def __init__(
        self: Plugin[SettingsT_co],
        name: str,
        *,
        description: str = ...,
        settings: type[SettingsT_co],
        channels: Sequence[str] = ...,
        templates: str | None = ...,
        prefix: str = ...,
    ) -> None: ...
    def __init__(
        self,
        name: str,
        *,
        description: str = "",
        settings: type[SettingsT_co] | None = None,
        channels: Sequence[str] = (),
        templates: str | None = None,
        prefix: str = "",
    ) -> None:
        if not name or not name.strip():
            raise ValueError("a plugin needs a non-empty name")
        self.name = name
        self.description = description
        self.settings_model = settings
        self.channels = tuple(channels)
        self.templates = templates
        self.prefix = _prefix(prefix)
        self.routes: list[RouteSpec] = []
        self.receivers: list[Receiver] = []
        # Where the plugin was declared: its templates/ folder sits beside that file.
        self.module_file: str | None = sys._getframe(1).f_globals.get("__file__")
        self._frozen = False

    def route(
        self,
        path: str,
        *,
        methods: Sequence[str] = ("GET",),
        verify: Verifier | None = None,
        name: str | None = None,
        description: str | None = None,
        record: bool | RecordMode | None = None,
    ) -> Callable[[F], F]:
        """Declare a respond-mode endpoint; the decorated handler's return value is the answer.

        ``record``: what the store keeps of each call. By default (``None``) a verified route
        is recorded in full and an unverified one as metadata only (method, path, headers,
        status; no bodies), so anonymous traffic cannot fill the disk. ``True``/``"full"``,
        ``"metadata"``, ``False``/``"off"`` choose explicitly. Bodies over ``[store]
        route_record_max`` are never kept.
        """

        def decorator(func: F) -> F:
            self._check_open()
            self.routes.append(
                RouteSpec(
                    plugin=self.name,
                    path=path,
                    methods=_methods(methods),
                    handler=func,
                    verify=verify,
                    name=name or f"{self.name}:{_qualname(func)}",
                    description=description if description is not None else _doc(func),
                    record=record,
                )
            )
            return func

        return decorator

    @overload
    def webhook(self, func: F, /) -> F: ...
    @overload
    def webhook(
        self,
        path: str | None = ...,
        /,
        *,
        methods: Sequence[str] = ...,
        form_param: str | None = ...,
        raw: bool = ...,
        verify: Verifier | None = ...,
        name: str | None = ...,
        description: str | None = ...,
        record: bool | RecordMode | None = ...,
    ) -> Callable[[F], F]: ...
    def webhook(
        self,
        path: str | Callable[..., Any] | None = None,
        /,
        *,
        methods: Sequence[str] = ("POST",),
        form_param: str | None = None,
        raw: bool = False,
        verify: Verifier | None = None,
        name: str | None = None,
        description: str | None = None,
        record: bool | RecordMode | None = None,
    ) -> Any:
        """errbot's ``@webhook``: a :meth:`route` whose handler takes the payload first.

        Bare (``@plugin.webhook``) it is ``POST /<function name>/``; ``@plugin.webhook(path)``
        takes any path syntax (errbot's Flask rules included). The handler's first parameter
        receives the body decoded as errbot does (JSON when the content type says so, a dict
        of form fields, else the text); ``form_param="payload"``: that form field, decoded as
        JSON if it is JSON; ``raw=True``: the :class:`~hookport.Request` itself. Its other
        parameters are injected by name as for any route (path parameters, ``ctx``).
        """
        if callable(path):
            return self.webhook()(path)

        def decorator(func: F) -> F:
            handler = payload_first(func, form_param=form_param, raw=raw)
            where = path if path is not None else f"/{getattr(func, '__name__', 'webhook')}/"
            self.route(
                where,
                methods=methods,
                verify=verify,
                name=name,
                description=description,
                record=record,
            )(handler)
            return func

        return decorator

    @overload
    def receiver(self, path: str, *, verify: Verifier | None = ...) -> Receiver: ...
    @overload
    def receiver(
        self,
        path: str,
        *,
        verify: Verifier | None = ...,
        methods: Sequence[str] = ...,
        name: str | None = ...,
        description: str | None = ...,
        event_type: EventTypeSource | None = ...,
        dedupe: bool = ...,
        max_attempts: int | None = ...,
        timeout: float | None = ...,
        concurrency: int | None = ...,
        routed: bool = ...,
    ) -> Receiver: ...
    def receiver(
        self,
        path: str,
        *,
        verify: Verifier | None = None,
        methods: Sequence[str] = ("POST",),
        name: str | None = None,
        description: str | None = None,
        event_type: EventTypeSource | None = None,
        dedupe: bool = True,
        max_attempts: int | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        routed: bool = True,
    ) -> Receiver:
        """Declare an accept-then-process endpoint and return its :class:`Receiver`.

        hookport answers ``202`` once the delivery is committed; workers run the handlers
        registered with ``@receiver.on(...)`` later, retrying failures.

        :param path: the path, in any path syntax (``/github``, ``/hooks/{team}``).
        :param verify: the verifier every request must pass (``verify.github(...)``).
        :param methods: the HTTP methods taken (``"*"``: all).
        :param name: the endpoint's name in the CLI, API and logs (default ``plugin:path``).
        :param description: shown by ``hookport routes``.
        :param event_type: a header name, or a function of the request, giving the event type
            (default: the verifier's, else a known event header).
        :param dedupe: store a delivery id at most once (a duplicate is answered 200).
        :param max_attempts: runs before an event is ``dead`` (default ``[worker]
            max_attempts``).
        :param timeout: seconds a handler may run (default ``[worker] timeout``).
        :param concurrency: events of this receiver handled at once; ``1`` handles them one at
            a time in arrival order.

        ``routed=False``: the receiver takes no HTTP requests itself; its events come from a
        route of the same plugin that answers :class:`~hookport.http.Enqueue` (``path`` is then
        the route's, shown by ``hookport routes``)."""
        self._check_open()
        if max_attempts is not None and max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if concurrency is not None and concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive")
        recv = Receiver(
            self,
            path,
            methods=methods,
            verify=verify,
            name=name,
            description=description or "",
            event_type=event_type,
            dedupe=dedupe,
            max_attempts=max_attempts,
            timeout=timeout,
            concurrency=concurrency,
            routed=routed,
        )
        self.receivers.append(recv)
        return recv

    def freeze(self) -> None:
        """Refuse further declarations (called when an app is assembled)."""
        self._frozen = True

    def _check_open(self) -> None:
        if self._frozen:
            raise RuntimeError(
                f"plugin {self.name!r} is already assembled into an app; declare endpoints first"
            )

    def __repr__(self) -> str:
        return f"<Plugin {self.name!r}: {len(self.routes)} routes, {len(self.receivers)} receivers>"


ANY_METHOD = "*"
"""``methods="*"`` (or ``["*"]``): the endpoint takes every method, OPTIONS included."""

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _methods(methods: Sequence[str]) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = (methods,)
    out = tuple(dict.fromkeys(m.strip().upper() for m in methods))
    if not out:
        raise ValueError("an endpoint needs at least one HTTP method")
    if ANY_METHOD in out:
        return (ANY_METHOD,)
    bad = [m for m in out if not m or not _TOKEN.issuperset(m)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not an HTTP method (use e.g. 'POST', or '*' for all)")
    return out


def _prefix(prefix: str) -> str:
    prefix = prefix.rstrip("/")
    if prefix and (not prefix.startswith("/") or not _STATIC_CHARS.isdisjoint(prefix)):
        raise ValueError(
            f"prefix {prefix!r} must be a static path starting with '/' (no parameters or "
            "regular expression characters)"
        )
    return prefix


_STATIC_CHARS = frozenset("{}<>()[]\\*+?|^$")


def _qualname(func: Callable[..., Any]) -> str:
    """``Class.method`` or ``function``; a factory's ``<locals>`` prefix is dropped."""
    name = str(getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func)))
    return name.rsplit("<locals>.", 1)[-1]


def _doc(func: Callable[..., Any]) -> str:
    doc = (func.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""
