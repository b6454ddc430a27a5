"""What every command shares: ``--config`` and ``--plugin``, and building the runtime."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from hookport.app import HookportApp, create_app
from hookport.config import Settings, load_settings
from hookport.discovery import load_plugins
from hookport.hooks.settings import hooks_endpoint, native_hooks_plugin
from hookport.observability import redact_logs, setup_logging
from hookport.plugin import Plugin

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def common_options(func: F) -> F:
    """Add ``--config FILE`` and repeatable ``--plugin MODULE_OR_FILE``."""
    func = click.option(
        "--plugin",
        "plugins",
        multiple=True,
        metavar="MODULE_OR_FILE",
        help="Load a plugin: pkg.mod[:attr] or path/to/file.py (repeatable).",
    )(func)
    return click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False),
        default=None,
        help="Config file (default: $HOOKPORT_CONFIG, then ./hookport.toml if present).",
    )(func)


def load(
    config: str | None, plugin_specs: tuple[str, ...], *, quiet: bool = True, **overrides: Any
) -> tuple[Settings, list[Plugin]]:
    """Settings and plugins, as ``serve`` would load them.

    ``quiet``: one-shot commands log only warnings of hookport itself, so their output is what
    they print; handlers' own log lines stay, since they are the handlers' output.
    """
    settings = load_settings(config, os.environ, **overrides)
    s = settings.server
    setup_logging("warning" if quiet else s.log_level, s.log_format)
    logging.getLogger("hookport.plugin").setLevel(s.log_level.upper())
    plugins = load_plugins(
        plugin_specs, settings.plugins, base_dir=settings.config_dir, environ=settings.environ
    )
    hooks = hooks_endpoint(settings)
    if hooks is not None:
        plugins.append(hooks.plugin)
    native = native_hooks_plugin(settings)
    if native is not None:
        plugins.append(native)
    return settings, plugins


def build(
    config: str | None,
    plugin_specs: tuple[str, ...],
    *,
    workers: bool = False,
    endpoints: list[str] | None = None,
    quiet: bool = True,
    **overrides: Any,
) -> HookportApp:
    """The assembled app (store not yet opened); from here on its secrets are masked in logs."""
    settings, plugins = load(config, plugin_specs, quiet=quiet, **overrides)
    app = create_app(settings, plugins, workers=workers, worker_endpoints=endpoints)
    redact_logs(app.log_filter)
    return app


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion for a command."""
    return asyncio.run(coro)


def read_data(data: str | None) -> bytes:
    """``--data``: ``@file``, ``@-`` (standard input) or the literal text."""
    if data is None:
        return b""
    if data == "@-":
        return sys.stdin.buffer.read()
    if data.startswith("@"):
        path = Path(data[1:])
        if not path.is_file():
            raise click.BadParameter(f"file {str(path)!r} does not exist", param_hint="--data")
        return path.read_bytes()
    return data.encode("utf-8")
