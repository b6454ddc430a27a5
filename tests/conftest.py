"""Shared fixtures: the anyio backend and real stores (a SQLite file, a PostgreSQL schema).

PostgreSQL comes from ``HOOKPORT_TEST_PG_DSN`` (an admin DSN; the session creates its own
database there and drops it at the end), else from a throwaway cluster started with
``initdb``/``pg_ctl`` when those binaries exist, else the PostgreSQL tests skip, unless
``HOOKPORT_REQUIRE_PG=1``, which turns the missing server into a failure.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from hookport.store.base import Store
from hookport.store.sqlite import SqliteStore

StoreFactory = Callable[..., Awaitable[Store]]


@pytest.fixture
def anyio_backend() -> str:
    """Run ``@pytest.mark.anyio`` tests on asyncio (the backend hookport targets)."""
    return "asyncio"


# -- PostgreSQL server for the session --------------------------------------------------------


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _with_query(dsn: str, **params: str) -> str:
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{dsn}{'&' if '?' in dsn else '?'}{extra}"


async def _admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_cluster(root: Path) -> tuple[str, Callable[[], None]] | None:
    """Start a throwaway cluster with initdb/pg_ctl; None if the binaries are missing."""
    installed = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = installed[-1] if installed else shutil.which("initdb")
    if initdb is None:
        return None
    bindir = Path(initdb).parent
    data, port = root / "pgdata", _free_port()
    prefix: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return None
        root.chmod(0o777)  # a private temp dir, handed to the postgres user
        prefix = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--"]

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=60)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = str(root / "pg.log")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", log, "start")

    def stop() -> None:
        cmd = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(cmd, check=False, capture_output=True, timeout=60)

    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """An admin DSN of a running PostgreSQL server (skips, or fails if required, when none)."""
    dsn = os.environ.get("HOOKPORT_TEST_PG_DSN")
    if dsn:
        yield dsn
        return
    # Not tmp_path: pytest's base temp dir is private to the current user, and as root the
    # cluster must run as "postgres".
    root = Path(tempfile.mkdtemp(prefix="hookport-pg-"))
    try:
        started = _start_cluster(root)
    except (subprocess.SubprocessError, OSError) as exc:
        started = None
        reason = f"could not start a throwaway PostgreSQL cluster: {exc}"
    else:
        reason = "no PostgreSQL: set HOOKPORT_TEST_PG_DSN or install initdb/pg_ctl"
    if started is None:
        shutil.rmtree(root, ignore_errors=True)
        if os.environ.get("HOOKPORT_REQUIRE_PG") == "1":
            pytest.fail(f"HOOKPORT_REQUIRE_PG=1 but {reason}")
        pytest.skip(reason)
    dsn, stop = started
    try:
        yield dsn
    finally:
        stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A database created for this test session (dropped at the end)."""
    name = f"hookport_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(pg_admin_dsn, f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError) as exc:
        if os.environ.get("HOOKPORT_REQUIRE_PG") == "1":
            pytest.fail(f"HOOKPORT_REQUIRE_PG=1 but PostgreSQL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at HOOKPORT_TEST_PG_DSN is unreachable: {exc}")
    try:
        yield _with_database(pg_admin_dsn, name)
    finally:
        asyncio.run(_admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_schema_dsn(pg_dsn: str) -> Iterator[str]:
    """A DSN whose ``search_path`` is a fresh, empty schema (one per test)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(pg_dsn, f"CREATE SCHEMA {schema}"))
    try:
        yield _with_query(pg_dsn, search_path=schema)
    finally:
        asyncio.run(_admin(pg_dsn, f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


# -- stores ----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend under test."""
    return str(request.param)


@pytest.fixture
def store_target(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the backend's data lives: a SQLite file path or a PostgreSQL DSN."""
    if backend == "sqlite":
        return str(tmp_path / "hookport.db")
    return str(request.getfixturevalue("pg_schema_dsn"))


@pytest.fixture
async def store_factory(backend: str, store_target: str) -> AsyncIterator[StoreFactory]:
    """Open more stores on the same data (as other processes would); closed at teardown."""
    opened: list[Store] = []

    async def make(**options: Any) -> Store:
        store: Store
        if backend == "sqlite":
            store = SqliteStore(store_target, **options)
        else:
            from hookport.store.postgres import PostgresStore

            store = PostgresStore(store_target, **options)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in reversed(opened):
        await store.close()


@pytest.fixture
async def store(store_factory: StoreFactory) -> Store:
    """An opened, empty store of the backend under test."""
    return await store_factory()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An opened, empty SQLite store in ``tmp_path``."""
    store = SqliteStore(tmp_path / "hookport.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def pg_store(pg_schema_dsn: str) -> AsyncIterator[Store]:
    """An opened, empty PostgreSQL store in a fresh schema."""
    from hookport.store.postgres import PostgresStore

    store = PostgresStore(pg_schema_dsn)
    await store.open()
    yield store
    await store.close()
