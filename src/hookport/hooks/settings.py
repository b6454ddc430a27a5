"""From ``[hooks]`` settings (and the ``--hooks*`` options that override them) to an endpoint."""

from __future__ import annotations

from pathlib import Path

from hookport.config import Settings
from hookport.hooks.endpoint import HookOptions, HooksEndpoint

__all__ = ["hook_options", "hooks_endpoint"]


def hook_options(settings: Settings) -> HookOptions:
    """The options every hook shares, from ``[hooks]``."""
    h = settings.hooks
    methods = tuple(m for item in h.http_methods for m in item.replace(" ", "").split(",") if m)
    return HookOptions(
        prefix=h.prefix,
        template=h.template,
        http_methods=methods,
        response_headers=dict(h.response_headers),
        timeout=h.timeout,
        max_output=h.max_output,
        concurrency=h.concurrency,
    )


def hooks_endpoint(settings: Settings) -> HooksEndpoint | None:
    """The endpoint serving ``[hooks] files``, or None when there are none."""
    if not settings.hooks.files:
        return None
    files = [_resolve(f, settings.config_dir) for f in settings.hooks.files]
    return HooksEndpoint(files, hook_options(settings), environ=settings.environ)


def _resolve(path: str, base: Path) -> str:
    file = Path(path)
    if file.is_absolute() or (Path.cwd() / file).exists():
        return str(file)
    return str(base / file)
