"""``hookport serve`` and ``hookport worker``."""

from __future__ import annotations

import errno
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hookport.certs import DEFAULT_CERT, DEFAULT_KEY
from hookport.cli._common import build, common_options
from hookport.cli._ports import port_in_use_message
from hookport.cli.hooks import hooks_options, hooks_reloading
from hookport.config import Settings

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
@click.option(
    "--tls",
    is_flag=True,
    help=f"Serve HTTPS with {DEFAULT_CERT} and {DEFAULT_KEY} (made by 'hookport cert').",
)
@click.option(
    "--tls-cert",
    "--ssl-certfile",
    "tls_cert",
    type=click.Path(dir_okay=False),
    default=None,
    help="Serve HTTPS with this PEM certificate (chain) [server.tls_cert].",
)
@click.option(
    "--tls-key",
    "--ssl-keyfile",
    "tls_key",
    type=click.Path(dir_okay=False),
    default=None,
    help="The certificate's PEM private key [server.tls_key].",
)
@click.option("--no-workers", is_flag=True, help="Ingest only: run no in-process workers.")
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=None,
    help="Server processes sharing the port, for more than one core [server.processes].",
)
@hooks_options
def serve(
    config: str | None,
    plugins: tuple[str, ...],
    host: str | None,
    port: int | None,
    log_level: str | None,
    log_format: str | None,
    tls: bool,
    tls_cert: str | None,
    tls_key: str | None,
    no_workers: bool,
    processes: int | None,
    hooks: dict[str, object],
) -> None:
    """Run the server (and in-process workers unless --no-workers).

    It prints where it listens, the dashboard's URL (or why it is off: no admin token) and the
    metrics' URL; a port already in use is one line naming the process holding it. With
    --processes N, N server processes share the port under one supervisor.
    """
    from hookport.prefork import inherited
    from hookport.server import ListenError, serve_processes
    from hookport.server import serve as run_server

    server = _log_overrides(log_level, log_format)
    if host is not None:
        server["host"] = host
    if port is not None:
        server["port"] = port
    if processes is not None:
        server["processes"] = processes
    server.update(_tls_overrides(tls, tls_cert, tls_key))
    extra: dict[str, Any] = {"hooks": hooks} if hooks else {}
    app = build(config, plugins, workers=not no_workers, quiet=False, server=server, **extra)
    s = app.settings.server
    files = tls_files(app.settings)
    child = inherited()
    if child is None and s.processes > 1:
        try:
            serve_processes(
                app, host=s.host, port=s.port, processes=s.processes, tls=files is not None
            )
        except ListenError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise click.ClickException(str(exc)) from None
            raise click.ClickException(port_in_use_message(exc.host, exc.port)) from None
        return
    with hooks_reloading(app) as reload:
        try:
            run_server(
                app,
                host=s.host,
                port=s.port,
                log_level=s.log_level,
                ssl_certfile=files[0] if files else None,
                ssl_keyfile=files[1] if files else None,
                on_reload=reload,
                inherited=child,
            )
        except ListenError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise click.ClickException(str(exc)) from None
            raise click.ClickException(port_in_use_message(exc.host, exc.port)) from None


def _tls_overrides(tls: bool, cert: str | None, key: str | None) -> dict[str, str]:
    """Command-line TLS files as ``[server]`` values, absolute (they are relative to the
    working directory; the config file's are relative to the config file)."""
    if tls and cert is None and key is None:
        cert, key = DEFAULT_CERT, DEFAULT_KEY
    out = {}
    if cert is not None:
        out["tls_cert"] = str(Path(cert).resolve())
    if key is not None:
        out["tls_key"] = str(Path(key).resolve())
    return out


def tls_files(settings: Settings) -> tuple[str, str] | None:
    """``[server] tls_cert`` and ``tls_key`` resolved and checked: both or neither, files that
    exist and make a pair (so a wrong file is one line here, not a traceback at start-up)."""
    s = settings.server
    if s.tls_cert is None and s.tls_key is None:
        return None
    if s.tls_cert is None or s.tls_key is None:
        raise click.UsageError("TLS needs both a certificate and its key (--tls-cert, --tls-key)")
    cert, key = (settings.config_dir / p for p in (s.tls_cert, s.tls_key))
    hint = " (make a self-signed pair with 'hookport cert')"
    for what, path in (("certificate", cert), ("key", key)):
        if not path.is_file():
            raise click.ClickException(f"TLS {what} {str(path)!r} does not exist{hint}")
    try:
        # An encrypted key fails here instead of prompting on the terminal.
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            cert, key, password=lambda: b""
        )
    except (ssl.SSLError, ValueError) as exc:
        raise click.ClickException(
            f"cannot use TLS certificate {str(cert)!r} with key {str(key)!r}: {exc}"
        ) from None
    return str(cert), str(key)


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
@hooks_options
def worker(
    config: str | None,
    plugins: tuple[str, ...],
    concurrency: int | None,
    endpoints: tuple[str, ...],
    old_endpoints: tuple[str, ...],
    log_level: str | None,
    log_format: str | None,
    hooks: dict[str, object],
) -> None:
    """Run workers only (no HTTP), for scale-out.

    With --hooks (or [hooks] files), it runs the commands of stored hooks; SIGHUP and SIGUSR1
    re-read the files, as for serve."""
    from hookport.server import run_worker

    overrides: dict[str, Any] = {"server": _log_overrides(log_level, log_format)}
    if concurrency is not None:
        overrides["worker"] = {"concurrency": concurrency}
    if hooks:
        overrides["hooks"] = hooks
    app = build(
        config,
        plugins,
        workers=True,
        endpoints=[*endpoints, *old_endpoints] or None,
        quiet=False,
        **overrides,
    )
    with hooks_reloading(app) as reload:
        run_worker(app, on_reload=reload)
