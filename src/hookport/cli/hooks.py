"""``hookport hooks check|convert`` and the ``--hooks*`` options of ``hookport serve``."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from hookport.app import HookportApp
from hookport.hooks.endpoint import HooksPlugin
from hookport.hooks.watch import HotReload

F = TypeVar("F", bound=Callable[..., Any])


def hooks_options(func: F) -> F:
    """Add ``--hooks FILE`` (repeatable) and the other ``--hooks-*`` options.

    They reach the command as one ``hooks`` table of ``[hooks]`` overrides.
    """

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        hooks_files: tuple[str, ...],
        hooks_prefix: str | None,
        hooks_hotreload: bool,
        hooks_template: bool,
        hooks_http_methods: str | None,
        **kwargs: Any,
    ) -> Any:
        table: dict[str, object] = {}
        if hooks_files:
            table["files"] = list(hooks_files)
        if hooks_prefix is not None:
            table["prefix"] = hooks_prefix
        if hooks_hotreload:
            table["hotreload"] = True
        if hooks_template:
            table["template"] = True
        if hooks_http_methods is not None:
            table["http_methods"] = [hooks_http_methods]
        return func(*args, hooks=table, **kwargs)

    options = [
        click.option(
            "--hooks",
            "hooks_files",
            multiple=True,
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="Serve an adnanh/webhook hooks file (.json/.yaml/.toml; repeatable) [hooks].",
        ),
        click.option(
            "--hooks-prefix", default=None, help="URL prefix of hooks, /PREFIX/{id} [hooks.prefix]."
        ),
        click.option(
            "--hooks-hotreload", is_flag=True, help="Reload hooks files when they change."
        ),
        click.option(
            "--hooks-template", is_flag=True, help="Render hooks files as Go templates first."
        ),
        click.option(
            "--hooks-http-methods",
            default=None,
            metavar="M1,M2",
            help="Default allowed methods of hooks without http-methods.",
        ),
    ]
    decorated: Callable[..., Any] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[return-value]


@contextlib.contextmanager
def hooks_reloading(app: HookportApp) -> Iterator[Callable[[], object] | None]:
    """The reload callback for the server's signals (None without hooks), and the hot-reload
    watcher while the block runs when ``[hooks] hotreload`` is on."""
    endpoints = [p.endpoint for p in app.assembly.plugins if isinstance(p, HooksPlugin)]
    if not endpoints:
        yield None
        return

    def reload() -> None:
        for endpoint in endpoints:
            endpoint.reload()

    watcher = None
    if app.settings.hooks.hotreload:
        files = [f for endpoint in endpoints for f in endpoint.hooks.files]
        watcher = HotReload(files, reload)
        watcher.start()
    try:
        yield reload
    finally:
        if watcher is not None:
            watcher.stop()
