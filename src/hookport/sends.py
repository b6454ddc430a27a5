"""The notification channels a handler's own source code sends to, found without running it.

``hookport check`` uses this to refuse ``ctx.send("dev", ...)`` when ``[channels]`` defines no
``dev``, and a send whose ``to=`` does not fit its channel (given for a channel without a
``{to}`` in its URL, missing for one with it): otherwise such a handler fails only when its
first event arrives, and keeps failing until the event is dead.

What it can know: calls written in the handler's own body (nested functions included) as
``ctx.send(...)`` on the handler's ``ctx`` parameter (or a parameter annotated ``Context``),
``self.send(...)`` / ``self.ctx.send(...)`` in class plugins, whose channel is a string literal,
or ``ctx.settings.NAME`` / ``self.settings.NAME`` with a string value in the plugin's settings.
What it cannot know: channels computed at run time (variables, f-strings, function results),
and sends in helper functions the handler calls. Those are reported as ``channel=None`` so a
caller can say that they were not checked.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ChannelSend:
    """One ``send`` call found in a handler: where it is and the channel, if it can be known."""

    channel: str | None
    file: str
    line: int
    targeted: bool = False
    """Whether the call passes ``to=`` (a run-time target)."""


def channel_sends(func: Callable[..., Any], settings: object = None) -> list[ChannelSend]:
    """The ``send`` calls in ``func``'s source, in source order (``[]`` without source).

    ``settings``: the plugin's validated settings, to resolve ``ctx.settings.NAME``.
    """
    func = inspect.unwrap(getattr(func, "__func__", func))
    try:
        source = inspect.getsource(func)
        file = inspect.getsourcefile(func) or "<unknown>"
        first = func.__code__.co_firstlineno
    except (OSError, TypeError, AttributeError):
        return []
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:  # a lambda's line, or source that does not parse alone
        return []
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return []
    contexts = _context_names(node)
    found = []
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and _is_send(call.func, contexts):
            channel = _channel(call, contexts, settings)
            targeted = any(k.arg == "to" for k in call.keywords)
            found.append(ChannelSend(channel, file, first + call.lineno - 1, targeted))
    return sorted(found, key=lambda s: s.line)


def _context_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    return {a.arg for a in args if a.arg == "ctx" or _annotated_context(a.annotation)}


def _annotated_context(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    text = ast.unparse(annotation)
    return text.split("[", 1)[0].rsplit(".", 1)[-1].strip("'\"") == "Context"


def _is_send(func: ast.expr, contexts: set[str]) -> bool:
    if not (isinstance(func, ast.Attribute) and func.attr == "send"):
        return False
    return _is_context(func.value, contexts)


def _is_context(value: ast.expr, contexts: set[str]) -> bool:
    """``ctx`` (a context parameter), ``self`` (a class plugin) or ``self.ctx``."""
    if isinstance(value, ast.Name):
        return value.id in contexts or value.id == "self"
    return (
        isinstance(value, ast.Attribute)
        and value.attr == "ctx"
        and isinstance(value.value, ast.Name)
        and value.value.id == "self"
    )


def _channel(call: ast.Call, contexts: set[str], settings: object) -> str | None:
    arg = call.args[0] if call.args else None
    for keyword in call.keywords:
        if keyword.arg == "channel":
            arg = keyword.value
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    # ctx.settings.NAME / self.settings.NAME: known when the settings hold a string there.
    if (
        isinstance(arg, ast.Attribute)
        and isinstance(arg.value, ast.Attribute)
        and arg.value.attr == "settings"
        and _is_context(arg.value.value, contexts)
        and settings is not None
    ):
        value = getattr(settings, arg.attr, None)
        return value if isinstance(value, str) else None
    return None
