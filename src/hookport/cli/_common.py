"""What every command shares: ``--config`` and ``--plugin``, and building the runtime."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hookport.app import HookportApp, create_app
from hookport.config import Settings, load_settings
from hookport.discovery import load_plugins
from hookport.errors import NotFoundError
from hookport.hooks.settings import hooks_endpoint, native_hooks_plugin
from hookport.observability import redact_logs, setup_logging
from hookport.operations import Operations
from hookport.plugin import Plugin
from hookport.store._url import parse_store_url

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
    inspect_only: bool = False,
    **overrides: Any,
) -> HookportApp:
    """The assembled app (store not yet opened); from here on its secrets are masked in logs.

    ``inspect_only``: for commands that read (or replay) the store: the plugins' secrets and
    channels need not be set (see :func:`hookport.app.create_app`).
    """
    settings, plugins = load(config, plugin_specs, quiet=quiet, **overrides)
    app = create_app(
        settings, plugins, workers=workers, worker_endpoints=endpoints, inspect_only=inspect_only
    )
    redact_logs(app.log_filter)
    return app


def store_missing(app: HookportApp) -> Path | None:
    """The SQLite file ``[store] url`` names when it does not exist (else None)."""
    url = parse_store_url(app.settings.store.url)
    if url.backend == "sqlite" and not url.path.exists():
        return url.path
    return None


def require_store(app: HookportApp) -> None:
    """Refuse to read a store that does not exist: opening it would create an empty one."""
    missing = store_missing(app)
    if missing is not None:
        raise click.ClickException(
            f"no store at {missing}: nothing was recorded there (run this where hookport "
            "serve runs, or point --config / [store] url / HOOKPORT_STORE__URL at its store)"
        )


async def with_store(app: HookportApp, action: Callable[[Operations], Awaitable[T]]) -> T:
    """Open the (existing) store, run ``action`` on the operations, close it."""
    require_store(app)
    async with app.ops.opened() as ops:
        return await action(ops)


def interactive() -> bool:
    """Whether standard output is a terminal (else output is plain: no boxes, no padding)."""
    return sys.stdout.isatty()


def console() -> Console:
    """Rich output for a terminal (styled unless ``NO_COLOR``); plain, unwrapped text when
    piped."""
    if interactive():
        # no-color.org: NO_COLOR set to any non-empty value turns colour off; hookport then
        # writes no escape sequence at all (no bold or italics either), only the boxes.
        if os.environ.get("NO_COLOR"):
            return Console(color_system=None, force_terminal=True)
        return Console(force_terminal=True)
    return Console(no_color=True, highlight=False, soft_wrap=True, force_terminal=False)


def emit_json(value: object) -> None:
    """``--json`` output, the same shape for every command: one JSON document on standard
    output (indented by 2), nothing else there; warnings and errors go to standard error."""
    click.echo(json.dumps(value, indent=2))


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str | Text]]) -> None:
    """A table: boxed and coloured on a terminal; tab-separated lines (a header line first,
    then one line per row, nothing padded) when piped. Cells are text, never markup (a
    :class:`rich.text.Text` cell carries its own style, shown on a terminal only)."""
    rows = [list(row) for row in rows]
    if not interactive():
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join(_plain(cell) for cell in row))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in row))
    console().print(table)


def _plain(cell: str | Text) -> str:
    text = cell.plain if isinstance(cell, Text) else cell
    return text.replace("\t", " ").replace("\n", " ")


async def resolve_event_id(ops: Operations, given: str) -> str:
    """An event id from its unique prefix (8 or more characters; the full 32 as is)."""
    try:
        return await ops.find_event_id(given)
    except (ValueError, NotFoundError) as exc:
        raise click.ClickException(str(exc)) from None


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
