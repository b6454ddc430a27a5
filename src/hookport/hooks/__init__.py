"""No-code hooks: adnanh/webhook's hooks files served by hookport, unchanged.

``hookport serve --hooks hooks.json`` serves every hook of the file at ``/hooks/{id}`` with
adnanh/webhook 2.8's answers (``docs/hooks.md`` lists every key and any difference). The file
becomes one ordinary plugin (:class:`HooksEndpoint`), built through the public API.

Modules: ``model`` (the hook definition), ``loading`` (files, templates, reloads), ``values``
and ``intake`` (request values), ``rules`` (trigger rules), ``command`` (running commands),
``endpoint`` (the route and its answers), ``gojson``/``gohttp``/``gotemplate`` (the Go
behaviour those answers depend on), ``convert`` (TOML), ``check`` (``hookport hooks check``).

``[[hooks]]`` in ``hookport.toml`` (docs/hooks.md, "Native hooks"): ``native`` (the tables
parsed), ``actions`` (native hooks as a plugin of receivers, one handler per action),
``forward`` (re-sending safely), ``notify_action`` (sandboxed message templates), ``filters``
(the rule language over stored events: ``filter`` and ``when=``), ``settings`` (both kinds of
hooks from the settings).
"""

from __future__ import annotations

from hookport.hooks.endpoint import HookOptions, HooksEndpoint, HooksPlugin
from hookport.hooks.loading import HookSet, read_hooks_file
from hookport.hooks.model import Hook

__all__ = ["Hook", "HookOptions", "HookSet", "HooksEndpoint", "HooksPlugin", "read_hooks_file"]
