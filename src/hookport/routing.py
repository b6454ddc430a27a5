"""The route table: path templates and regular expressions compiled once, matched three ways.

Which syntax a path uses is decided by what it contains (``docs/plugins.md``, "Paths"):

- a **regular expression** if it starts with ``^``, ends with ``$``, or contains a backslash
  or any of ``( ) [ ] * + ? |`` (helga's ``r'/foo/(?P<bar>[0-9]+)'``). Named groups become
  parameters; a capturing group without a name is an error (use ``(?:...)`` to group only).
- else a **template** if it contains ``{`` or ``<``: hookport's ``/x/{name}``, ``/x/{id:int}``,
  ``/x/{rest:path}`` (also ``:str``, ``:float``, ``:uuid``), or Flask/werkzeug's ``/x/<name>``,
  ``/x/<int:id>``, ``/x/<path:rest>`` (also ``string``, ``float``, ``uuid``) as errbot writes
  them, each with its own converters' meaning. One path uses one of the two.
- else a **static** path, matched exactly. ``.`` and ``-`` are literal.

Anything else ambiguous (an unbalanced brace, an unknown converter, a parameter twice, two
syntaxes mixed) is a ``ValueError`` here and a ``PluginError`` naming the plugin and the path at
assembly: a path is never silently taken literally. Every pattern must match the whole path.

Precedence is deterministic and shown by ``hookport routes``: static paths first (exact lookup),
then templates with more static segments before fewer, then regular expressions; ties keep
declaration order. Two endpoints claiming the same pattern and method are rejected at assembly.
A request whose path differs from a declared one only by a trailing slash (``/test`` vs
``/test/``) is served by that endpoint, unless the other form is declared too.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from hookport.errors import PluginError
from hookport.plugin import ANY_METHOD

T = TypeVar("T")

PathKind = Literal["static", "template", "regex"]

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_Converter = tuple[str, Callable[[str], Any]]
# Each syntax keeps its own converters' meaning, so a path ported from Flask matches as it did.
_HOOKPORT_CONVERTERS: dict[str, _Converter] = {
    "str": (r"[^/]+", str),
    "int": (r"[0-9]+", int),
    "float": (r"[0-9]+(?:\.[0-9]+)?", float),
    "path": (r".*", str),
    "uuid": (_UUID, uuid.UUID),
}
_FLASK_CONVERTERS: dict[str, _Converter] = {
    "default": (r"[^/]+", str),
    "string": (r"[^/]+", str),
    "int": (r"[0-9]+", int),
    "float": (r"[0-9]+\.[0-9]+", float),
    "path": (r"[^/].*", str),
    "uuid": (_UUID, uuid.UUID),
}
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_HOOKPORT_PARAM = re.compile(r"\{(" + _NAME + r")(?::([A-Za-z_]+))?\}")
_FLASK_PARAM = re.compile(r"<(?:([A-Za-z_]+):)?(" + _NAME + r")>")
_REGEX_CHARS = frozenset("\\()[]*+?|")
# In a regular expression: a {name} that is not a quantifier, a <name> not part of (?P<name>.
_TEMPLATE_IN_REGEX = re.compile(r"\{" + _NAME + r"(?::[A-Za-z_]+)?\}")
_FLASK_ARGS = re.compile(r"<[A-Za-z_]+\([^)]*\):" + _NAME + ">")
_FLASK_IN_REGEX = re.compile(r"(?<!\(\?P)(?<!\(\?)<(?:[A-Za-z_]+:)?" + _NAME + ">")


class Match(enum.Enum):
    """How a request matched the table."""

    NONE = "none"  # no endpoint has this path: 404
    PARTIAL = "partial"  # the path exists, not with this method: 405 + Allow
    FULL = "full"


@dataclass(frozen=True, slots=True)
class CompiledPath:
    """A path template or regular expression compiled to an anchored pattern.

    ``example``: the path with each parameter as ``{name}`` (what ``hookport routes --urls``
    shows); None for a regular expression, which is shown as its pattern.
    """

    source: str
    regex: re.Pattern[str] | None  # None for a static path
    converters: dict[str, Callable[[str], Any]]
    static_segments: int
    kind: PathKind
    param_names: tuple[str, ...]
    example: str | None = None

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


def path_kind(path: str) -> PathKind:
    """Which syntax ``path`` is written in (the detection rule of the module docstring)."""
    if path.startswith("^") or path.endswith("$") or not _REGEX_CHARS.isdisjoint(path):
        return "regex"
    if not frozenset("{}<>").isdisjoint(path):
        return "template"
    return "static"


def compile_path(path: str) -> CompiledPath:
    """Compile a static path, a template or a regular expression; ``ValueError`` explains a
    bad one."""
    kind = path_kind(path)
    if kind == "regex":
        return _compile_regex(path)
    if not path.startswith("/"):
        raise ValueError(f"path {path!r} must start with '/' (or '^' for a regular expression)")
    if kind == "static":
        return CompiledPath(path, None, {}, path.count("/"), "static", (), path)
    return _compile_template(path)


def _compile_regex(path: str) -> CompiledPath:
    body = path.removeprefix("^")
    if not body.startswith(("/", "(")):
        raise ValueError(
            f"regular expression {path!r} must begin with '/' (after an optional '^'): "
            "a request path always does"
        )
    if _FLASK_ARGS.search(path):
        raise ValueError(
            f"path {path!r}: werkzeug converter arguments are not supported; write a regular "
            r"expression instead, e.g. (?P<x>-?[0-9]+) for <int(signed=True):x>"
        )
    for pattern, syntax in ((_TEMPLATE_IN_REGEX, "{name}"), (_FLASK_IN_REGEX, "<name>")):
        found = pattern.search(path)
        if found:
            raise ValueError(
                f"path {path!r} mixes a regular expression with a {syntax} parameter "
                f"({found.group()}); use (?P<name>...) groups in a regular expression"
            )
    try:
        regex = re.compile(path)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {path!r}: {exc}") from None
    if regex.groups != len(regex.groupindex):
        raise ValueError(
            f"regular expression {path!r} has a group without a name; name it "
            "(?P<name>...) to pass it to the handler, or write (?:...) to group only"
        )
    return CompiledPath(path, regex, {}, 0, "regex", tuple(regex.groupindex))


def _compile_template(path: str) -> CompiledPath:
    hookport = list(_HOOKPORT_PARAM.finditer(path))
    flask = list(_FLASK_PARAM.finditer(path))
    if hookport and flask:
        raise ValueError(
            f"path {path!r} mixes {{name}} and <name> parameters; use one syntax per path"
        )
    found = flask or hookport
    table = _FLASK_CONVERTERS if flask else _HOOKPORT_CONVERTERS
    syntax = "<conv:name>" if flask else "{name:conv}"
    pattern, example, converters, pos = "", "", {}, 0
    for param in found:
        conv, name = (param.group(1), param.group(2)) if flask else (param.group(2), param.group(1))
        conv = conv or ("default" if flask else "str")
        if conv not in table:
            known = ", ".join(c for c in table if c != "default")
            raise ValueError(f"path {path!r}: unknown converter {conv!r} in {syntax} (use {known})")
        if name in converters:
            raise ValueError(f"path {path!r}: parameter {name!r} appears twice")
        literal = path[pos : param.start()]
        _check_literal(path, literal)
        regex_part, converters[name] = table[conv]
        pattern += re.escape(literal) + f"(?P<{name}>{regex_part})"
        example += literal + "{" + name + "}"
        pos = param.end()
    _check_literal(path, path[pos:])
    pattern += re.escape(path[pos:])
    example += path[pos:]
    static = sum(1 for seg in example.split("/") if seg and "{" not in seg)
    names = tuple(converters)
    return CompiledPath(path, re.compile(pattern), converters, static, "template", names, example)


def _check_literal(path: str, text: str) -> None:
    """Text between parameters must hold no brace: what is left is a malformed parameter."""
    if not frozenset("{}<>").isdisjoint(text):
        raise ValueError(
            f"path {path!r} has a malformed or unbalanced parameter near {text!r}: write "
            "{name}, {name:int}, {name:path} or <name>, <int:name>, <path:name>"
        )


def join_prefix(prefix: str, path: str) -> str:
    """``path`` under a plugin's static ``prefix``, in ``path``'s own syntax."""
    if not prefix:
        return path
    if path_kind(path) == "regex":
        return "^" + re.escape(prefix) + path.removeprefix("^")
    return prefix + path


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    """One endpoint in the table; ``methods`` may be ``{"*"}`` (every method)."""

    compiled: CompiledPath
    methods: frozenset[str]
    target: T
    order: int

    def accepts(self, method: str) -> bool:
        """True if a request with ``method`` is this endpoint's (HEAD goes where GET does)."""
        return (
            ANY_METHOD in self.methods
            or method in self.methods
            or (method == "HEAD" and "GET" in self.methods)
        )


@dataclass(frozen=True, slots=True)
class RouteMatch(Generic[T]):
    """The result of :meth:`RouteTable.match`.

    For PARTIAL, ``allow`` lists the path's methods, with HEAD where GET is and OPTIONS
    (which hookport answers itself when no endpoint declares it).
    """

    kind: Match
    target: T | None = None
    params: dict[str, Any] = field(default_factory=dict)
    allow: tuple[str, ...] = ()


class RouteTable(Generic[T]):
    """An immutable table of endpoints, built once at assembly."""

    def __init__(self, entries: Iterable[tuple[str, Sequence[str], T, str]]) -> None:
        """``entries``: (path, methods, target, owner) — owner names the plugin in errors."""
        ordered: list[Entry[T]] = []
        seen: dict[str, dict[str, str]] = {}
        for order, (path, methods, target, owner) in enumerate(entries):
            try:
                compiled = compile_path(path)
            except ValueError as exc:
                raise PluginError(owner, str(exc)) from None
            _claim(seen, path, methods, owner)
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
        """FULL with target and params, PARTIAL with the allowed methods, or NONE.

        A path that matches nothing is tried once more as its trailing-slash twin (``/a/`` for
        ``/a`` and back): senders rarely follow redirects, so the twin is served, not
        redirected (``docs/plugins.md``).
        """
        found = self._match(method, path)
        if found.kind is Match.NONE and path != "/":
            twin = path[:-1] if path.endswith("/") else path + "/"
            found = self._match(method, twin)
        return found

    def _match(self, method: str, path: str) -> RouteMatch[T]:
        allow: set[str] = set()
        for entry in self._static.get(path, ()):
            if entry.accepts(method):
                return RouteMatch(Match.FULL, entry.target, {})
            allow |= entry.methods
        for entry in self._dynamic:
            params = entry.compiled.match(path)
            if params is None:
                continue
            if entry.accepts(method):
                return RouteMatch(Match.FULL, entry.target, params)
            allow |= entry.methods
        if allow:
            allow.add("OPTIONS")
            if "GET" in allow:
                allow.add("HEAD")
            return RouteMatch(Match.PARTIAL, allow=tuple(sorted(allow)))
        return RouteMatch(Match.NONE)


def _claim(seen: dict[str, dict[str, str]], path: str, methods: Sequence[str], owner: str) -> None:
    """Refuse a (path, method) pair that is already declared; ``*`` overlaps every method."""
    declared = seen.setdefault(path, {})
    for method in methods:
        if method in declared:
            raise PluginError(
                owner, f"{method} {path} is already declared by plugin {declared[method]!r}"
            )
        clash = next(iter(declared), None) if method == ANY_METHOD else ANY_METHOD
        if clash in declared:
            raise PluginError(
                owner,
                f"{method} {path} overlaps {clash} {path}, already declared by plugin "
                f"{declared[clash]!r} ('*' is every method)",
            )
    declared.update(dict.fromkeys(methods, owner))


def _precedence(entry: Entry[Any]) -> tuple[int, int, int]:
    kind_rank = 0 if entry.compiled.kind == "template" else 1
    return (kind_rank, -entry.compiled.static_segments, entry.order)
