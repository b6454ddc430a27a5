"""Reading hooks files and holding the reloadable set of hooks they define.

A file is read as adnanh reads it: rendered first when ``template`` is on, then parsed with a
YAML parser whatever its extension (JSON is YAML; trailing commas in JSON objects are accepted,
``//`` comments are not). YAML is read with YAML 1.1 rules like go-yaml v2, except that dates stay
strings, as go-yaml 2017 (the one adnanh 2.8 vendors) leaves them. A ``.toml`` file is
hookport's own spelling: ``[[hooks]]`` tables with the same keys (``hookport hooks convert``).
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hookport.errors import ConfigError
from hookport.hooks.gotemplate import render_template
from hookport.hooks.model import Hook, parse_hooks
from hookport.hooks.verifiers import resolve_hook

__all__ = ["CONFIG_HOOKS", "HookSet", "read_hooks_file"]

CONFIG_HOOKS = "[[hooks]] in the config"
"""Where the hooks of the config's ``[[hooks]]`` tables come from, in messages."""

log = logging.getLogger("hookport.hooks")

_BASE_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE_LOADER):  # type: ignore[misc]
    """YAML 1.1 safe loading without the timestamp and ``=`` resolvers."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if not tag.endswith((":timestamp", ":value"))]
    for first, resolvers in _BASE_LOADER.yaml_implicit_resolvers.items()
}


def _decode_yaml(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"hooks file {where}: error converting YAML to JSON: {exc}") from None


def read_hooks_file(
    path: str | Path, *, template: bool = False, environ: Mapping[str, str] | None = None
) -> tuple[Hook, ...]:
    """Every hook in one file; ``ConfigError`` saying what is wrong and where."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"hooks file {str(file)!r}: {exc.strerror or exc}") from None
    text = raw.decode("utf-8", "replace")
    if template:
        text = render_template(text, environ if environ is not None else {})
    if file.suffix.lower() == ".toml":
        try:
            data: Any = tomllib.loads(text).get("hooks")
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"hooks file {str(file)!r} is not valid TOML: {exc}") from None
    else:
        data = _decode_yaml(text, repr(str(file)))
    try:
        secrets = os.environ if environ is None else environ
        return tuple(resolve_hook(hook, secrets) for hook in parse_hooks(data))
    except ConfigError as exc:
        raise ConfigError(f"hooks file {str(file)!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class _Loaded:
    path: str
    hooks: tuple[Hook, ...]


class HookSet:
    """The hooks of several files, looked up by id; :meth:`reload` swaps them atomically.

    Start-up is strict (a file that cannot be read, or an id defined twice, is a
    ``ConfigError``). A reload is forgiving, as adnanh's is: a file that fails keeps its
    previous hooks, and the reason is logged.
    """

    def __init__(
        self,
        files: Sequence[str | Path],
        *,
        template: bool = False,
        environ: Mapping[str, str] | None = None,
        inline: Sequence[Hook] = (),
    ) -> None:
        self.files = tuple(str(f) for f in files)
        self.template = template
        self.environ = dict(environ or {})
        loaded = [_Loaded(f, self._read(f)) for f in self.files]
        if inline:  # [[hooks]] of the config: read with the config, not reloaded with files
            loaded.insert(0, _Loaded(CONFIG_HOOKS, tuple(inline)))
        self._check_unique(loaded)
        self._loaded = tuple(loaded)
        self._index = self._build_index(self._loaded)

    def _read(self, path: str) -> tuple[Hook, ...]:
        return read_hooks_file(path, template=self.template, environ=self.environ)

    @staticmethod
    def _check_unique(loaded: Sequence[_Loaded]) -> None:
        seen: dict[str, str] = {}
        for item in loaded:
            for hook in item.hooks:
                if hook.id in seen:
                    raise ConfigError(
                        f"hook with the id {hook.id!r} is defined twice ({seen[hook.id]} and "
                        f"{item.path}); ids must be unique"
                    )
                seen[hook.id] = item.path

    @staticmethod
    def _build_index(loaded: Sequence[_Loaded]) -> dict[str, Hook]:
        index: dict[str, Hook] = {}
        for item in loaded:
            for hook in item.hooks:
                index.setdefault(hook.id, hook)
        return index

    def get(self, hook_id: str) -> Hook | None:
        """The hook with this id, or None."""
        return self._index.get(hook_id)

    @property
    def hooks(self) -> list[Hook]:
        """Every hook, in file order."""
        return [h for item in self._loaded for h in item.hooks]

    def reload(self) -> list[str]:
        """Re-read every file; returns one line per file saying what happened."""
        report: list[str] = []
        current = list(self._loaded)
        for i, item in enumerate(current):
            if item.path == CONFIG_HOOKS:
                continue
            try:
                hooks = self._read(item.path)
                trial = [*current[:i], _Loaded(item.path, hooks), *current[i + 1 :]]
                self._check_unique(trial)
            except ConfigError as exc:
                log.error("hooks not reloaded, keeping the previous ones: %s", exc)
                report.append(f"{item.path}: kept {len(item.hooks)} hook(s): {exc}")
                continue
            current = trial
            report.append(f"{item.path}: {len(hooks)} hook(s)")
        loaded = tuple(current)
        self._loaded, self._index = loaded, self._build_index(loaded)  # one swap per reload
        log.info("hooks reloaded: %s", "; ".join(report))
        return report
