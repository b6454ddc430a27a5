"""``create_app``: plugins and settings assembled into one ASGI application.

The app owns all runtime state (no globals): the route table, the store, the in-process
workers and the retention task. The store opens in the ASGI lifespan, or on the first request
when a host framework does not forward lifespan events to mounted apps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hookport.admin import build_admin_app
from hookport.alerting import Alerter, check_rules
from hookport.assembly import Assembly, assemble
from hookport.chatops import ChatOps, build_chatops
from hookport.chatops.adapter import CHAT_PREFIX
from hookport.config import ENV_REF, Settings, load_settings
from hookport.errors import ConfigError
from hookport.events import EventStatus
from hookport.ingest import Ingest
from hookport.metrics import Metrics, multiprocess_dir
from hookport.notify import Notifications, Notifier, RecordingNotifier
from hookport.observability import RedactingFilter
from hookport.operations import Operations
from hookport.pauses import PauseBook
from hookport.plugin import Plugin
from hookport.proxies import parse_networks
from hookport.redaction import Redaction
from hookport.rejections import RejectionLog
from hookport.store import open_store
from hookport.store.base import Store
from hookport.threads import ThreadLane
from hookport.tracing import Tracing, build_tracing
from hookport.verify.base import secret_values
from hookport.worker import Worker

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

ADMIN_PREFIX = "/_hookport"
log = logging.getLogger("hookport.app")


class HookportApp:
    """The ASGI application. Build it with :func:`create_app`."""

    def __init__(
        self,
        settings: Settings,
        assembly: Assembly,
        store: Store,
        *,
        workers: bool,
        worker_endpoints: list[str] | None = None,
        metrics: Metrics | None = None,
        alerts: bool = True,
        chat: ChatOps | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.tracing = tracing
        """OpenTelemetry spans (``[tracing]``); None when tracing is off."""
        self.assembly = assembly
        self.store = store
        self.metrics = metrics = metrics or Metrics()
        metrics.watch_store(store.endpoint_counts, [str(s) for s in EventStatus])
        public = settings.server.base_url or f"http://{settings.server.host}:{settings.server.port}"
        pauses = PauseBook(store)
        token = settings.secret_environ().get(settings.admin.token_env) or None
        secrets = _log_secrets(settings, assembly, token)
        secrets.update(chat.secrets() if chat else ())
        # What every surface hides when it shows a delivery (stored as received: docs/security.md).
        self.redaction = Redaction.from_settings(settings.redact, secrets)
        self.ops = Operations(
            store,
            assembly,
            public,
            public_urls=settings.server.urls,
            redaction=self.redaction,
            pause_book=pauses,
        )
        self.chat = chat
        """The chat platforms (``[chatops]``), bound to :attr:`ops`; None when none is enabled."""
        if chat is not None:
            chat.attach(self.ops, assembly)
        self.rejections = RejectionLog(
            store,
            keep=settings.store.rejected_keep,
            max_age=settings.store.rejected_max_age,
            metrics=self.metrics,
        )
        self.ingest = Ingest(
            assembly,
            store,
            max_body_size=settings.server.max_body_size,
            trusted_proxies=parse_networks(settings.server.trusted_proxies),
            base_url=settings.server.base_url,
            metrics=self.metrics,
            route_threads=ThreadLane("route", settings.server.route_threads),
            route_record_max=settings.store.route_record_max,
            body_timeout=settings.server.body_timeout,
            max_buffered=settings.server.max_buffered,
            pauses=pauses,
            rejections=self.rejections if settings.store.rejected_keep else None,
            tracing=tracing,
        )
        self.alerter: Alerter | None = None
        if alerts and settings.alerts.rules:
            self.alerter = Alerter(
                settings.alerts,
                assembly.notifier,
                counts=store.endpoint_counts,
                verification=metrics.verification_totals,
                metrics=metrics,
            )
        self.worker: Worker | None = None
        if workers and assembly.receivers:
            worker = self.worker = Worker(
                store,
                assembly,
                settings.worker,
                endpoints=worker_endpoints,
                metrics=metrics,
                on_finished=self.alerter.event_finished if self.alerter else None,
                tracing=tracing,
            )
            self.metrics.watch_handlers(
                running=lambda: len(worker.running_handlers()),
                slow=lambda: worker.slow_handlers,
                stuck_threads=lambda: worker.stuck_threads,
            )
        self.metrics.watch_pauses([ep.name for ep in assembly.endpoints], pauses.known)
        self.admin = build_admin_app(
            self.ops,
            self.metrics,
            token,
            session_lifetime=settings.admin.session_lifetime,
            trusted_proxies=parse_networks(settings.server.trusted_proxies),
        )
        # Masks this app's secrets in log records: the CLI installs it on its log handler; an
        # app that mounts hookport adds it to its own handlers.
        self.log_filter = RedactingFilter(secrets, names=self.redaction)
        self._started = False
        self._stop_deadline: float | None = None
        self._start_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        path = _route_path(scope)
        admin = path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")
        if admin and not path.startswith(CHAT_PREFIX):  # chat endpoints are endpoints
            await self.startup()
            sub = dict(scope)
            sub["root_path"] = scope.get("root_path", "") + ADMIN_PREFIX
            await self.admin(sub, receive, send)
            return
        if not self._started:
            await self.startup()
        await self.ingest(scope, receive, send, path)

    async def startup(self, *, start_workers: bool = True, connections: bool = False) -> None:
        """Open the store and start workers and retention (idempotent).

        ``start_workers=False`` leaves the worker loop to the caller (``worker.drain()``), as
        ``hookport send --local`` does. ``connections``: also open the chat platforms'
        persistent connections (IRC); only the ASGI lifespan of a server asks for them.
        """
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            await self.store.open()
            if self.worker is not None and start_workers:
                await self.worker.start()
            self._tasks.append(asyncio.create_task(self._prune_loop(), name="hookport-prune"))
            self._tasks.append(
                asyncio.create_task(self.rejections.run(), name="hookport-rejections")
            )
            if self.alerter is not None:
                self._tasks.append(asyncio.create_task(self.alerter.run(), name="hookport-alerts"))
            if self.chat is not None:
                await self.chat.start(connections=connections)
            self._started = True
            fields = {"endpoints": len(self.assembly.endpoints), "workers": self.worker is not None}
            log.info("started", extra=fields)

    def stop_requested(self) -> None:
        """Start the ``shutdown_timeout`` clock (the server calls it on SIGTERM/SIGINT).

        The HTTP drain and the workers' stop then share that one budget, so the process exits
        within ``shutdown_timeout`` of the signal, not twice that.
        """
        if self._stop_deadline is None:
            self._stop_deadline = time.monotonic() + self.settings.server.shutdown_timeout

    async def shutdown(self) -> None:
        """Finish or release in-flight work, then close the store."""
        if not self._started:
            return
        self._started = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.chat is not None:
            await self.chat.stop()
        if self.worker is not None:
            self.stop_requested()
            left = (self._stop_deadline or 0.0) - time.monotonic()
            await self.worker.stop(max(left, 0.1))
        await self.store.close()
        if self.tracing is not None:  # the spans of the last requests and handler runs
            await asyncio.to_thread(self.tracing.flush)
        log.info("stopped")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    # Only a served app keeps chat connections (IRC): one per server.
                    await self.startup(connections=True)
                except Exception as exc:  # report any start-up failure to the server
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _prune_loop(self) -> None:
        # Dedupe keys must outlive sender retries (3 days), whatever the retention says.
        keep = max(self.settings.store.retention, 3 * 86400.0)
        while True:
            try:
                for _ in range(100):  # small batches, so appends never wait long on the writer
                    if await self.store.prune(time.time() - keep, 500) < 500:
                        break
            except Exception:  # retention must never stop the server
                log.exception("retention prune failed")
            await asyncio.sleep(60)


def create_app(
    settings: Settings | None = None,
    plugins: Iterable[Plugin] = (),
    *,
    workers: bool = True,
    worker_endpoints: list[str] | None = None,
    inspect_only: bool = False,
    tracer_provider: TracerProvider | None = None,
) -> HookportApp:
    """Assemble ``plugins`` with ``settings`` (default: :func:`load_settings`) into an ASGI app.

    Mount it under FastAPI or Starlette at any prefix. ``workers=False`` makes an ingest-only
    node; ``worker_endpoints`` limits the in-process workers to these receivers. Raises
    ``PluginError``/``ConfigError`` for anything wrong, before serving.

    ``inspect_only``: for commands that only look at (or replay) what is stored: secrets that
    are not set resolve to placeholders and channels are not checked, so listing
    events needs none of the plugins' secrets. Such an app must never serve.

    ``tracer_provider``: an OpenTelemetry tracer provider to make hookport's spans with (a host
    application's own, or a test's); tracing is then on whatever ``[tracing] enabled`` says.
    Without one, ``[tracing] enabled = true`` makes hookport build its own.
    """
    settings = settings or load_settings()
    metrics = Metrics(multiprocess_dir=multiprocess_dir(), enabled=settings.server.metrics)
    chat = build_chatops(settings)
    if inspect_only:
        environ: Mapping[str, str] = _Placeholders(settings.secret_environ())
        notifier: Notifications = RecordingNotifier()
        workers = False
    else:
        environ = settings.secret_environ()
        relays = chat.relays() if chat else {}  # hookport-irc:// channels
        notifier = Notifier(settings.channels, environ, metrics=metrics, relays=relays)
    plugins = [*plugins, *([chat.plugin] if chat else [])]
    assembly = assemble(plugins, settings, notifier, environ=environ)
    if not inspect_only:
        check_rules(settings.alerts, settings.channels, [ep.name for ep in assembly.endpoints])
    unknown = sorted(set(worker_endpoints or ()) - set(assembly.receivers))
    if unknown:
        known = ", ".join(sorted(assembly.receivers)) or "none"
        raise ConfigError(f"unknown receiver(s) {', '.join(unknown)}; known: {known}")
    store = open_store(settings.store, observer=metrics)
    tracing = None if inspect_only else build_tracing(settings.tracing, tracer_provider)
    return HookportApp(
        settings,
        assembly,
        store,
        workers=workers,
        worker_endpoints=worker_endpoints,
        metrics=metrics,
        alerts=not inspect_only,
        chat=chat,
        tracing=tracing,
    )


class _Placeholders(Mapping[str, str]):
    """An environment where every variable is set: a missing one reads as ``NAME-unset:unset``
    (which also parses as basic-auth credentials). Secrets with a stricter format (a Discord
    public key, a Standard Webhooks ``whsec_`` key) still need a value."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def __getitem__(self, name: str) -> str:
        return self._environ.get(name) or f"{name}-unset:unset"

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


def _log_secrets(settings: Settings, assembly: Assembly, admin_token: str | None) -> set[str]:
    """What must never be logged: the resolved secret of every verifier, the admin token, the
    ``[secrets]`` table, the variables channel URLs refer to, the store URL's password."""
    found = {value for ep in assembly.endpoints for value in secret_values(ep.verifier)}
    found.update(value.get_secret_value() for value in settings.secrets.values())
    environ = settings.secret_environ()
    for url in settings.channels.values():
        found.update(environ.get(name, "") for name in ENV_REF.findall(url))
    found.add(admin_token or "")
    found.add(urlsplit(settings.store.url).password or "")
    found.discard("")
    return found


def _route_path(scope: Scope) -> str:
    """The path inside the app (without the prefix of a host framework's mount)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path
