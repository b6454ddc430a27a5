"""open_store: the backend comes from the URL scheme."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookport.config import StoreSettings
from hookport.errors import ConfigError
from hookport.store import open_store
from hookport.store._url import parse_store_url
from hookport.store.sqlite import SqliteStore


def test_sqlite_relative_and_absolute_paths(tmp_path: Path) -> None:
    assert parse_store_url("sqlite:///data/h.db").path == Path("data/h.db")
    assert parse_store_url("sqlite:///./h.db", base_dir=tmp_path).path == tmp_path / "h.db"
    assert parse_store_url("sqlite:////var/lib/h.db", base_dir=tmp_path).path == Path(
        "/var/lib/h.db"
    )
    store = open_store(StoreSettings(url=f"sqlite:///{tmp_path}/x.db", synchronous="normal"))
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / "x.db"


@pytest.mark.parametrize(
    "url", ["postgresql://u@db/h", "postgres://u:pw@db:5433/h?sslmode=disable"]
)
def test_postgres_urls(url: str) -> None:
    parsed = parse_store_url(url)
    assert (parsed.backend, parsed.target) == ("postgres", url)


@pytest.mark.parametrize(
    "url", ["mysql://u@db/h", "hookport.db", "sqlite://h.db", "sqlite:///:memory:"]
)
def test_unsupported_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_store(StoreSettings(url=url))
    assert "pw" not in str(info.value)
