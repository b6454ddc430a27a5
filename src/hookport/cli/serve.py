"""``hookport serve`` and ``hookport worker``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from hookport.cli._common import build, common_options
from hookport.cli.hooks import hooks_options, hooks_reloading

F = TypeVar("F", bound=Callable[..., Any])


def log_options(func: F) -> F:
    """``--log-level`` and ``--log-format``, overriding ``[server] log_level`` / ``log_format``."""
    func = click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default=None,
        help="Log lines as 'time level logger message key=value ...' or JSON [server.log_format].",
    )(func)
    return click.option(
        "--log-level",
        type=click.Choice(["debug", "info", "warning", "error"]),
        default=None,
        help="Least severe level logged [server.log_level].",
    )(func)


def _log_overrides(log_level: str | None, log_format: str | None) -> dict[str, object]:
    out: dict[str, object] = {}
    if log_level is not None:
        out["log_level"] = log_level
    if log_format is not None:
        out["log_format"] = log_format
    return out


@click.command()
@common_options
@click.option("--host", default=None, help="Interface to listen on [server.host].")
@click.option("--port", type=int, default=None, help="Port to listen on, 0 for any [server.port].")
@log_options
@click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--no-workers", is_flag=True, help="Ingest only: run no in-process workers.")
@hooks_options
def serve(
    config: str | None,
    plugins: tuple[str, ...],
    host: str | None,
    port: int | None,
    log_level: str | None,
    log_format: str | None,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    no_workers: bool,
    hooks: dict[str, object],
) -> None:
    """Run the server (and in-process workers unless --no-workers)."""
    from hookport.server import serve as run_server

    server = _log_overrides(log_level, log_format)
    if host is not None:
        server["host"] = host
    if port is not None:
        server["port"] = port
    extra: dict[str, Any] = {"hooks": hooks} if hooks else {}
    app = build(config, plugins, workers=not no_workers, quiet=False, server=server, **extra)
    s = app.settings.server
    with hooks_reloading(app) as reload:
        run_server(
            app,
            host=s.host,
            port=s.port,
            log_level=s.log_level,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            on_reload=reload,
        )


@click.command()
@common_options
@click.option("--concurrency", type=int, default=None, help="Handlers in flight [worker].")
@click.option(
    "--endpoint",
    "endpoints",
    multiple=True,
    help="Only work for this receiver endpoint (its name; repeatable).",
)
@click.option("--receiver", "old_endpoints", multiple=True, hidden=True)  # the round-1 name
@log_options
def worker(
    config: str | None,
    plugins: tuple[str, ...],
    concurrency: int | None,
    endpoints: tuple[str, ...],
    old_endpoints: tuple[str, ...],
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Run workers only (no HTTP), for scale-out."""
    from hookport.server import run_worker

    overrides: dict[str, object] = {"server": _log_overrides(log_level, log_format)}
    if concurrency is not None:
        overrides["worker"] = {"concurrency": concurrency}
    app = build(
        config,
        plugins,
        workers=True,
        endpoints=[*endpoints, *old_endpoints] or None,
        quiet=False,
        **overrides,
    )
    run_worker(app)
