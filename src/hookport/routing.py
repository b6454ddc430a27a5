"""The route table: path templates and regular expressions compiled once, matched three ways.

Templates: ``/x/{name}`` (one segment), ``/x/{id:int}`` (digits, passed as ``int``),
``/x/{rest:path}`` (the rest, slashes included). A path starting with ``^`` is a full regular
expression whose named groups become parameters. Every pattern is anchored at both ends.

Precedence is deterministic and shown by ``hookport routes``: static paths first (exact lookup),
then templates with more static segments before fewer, then regular expressions; ties keep
declaration order. Two endpoints claiming the same pattern and method are rejected at assembly.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hookport.errors import PluginError

T = TypeVar("T")

_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?}")
_CONVERTERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "str": (r"[^/]+", str),
    "int": (r"[0-9]+", int),
    "path": (r".*", str),
}


class Match(enum.Enum):
    """How a request matched the table."""

    NONE = "none"  # no endpoint has this path: 404
    PARTIAL = "partial"  # the path exists, not with this method: 405 + Allow
    FULL = "full"


@dataclass(frozen=True, slots=True)
class CompiledPath:
    """A path template or regular expression compiled to an anchored pattern."""

    source: str
    regex: re.Pattern[str] | None  # None for a static path
    converters: dict[str, Callable[[str], Any]]
    static_segments: int
    kind: str  # "static" | "template" | "regex"
    param_names: tuple[str, ...]

    def match(self, path: str) -> dict[str, Any] | None:
        """The parameters if ``path`` matches, else None."""
        if self.regex is None:
            return {} if path == self.source else None
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        params: dict[str, Any] = {}
        for name, value in found.groupdict().items():
            if value is not None:
                params[name] = self.converters.get(name, str)(value)
        return params


def compile_path(path: str) -> CompiledPath:
    """Compile a template or ``^regex``; ``ValueError`` explains a bad one."""
    if path.startswith("^"):
        try:
            regex = re.compile(path[1:].removesuffix("$") if path.endswith("$") else path[1:])
        except re.error as exc:
            raise ValueError(f"invalid regular expression {path!r}: {exc}") from None
        return CompiledPath(path, regex, {}, 0, "regex", tuple(regex.groupindex))
    if not path.startswith("/"):
        raise ValueError(f"path {path!r} must start with '/' (or '^' for a regular expression)")
    if "{" not in path:
        if "}" in path:
            raise ValueError(f"path {path!r} has an unmatched '}}'")
        return CompiledPath(path, None, {}, path.count("/"), "static", ())
    pattern, converters, names, pos = "", {}, [], 0
    for found in _PARAM.finditer(path):
        name, conv = found.group(1), found.group(2) or "str"
        if conv not in _CONVERTERS:
            raise ValueError(f"path {path!r}: unknown converter {conv!r} (use str, int or path)")
        if name in converters:
            raise ValueError(f"path {path!r}: parameter {name!r} appears twice")
        regex_part, converter = _CONVERTERS[conv]
        pattern += re.escape(path[pos : found.start()]) + f"(?P<{name}>{regex_part})"
        converters[name] = converter
        names.append(name)
        pos = found.end()
    tail = path[pos:]
    if "{" in tail or "}" in tail or "{" in _PARAM.sub("", path):
        raise ValueError(f"path {path!r} has a malformed '{{...}}' parameter")
    pattern += re.escape(tail)
    static = sum(1 for seg in path.split("/") if seg and "{" not in seg)
    return CompiledPath(path, re.compile(pattern), converters, static, "template", tuple(names))


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    """One endpoint in the table."""

    compiled: CompiledPath
    methods: frozenset[str]
    target: T
    order: int


@dataclass(frozen=True, slots=True)
class RouteMatch(Generic[T]):
    """The result of :meth:`RouteTable.match`."""

    kind: Match
    target: T | None = None
    params: dict[str, Any] = field(default_factory=dict)
    allow: tuple[str, ...] = ()


class RouteTable(Generic[T]):
    """An immutable table of endpoints, built once at assembly."""

    def __init__(self, entries: Iterable[tuple[str, Sequence[str], T, str]]) -> None:
        """``entries``: (path, methods, target, owner) — owner names the plugin in errors."""
        ordered: list[Entry[T]] = []
        seen: dict[tuple[str, str], str] = {}
        for order, (path, methods, target, owner) in enumerate(entries):
            try:
                compiled = compile_path(path)
            except ValueError as exc:
                raise PluginError(owner, str(exc)) from None
            for method in methods:
                key = (path, method)
                if key in seen:
                    raise PluginError(
                        owner,
                        f"{method} {path} is already declared by plugin {seen[key]!r}",
                    )
                seen[key] = owner
            ordered.append(Entry(compiled, frozenset(methods), target, order))
        self._static: dict[str, list[Entry[T]]] = {}
        dynamic: list[Entry[T]] = []
        for entry in ordered:
            if entry.compiled.kind == "static":
                self._static.setdefault(entry.compiled.source, []).append(entry)
            else:
                dynamic.append(entry)
        dynamic.sort(key=_precedence)
        self._dynamic = tuple(dynamic)
        self._entries = tuple([e for es in self._static.values() for e in es] + list(self._dynamic))

    @property
    def entries(self) -> tuple[Entry[T], ...]:
        """Every endpoint in match precedence."""
        return self._entries

    def match(self, method: str, path: str) -> RouteMatch[T]:
        """FULL with target and params, PARTIAL with the allowed methods, or NONE."""
        allow: set[str] = set()
        for entry in self._static.get(path, ()):
            if method in entry.methods or (method == "HEAD" and "GET" in entry.methods):
                return RouteMatch(Match.FULL, entry.target, {})
            allow |= entry.methods
        for entry in self._dynamic:
            params = entry.compiled.match(path)
            if params is None:
                continue
            if method in entry.methods or (method == "HEAD" and "GET" in entry.methods):
                return RouteMatch(Match.FULL, entry.target, params)
            allow |= entry.methods
        if allow:
            if "GET" in allow:
                allow.add("HEAD")
            return RouteMatch(Match.PARTIAL, allow=tuple(sorted(allow)))
        return RouteMatch(Match.NONE)


def _precedence(entry: Entry[Any]) -> tuple[int, int, int]:
    kind_rank = 0 if entry.compiled.kind == "template" else 1
    return (kind_rank, -entry.compiled.static_segments, entry.order)
