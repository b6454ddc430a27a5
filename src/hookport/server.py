"""Running hookport: the HTTP server on uvicorn (uvloop + httptools), and standalone workers.

The listening socket is bound here so that ``--port 0`` can announce the real port on the
``hookport listening on ...`` line that scripts and tests wait for. uvicorn captures SIGTERM and
SIGINT, stops accepting, drains in-flight requests, and then the app's lifespan finishes or
releases leases and closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from types import FrameType
from typing import Any

import uvicorn

from hookport.app import ADMIN_PREFIX, HookportApp
from hookport.connections import ConnectionLimits, default_max_connections, protocol_class
from hookport.errors import HookportError
from hookport.prefork import Inherited

log = logging.getLogger("hookport.server")
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ListenError(HookportError):
    """The server cannot listen on ``host:port`` (``reason``: the OS's errno)."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {error.strerror or error}")
        self.host = host
        self.port = port
        self.errno = error.errno


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when ``host`` has a colon).

    Raises :class:`ListenError` when the address cannot be bound (in use, not permitted, not
    an address of this machine)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ListenError(host, port, exc) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    app: HookportApp,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    on_reload: Callable[[], object] | None = None,
    inherited: Inherited | None = None,
) -> None:
    """Serve ``app`` until SIGTERM/SIGINT, then shut down gracefully.

    ``on_reload``: called on SIGHUP and SIGUSR1 (hooks files are re-read), as adnanh does.
    ``inherited``: the socket and pipes of one of ``serve --processes N``'s processes
    (:mod:`hookport.prefork`): it serves that socket, tells the supervisor when it is ready
    instead of printing the listening line, and stops when the supervisor is gone.
    """
    sock = bind_socket(host, port) if inherited is None else inherited.sock
    real_port = sock.getsockname()[1]
    s = app.settings.server
    limits = ConnectionLimits(
        max_header_bytes=s.max_header_size,
        max_headers=s.max_headers,
        header_timeout=s.header_timeout,
        max_connections=s.max_connections or default_max_connections(),
    )
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http=protocol_class(limits),
        timeout_keep_alive=max(1, round(s.keep_alive_timeout)),
        lifespan="on",
        access_log=False,
        # hookport's handler formats uvicorn's records too (setup_logging): uvicorn must not
        # install its own.
        log_config=None,
        log_level=log_level,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        timeout_graceful_shutdown=int(app.settings.server.shutdown_timeout),
        server_header=False,
        # hookport resolves client addresses itself, from [server] trusted_proxies only;
        # uvicorn's own handling would believe X-Forwarded-For from any local peer.
        proxy_headers=False,
    )
    announcement, local = _addresses(host, real_port, tls=ssl_certfile is not None)
    server = _AnnouncingServer(config, announcement, app.stop_requested, on_reload)
    # Where the dashboard and the metrics are: printed under the announcement, or with JSON
    # logs, log records (so every line but the announcement stays one JSON object).
    notes = start_notes(app, local)
    if inherited is not None:
        server.inherited = inherited  # the supervisor announces the set
    elif s.log_format == "json":
        server.logged_notes = notes
    else:
        server.announcement = "\n".join([announcement, *notes])
    log.info(
        "connection cap %d, header limit %d bytes / %d fields, header timeout %gs",
        limits.max_connections,
        limits.max_header_bytes,
        limits.max_headers,
        limits.header_timeout,
    )
    for ep in app.assembly.endpoints:
        if ep.verifier is None:
            log.warning("unverified endpoint", extra={"endpoint": ep.name, "path": ep.path})
    if not app.assembly.endpoints:
        log.warning(
            "no endpoints: no plugin or hook is loaded, so every delivery gets a 404 (load one "
            "with --plugin FILE, [plugins] load, --hooks FILE or [[hooks]] in hookport.toml)"
        )
    try:
        _run(server.serve(sockets=[sock]))
    finally:
        sock.close()
    if not server.started:
        raise SystemExit(1)


def _addresses(host: str, port: int, *, tls: bool) -> tuple[str, str]:
    """The ``hookport listening on ...`` line, and the server's URL to put in links."""
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    return (
        f"hookport listening on {scheme}://{shown}:{port}",
        f"{scheme}://{_link_host(host)}:{port}",
    )


def serve_processes(app: HookportApp, *, host: str, port: int, processes: int, tls: bool) -> None:
    """``serve --processes N``: bind ``host:port`` once and run N copies of this command over
    it under a :class:`hookport.prefork.Supervisor`; exits with the set's status.

    Raises :class:`ListenError` when the address cannot be bound (before anything starts)."""
    from hookport.prefork import Supervisor, child_command

    sock = bind_socket(host, port)
    announcement, local = _addresses(host, sock.getsockname()[1], tls=tls)
    notes = start_notes(app, local)

    def announce(pids: list[int]) -> None:
        listed = ", ".join(str(p) for p in pids)
        lines = [*notes, f"processes: {len(pids)} (pids {listed})"]
        if app.settings.server.log_format == "json":
            print(announcement, flush=True)
            for line in lines:
                log.info(line)
        else:
            print("\n".join([announcement, *lines]), flush=True)

    supervisor = Supervisor(
        child_command(),
        sock,
        processes,
        announce,
        shutdown_timeout=app.settings.server.shutdown_timeout,
    )
    try:
        status = supervisor.run()
    finally:
        sock.close()
    sys.stdout.flush()
    if status:
        raise SystemExit(status)


def start_notes(app: HookportApp, base: str) -> list[str]:
    """The lines printed under ``hookport listening on``: where the dashboard is (or why it is
    off) and where the metrics are. ``base``: the server's own URL."""
    token_env = app.settings.admin.token_env
    if app.settings.secret_environ().get(token_env):
        dashboard = f"dashboard: {base}{ADMIN_PREFIX}/ (admin API {base}{ADMIN_PREFIX}/api/)"
    else:
        dashboard = (
            f"dashboard: off, no admin token (set {token_env} to turn on the dashboard and "
            "the admin API)"
        )
    if not app.settings.server.metrics:
        return [dashboard, "metrics: off ([server] metrics = false)"]
    return [dashboard, f"metrics: {base}{ADMIN_PREFIX}/metrics"]


def _link_host(host: str) -> str:
    """A host to put in a link: a wildcard address means this machine (loopback)."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - recognising the wildcard, not binding it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class _AnnouncingServer(uvicorn.Server):
    """uvicorn's server, printing one line once it accepts connections."""

    def __init__(
        self,
        config: uvicorn.Config,
        announcement: str,
        on_stop: Callable[[], None],
        on_reload: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(config)
        self.announcement = announcement
        self.logged_notes: list[str] = []
        self.inherited: Inherited | None = None
        self._on_stop = on_stop
        self._on_reload = on_reload

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Start the shutdown clock, then let uvicorn stop (draining connections first)."""
        self._on_stop()
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            # Start-up objects (modules, plugins, the route table) live as long as the process:
            # move them out of the collector's generations so full collections stay short and
            # do not show up as latency spikes.
            gc.collect()
            gc.freeze()
            if self.inherited is not None:
                self._serve_for_supervisor(self.inherited)
                return
            print(self.announcement, flush=True)
            for note in self.logged_notes:
                log.info(note)

    def _serve_for_supervisor(self, inherited: Inherited) -> None:
        """Say ready; shut down gracefully when the supervisor's pipe ends (it is gone)."""
        if inherited.alive_fd >= 0:
            loop = asyncio.get_running_loop()
            fd = inherited.alive_fd

            def gone() -> None:
                loop.remove_reader(fd)
                log.warning("the supervisor is gone; stopping")
                self.handle_exit(signal.SIGTERM, None)

            loop.add_reader(fd, gone)
        log.info("process %d serving (pid %d)", inherited.slot, os.getpid())
        inherited.ready()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Turn SIGTERM/SIGINT into a graceful shutdown, then restore the previous handlers.

        uvicorn re-raises the captured signal after shutting down; a drained, orderly stop is
        a success for hookport, so the process exits 0 instead (what supervisors expect).
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        if self._on_reload is not None:
            reload = self._on_reload
            for sig in (signal.SIGHUP, signal.SIGUSR1):
                previous[sig] = signal.signal(sig, lambda _sig, _frame: reload())
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run_worker(app: HookportApp, *, on_reload: Callable[[], object] | None = None) -> None:
    """Run only the app's workers (no HTTP) until SIGTERM/SIGINT, then drain and exit.

    ``on_reload``: called on SIGHUP and SIGUSR1 (hooks files are re-read), as in :func:`serve`.
    """
    if app.worker is None:
        raise SystemExit("no receivers to work for: load a plugin that declares a receiver")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        handled = [signal.SIGTERM, signal.SIGINT]
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if on_reload is not None:
            handled += [signal.SIGHUP, signal.SIGUSR1]
            for sig in (signal.SIGHUP, signal.SIGUSR1):
                loop.add_signal_handler(sig, on_reload)
        await app.startup()
        print("hookport worker running", flush=True)
        try:
            await stop.wait()
            app.stop_requested()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            await app.shutdown()

    _run(main())


def _run(coro: Coroutine[Any, Any, None]) -> None:
    import uvloop

    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(coro)
    sys.stdout.flush()
