"""Finding plugins: ``--plugin`` arguments, ``[plugins] load``, and the ``hookport.plugins``
entry-point group, filtered by ``enabled``/``disabled``.

A plugin that fails to load is a ``PluginError`` naming it and where it came from; start-up
stops. ``HOOKPORT_DISABLE_PLUGIN_AUTOLOAD=1`` (or ``[plugins] autoload = false``) turns off
entry points, for tests and incidents.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from hookport.classes import PluginClass
from hookport.config import PluginsSettings
from hookport.errors import PluginError
from hookport.plugin import Plugin

ENTRY_POINT_GROUP = "hookport.plugins"


def load_plugins(
    specs: Sequence[str],
    settings: PluginsSettings,
    *,
    base_dir: Path,
    environ: Mapping[str, str],
) -> list[Plugin]:
    """Load every plugin named by ``specs``, the config and entry points; apply the filters."""
    found: list[Plugin] = []
    for spec in [*specs, *settings.load]:
        found.extend(load_spec(spec, base_dir))
    autoload = settings.autoload and environ.get("HOOKPORT_DISABLE_PLUGIN_AUTOLOAD") != "1"
    if autoload:
        found.extend(_from_entry_points())
    return select(_unique(found), settings.enabled, settings.disabled)


def load_spec(spec: str, base_dir: Path) -> list[Plugin]:
    """``pkg.mod:attr``, ``pkg.mod`` (every Plugin and PluginClass instance in it) or
    ``path/to/file.py[:attr]``."""
    target, _, attr = spec.partition(":")
    is_file = target.endswith(".py") or "/" in target or "\\" in target
    module = _import_file(target, base_dir, spec) if is_file else _import_module(target, spec)
    if attr:
        value = getattr(module, attr, None)
        if value is None:
            raise PluginError(spec, f"{target} has no attribute {attr!r}")
        return _as_plugins(value, spec)
    plugins = [_plugin_of(v) for v in vars(module).values() if isinstance(v, Plugin | PluginClass)]
    plugins = list({id(p): p for p in plugins}.values())  # `plugin = Bot().plugin` beside `bot`
    if not plugins:
        raise PluginError(spec, f"{target} defines no hookport.Plugin")
    return plugins


def select(
    plugins: Iterable[Plugin], enabled: Sequence[str], disabled: Sequence[str]
) -> list[Plugin]:
    """Apply ``enabled`` (when non-empty, only these) and ``disabled``."""
    chosen = [p for p in plugins if (not enabled or p.name in enabled) and p.name not in disabled]
    names = {p.name for p in plugins}
    for name in enabled:
        if name not in names:
            raise PluginError(name, "listed in [plugins] enabled but not loaded")
    return chosen


def _import_module(name: str, spec: str) -> object:
    try:
        return importlib.import_module(name)
    except Exception as exc:  # a plugin's import can fail in any way; name it and stop
        raise PluginError(spec, f"cannot import {name}: {type(exc).__name__}: {exc}") from exc


def _import_file(path: str, base_dir: Path, spec: str) -> object:
    file = Path(path)
    if not file.is_absolute():
        file = (Path.cwd() / file) if (Path.cwd() / file).exists() else (base_dir / file)
    if not file.is_file():
        raise PluginError(spec, f"plugin file {str(file)!r} does not exist")
    mod_name = f"hookport_plugin_{file.stem}_{abs(hash(str(file.resolve()))):x}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    loader_spec = importlib.util.spec_from_file_location(mod_name, file)
    if loader_spec is None or loader_spec.loader is None:
        raise PluginError(spec, f"cannot load {str(file)!r} as Python")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[mod_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # a plugin's import can fail in any way; name it and stop
        del sys.modules[mod_name]
        raise PluginError(spec, f"error in {file}: {type(exc).__name__}: {exc}") from exc
    return module


def _from_entry_points() -> list[Plugin]:
    plugins: list[Plugin] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            value = ep.load()
        except Exception as exc:  # a plugin's import can fail in any way; name it and stop
            raise PluginError(ep.name, f"entry point {ep.value}: {exc}") from exc
        plugins.extend(_as_plugins(value, ep.name))
    return plugins


def _as_plugins(value: object, spec: str) -> list[Plugin]:
    if isinstance(value, Plugin | PluginClass):
        return [_plugin_of(value)]
    if isinstance(value, list | tuple) and all(isinstance(v, Plugin | PluginClass) for v in value):
        return [_plugin_of(v) for v in value]
    raise PluginError(
        spec, f"expected a hookport.Plugin or PluginClass instance, got {type(value).__name__}"
    )


def _plugin_of(value: Plugin | PluginClass[Any]) -> Plugin:
    return value.plugin if isinstance(value, PluginClass) else value


def _unique(plugins: list[Plugin]) -> list[Plugin]:
    out: dict[str, Plugin] = {}
    for plugin in plugins:
        other = out.get(plugin.name)
        if other is not None and other is not plugin:
            raise PluginError(plugin.name, "two different plugins have this name")
        out[plugin.name] = plugin
    return list(out.values())
