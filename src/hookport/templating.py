"""Templates for route responses: ``template(name, **vars)`` renders from the plugin's folder.

``template()`` returns an inert :class:`TemplateResponse`; the app renders it with the Jinja2
environment of the plugin whose route returned it. Environments are built at assembly (not at
import) and autoescape HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from hookport.errors import PluginError
from hookport.http import Response


class TemplateResponse:
    """A template to render as the HTML answer of a route."""

    __slots__ = ("headers", "name", "status", "variables")

    def __init__(
        self,
        name: str,
        variables: dict[str, Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.variables = variables
        self.status = status
        self.headers = headers or {}


def template(name: str, /, **variables: Any) -> TemplateResponse:
    """Render ``templates/<name>`` of the calling plugin as an HTML response."""
    return TemplateResponse(name, variables)


def plugin_template_dir(module_file: str | None, explicit: str | None) -> Path | None:
    """The plugin's template folder: ``explicit``, or ``templates/`` beside its module."""
    if explicit:
        base = Path(module_file).parent if module_file else Path.cwd()
        return (base / explicit).resolve()
    if module_file:
        return Path(module_file).parent / "templates"
    return None


def build_environment(plugin: str, folder: Path | None) -> jinja2.Environment:
    """A sandboxed-by-folder, autoescaping environment for one plugin."""
    loader: jinja2.BaseLoader
    loader = jinja2.FileSystemLoader(str(folder)) if folder else jinja2.DictLoader({})
    return jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        enable_async=False,
    )


def render(env: jinja2.Environment, plugin: str, response: TemplateResponse) -> bytes:
    """Render ``response`` with ``env``; a missing template is a ``PluginError``."""
    try:
        tmpl = env.get_template(response.name)
    except jinja2.TemplateNotFound:
        raise PluginError(plugin, f"template {response.name!r} not found") from None
    return tmpl.render(**response.variables).encode("utf-8")


def html_renderer(env: jinja2.Environment | None, plugin: str) -> Callable[[Any], Response | None]:
    """For :func:`hookport.http.to_response`: a :class:`TemplateResponse` rendered with ``env``
    as an HTML :class:`Response`; None for any other value."""

    def convert(value: Any) -> Response | None:
        if not isinstance(value, TemplateResponse):
            return None
        if env is None:  # assembly gives every plugin with routes an environment
            raise RuntimeError(f"plugin {plugin!r} returned a template but has no environment")
        body = render(env, plugin, value)
        return Response(body, value.status, value.headers, "text/html; charset=utf-8")

    return convert
