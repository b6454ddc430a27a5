"""Named SQL queries, kept in ``queries/<backend>.sql`` and loaded lazily.

A file is a sequence of blocks, each introduced by a ``-- name: <query_name>`` line; the text
up to the next such line is the query. Blocks are read once per backend (``functools.cache``).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Literal, LiteralString

from hookport.errors import StoreError

Backend = Literal["sqlite", "postgres"]

_NAME_LINE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    """Split a ``.sql`` file into ``{name: query}``; text before the first name is ignored."""
    parts = _NAME_LINE.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise StoreError(f"query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


@functools.cache
def _load(backend: Backend) -> dict[str, str]:
    text = resources.files("hookport.store").joinpath("queries", f"{backend}.sql").read_text()
    return parse_queries(text)


def query(backend: Backend, name: str) -> LiteralString:
    """The query ``name`` of ``backend``; ``StoreError`` if there is no such block.

    Typed ``LiteralString``: the text comes from a file shipped with the package, never from
    user input.
    """
    try:
        return _load(backend)[name]
    except KeyError:
        raise StoreError(f"no query named {name!r} in queries/{backend}.sql") from None
