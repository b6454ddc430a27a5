"""The part of Go's ``text/template`` that adnanh's ``-template`` hooks files use.

Supported: actions ``{{ F "arg" }}`` and pipelines ``{{ F "arg" | js }}`` where ``F`` is
``getenv``, ``cat`` or ``credential`` (adnanh's functions) and the pipe stages are ``js``,
``html``, ``urlquery`` or ``print`` (Go's built-ins); a bare string literal ``{{ "x" }}``;
comments ``{{/* ... */}}``; trim markers ``{{-`` and ``-}}``. String literals are Go's:
``"..."`` with escapes, or raw ```...```. Anything else (variables, ``if``, ``range``, other
functions) is a ``ConfigError`` that names the action, not a silent difference.

Rendering does no evaluation of code; ``cat`` reads files the hooks file names, as adnanh does.
"""

from __future__ import annotations

import ast
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote_plus

from hookport.errors import ConfigError

__all__ = ["render_template"]

_ACTION = re.compile(r"{{(-\s)?(.*?)(\s-)?}}", re.S)
_TOKEN = re.compile(r'\s*(?:("(?:[^"\\\n]|\\.)*")|(`[^`]*`)|(\|)|([A-Za-z_][A-Za-z0-9_]*))', re.S)


def _printable(ch: str) -> bool:
    # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and U+0020.
    return unicodedata.category(ch)[0] in "LMNPS"


def _js(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=" or ch < " " or (ord(ch) >= 0x80 and not _printable(ch)):
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _html(text: str) -> str:
    table = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}
    return "".join(table.get(ch, ch) for ch in text)


def _functions(environ: Mapping[str, str]) -> dict[str, Callable[..., str]]:
    def getenv(name: str) -> str:
        return environ.get(name, "")

    def cat(path: str) -> str:
        try:
            return Path(path).read_text("utf-8", "replace").removesuffix("\n")
        except OSError:
            return ""

    def credential(name: str) -> str:
        folder = environ.get("CREDENTIALS_DIRECTORY", "")
        return cat(os.path.join(folder, name)) if folder else getenv(name)

    def urlquery(*args: str) -> str:
        return quote_plus("".join(args))

    return {
        "getenv": getenv,
        "cat": cat,
        "credential": credential,
        "js": lambda *a: _js("".join(a)),
        "html": lambda *a: _html("".join(a)),
        "urlquery": urlquery,
        "print": lambda *a: "".join(a),
    }


def _literal(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    try:
        value = ast.literal_eval(token)  # Go's and Python's double-quoted escapes agree here
    except (ValueError, SyntaxError):
        raise ConfigError(f"invalid string literal {token}") from None
    if not isinstance(value, str):
        raise ConfigError(f"invalid string literal {token}")
    return value


def _commands(body: str, action: str) -> list[list[tuple[str, str]]]:
    """The pipeline's commands, each a list of ('name' | 'str', text) tokens."""
    commands: list[list[tuple[str, str]]] = [[]]
    pos = 0
    while pos < len(body.rstrip()):
        found = _TOKEN.match(body, pos)
        if found is None:
            raise ConfigError(f"unsupported template action {action!r}")
        pos = found.end()
        quoted, raw, pipe, name = found.groups()
        if pipe:
            commands.append([])
        elif name:
            commands[-1].append(("name", name))
        else:
            commands[-1].append(("str", _literal(quoted or raw)))
    if any(not command for command in commands):
        raise ConfigError(f"empty command in template action {action!r}")
    return commands


def _evaluate(body: str, action: str, functions: Mapping[str, Callable[..., str]]) -> str:
    value: str | None = None
    for command in _commands(body, action):
        kind, head = command[0]
        args = [text for k, text in command[1:] if k == "str"]
        if len(args) != len(command) - 1:
            raise ConfigError(f"unsupported template action {action!r}: only string arguments")
        if kind == "str":
            if len(command) > 1 or value is not None:
                raise ConfigError(f"unsupported template action {action!r}")
            value = head
            continue
        func = functions.get(head)
        if func is None:
            raise ConfigError(f'function "{head}" not defined (in {action!r})')
        if value is not None:
            args.append(value)
        try:
            value = func(*args)
        except TypeError:
            raise ConfigError(f"wrong number of arguments for {head} in {action!r}") from None
    return value or ""


def render_template(text: str, environ: Mapping[str, str]) -> str:
    """Render a ``-template`` hooks file; ``ConfigError`` for what is not supported."""
    functions = _functions(environ)
    out: list[str] = []
    pos = 0
    for found in _ACTION.finditer(text):
        before = text[pos : found.start()]
        if found.group(1):
            before = before.rstrip(" \t\r\n")
        out.append(before)
        action = found.group(0)
        body = found.group(2).strip()
        if not (body.startswith("/*") and body.endswith("*/")):
            out.append(_evaluate(body, action, functions))
        pos = found.end()
        if found.group(3):
            rest = text[pos:]
            pos += len(rest) - len(rest.lstrip(" \t\r\n"))
    tail = text[pos:]
    if "{{" in tail:
        raise ConfigError("unclosed template action")
    out.append(tail)
    return "".join(out)
