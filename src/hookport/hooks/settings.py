"""From ``[hooks]`` settings (and the ``--hooks*`` options that override them) to endpoints.

Two come out of the settings: the adnanh endpoint (``[hooks] files`` plus the ``[[hooks]]``
tables that use only adnanh's keys) and the plugin of native hooks (tables with hookport's
actions, :mod:`hookport.hooks.native`).
"""

from __future__ import annotations

from pathlib import Path

from hookport.config import Settings
from hookport.hooks.actions import Runtime, native_plugin
from hookport.hooks.endpoint import HookOptions, HooksEndpoint
from hookport.hooks.forward import DestinationPolicy
from hookport.hooks.model import Hook
from hookport.hooks.native import Environment, NativeHook, parse_config_hooks
from hookport.plugin import Plugin

__all__ = ["config_hooks", "hook_options", "hooks_endpoint", "native_hooks_plugin"]


def hook_options(settings: Settings) -> HookOptions:
    """The options every hook shares, from ``[hooks]``."""
    h = settings.hooks
    methods = tuple(m for item in h.http_methods for m in item.replace(" ", "").split(",") if m)
    return HookOptions(
        prefix=h.prefix,
        template=h.template,
        http_methods=methods,
        response_headers=dict(h.response_headers),
        timeout=h.timeout,
        max_output=h.max_output,
        concurrency=h.concurrency,
    )


def forward_policy(settings: Settings) -> DestinationPolicy:
    """``[hooks] forward_allow`` as a policy."""
    return DestinationPolicy.from_entries(settings.hooks.forward_allow)


def config_hooks(settings: Settings) -> tuple[list[Hook], list[NativeHook]]:
    """The config's ``[[hooks]]``: adnanh hooks and native hooks (``ConfigError`` naming the
    hook for anything wrong)."""
    env = Environment(
        base=settings.config_dir,
        secrets=settings.secret_environ(),
        channels=frozenset(settings.channels),
        policy=forward_policy(settings),
    )
    return parse_config_hooks(settings.hooks.hook, env)


def hooks_endpoint(settings: Settings) -> HooksEndpoint | None:
    """The endpoint serving ``[hooks] files`` and adnanh-style ``[[hooks]]``, or None."""
    inline, _ = config_hooks(settings)
    if not settings.hooks.files and not inline:
        return None
    files = [_resolve(f, settings.config_dir) for f in settings.hooks.files]
    return HooksEndpoint(files, hook_options(settings), environ=settings.environ, inline=inline)


def native_hooks_plugin(settings: Settings) -> Plugin | None:
    """The plugin of the ``[[hooks]]`` that have hookport's actions, or None."""
    _, native = config_hooks(settings)
    if not native:
        return None
    runtime = Runtime(
        default_timeout=settings.hooks.timeout,
        max_output=settings.hooks.max_output,
    )
    return native_plugin(native, runtime, prefix=settings.hooks.prefix)


def _resolve(path: str, base: Path) -> str:
    file = Path(path)
    if file.is_absolute() or (Path.cwd() / file).exists():
        return str(file)
    return str(base / file)
