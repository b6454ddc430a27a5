"""``notify``: a message rendered from the stored event, sent through a ``[channels]`` channel.

Templates are Jinja2 in its *immutable sandbox*: a template may read the event but not reach
Python's internals (``__class__``, ``__globals__``, ``mro()``: a ``SecurityError``), call
methods that change data, or build ranges beyond the sandbox's limit. Rendering stops at
``_MAX_MESSAGE`` characters. A name that is not in the event renders as nothing
(``{{ payload.missing.key }}`` is empty), so a field a sender leaves out does not fail the hook.

What a template sees (:func:`template_values`): ``payload`` (the body as a hook's rules read it:
JSON, form fields or XML), ``headers`` (first value of each, Go's canonical names, e.g.
``headers["X-Github-Event"]``), ``query``, ``event`` (``id``, ``type``, ``delivery_id``,
``received_at``, ``source_ip``, ``method``, ``path``, ``attempt``), ``hook`` (its id) and
``body`` (the raw body as text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hookport.errors import ConfigError
from hookport.events import Event
from hookport.hooks.filters import request_of

__all__ = ["MessageTemplate", "template_values"]

_MAX_MESSAGE = 16_000
"""The longest message a template renders (Apprise services cap far lower anyway)."""


class _StrictSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, where an unsafe attribute fails the render instead of rendering
    as nothing: an escape attempt is an error to see, not a silent blank."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        raise SecurityError(
            f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed"
        )


def _environment() -> jinja2.Environment:
    return _StrictSandbox(
        autoescape=False,  # plain-text messages, not HTML
        undefined=jinja2.ChainableUndefined,
        keep_trailing_newline=False,
    )


def template_values(event: Event, hook_id: str) -> dict[str, Any]:
    """The names a message template may use, for ``event`` of hook ``hook_id``."""
    req = request_of(event)
    return {
        "payload": req.payload if req.payload is not None else {},
        "headers": req.headers,
        "query": req.query,
        "body": event.text if event.body else "",
        "hook": {"id": hook_id},
        "event": {
            "id": event.id,
            "type": event.type,
            "delivery_id": event.delivery_id,
            "received_at": event.received_at,
            "source_ip": event.source_ip,
            "method": event.method,
            "path": event.path,
            "attempt": event.attempt,
        },
    }


@dataclass(frozen=True)
class MessageTemplate:
    """A compiled message (and optional title) template; :meth:`parse` checks the syntax."""

    source: str
    template: jinja2.Template

    @classmethod
    def parse(cls, source: str, where: str) -> MessageTemplate:
        """Compile ``source``; a syntax error is a ``ConfigError`` naming ``where`` and the line."""
        try:
            return cls(source, _environment().from_string(source))
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"{where}: template syntax error on line {exc.lineno}: {exc.message}"
            ) from None

    def render(self, values: dict[str, Any]) -> str:
        """The message; ``SecurityError`` for a sandbox escape, ``TemplateError`` otherwise."""
        out: list[str] = []
        size = 0
        for piece in self.template.generate(**values):
            out.append(piece[: _MAX_MESSAGE - size])
            size += len(out[-1])
            if size >= _MAX_MESSAGE:
                break
        return "".join(out)
