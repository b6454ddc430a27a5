"""Handler calls: parameters injected by name, sync handlers on a thread lane, async ones awaited.

A :class:`CallPlan` is prepared once at assembly (where an unknown parameter is a
``PluginError`` naming the plugin and the signature) and used for every call.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from hookport.errors import HandlerTimeout, PluginError
from hookport.threads import ThreadLane

_CALL: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "hookport_handler_call", default=None
)


def current_call() -> Mapping[str, Any] | None:
    """The values injected into the handler call running now (``ctx``, ``request`` or
    ``event``, path parameters), or None outside a handler call.

    This is how a class-based plugin's ``self.ctx`` finds its call's context: the instance is
    shared by every call, the context var is per call (and per thread, copied into the thread
    of a sync handler).
    """
    return _CALL.get()


@dataclass(frozen=True, slots=True)
class CallPlan:
    """How to call one handler: which named values it takes, and whether it is a coroutine."""

    func: Callable[..., Any]
    names: tuple[str, ...]
    is_async: bool

    async def call(
        self,
        values: Mapping[str, Any],
        *,
        threads: ThreadLane,
        timeout: float | None = None,  # noqa: ASYNC109 - the handler's own run time
        log_fields: Mapping[str, object] | None = None,
    ) -> Any:
        """Call the handler with the values it asks for; sync handlers run on ``threads``.

        ``timeout`` bounds the handler's own run (for a sync handler, from the moment its
        thread starts it): past it, :class:`~hookport.errors.HandlerTimeout`. ``log_fields``:
        what the thread lane's log lines about this call carry (its event, endpoint, handler).
        """
        kwargs = {name: values[name] for name in self.names}
        token = _CALL.set(values)
        try:
            if not self.is_async:
                run = functools.partial(contextvars.copy_context().run, self.func)
                return await threads.run(
                    run, kwargs, timeout=timeout, label=_label(self.func), fields=log_fields
                )
            deadline = asyncio.timeout(timeout)
            try:
                async with deadline:
                    return await self.func(**kwargs)
            except TimeoutError:
                if not deadline.expired():
                    raise  # the handler's own TimeoutError, not ours
                raise HandlerTimeout(f"handler ran longer than {timeout:g}s") from None
        finally:
            _CALL.reset(token)


def prepare_call(
    func: Callable[..., Any], available: Collection[str], *, plugin: str, where: str
) -> CallPlan:
    """Check ``func``'s parameters against the names the endpoint can inject.

    Every parameter must be injectable by name (or have a default, or be ``**kwargs``).
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise PluginError(plugin, f"{where}: cannot inspect handler: {exc}") from None
    names: list[str] = []
    for param in signature.parameters.values():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            names.extend(n for n in available if n not in names)
            continue
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
            raise PluginError(
                plugin,
                f"{where}: handler {_label(func)}{signature} takes positional-only or *args "
                "parameters; hookport injects parameters by name",
            )
        if param.name in available:
            names.append(param.name)
        elif param.default is inspect.Parameter.empty:
            choices = ", ".join(sorted(available))
            raise PluginError(
                plugin,
                f"{where}: handler {_label(func)}{signature} asks for parameter "
                f"{param.name!r}, which does not exist here (available: {choices})",
            )
    is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - async callable objects
    )
    return CallPlan(func, tuple(names), is_async)


def _label(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or repr(func)
