"""Notification channels: a name in ``[channels]`` mapped to an Apprise URL.

Channel URLs usually hold tokens (Slack webhook paths, bot tokens), so no message, log line or
error raised here ever contains a URL: only the channel name.

A channel whose URL holds the placeholder ``{to}`` (``irc://hookport@irc.example.net/{to}``)
takes its target at run time: ``ctx.send("irc", text, to="#ops")``. The target is checked
against :data:`TARGET` and URL-quoted before it is put in, so it cannot change the host, the
credentials or add a second target; a channel without the placeholder refuses ``to=``.

A channel may also name a connection hookport keeps itself instead of an Apprise service: a
*relay*. ``hookport-irc://#ops`` (or ``hookport-irc://{to}``) sends through the persistent IRC
connection of ``[chatops.irc]``, which is already registered and in its channels, so a message
costs no connect/register/join round trips and always comes from the same nick. A relay channel
is a start-up error when its relay is not configured.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, unquote

import apprise

from hookport.config import expand_env
from hookport.errors import ConfigError, NotifyError
from hookport.metrics import Metrics

log = logging.getLogger("hookport.notify")

_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://\S+")

PLACEHOLDER = "{to}"
"""Where a channel URL takes the run-time target of ``send(..., to=...)``."""

TARGET = re.compile(r"[#&@+!]?[A-Za-z0-9._~^|`\[\]{}=:-]{1,100}")
"""What a run-time target may be: an IRC channel (``#ops``) or nick (``@alice``, ``alice``), a
chat id, a room or user name. No ``/``, ``,``, ``?``, ``%``, spaces or control characters, so a
target names exactly one recipient of the channel's own service."""

_SAMPLE_TARGET = "hookport"  # stands in for {to} when a channel URL is checked at start-up

RELAY_SCHEMES = {"hookport-irc": "[chatops.irc]"}
"""URL schemes that name a relay (a connection hookport keeps), and the config that makes it."""


class Relay(Protocol):
    """A connection hookport keeps itself that channels can send through (the IRC one)."""

    async def send(self, target: str, message: str) -> None:
        """Deliver ``message`` to ``target``; ``ConnectionError`` when it cannot."""
        ...


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

    async def send(
        self, channel: str, message: str, *, title: str | None = None, to: str | None = None
    ) -> None:
        """Deliver ``message`` through ``channel`` (to ``to`` if it takes a target) or raise
        ``NotifyError``."""
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
        relays: Mapping[str, Relay] | None = None,
    ) -> None:
        _redact_apprise_logs()
        self._metrics = metrics
        self._relays = dict(relays or {})
        self._urls = {
            name: _resolve(name, url, environ, self._relays) for name, url in channels.items()
        }

    @property
    def names(self) -> frozenset[str]:
        """The defined channel names."""
        return frozenset(self._urls)

    @property
    def targeted(self) -> frozenset[str]:
        """The channels whose URL takes a run-time target (``{to}``)."""
        return frozenset(name for name, url in self._urls.items() if PLACEHOLDER in url)

    def check(self, names: Iterable[str], *, plugin: str) -> None:
        """Raise ``ConfigError`` naming ``plugin`` if it uses channels that are not defined."""
        _check_known(names, self._urls, plugin)

    async def send(
        self, channel: str, message: str, *, title: str | None = None, to: str | None = None
    ) -> None:
        """Deliver ``message`` through ``channel`` without blocking the event loop.

        ``to``: the target, for a channel whose URL holds ``{to}`` (required there, refused
        elsewhere). Apprise's async API runs blocking services in its own thread pool. Raises
        ``NotifyError`` (naming the channel, never its URL) if the channel is unknown, the
        target is missing, not allowed or not valid, or delivery fails.
        """
        url = self._urls.get(channel)
        if url is None:
            raise NotifyError(f"unknown notification channel {channel!r}")
        url = with_target(channel, url, to)
        scheme = url.partition("://")[0]
        if scheme in self._relays:
            await self._relay(channel, self._relays[scheme], url, message, title)
            return
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

    async def _relay(
        self, channel: str, relay: Relay, url: str, message: str, title: str | None
    ) -> None:
        target = unquote(url.partition("://")[2])
        text = f"{title}\n{message}" if title else message
        try:
            await relay.send(target, text)
        except ConnectionError as exc:
            if self._metrics is not None:
                self._metrics.notification_sent(channel, False)
            raise NotifyError(f"notification through channel {channel!r} failed: {exc}") from None
        if self._metrics is not None:
            self._metrics.notification_sent(channel, True)


@dataclass(frozen=True, slots=True)
class SentNotification:
    """One message a :class:`RecordingNotifier` received."""

    channel: str
    message: str
    title: str | None
    to: str | None = None


class RecordingNotifier:
    """A test double of :class:`Notifier` that records messages instead of sending them.

    ``channels``: the defined channel names (``None``: every name is accepted). Sending to a
    channel in ``failing`` raises ``NotifyError``, as a delivery failure would.
    """

    def __init__(
        self,
        channels: Iterable[str] | None = None,
        *,
        failing: Iterable[str] = (),
        targeted: Iterable[str] = (),
    ) -> None:
        self._channels = None if channels is None else frozenset(channels)
        self.failing = set(failing)
        self.targeted = frozenset(targeted)
        self.sent: list[SentNotification] = []

    def check(self, names: Iterable[str], *, plugin: str) -> None:
        """Raise ``ConfigError`` if ``channels`` was given and lacks one of ``names``."""
        if self._channels is not None:
            _check_known(names, self._channels, plugin)

    async def send(
        self, channel: str, message: str, *, title: str | None = None, to: str | None = None
    ) -> None:
        """Record the message, or raise ``NotifyError`` for unknown or failing channels and
        for targets the real notifier would refuse (``targeted``: channels that take ``to``)."""
        if self._channels is not None and channel not in self._channels:
            raise NotifyError(f"unknown notification channel {channel!r}")
        placeholder = PLACEHOLDER if channel in self.targeted else ""
        with_target(channel, placeholder, to)
        if channel in self.failing:
            raise NotifyError(f"notification through channel {channel!r} failed")
        self.sent.append(SentNotification(channel, message, title, to))

    def messages(self, channel: str | None = None) -> list[str]:
        """The messages sent, to ``channel`` only if given, in order."""
        return [s.message for s in self.sent if channel is None or s.channel == channel]


def with_target(channel: str, url: str, to: str | None) -> str:
    """``url`` with its ``{to}`` replaced by the URL-quoted ``to``; ``NotifyError`` naming
    ``channel`` when ``to`` is missing for a targeted channel, given for one that is not, or
    not a :data:`TARGET`."""
    if PLACEHOLDER not in url:
        if to is not None:
            raise NotifyError(
                f"channel {channel!r} takes no target (its URL has no {PLACEHOLDER}): "
                "send without to="
            )
        return url
    if to is None:
        raise NotifyError(f"channel {channel!r} needs a target: send(..., to=...)")
    if not isinstance(to, str) or TARGET.fullmatch(to) is None:
        raise NotifyError(
            f"not a valid target for channel {channel!r}: a channel, nick or id of at most "
            "100 characters without spaces, '/', ',', '?' or '%'"
        )
    return url.replace(PLACEHOLDER, quote(to, safe=""))


def _resolve(name: str, url: str, environ: Mapping[str, str], relays: Mapping[str, Relay]) -> str:
    try:
        expanded = expand_env(url, environ)
    except ConfigError as exc:
        raise ConfigError(f"[channels] {name}: {exc}") from None
    sample = expanded.replace(PLACEHOLDER, _SAMPLE_TARGET)
    scheme, _, target = sample.partition("://")
    if scheme in RELAY_SCHEMES:
        if scheme not in relays:
            raise ConfigError(
                f"[channels] {name}: {scheme}:// sends through {RELAY_SCHEMES[scheme]}, "
                "which is not enabled"
            )
        if TARGET.fullmatch(unquote(target)) is None:
            raise ConfigError(
                f"[channels] {name}: {scheme}:// needs one channel or nick after '//' "
                f"(e.g. {scheme}://#ops, or {scheme}://{PLACEHOLDER})"
            )
        return expanded
    if apprise.Apprise.instantiate(sample) is None:
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
