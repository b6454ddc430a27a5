"""Notify templates: Jinja2's sandbox, lenient names, bounded output."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from hookport.errors import ConfigError
from hookport.hooks.notify_action import MessageTemplate

VALUES = {
    "payload": {"repository": {"full_name": "octo/app"}, "commits": [1, 2]},
    "hook": {"id": "h"},
}


def render(source: str) -> str:
    return MessageTemplate.parse(source, "test").render(VALUES)


def test_payload_fields_render_and_missing_ones_are_empty() -> None:
    assert render("{{ payload.repository.full_name }} pushed") == "octo/app pushed"
    assert render("[{{ payload.nope.deeper.still }}]") == "[]"
    assert render("{{ payload.commits | length }} items for {{ hook.id }}") == "2 items for h"


@pytest.mark.parametrize(
    "source",
    [
        "{{ payload.__class__ }}",
        "{{ payload.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__.__base__.__subclasses__() }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ payload.commits.append.__self__ }}",
        "{{ self._TemplateReference__context }}",
    ],
)
def test_attribute_escapes_are_blocked(source: str) -> None:
    with pytest.raises(SecurityError, match="access to attribute"):
        render(source)


def test_data_cannot_be_changed() -> None:
    with pytest.raises(SecurityError):
        render("{{ payload.commits.append(3) }}")


def test_output_is_bounded() -> None:
    assert len(render("{% for i in range(99999) %}{{ 'x' * 100 }}{% endfor %}")) == 16_000


def test_syntax_errors_name_where() -> None:
    with pytest.raises(
        ConfigError, match=r"^\[\[hooks\]\] 'x' message: template syntax error on line 2"
    ):
        MessageTemplate.parse("ok\n{{ broken ", "[[hooks]] 'x' message")
