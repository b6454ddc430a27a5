"""Assembly: every plugin's declarations turned into one validated, frozen route table.

This is where declarations meet configuration: verifiers read their secrets, handler
parameters are checked against what each endpoint can inject, plugin settings are validated,
channels are checked, and templates get their environment. Any problem is a ``PluginError`` or
``ConfigError`` naming the plugin, raised before the server accepts a request.

An assembled endpoint is either a :class:`RouteEndpoint` (the handler answers the request) or a
:class:`ReceiverEndpoint` (hookport answers 202; workers run its bound handlers later). Both are
frozen; the request pipeline, the workers and ``operations`` take them from one
:class:`Assembly`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import jinja2
from pydantic import BaseModel, ValidationError

from hookport.config import Settings, WorkerSettings
from hookport.errors import ConfigError, PluginError
from hookport.events import Event
from hookport.hooks.filters import compile_filter
from hookport.injection import CallPlan, prepare_call
from hookport.notify import Notifications
from hookport.plugin import EventTypeSource, HandlerSpec, Plugin, Receiver, RecordMode, RouteSpec
from hookport.routing import RouteTable, compile_path, join_prefix
from hookport.templating import build_environment, plugin_template_dir
from hookport.types import Verifier


@dataclass(frozen=True, slots=True)
class BoundHandler:
    """A receiver handler with its prepared call."""

    spec: HandlerSpec
    plan: CallPlan
    when: Callable[[Event], bool] | None = None
    """The handler's ``when=`` filter, compiled (None: every event of its types)."""

    @property
    def name(self) -> str:
        """The handler's name, as recorded in outcomes and ``done_handlers``."""
        return self.spec.name

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types the handler was declared for (``"*"``: every type)."""
        return self.spec.event_types


@dataclass(frozen=True, slots=True)
class RouteEndpoint:
    """A respond-mode endpoint, ready to call: the handler's return value is the answer."""

    kind: ClassVar[Literal["route"]] = "route"
    plugin: Plugin
    name: str
    path: str
    methods: tuple[str, ...]
    description: str
    verifier: Verifier | None
    settings: BaseModel | None
    call: CallPlan
    handler: str
    templates: jinja2.Environment | None
    record: RecordMode

    @property
    def scheme(self) -> str:
        """The verification label, or ``unverified``."""
        return self.verifier.scheme if self.verifier else "unverified"


@dataclass(frozen=True, slots=True)
class ReceiverEndpoint:
    """An accept-then-process endpoint, ready to run: handlers bound, limits resolved.

    ``max_attempts`` and ``timeout`` come from the receiver, else from ``[worker]``;
    ``timeout=None`` means no limit. ``concurrency=1``: one event at a time, in arrival order.
    """

    kind: ClassVar[Literal["receiver"]] = "receiver"
    plugin: Plugin
    name: str
    path: str
    methods: tuple[str, ...]
    description: str
    verifier: Verifier | None
    settings: BaseModel | None
    handlers: tuple[BoundHandler, ...]
    event_type: EventTypeSource | None
    dedupe: bool
    max_attempts: int
    timeout: float | None
    concurrency: int | None
    routed: bool = True
    """False: no HTTP request reaches it directly; a route of its plugin enqueues its events."""

    @property
    def scheme(self) -> str:
        """The verification label, or ``unverified``."""
        return self.verifier.scheme if self.verifier else "unverified"

    @property
    def ordered(self) -> bool:
        """Events are handled one at a time, in arrival order."""
        return self.concurrency == 1

    def handlers_for(self, event_type: str | None) -> list[BoundHandler]:
        """The handlers that run for ``event_type``, in declaration order."""
        return [h for h in self.handlers if h.spec.matches(event_type)]


Endpoint = RouteEndpoint | ReceiverEndpoint
"""An assembled endpoint of either kind."""


@dataclass(frozen=True)
class Assembly:
    """The assembled plugins: the route table, its receivers by name, each plugin's validated
    settings (``ctx.settings``, also on each endpoint) and the notifier behind ``ctx.send``."""

    plugins: tuple[Plugin, ...]
    table: RouteTable[Endpoint]
    receivers: Mapping[str, ReceiverEndpoint]
    plugin_settings: Mapping[str, BaseModel | None]
    notifier: Notifications

    @property
    def endpoints(self) -> list[Endpoint]:
        """Every endpoint in match precedence, then receivers no request reaches directly."""
        routed = [entry.target for entry in self.table.entries]
        return routed + [ep for ep in self.receivers.values() if not ep.routed]

    def endpoint(self, name: str) -> Endpoint | None:
        """The endpoint called ``name``, or None."""
        return next((ep for ep in self.endpoints if ep.name == name), None)


def assemble(
    plugins: Iterable[Plugin],
    settings: Settings,
    notifier: Notifications,
    *,
    environ: Mapping[str, str] | None = None,
) -> Assembly:
    """Validate and freeze ``plugins`` into one :class:`Assembly`.

    ``notifier`` backs ``ctx.send`` (a ``Notifier`` over ``[channels]``; tests pass a
    ``RecordingNotifier``). ``environ``: where verifiers' secrets resolve (default:
    ``settings.secret_environ()``). Production (``create_app``) and tests assemble through this
    one function.
    """
    plugins = tuple(plugins)
    environ = settings.secret_environ() if environ is None else environ
    entries: list[tuple[str, tuple[str, ...], Endpoint, str]] = []
    unrouted: list[tuple[ReceiverEndpoint, str]] = []
    all_settings: dict[str, BaseModel | None] = {}
    for plugin in plugins:
        plugin.freeze()
        plugin_settings = all_settings[plugin.name] = _plugin_settings(plugin, settings)
        try:
            notifier.check(plugin.channels, plugin=plugin.name)
        except ConfigError as exc:
            raise PluginError(plugin.name, str(exc)) from None
        env = None
        if plugin.routes:
            folder = plugin_template_dir(plugin.module_file, plugin.templates)
            env = build_environment(plugin.name, folder)
        for spec in plugin.routes:
            route = _route_endpoint(plugin, spec, plugin_settings, env, environ)
            entries.append((route.path, spec.methods, route, plugin.name))
        for recv in plugin.receivers:
            receiver = _receiver_endpoint(plugin, recv, plugin_settings, environ, settings.worker)
            if recv.routed:
                entries.append((receiver.path, recv.methods, receiver, plugin.name))
            else:
                unrouted.append((receiver, plugin.name))
    names: set[str] = set()
    for ep, owner in [(ep, owner) for _, _, ep, owner in entries] + unrouted:
        if ep.name in names:
            raise PluginError(owner, f"two endpoints are named {ep.name!r}")
        names.add(ep.name)
    receivers = {ep.name: ep for _, _, ep, _ in entries if isinstance(ep, ReceiverEndpoint)}
    receivers.update((ep.name, ep) for ep, _ in unrouted)
    return Assembly(plugins, RouteTable(entries), receivers, all_settings, notifier)


def _plugin_settings(plugin: Plugin, settings: Settings) -> BaseModel | None:
    table = settings.plugins.settings_for(plugin.name)
    model = plugin.settings_model
    if model is None or not issubclass(model, BaseModel):
        return None
    try:
        return model(**table)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise PluginError(
            plugin.name, f"invalid [plugins.{plugin.name}] settings: {problems}"
        ) from None


def _resolve(
    verifier: Verifier | None, plugin: Plugin, where: str, environ: Mapping[str, str]
) -> Verifier | None:
    if verifier is None:
        return None
    try:
        return verifier.resolve(environ)
    except ConfigError as exc:
        raise PluginError(plugin.name, f"{where}: {exc}") from None


def _path_params(plugin: Plugin, path: str) -> tuple[str, ...]:
    try:
        return compile_path(path).param_names
    except ValueError as exc:
        raise PluginError(plugin.name, str(exc)) from None


def _route_endpoint(
    plugin: Plugin,
    spec: RouteSpec,
    plugin_settings: BaseModel | None,
    env: jinja2.Environment | None,
    environ: Mapping[str, str],
) -> RouteEndpoint:
    path = join_prefix(plugin.prefix, spec.path)
    where = f"route {path}"
    available = {"request", "ctx", *_path_params(plugin, path)}
    verifier = _resolve(spec.verify, plugin, where, environ)
    return RouteEndpoint(
        plugin=plugin,
        name=spec.name,
        path=path,
        methods=spec.methods,
        description=spec.description,
        verifier=verifier,
        settings=plugin_settings,
        call=prepare_call(spec.handler, available, plugin=plugin.name, where=where),
        handler=getattr(spec.handler, "__name__", spec.name),
        templates=env,
        record=_record_mode(spec.record, verified=verifier is not None),
    )


def _record_mode(record: bool | RecordMode | None, *, verified: bool) -> RecordMode:
    if record is None:
        return "full" if verified else "metadata"
    if record is True:
        return "full"
    if record is False:
        return "off"
    return record


def _receiver_endpoint(
    plugin: Plugin,
    recv: Receiver,
    plugin_settings: BaseModel | None,
    environ: Mapping[str, str],
    worker: WorkerSettings,
) -> ReceiverEndpoint:
    path = join_prefix(plugin.prefix, recv.path)
    where = f"receiver {path}"
    available = {"event", "ctx", *_path_params(plugin, path)}
    handlers = tuple(_bind(recv, spec, available) for spec in recv.handlers)
    _check_unique_names(recv, handlers)
    return ReceiverEndpoint(
        plugin=plugin,
        name=recv.name,
        path=path,
        methods=recv.methods,
        description=recv.description,
        verifier=_resolve(recv.verify, plugin, where, environ),
        settings=plugin_settings,
        handlers=handlers,
        event_type=recv.event_type,
        dedupe=recv.dedupe,
        max_attempts=recv.max_attempts or worker.max_attempts,
        timeout=recv.timeout if recv.timeout is not None else worker.timeout,
        concurrency=recv.concurrency,
        routed=recv.routed,
    )


def _bind(receiver: Receiver, spec: HandlerSpec, available: set[str]) -> BoundHandler:
    where = f"receiver {receiver.path} handler {spec.name}"
    plan = prepare_call(spec.func, available, plugin=receiver.plugin.name, where=where)
    when = spec.when
    if when is not None and not callable(when):
        try:
            when = compile_filter(when, f"{where} when=")
        except ConfigError as exc:
            raise PluginError(receiver.plugin.name, str(exc)) from None
    return BoundHandler(spec, plan, when)


def _check_unique_names(receiver: Receiver, handlers: tuple[BoundHandler, ...]) -> None:
    # Outcomes and done_handlers are keyed by name: two handlers sharing one would be
    # indistinguishable, and a retry could skip the one that failed.
    seen: set[str] = set()
    for handler in handlers:
        if handler.name in seen:
            raise PluginError(
                receiver.plugin.name,
                f"receiver {receiver.path} has two handlers named {handler.name!r}; "
                "give each handler function its own name",
            )
        seen.add(handler.name)


def describe(ep: Endpoint) -> dict[str, Any]:
    """A row of the routes table (for ``hookport routes``, the admin API and the dashboard)."""
    handlers = ep.handlers if isinstance(ep, ReceiverEndpoint) else ()
    return {
        "methods": list(ep.methods),
        "path": ep.path,
        "kind": ep.kind,
        "verification": ep.scheme,
        "plugin": ep.plugin.name,
        "name": ep.name,
        "description": ep.description,
        "handlers": [{"events": list(h.event_types), "handler": h.name} for h in handlers],
    }
