"""Class-based plugins, for errbot's ``BotPlugin`` and invenio-webhooks' ``Receiver`` users.

Both are the function API underneath, not a second machinery:

- :class:`PluginClass`: methods marked with :func:`route`, :func:`webhook` or a
  :func:`receives` declaration's ``.on(...)`` only *record* marks. An instance's
  :attr:`~PluginClass.plugin` is an ordinary :class:`~hookport.plugin.Plugin`, built on first
  use, whose routes and receiver handlers are the instance's *bound* methods, so ``self`` is the
  instance (its state lives as long as the plugin). ``self.ctx``, ``self.settings``,
  ``self.send`` and ``self.log`` are those of the handler call running now (a context var set
  by :mod:`hookport.injection` around every call).
- :class:`~hookport.webhook_receiver.WebhookReceiver` (its own module): invenio's receiver
  shape, registered as an ordinary receiver or route.
"""

from __future__ import annotations

import logging
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from hookport.context import Context, HandlerLogger
from hookport.injection import current_call
from hookport.plugin import Plugin, SettingsT_co

F = TypeVar("F", bound=Callable[..., Any])

_MARKS = "__hookport_marks__"


@dataclass(frozen=True, slots=True)
class _Mark:
    kind: str  # "route" | "webhook" | "on"
    path: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    receiver: ReceiverDeclaration | None = None
    event_types: tuple[str, ...] = ()


def _marker(mark: _Mark) -> Callable[[F], F]:
    def decorator(func: F) -> F:
        marks: list[_Mark] = func.__dict__.setdefault(_MARKS, [])
        marks.append(mark)
        return func

    return decorator


def route(path: str, **options: Any) -> Callable[[F], F]:
    """Mark a :class:`PluginClass` method as a route: ``Plugin.route(path, **options)``."""
    return _marker(_Mark("route", path, options))


@typing.overload
def webhook(func: F, /) -> F: ...
@typing.overload
def webhook(path: str | None = None, /, **options: Any) -> Callable[[F], F]: ...
def webhook(path: str | Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """errbot's ``@webhook`` for :class:`PluginClass` methods: ``Plugin.webhook`` (bare:
    ``POST /<method name>/``, the payload first; ``form_param=``, ``raw=`` as in errbot)."""
    if callable(path):
        return _marker(_Mark("webhook"))(path)
    return _marker(_Mark("webhook", path, options))


class ReceiverDeclaration:
    """A receiver declared in a :class:`PluginClass` body: ``Plugin.receiver(path, **options)``.

    ``@decl.on("push")`` marks a method as a handler of it; ``@decl`` as a catch-all.
    """

    def __init__(self, path: str, options: Mapping[str, Any]) -> None:
        self.path = path
        self.options = dict(options)

    def on(self, *event_types: str) -> Callable[[F], F]:
        """Mark a method as a handler for ``event_types`` (none: every type)."""
        return _marker(_Mark("on", receiver=self, event_types=event_types or ("*",)))

    def __call__(self, func: F) -> F:
        return self.on("*")(func)

    def __repr__(self) -> str:
        return f"<receiver declaration {self.path!r}>"


def receives(path: str, **options: Any) -> ReceiverDeclaration:
    """Declare a receiver in a :class:`PluginClass` body (``github = receives("/github", ...)``);
    its handler methods are marked with ``@github.on(...)``.

    Named ``receives`` so that it does not collide with :class:`~hookport.plugin.Receiver` in
    ``from hookport import ...``.
    """
    return ReceiverDeclaration(path, options)


class PluginClass(Generic[SettingsT_co]):
    """Base of class-based plugins; ``class Bot(PluginClass[Settings], name="bot")``.

    Class keywords: ``name`` (default: the class name), ``description``, ``prefix``,
    ``channels``, ``templates``, ``settings`` (default: the type parameter, when it is a
    pydantic model). ``Bot().plugin`` is the plugin to load; a plugin module may also leave the
    instance itself at module level (``bot = Bot()``): discovery takes its ``plugin``.
    """

    _hookport_options: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(
        cls,
        *,
        name: str | None = None,
        description: str | None = None,
        prefix: str = "",
        channels: tuple[str, ...] | list[str] = (),
        templates: str | None = None,
        settings: type[BaseModel] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls._hookport_options = {
            "name": name or cls.__name__,
            "description": description if description is not None else _first_line(cls),
            "prefix": prefix,
            "channels": tuple(channels),
            "templates": templates,
            "settings": settings or _type_parameter(cls),
        }

    @property
    def plugin(self) -> Plugin[SettingsT_co]:
        """The :class:`~hookport.plugin.Plugin` of this instance, its methods bound."""
        built: Plugin[SettingsT_co] | None = self.__dict__.get("_hookport_plugin")
        if built is None:
            built = self.__dict__["_hookport_plugin"] = _build(self)
        return built

    @property
    def ctx(self) -> Context[SettingsT_co]:
        """The :class:`~hookport.context.Context` of the handler call running now."""
        values = current_call()
        found = values.get("ctx") if values is not None else None
        if not isinstance(found, Context):
            raise RuntimeError(
                f"{type(self).__name__}.ctx is only available while hookport runs one of its "
                "handlers (settings and send are per call)"
            )
        return found

    @property
    def settings(self) -> SettingsT_co:
        """The plugin's validated settings, as ``ctx.settings`` (inside a handler call)."""
        return self.ctx.settings

    @property
    def log(self) -> HandlerLogger:
        """The call's logger inside a handler call (bound to event, endpoint, handler), else
        the plugin's logger."""
        values = current_call()
        found = values.get("ctx") if values is not None else None
        if isinstance(found, Context):
            return found.log
        name = self._hookport_options.get("name", type(self).__name__)
        return logging.LoggerAdapter(logging.getLogger(f"hookport.plugin.{name}"), {})

    async def send(
        self, channel: str, message: str, *, title: str | None = None, to: str | None = None
    ) -> None:
        """``ctx.send`` of the running call: a notification through ``[channels]`` (``to``:
        the run-time target of a channel whose URL holds ``{to}``)."""
        await self.ctx.send(channel, message, title=title, to=to)


def _first_line(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def _type_parameter(cls: type) -> type[BaseModel] | None:
    for base in getattr(cls, "__orig_bases__", ()):
        if typing.get_origin(base) is PluginClass:
            args = typing.get_args(base)
            if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
                return args[0]
    return None


def _build(instance: PluginClass[Any]) -> Plugin[Any]:
    cls = type(instance)
    options = dict(cls._hookport_options or {"name": cls.__name__})
    plugin: Plugin[Any] = Plugin(options.pop("name"), **options)
    plugin.module_file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    members: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):  # subclasses override, declaration order is kept
        members.update(vars(klass))
    receivers = {
        id(value): plugin.receiver(value.path, **value.options)
        for value in members.values()
        if isinstance(value, ReceiverDeclaration)
    }
    for attr, value in members.items():
        for mark in getattr(value, _MARKS, ()):
            _register(plugin, receivers, mark, getattr(instance, attr))
    return plugin


def _register(
    plugin: Plugin[Any], receivers: Mapping[int, Any], mark: _Mark, bound: Callable[..., Any]
) -> None:
    if mark.kind == "route" and mark.path is not None:
        plugin.route(mark.path, **mark.options)(bound)
    elif mark.kind == "webhook":
        plugin.webhook(mark.path, **mark.options)(bound)
    else:
        target = receivers.get(id(mark.receiver))
        if target is None:
            where = getattr(bound, "__qualname__", bound)
            raise ValueError(
                f"{plugin.name}: {where} handles {mark.receiver!r}, which is not declared in "
                "this class"
            )
        target.on(*mark.event_types)(bound)
