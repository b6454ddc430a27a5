"""The ``ctx`` handlers receive: notifications, settings, a bound logger, the plugin.

A :class:`Context` is built for every handler call (never shared, never global), so its logger
carries that call's event, delivery, attempt and handler.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Generic

from hookport.events import Event
from hookport.notify import Notifications
from hookport.observability import BoundLogger
from hookport.plugin import Plugin, SettingsT_co

HandlerLogger = logging.LoggerAdapter[logging.Logger]
"""The type of ``ctx.log`` (a :class:`~hookport.observability.BoundLogger`: the fields a call
passes in ``extra=`` are added to the bound ones)."""


class Context(Generic[SettingsT_co]):
    """What a handler may use besides its event: ``send``, ``settings``, ``log``, ``plugin``.

    ``settings`` is the plugin's validated settings model (``None`` for a plugin without one).
    Annotate ``ctx: Context[Model]`` in a handler of a ``Plugin(settings=Model)`` and type
    checkers see ``ctx.settings`` as a ``Model``; a bare ``Context`` means
    ``Context[BaseModel | None]``.

    ``event`` is the event being handled (``None`` in route handlers) and ``attempt`` its
    attempt number (1 on the first run; 0 in route handlers).

    Notification failure policy: :meth:`send` raises ``NotifyError`` when the channel cannot
    deliver, and an exception that escapes the handler fails it, so the event is retried with
    backoff. hookport promises at-least-once handling, and a notification that was never sent
    is work not done. The cost: a handler that notifies and then fails may notify twice.
    Catch ``NotifyError`` in the handler to make a notification best-effort instead.
    """

    def __init__(
        self,
        *,
        plugin: Plugin,
        notifier: Notifications,
        endpoint: str,
        handler: str,
        settings: SettingsT_co,
        event: Event | None = None,
        attempt: int = 0,
        event_id: str | None = None,
        delivery_id: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.settings: SettingsT_co = settings
        self.event = event
        self.attempt = attempt
        self._notifier = notifier
        bound = _bindings(
            plugin.name,
            endpoint=endpoint,
            handler=handler,
            event=event,
            event_id=event_id,
            delivery_id=delivery_id,
            attempt=attempt,
        )
        self.log: HandlerLogger = BoundLogger(
            logging.getLogger(f"hookport.plugin.{plugin.name}"), bound
        )

    async def send(
        self, channel: str, message: str, *, title: str | None = None, to: str | None = None
    ) -> None:
        """Send ``message`` through notification channel ``channel`` (a name in ``[channels]``).

        ``to`` picks the recipient at run time (``to="#ops"``, ``to=chat_id``) for a channel
        whose URL holds ``{to}`` (``irc://hookport@irc.example.net/{to}``); it is required
        there and refused for other channels.

        Raises ``NotifyError`` if the channel is unknown, the target is missing or invalid, or
        delivery fails; left uncaught, that fails the handler and the event is retried
        (at-least-once: see the class docstring).
        """
        await self._notifier.send(channel, message, title=title, to=to)

    def __repr__(self) -> str:
        extra: Mapping[str, Any] = self.log.extra or {}
        return f"<Context plugin={self.plugin.name!r} event_id={extra.get('event_id')!r}>"


def _bindings(
    plugin: str,
    *,
    endpoint: str,
    handler: str,
    event: Event | None,
    event_id: str | None,
    delivery_id: str | None,
    attempt: int,
) -> dict[str, Any]:
    """The fields every log line of one handler call carries (the same as
    :meth:`~hookport.events.Event.log_fields` plus the handler). A route's call has no event:
    no ``event_id`` or ``attempt`` (``None`` fields are not rendered)."""
    return {
        "plugin": plugin,
        "endpoint": endpoint,
        "handler": handler,
        "event_id": event.id if event is not None else event_id,
        "delivery_id": event.delivery_id if event is not None else delivery_id,
        "attempt": attempt if event is not None else None,
    }
