"""Notification channels: a name in ``[channels]`` mapped to an Apprise URL.

Channel URLs usually hold tokens (Slack webhook paths, bot tokens), so no message, log line or
error raised here ever contains a URL: only the channel name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import apprise

from hookport.config import expand_env
from hookport.errors import ConfigError, NotifyError
from hookport.metrics import Metrics

log = logging.getLogger("hookport.notify")

_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://\S+")


class _RedactURLs(logging.Filter):
    """Blanks out URLs in Apprise's own log records: Apprise logs service URLs with tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _URL.sub(r"\1://<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACT = _RedactURLs()


def _redact_apprise_logs() -> None:
    # Idempotent: Logger.addFilter ignores a filter that is already installed.
    logging.getLogger("apprise").addFilter(_REDACT)


class Notifications(Protocol):
    """What handlers' contexts need from a notifier: :class:`Notifier` or a test double."""

    def check(self, names: Iterable[str], *, plugin: str) -> None:
        """Raise ``ConfigError`` if any channel in ``names`` is not defined."""
        ...

    async def send(self, channel: str, message: str, *, title: str | None = None) -> None:
        """Deliver ``message`` through ``channel`` or raise ``NotifyError``."""
        ...


class Notifier:
    """Sends notifications through the Apprise URLs of ``[channels]``.

    ``channels`` maps channel names to Apprise URLs, where ``${NAME}`` refers to a variable of
    ``environ``; references are expanded here, at construction, so a missing variable or a URL
    Apprise cannot use is a start-up ``ConfigError`` naming the channel (never the URL).
    ``metrics`` counts every send by channel and outcome.
    """

    def __init__(
        self,
        channels: Mapping[str, str],
        environ: Mapping[str, str],
        *,
        metrics: Metrics | None = None,
    ) -> None:
        _redact_apprise_logs()
        self._metrics = metrics
        self._urls = {name: _resolve(name, url, environ) for name, url in channels.items()}

    @property
    def names(self) -> frozenset[str]:
        """The defined channel names."""
        return frozenset(self._urls)

    def check(self, names: Iterable[str], *, plugin: str) -> None:
        """Raise ``ConfigError`` naming ``plugin`` if it uses channels that are not defined."""
        _check_known(names, self._urls, plugin)

    async def send(self, channel: str, message: str, *, title: str | None = None) -> None:
        """Deliver ``message`` through ``channel`` without blocking the event loop.

        Apprise's async API runs blocking services in its own thread pool. Raises
        ``NotifyError`` (naming the channel) if the channel is unknown or delivery fails.
        """
        url = self._urls.get(channel)
        if url is None:
            raise NotifyError(f"unknown notification channel {channel!r}")
        # A fresh Apprise object per send: service objects are cheap to build, and sharing one
        # across concurrent sends would share its plugin instances between threads.
        sender = apprise.Apprise()
        sender.add(url)
        result = await sender.async_notify(body=message, title=title or "")
        if self._metrics is not None:
            self._metrics.notification_sent(channel, bool(result))
        if not result:
            raise NotifyError(f"notification through channel {channel!r} failed")
        log.debug("notification sent", extra={"channel": channel})


@dataclass(frozen=True, slots=True)
class SentNotification:
    """One message a :class:`RecordingNotifier` received."""

    channel: str
    message: str
    title: str | None


class RecordingNotifier:
    """A test double of :class:`Notifier` that records messages instead of sending them.

    ``channels``: the defined channel names (``None``: every name is accepted). Sending to a
    channel in ``failing`` raises ``NotifyError``, as a delivery failure would.
    """

    def __init__(
        self, channels: Iterable[str] | None = None, *, failing: Iterable[str] = ()
    ) -> None:
        self._channels = None if channels is None else frozenset(channels)
        self.failing = set(failing)
        self.sent: list[SentNotification] = []

    def check(self, names: Iterable[str], *, plugin: str) -> None:
        """Raise ``ConfigError`` if ``channels`` was given and lacks one of ``names``."""
        if self._channels is not None:
            _check_known(names, self._channels, plugin)

    async def send(self, channel: str, message: str, *, title: str | None = None) -> None:
        """Record the message, or raise ``NotifyError`` for unknown or failing channels."""
        if self._channels is not None and channel not in self._channels:
            raise NotifyError(f"unknown notification channel {channel!r}")
        if channel in self.failing:
            raise NotifyError(f"notification through channel {channel!r} failed")
        self.sent.append(SentNotification(channel, message, title))

    def messages(self, channel: str | None = None) -> list[str]:
        """The messages sent, to ``channel`` only if given, in order."""
        return [s.message for s in self.sent if channel is None or s.channel == channel]


def _resolve(name: str, url: str, environ: Mapping[str, str]) -> str:
    try:
        expanded = expand_env(url, environ)
    except ConfigError as exc:
        raise ConfigError(f"[channels] {name}: {exc}") from None
    if apprise.Apprise.instantiate(expanded) is None:
        raise ConfigError(f"[channels] {name}: not a notification URL that Apprise supports")
    return expanded


def _check_known(names: Iterable[str], known: Iterable[str], plugin: str) -> None:
    known_set = set(known)
    missing = sorted(set(names) - known_set)
    if missing:
        defined = ", ".join(sorted(known_set)) or "none"
        raise ConfigError(
            f"plugin {plugin!r} uses notification channel(s) {', '.join(map(repr, missing))} "
            f"not defined in [channels] (defined: {defined})"
        )
