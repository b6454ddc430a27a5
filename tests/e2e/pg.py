"""PostgreSQL for the end-to-end tests: a fresh database per test, or a cluster a test owns.

Where PostgreSQL comes from, in order:

- ``HOOKPORT_TEST_PG_DSN`` (CI: ``postgresql://postgres@127.0.0.1:5432/test``) is an admin
  connection; :func:`fresh_database` creates a uniquely named database there for one test and
  drops it afterwards, force-terminating connections left behind (killed processes leave some).
- else a throwaway cluster (:func:`throwaway_cluster`): ``initdb`` + ``pg_ctl`` in a fresh
  directory under /tmp, on a free loopback port, its unix socket inside the data directory,
  stopped and deleted afterwards. As root it runs as the ``postgres`` OS user (``initdb``
  refuses root), so the directory is made traversable and owned by that user; pytest's own
  ``tmp_path`` (under a 0700 ``/tmp/pytest-of-root``) would not be.
- else the test skips with the reason, unless ``HOOKPORT_REQUIRE_PG=1`` (CI), which turns a
  missing PostgreSQL into a failure.

Queries from the tests go through ``asyncpg`` (hookport's own driver), one short connection
each, run synchronously with :func:`query`.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest

REQUIRED = os.environ.get("HOOKPORT_REQUIRE_PG") == "1"
CONNECT_TIMEOUT = 10.0


def no_postgres(reason: str, *, required: bool = REQUIRED) -> NoReturn:
    """Skip the test for ``reason``, or fail it when PostgreSQL is required."""
    if required:
        pytest.fail(f"HOOKPORT_REQUIRE_PG=1 but {reason}", pytrace=False)
    pytest.skip(reason)


# -- queries -----------------------------------------------------------------------------------


async def _fetch(dsn: str, sql: str, args: Sequence[Any]) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def query(dsn: str, sql: str, *args: Any) -> list[Any]:
    """Run one statement on a short-lived connection; its rows (``asyncpg.Record``)."""
    return asyncio.run(_fetch(dsn, sql, args))


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database of the same server."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


def shown(dsn: str) -> str:
    """``dsn`` without its password, for messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


@contextlib.contextmanager
def fresh_database(admin_dsn: str) -> Iterator[str]:
    """A new, empty database on ``admin_dsn``'s server for one test; dropped afterwards."""
    import asyncpg

    name = f"hookport_e2e_{uuid.uuid4().hex[:12]}"
    try:
        query(admin_dsn, f'CREATE DATABASE "{name}"')
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        no_postgres(f"cannot create a database at {shown(admin_dsn)}: {exc!r}")
    try:
        yield with_database(admin_dsn, name)
    finally:
        query(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- a throwaway cluster -----------------------------------------------------------------------


def find_bindir() -> Path | None:
    """The newest PostgreSQL ``bin`` directory with ``initdb`` and ``pg_ctl``, or None."""

    def version(path: str) -> int:
        part = Path(path).parts[-3]  # /usr/lib/postgresql/<major>/bin/initdb
        return int(part) if part.isdigit() else 0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if which := shutil.which("initdb"):
        candidates.insert(0, which)
    for initdb in reversed(candidates):
        bindir = Path(initdb).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    return None


def free_port() -> int:
    """A loopback TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Cluster:
    """A PostgreSQL cluster in ``root`` that this test process created and controls."""

    bindir: Path
    root: Path
    port: int = field(default_factory=free_port)
    as_user: list[str] = field(default_factory=list)  # ["runuser", "-u", "postgres", "--"]

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def dsn(self) -> str:
        """Superuser DSN of the cluster's ``postgres`` database (over TCP)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``pg_ctl -D DATA ARGS`` as the cluster's owner; raises on failure."""
        return self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), *args, timeout=timeout)

    def init(self) -> None:
        """``initdb`` (trust auth on loopback only; the cluster lives as long as one test)."""
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start and wait until it accepts connections (``pg_ctl -w``)."""
        # fsync=off: a fast or immediate stop of the server (all these tests do) loses nothing
        # that the OS holds; only an OS crash would, and the cluster does not outlive the test.
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200"
        )
        self.pg_ctl("-w", "-t", "60", "-o", options, "-l", str(self.log), "start")

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m MODE`` and wait until the server is gone."""
        self.pg_ctl("-w", "-t", "60", "-m", mode, "stop")

    def running(self) -> bool:
        return self._run_status() == 0

    def destroy(self) -> None:
        """Stop the server if it runs (immediate) and delete its directory."""
        if self.data.exists() and self.running():
            with contextlib.suppress(subprocess.SubprocessError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _run_status(self) -> int:
        cmd = [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"]
        return subprocess.run(cmd, capture_output=True, timeout=30, check=False).returncode

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [*self.as_user, *args], capture_output=True, text=True, timeout=timeout, check=True
            )
        except subprocess.CalledProcessError as exc:
            raise ClusterError(
                f"{' '.join(args[:1])} failed ({exc.returncode}): "
                f"{exc.stderr.strip() or exc.stdout.strip()}"
            ) from exc


class ClusterError(RuntimeError):
    """``initdb`` or ``pg_ctl`` failed."""


@contextlib.contextmanager
def throwaway_cluster(*, required: bool = REQUIRED) -> Iterator[Cluster]:
    """A started cluster of our own, destroyed afterwards.

    No ``initdb``/``pg_ctl`` (or, as root, no ``postgres`` OS user): skip, or fail when
    ``required``. The binaries exist but fail: fail under ``HOOKPORT_REQUIRE_PG=1``, else skip
    with their error.
    """
    bindir = find_bindir()
    if bindir is None:
        no_postgres("no PostgreSQL: initdb/pg_ctl are not installed", required=required)
    as_user: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            no_postgres(
                "running as root and there is no 'postgres' OS user to run initdb as",
                required=required,
            )
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="hookport-e2e-pg-", dir="/tmp"))
    root.chmod(0o755)
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(bindir, root, as_user=as_user)
    try:
        try:
            cluster.init()
            cluster.start()
        except (ClusterError, subprocess.SubprocessError, OSError) as exc:
            no_postgres(
                f"initdb/pg_ctl in {bindir} failed: {exc}\n{cluster.log_tail()}", required=REQUIRED
            )
        yield cluster
    finally:
        cluster.destroy()


@contextlib.contextmanager
def admin_dsn() -> Iterator[str]:
    """``HOOKPORT_TEST_PG_DSN``, else the superuser DSN of a throwaway cluster."""
    if dsn := os.environ.get("HOOKPORT_TEST_PG_DSN"):
        yield dsn
        return
    with throwaway_cluster() as cluster:
        yield cluster.dsn
