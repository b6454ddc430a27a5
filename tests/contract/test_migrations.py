"""Migrations are the only source of schema: a drift test per backend.

Applying every migration to an empty database must give exactly the schema checked in under
``schema/`` (regenerate with ``HOOKPORT_UPDATE_SCHEMA=1`` after adding a migration), and
opening a store must not add anything beyond it.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from hookport.store import migrate
from hookport.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio

EXPECTED = Path(__file__).parent / "schema"


def check_against_expected(name: str, actual: str) -> None:
    path = EXPECTED / name
    if os.environ.get("HOOKPORT_UPDATE_SCHEMA") == "1":
        path.write_text(actual)
    assert actual == path.read_text(), (
        f"schema differs from {path}: edit it only through a migration"
    )


def sqlite_schema(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()
    return "".join(f"-- {kind} {name} on {table}\n{sql};\n\n" for kind, name, table, sql in rows)


def test_sqlite_migrations_give_the_checked_in_schema(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    try:
        applied = migrate.sqlite_migrate(conn)
        assert [m.version for m in applied] == [m.version for m in migrate.migrations("sqlite")]
        assert migrate.sqlite_migrate(conn) == []
        status = migrate.sqlite_status(conn)
        assert status.up_to_date
        assert status.applied == tuple(m.version for m in applied)
    finally:
        conn.close()
    check_against_expected("sqlite.sql", sqlite_schema(tmp_path / "m.db"))


async def test_sqlite_store_adds_nothing_beyond_migrations(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    await store.open()
    await store.close()
    assert sqlite_schema(tmp_path / "s.db") == (EXPECTED / "sqlite.sql").read_text()


async def test_sqlite_stores_opening_at_once_migrate_once(tmp_path: Path) -> None:
    stores = [SqliteStore(tmp_path / "c.db") for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    for s in stores:
        await s.close()
    conn = sqlite3.connect(tmp_path / "c.db")
    try:
        assert migrate.sqlite_status(conn).up_to_date
        rows = conn.execute("SELECT count(*) FROM hookport_migrations").fetchone()
        assert rows[0] == len(migrate.migrations("sqlite"))
    finally:
        conn.close()


async def test_status_of_a_missing_sqlite_file_does_not_create_it(tmp_path: Path) -> None:
    from hookport.config import StoreSettings

    path = tmp_path / "absent.db"
    status = await migrate.status(StoreSettings(url=f"sqlite:///{path}"))
    assert not status.up_to_date
    assert status.applied == ()
    assert not path.exists()


def test_migrations_are_numbered_without_gaps() -> None:
    for backend in ("sqlite", "postgres"):
        versions = [m.version for m in migrate.migrations(backend)]
        assert versions == list(range(1, len(versions) + 1))
