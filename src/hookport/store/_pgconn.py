"""PostgreSQL connection helpers: error mapping, one-off connections, the LISTEN connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

import asyncpg

from hookport.errors import StoreError, StoreUnavailable
from hookport.store._queries import query

log = logging.getLogger("hookport.store")

# Connection trouble, server shutting down, out of disk, read-only, statement timeout.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57", "58", "25")
# InternalClientError is what asyncpg raises when a connection dies mid-protocol (a fast
# shutdown under load); it is not an InterfaceError, but it means the same: unavailable.
_CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.InternalClientError)
_DRIVER_ERRORS = (*_CONNECTION_ERRORS, asyncpg.PostgresError)


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "")[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
    return isinstance(exc, _CONNECTION_ERRORS)


@contextlib.contextmanager
def driver_errors() -> Iterator[None]:
    """Map driver errors: connection trouble -> ``StoreUnavailable``, the rest -> ``StoreError``."""
    try:
        yield
    except (StoreUnavailable, StoreError):
        raise
    except _DRIVER_ERRORS as exc:
        if _unavailable(exc):
            log.warning("postgres store unavailable: %r", exc)
            raise StoreUnavailable("store unavailable, retry later") from exc
        raise StoreError(f"postgres: {exc}") from exc


async def connect_once(dsn: str, connect_timeout: float = 3.0) -> asyncpg.Connection:
    """One connection outside the pool (migration status, LISTEN); ``StoreUnavailable`` if down."""
    with driver_errors():
        return await asyncpg.connect(dsn, timeout=connect_timeout)


class Listener:
    """Keeps one connection LISTENing on ``channel`` and calls ``on_notify`` for each message.

    The connection is re-opened in the background with exponential backoff when it drops (and
    checked every ``check_every`` seconds, for half-open TCP). ``on_notify`` is also called on
    every (re)connect, since notifications sent meanwhile were missed.
    """

    def __init__(
        self,
        dsn: str,
        channel: str,
        on_notify: Callable[[], None],
        *,
        connect_timeout: float = 3.0,
        check_every: float = 30.0,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_notify = on_notify
        self._connect_timeout = connect_timeout
        self._check_every = check_every
        self._task: asyncio.Task[None] | None = None
        self._connecting: asyncio.Task[asyncpg.Connection] | None = None
        self.listening = asyncio.Event()
        """Set while the LISTEN connection is up."""

    def start(self) -> None:
        """Start listening in the background."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="hookport-listen")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._connecting is not None:  # let an interrupted connect finish, then drop it
            await asyncio.wait({self._connecting}, timeout=self._connect_timeout + 1)

    async def _run(self) -> None:
        backoff = 0.25
        while True:
            try:
                conn = await self._connect()
            except StoreUnavailable:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.25
            try:
                await self._listen(conn)
            except _DRIVER_ERRORS as exc:
                log.warning("LISTEN connection lost, polling until it is back: %r", exc)
            finally:
                self.listening.clear()
                conn.terminate()

    async def _connect(self) -> asyncpg.Connection:
        # Cancelling asyncpg mid-handshake leaves a future nobody retrieves; shield the connect
        # and, if we are cancelled (stop), drop the connection once it is established.
        task = asyncio.ensure_future(connect_once(self._dsn, self._connect_timeout))
        self._connecting = task
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_discard_connection)
            raise
        finally:
            if task.done():
                self._connecting = None

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(self._channel, lambda *_args: self._on_notify())
        self.listening.set()
        self._on_notify()
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self._check_every)
                return
            # Quiet for a while: make sure the connection is still alive.
            await asyncio.wait_for(conn.execute(query("postgres", "ping")), self._connect_timeout)


def _discard_connection(task: asyncio.Task[asyncpg.Connection]) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result().terminate()
