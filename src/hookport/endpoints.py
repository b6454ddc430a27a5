"""Assembly: every plugin's declarations turned into one validated, frozen route table.

This is where declarations meet configuration: verifiers read their secrets, handler
parameters are checked against what each endpoint can inject, plugin settings are validated,
channels are checked, and templates get their environment. Any problem is a ``PluginError`` or
``ConfigError`` naming the plugin, raised before the server accepts a request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jinja2
from pydantic import BaseModel, ValidationError

from hookport.config import Settings, WorkerSettings
from hookport.dispatch import ReceiverRuntime
from hookport.errors import ConfigError, PluginError
from hookport.injection import CallPlan, prepare_call
from hookport.notify import Notifier
from hookport.plugin import EventTypeSource, Plugin, Receiver, RouteSpec
from hookport.routing import RouteTable, compile_path
from hookport.templating import build_environment, plugin_template_dir
from hookport.types import Verifier


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One assembled endpoint, as the request pipeline and ``hookport routes`` see it."""

    kind: Literal["route", "receiver"]
    plugin: Plugin
    name: str
    path: str
    methods: tuple[str, ...]
    description: str
    verifier: Verifier | None
    plugin_settings: BaseModel | None
    route: RouteSpec | None = None
    call: CallPlan | None = None
    templates: jinja2.Environment | None = None
    receiver: Receiver | None = None
    runtime: ReceiverRuntime | None = None
    event_type: EventTypeSource | None = None
    dedupe: bool = True
    record: bool = True
    handlers: tuple[tuple[tuple[str, ...], str], ...] = field(default=())

    @property
    def scheme(self) -> str:
        """The verification label, or ``unverified``."""
        return self.verifier.scheme if self.verifier else "unverified"


@dataclass(frozen=True)
class Assembly:
    """The assembled plugins: the route table, the receivers' runtimes and plugin settings."""

    plugins: tuple[Plugin, ...]
    table: RouteTable[Endpoint]
    runtimes: Mapping[str, ReceiverRuntime]
    plugin_settings: Mapping[str, BaseModel | None]
    notifier: Notifier

    @property
    def endpoints(self) -> list[Endpoint]:
        """Every endpoint in match precedence."""
        return [entry.target for entry in self.table.entries]


def assemble(plugins: Iterable[Plugin], settings: Settings, notifier: Notifier) -> Assembly:
    """Validate and freeze ``plugins`` into one :class:`Assembly`."""
    plugins = tuple(plugins)
    environ = settings.secret_environ()
    names: set[str] = set()
    endpoints: list[tuple[str, tuple[str, ...], Endpoint, str]] = []
    runtimes: dict[str, ReceiverRuntime] = {}
    all_settings: dict[str, BaseModel | None] = {}
    for plugin in plugins:
        plugin.freeze()
        plugin_settings = _plugin_settings(plugin, settings)
        all_settings[plugin.name] = plugin_settings
        try:
            notifier.check(plugin.channels, plugin=plugin.name)
        except ConfigError as exc:
            raise PluginError(plugin.name, str(exc)) from None
        env = None
        if plugin.routes:
            folder = plugin_template_dir(plugin.module_file, plugin.templates)
            env = build_environment(plugin.name, folder)
        for spec in plugin.routes:
            ep = _route_endpoint(plugin, spec, plugin_settings, env, environ)
            endpoints.append((spec.path, spec.methods, ep, plugin.name))
        for recv in plugin.receivers:
            ep = _receiver_endpoint(plugin, recv, plugin_settings, environ, settings.worker)
            assert ep.runtime is not None
            runtimes[recv.name] = ep.runtime
            endpoints.append((recv.path, recv.methods, ep, plugin.name))
    for _, _, ep, owner in endpoints:
        if ep.name in names:
            raise PluginError(owner, f"two endpoints are named {ep.name!r}")
        names.add(ep.name)
    table = RouteTable(endpoints)
    return Assembly(plugins, table, runtimes, all_settings, notifier)


def _plugin_settings(plugin: Plugin, settings: Settings) -> BaseModel | None:
    table = settings.plugins.settings_for(plugin.name)
    if plugin.settings_model is None:
        return None
    try:
        return plugin.settings_model(**table)
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
) -> Endpoint:
    where = f"route {spec.path}"
    available = {"request", "ctx", *_path_params(plugin, spec.path)}
    call = prepare_call(spec.handler, available, plugin=plugin.name, where=where)
    return Endpoint(
        kind="route",
        plugin=plugin,
        name=spec.name,
        path=spec.path,
        methods=spec.methods,
        description=spec.description,
        verifier=_resolve(spec.verify, plugin, where, environ),
        plugin_settings=plugin_settings,
        route=spec,
        call=call,
        templates=env,
        record=spec.record,
    )


def _receiver_endpoint(
    plugin: Plugin,
    recv: Receiver,
    plugin_settings: BaseModel | None,
    environ: Mapping[str, str],
    worker: WorkerSettings,
) -> Endpoint:
    where = f"receiver {recv.path}"
    runtime = ReceiverRuntime.build(recv, worker, param_names=_path_params(plugin, recv.path))
    handlers = tuple((h.event_types, h.name) for h in recv.handlers)
    return Endpoint(
        kind="receiver",
        plugin=plugin,
        name=recv.name,
        path=recv.path,
        methods=recv.methods,
        description=recv.description,
        verifier=_resolve(recv.verify, plugin, where, environ),
        plugin_settings=plugin_settings,
        receiver=recv,
        runtime=runtime,
        event_type=recv.event_type,
        dedupe=recv.dedupe,
        handlers=handlers,
    )


def describe(ep: Endpoint, base_url: str | None = None) -> dict[str, Any]:
    """A row of the routes table (for ``hookport routes`` and the admin API)."""
    return {
        "methods": list(ep.methods),
        "path": ep.path,
        "kind": ep.kind,
        "verification": ep.scheme,
        "plugin": ep.plugin.name,
        "name": ep.name,
        "description": ep.description,
        "handlers": [{"events": list(types), "handler": name} for types, name in ep.handlers],
    }
