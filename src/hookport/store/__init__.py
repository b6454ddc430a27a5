"""Durable event storage: SQLite out of the box, PostgreSQL to scale out.

``open_store(settings)`` picks the backend from the URL scheme and returns an unopened
:class:`~hookport.store.base.Store`; ``await store.open()`` connects and migrates.
"""

from __future__ import annotations

from pathlib import Path

from hookport.config import StoreSettings
from hookport.store._url import parse_store_url
from hookport.store.base import EventFilter, Finish, LeaseRequest, Store, StoreObserver

__all__ = ["EventFilter", "Finish", "LeaseRequest", "Store", "open_store"]


def open_store(
    settings: StoreSettings,
    *,
    base_dir: Path | None = None,
    observer: StoreObserver | None = None,
) -> Store:
    """The store for ``settings.url`` (not yet opened).

    ``sqlite:///relative/path.db`` (relative to ``base_dir``, default the working directory),
    ``sqlite:////abs/path.db``, ``postgresql://...`` or ``postgres://...``. Any other scheme is
    a ``ConfigError``. ``observer`` is told of commits and failures (the app's metrics).
    """
    url = parse_store_url(settings.url, base_dir)
    if url.backend == "sqlite":
        from hookport.store.sqlite import SqliteStore

        return SqliteStore(
            url.path,
            synchronous=settings.synchronous,
            batch_max=settings.batch_max,
            queue_max=settings.queue_max,
            observer=observer,
        )
    from hookport.store.postgres import PostgresStore

    return PostgresStore(
        url.target,
        pool_size=settings.pool_size,
        batch_max=settings.batch_max,
        queue_max=settings.queue_max,
        observer=observer,
    )
