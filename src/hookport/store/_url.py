"""Store URLs: which backend, and where."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hookport.errors import ConfigError
from hookport.store._queries import Backend


@dataclass(frozen=True, slots=True)
class StoreURL:
    """A parsed ``[store] url``: the backend and its target (a file path or a DSN)."""

    backend: Backend
    target: str

    @property
    def path(self) -> Path:
        """The SQLite database file."""
        return Path(self.target)


def parse_store_url(url: str, base_dir: Path | None = None) -> StoreURL:
    """Parse ``sqlite:///relative.db``, ``sqlite:////abs.db`` or ``postgresql://...``.

    Relative SQLite paths resolve against ``base_dir`` (default: the working directory).
    An unknown scheme is a ``ConfigError``.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        prefix = "sqlite:///"
        path = url[len(prefix) :].split("?", 1)[0] if url.lower().startswith(prefix) else ""
        if not path or path == ":memory:":
            raise ConfigError(f"store url {url!r}: use sqlite:///relative.db or sqlite:////abs.db")
        resolved = Path(path)
        if not resolved.is_absolute() and base_dir is not None:
            resolved = base_dir / resolved
        return StoreURL("sqlite", str(resolved))
    if scheme in ("postgresql", "postgres"):
        return StoreURL("postgres", url)
    shown = scheme or url.split(":", 1)[0]
    raise ConfigError(
        f"store url scheme {shown!r} is not supported: use sqlite:///path.db or postgresql://..."
    )
