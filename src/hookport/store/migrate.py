"""Schema migrations: numbered ``migrations/<backend>/NNNN_name.sql`` files, applied in order.

Migrations are the only source of schema. Applied versions are recorded in
``hookport_migrations``. On SQLite the migrator holds the write lock (``BEGIN IMMEDIATE``)
while it checks and applies; on PostgreSQL it holds ``pg_advisory_lock``, so several processes
starting at once apply each migration exactly once.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from hookport.errors import StoreError
from hookport.store._queries import Backend, query
from hookport.store._url import parse_store_url

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    from hookport.config import StoreSettings

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Arbitrary constant shared by every hookport process: "hookport" in ASCII.
ADVISORY_LOCK_KEY = 0x686F6F6B706F7274


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered migration file."""

    version: int
    name: str
    sql: str


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Which migrations a database has, and which are still to apply."""

    backend: Backend
    applied: tuple[int, ...]
    pending: tuple[Migration, ...]

    @property
    def up_to_date(self) -> bool:
        """True when nothing is pending."""
        return not self.pending


def migrations(backend: Backend) -> list[Migration]:
    """The migrations shipped for ``backend``, in order (numbering must be 1, 2, 3, ...)."""
    folder = resources.files("hookport.store").joinpath("migrations", backend)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"{backend} migrations are not numbered 0001, 0002, ... without gaps")
    return found


def _pending(backend: Backend, applied: set[int]) -> tuple[Migration, ...]:
    return tuple(m for m in migrations(backend) if m.version not in applied)


def _split_sqlite(script: str) -> list[str]:
    """Split a script into statements (``sqlite3.complete_statement`` knows about triggers)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in current.splitlines()
    ):
        raise StoreError("migration ends with an incomplete SQL statement")
    return statements


def sqlite_status(conn: sqlite3.Connection) -> MigrationStatus:
    """Migration status of an open SQLite database (no changes made)."""
    exists = conn.execute(query("sqlite", "migrations_table_exists")).fetchone()
    applied: set[int] = set()
    if exists:
        applied = {row[0] for row in conn.execute(query("sqlite", "applied_migrations"))}
    return MigrationStatus("sqlite", tuple(sorted(applied)), _pending("sqlite", applied))


def sqlite_migrate(conn: sqlite3.Connection) -> list[Migration]:
    """Apply pending migrations, each in its own transaction; returns those applied.

    ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    done: list[Migration] = []
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(query("sqlite", "create_migrations_table"))
            pending = sqlite_status(conn).pending
            if pending:
                migration = pending[0]
                for statement in _split_sqlite(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    query("sqlite", "record_migration"),
                    (migration.version, migration.name, time.time()),
                )
                done.append(migration)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if len(pending) <= 1:
            return done


async def postgres_status(
    conn: asyncpg.Connection | PoolConnectionProxy,
) -> MigrationStatus:
    """Migration status of a PostgreSQL database (no changes made)."""
    applied: set[int] = set()
    if await conn.fetchval(query("postgres", "migrations_table_exists")):
        applied = {row[0] for row in await conn.fetch(query("postgres", "applied_migrations"))}
    return MigrationStatus("postgres", tuple(sorted(applied)), _pending("postgres", applied))


async def postgres_migrate(
    conn: asyncpg.Connection | PoolConnectionProxy,
) -> list[Migration]:
    """Apply pending migrations under a session advisory lock; returns those applied."""
    done: list[Migration] = []
    await conn.execute(query("postgres", "lock_migrations"), ADVISORY_LOCK_KEY)
    try:
        await conn.execute(query("postgres", "create_migrations_table"))
        for migration in (await postgres_status(conn)).pending:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    query("postgres", "record_migration"),
                    migration.version,
                    migration.name,
                    time.time(),
                )
            done.append(migration)
    finally:
        await conn.execute(query("postgres", "unlock_migrations"), ADVISORY_LOCK_KEY)
    return done


async def status(settings: StoreSettings, base_dir: Path | None = None) -> MigrationStatus:
    """Migration status of the configured store, without applying anything (``hookport check``).

    A SQLite file that does not exist yet has every migration pending (it is not created).
    Raises ``StoreUnavailable`` when the database cannot be reached.
    """
    url = parse_store_url(settings.url, base_dir)
    if url.backend == "sqlite":
        if not url.path.exists():
            return MigrationStatus("sqlite", (), _pending("sqlite", set()))
        conn = sqlite3.connect(f"file:{url.path}?mode=ro", uri=True)
        try:
            return sqlite_status(conn)
        finally:
            conn.close()
    from hookport.store._pgconn import connect_once

    pg_conn = await connect_once(url.target)
    try:
        return await postgres_status(pg_conn)
    finally:
        await pg_conn.close()
