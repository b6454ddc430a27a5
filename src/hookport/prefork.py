"""``hookport serve --processes N``: one listening socket, N server processes, one supervisor.

The supervisor (the process the user started) binds the socket once, so a port in use is
refused before anything starts and ``--port 0`` has one real port; then it starts N copies of
the same ``hookport serve`` command as fresh interpreters (no ``fork`` of a process holding
threads or a store), each inheriting the socket and a pipe to say it is ready. Each process is
a whole server: its own event loop, group commit and in-process workers on the shared store
(SQLite file or PostgreSQL), which already lease events safely across processes. The kernel
spreads connections over the processes accepting on the socket.

The supervisor prints ``hookport listening on ...`` once every process is ready, forwards
SIGTERM/SIGINT (each process drains its connections and releases its leases, as one server
does) and SIGHUP/SIGUSR1 (hooks files re-read), and starts a process again when it dies
unexpectedly, with a growing pause; a process that cannot start at all stops the whole set.
Metrics of all processes are merged through ``PROMETHEUS_MULTIPROC_DIR`` (a private directory
made here unless it is set).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

log = logging.getLogger("hookport.prefork")

LISTEN_FD_ENV = "_HOOKPORT_LISTEN_FD"
"""In a process the supervisor started: the inherited listening socket's descriptor."""
READY_FD_ENV = "_HOOKPORT_READY_FD"
"""In a process the supervisor started: the pipe to write one byte to once serving."""
PROCESS_ENV = "_HOOKPORT_PROCESS"
"""In a process the supervisor started: its slot, 0 .. N-1 (in its log lines)."""
ALIVE_FD_ENV = "_HOOKPORT_ALIVE_FD"
"""In a process the supervisor started: a pipe the supervisor never writes; end of file on
it means the supervisor is gone (even by ``kill -9``), and the process shuts down."""

START_TIMEOUT = 120.0
"""Seconds every process has to become ready."""
RESTART_PAUSE = (1.0, 30.0)
"""The pause before a process that died is started again: doubling from the first to the
second value, back to the first once it has served for ``STABLE_S``."""
STABLE_S = 60.0
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1)


@dataclass
class Inherited:
    """What a process started by the supervisor inherited (see :func:`inherited`)."""

    sock: socket.socket
    ready_fd: int
    alive_fd: int
    slot: int

    def ready(self) -> None:
        """Tell the supervisor this process serves (once)."""
        if self.ready_fd >= 0:
            with contextlib.suppress(OSError):
                os.write(self.ready_fd, b"1")
                os.close(self.ready_fd)
            self.ready_fd = -1


def inherited(environ: dict[str, str] | None = None) -> Inherited | None:
    """The socket and ready pipe this process got from a supervisor, or None (a lone server)."""
    env = os.environ if environ is None else environ
    fd = env.get(LISTEN_FD_ENV)
    if fd is None:
        return None
    sock = socket.socket(fileno=int(fd))
    return Inherited(
        sock,
        int(env.get(READY_FD_ENV, "-1")),
        int(env.get(ALIVE_FD_ENV, "-1")),
        int(env.get(PROCESS_ENV, "0")),
    )


@dataclass
class _Slot:
    index: int
    proc: subprocess.Popen[bytes] | None = None
    ready_r: int = -1
    alive_w: int = -1
    ready: bool = False
    started_at: float = 0.0
    pause: float = RESTART_PAUSE[0]
    restart_at: float | None = None
    exits: list[int] = field(default_factory=list)


class Supervisor:
    """Runs ``command`` ``processes`` times over one socket; see the module docstring.

    ``announce``: called with nothing once every process is ready (prints the listening line).
    """

    def __init__(
        self,
        command: Sequence[str],
        sock: socket.socket,
        processes: int,
        announce: Callable[[list[int]], None],
        *,
        shutdown_timeout: float = 30.0,
    ) -> None:
        self.command = list(command)
        self.sock = sock
        self.slots = [_Slot(i) for i in range(processes)]
        self.announce = announce
        self.shutdown_timeout = shutdown_timeout
        self._stopping = False
        self._signals: list[int] = []

    def run(self) -> int:
        """Start every process, supervise them until a stop signal, return the exit status."""
        with self._metrics_dir(), self._signal_handlers():
            for slot in self.slots:
                self._start(slot)
            if not self._wait_ready():
                self._stop_all()
                return 1
            self.announce([s.proc.pid for s in self.slots if s.proc is not None])
            return self._supervise()

    # -- processes ---------------------------------------------------------------------------

    def _start(self, slot: _Slot) -> None:
        ready_r, ready_w = os.pipe()
        alive_r, alive_w = os.pipe()
        env = {
            **os.environ,
            LISTEN_FD_ENV: str(self.sock.fileno()),
            READY_FD_ENV: str(ready_w),
            ALIVE_FD_ENV: str(alive_r),
            PROCESS_ENV: str(slot.index),
        }
        # Its own process group: a terminal's Ctrl-C reaches the supervisor only, which stops
        # every process once (a second signal would cut uvicorn's graceful drain short).
        slot.proc = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            self.command,
            env=env,
            pass_fds=(self.sock.fileno(), ready_w, alive_r),
            process_group=0,
        )
        os.close(ready_w)
        os.close(alive_r)
        if slot.alive_w >= 0:
            os.close(slot.alive_w)
        slot.ready_r, slot.alive_w = ready_r, alive_w
        slot.ready, slot.started_at, slot.restart_at = False, time.monotonic(), None
        log.info("process %d started (pid %d)", slot.index, slot.proc.pid)

    def _wait_ready(self) -> bool:
        """Every process ready within ``START_TIMEOUT``; False when one exits first."""
        deadline = time.monotonic() + START_TIMEOUT
        while not all(s.ready for s in self.slots):
            if self._stopping:
                return False
            for slot in self.slots:
                if slot.proc is not None and not slot.ready and slot.proc.poll() is not None:
                    log.error(
                        "process %d exited with status %d before serving",
                        slot.index,
                        slot.proc.returncode,
                    )
                    return False
            left = deadline - time.monotonic()
            if left <= 0:
                log.error("processes not ready within %gs", START_TIMEOUT)
                return False
            self._poll_ready(min(left, 0.5))
        return True

    def _poll_ready(self, timeout: float) -> None:
        waiting = {s.ready_r: s for s in self.slots if not s.ready and s.ready_r >= 0}
        if not waiting:
            time.sleep(timeout)  # nothing to wait on but the clock (a restart pause)
            return
        with contextlib.suppress(InterruptedError):
            readable, _, _ = select.select(list(waiting), [], [], timeout)
            for fd in readable:
                slot = waiting[fd]
                if os.read(fd, 1):
                    slot.ready = True
                os.close(fd)
                slot.ready_r = -1

    def _supervise(self) -> int:
        while not self._stopping:
            self._forward_pending()
            now = time.monotonic()
            for slot in self.slots:
                self._check(slot, now)
            self._poll_ready(0.2)
        return self._stop_all()

    def _check(self, slot: _Slot, now: float) -> None:
        if slot.restart_at is not None:
            if now >= slot.restart_at:
                self._start(slot)
            return
        if slot.proc is None or slot.proc.poll() is None:
            return
        served = now - slot.started_at
        slot.pause = RESTART_PAUSE[0] if served >= STABLE_S else slot.pause
        log.warning(
            "process %d (pid %d) exited with status %d; starting it again in %gs",
            slot.index,
            slot.proc.pid,
            slot.proc.returncode,
            slot.pause,
        )
        if slot.ready_r >= 0:
            os.close(slot.ready_r)
            slot.ready_r = -1
        slot.restart_at = now + slot.pause
        slot.pause = min(slot.pause * 2, RESTART_PAUSE[1])

    def _stop_all(self) -> int:
        """SIGTERM every process, wait for each (its own graceful shutdown), kill stragglers."""
        running = [s.proc for s in self.slots if s.proc is not None and s.proc.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.shutdown_timeout + 10.0
        status = 0
        for proc in running:
            try:
                code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("process pid %d did not stop in time; killed", proc.pid)
                proc.kill()
                code = proc.wait()
            status = status or code
        for slot in self.slots:
            for fd in (slot.ready_r, slot.alive_w):
                if fd >= 0:
                    os.close(fd)
            slot.ready_r = slot.alive_w = -1
        return 0 if status == 0 else 1

    # -- signals -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        def note(sig: int, _frame: object) -> None:
            if sig in (signal.SIGTERM, signal.SIGINT):
                self._stopping = True
            else:
                self._signals.append(sig)

        previous = {sig: signal.signal(sig, note) for sig in _FORWARDED}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _forward_pending(self) -> None:
        while self._signals:
            sig = self._signals.pop(0)
            for slot in self.slots:
                if slot.proc is not None and slot.proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        slot.proc.send_signal(sig)

    @contextlib.contextmanager
    def _metrics_dir(self) -> Iterator[None]:
        """A private ``PROMETHEUS_MULTIPROC_DIR`` for this set, unless one is configured."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            yield
            return
        path = tempfile.mkdtemp(prefix="hookport-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
            shutil.rmtree(path, ignore_errors=True)


def child_command() -> list[str]:
    """The command line of this very ``hookport`` invocation, runnable as a child process."""
    return [sys.executable, "-m", "hookport", *sys.argv[1:]]
