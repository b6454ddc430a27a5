"""Logging: one log format that shows every field, with the app's secrets masked.

Log calls carry their context as fields, ``log.info("rejected", extra={"endpoint": name})``;
``ctx.log`` (a :class:`BoundLogger`) adds the plugin, endpoint, handler, event and delivery of
its handler call. :class:`LogFormatter` renders every such field, as text
(``time level logger message key=value ...``) or as one JSON object a line.

Secrets are removed twice: hookport never passes one to a log call, and :class:`RedactingFilter`,
given every resolved secret of the app (``HookportApp.log_filter``), masks any that slips into a
message, a field, a traceback or a stack anyway; with the app's :class:`~hookport.redaction.
Redaction` it also redacts credentials by name (``access_token=...``, ``Authorization: ...``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import (
    Callable,
    Iterable,
    Mapping,
    MutableMapping,
)
from typing import Any, Literal
from urllib.parse import quote, quote_plus

import orjson

from hookport.redaction import REDACTED, Redaction

LogFormat = Literal["text", "json"]
MASK = "***"

# Attributes every LogRecord has; anything else on a record came from ``extra=`` (or a bound
# logger). ``message``/``asctime`` are set by formatters, ``taskName`` exists from Python 3.12.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
# uvicorn repeats every message with ANSI colours in ``color_message``: not a field.
_IGNORED = frozenset({"color_message"})


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record carries beyond the standard ones (``None`` values are left out)."""
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _STANDARD and key not in _IGNORED and not key.startswith("_")
        if value is not None
    }


class LogFormatter(logging.Formatter):
    """Renders a record with all its fields: ``text`` (logfmt-style pairs) or ``json``."""

    def __init__(self, log_format: LogFormat = "text") -> None:
        super().__init__()
        self.log_format = log_format

    def format(self, record: logging.LogRecord) -> str:
        """One line (text: plus the traceback, if any, on the lines after it)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        stamp = f"{stamp}.{int(record.msecs):03d}Z"
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        fields = record_fields(record)
        if self.log_format == "json":
            return _json_line(stamp, record, message, fields)
        line = f"{stamp} {record.levelname} {record.name} {message}"
        if fields:
            line += " " + " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def _text_value(value: object) -> str:
    text = str(value)
    if text and text.isprintable() and not any(c in text for c in ' "='):
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted, with quotes and newlines escaped


def _json_line(stamp: str, record: logging.LogRecord, message: str, fields: dict[str, Any]) -> str:
    doc: dict[str, Any] = {
        "time": stamp,
        "level": record.levelname,
        "logger": record.name,
        "message": message,
    }
    for key, value in fields.items():
        doc[f"extra.{key}" if key in doc else key] = value
    if record.exc_text:
        doc["exception"] = record.exc_text
    if record.stack_info:
        doc["stack"] = record.stack_info
    return orjson.dumps(doc, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class RedactingFilter(logging.Filter):
    """Masks every given secret, with ``***``, in a record's message, fields and traceback.

    Secrets shorter than 4 characters are not masked (they would mask ordinary words); each is
    also masked in its URL-encoded and JSON-escaped forms, as it appears in a query string or a
    logged document. ``names`` (the app's ``[redact]`` rule) also redacts credentials by name,
    whatever their value: ``access_token=...`` pairs, ``Authorization: ...`` lines, and fields
    named like a sensitive query parameter.
    """

    def __init__(self, secrets: Iterable[str] = (), names: Redaction | None = None) -> None:
        super().__init__()
        forms = {form for secret in secrets if len(secret) >= 4 for form in _forms(secret)}
        ordered = sorted(forms, key=len, reverse=True)  # the longest form first wins
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._names = names

    def __repr__(self) -> str:
        return f"<RedactingFilter active={self._pattern is not None}>"

    def redact(self, text: str) -> str:
        """``text`` with every secret masked (and credentials redacted by name)."""
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return self._names.scrub(text) if self._names is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place (so every formatter after this sees it masked)."""
        if self._pattern is None and self._names is None:
            return True
        message = record.getMessage()
        masked = self.redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        for key, value in record_fields(record).items():
            if isinstance(value, bool | int | float):
                continue
            if self._names is not None and self._names.sensitive_param(key):
                setattr(record, key, REDACTED)
                continue
            text = str(value)
            shown = self.redact(text)
            if shown != text:
                setattr(record, key, shown)
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}


class BoundLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger with fields bound to it; fields given to one call are added (and win).

    The stdlib adapter replaces a call's ``extra`` with its own before Python 3.13.
    """

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Merge the bound fields under the call's own ``extra``."""
        bound: Mapping[str, object] = self.extra or {}
        kwargs["extra"] = {**bound, **(kwargs.get("extra") or {})}
        return msg, kwargs


# The loggers whose records go through hookport's handler: its own, and uvicorn's (so a JSON
# log stays JSON from the first line; ``hookport serve`` disables uvicorn's own logging setup).
_LOGGERS = ("hookport", "uvicorn")


def setup_logging(
    level: str = "info", log_format: LogFormat = "text", secrets: Iterable[str] = ()
) -> None:
    """Configure hookport's logging for a process (CLI entry points call it; idempotent).

    One handler on standard error, formatted by :class:`LogFormatter`, masked by a
    :class:`RedactingFilter` of ``secrets`` (replace it later with :func:`redact_logs`).
    """
    handler = _handler()
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._hookport = True  # type: ignore[attr-defined]
    handler.setFormatter(LogFormatter(log_format))
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level.upper())
        if handler not in logger.handlers:
            logger.addHandler(handler)
        logger.propagate = False
    redact_logs(RedactingFilter(secrets, names=Redaction()))


def redact_logs(redactor: RedactingFilter) -> None:
    """Make ``redactor`` the one that masks what :func:`setup_logging`'s handler writes.

    Without that handler (hookport mounted in another app, logging configured by the host)
    this does nothing: add ``redactor`` to the host's handlers instead.
    """
    handler = _handler()
    if handler is None:
        return
    for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
        handler.removeFilter(old)
    handler.addFilter(redactor)


def _handler() -> logging.Handler | None:
    for existing in logging.getLogger("hookport").handlers:
        if getattr(existing, "_hookport", False):
            return existing
    return None


class LogLimiter:
    """Log lines an attacker cannot inflate: one per key, then one per ``every`` seconds.

    The first occurrence of a key (e.g. a 401's status and reason) is logged at once; later
    ones within ``every`` seconds are only counted, and the next line carries that count as
    ``suppressed``. At most ``max_keys`` keys are tracked (the oldest forgotten first), so the
    limiter's own memory is bounded whatever the traffic.
    """

    def __init__(
        self,
        logger: logging.Logger,
        every: float = 5.0,
        max_keys: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._every = every
        self._clock = clock
        self._max_keys = max_keys
        self._seen: dict[object, tuple[float, int]] = {}

    def log(self, level: int, key: object, message: str, fields: Mapping[str, Any]) -> bool:
        """Log ``message`` for ``key`` unless one was logged within ``every``; True if logged."""
        now = self._clock()
        last, quiet = self._seen.pop(key, (float("-inf"), 0))
        if now - last < self._every:
            self._seen[key] = (last, quiet + 1)
            return False
        while len(self._seen) >= self._max_keys:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = (now, 0)
        extra = {**fields, "suppressed": quiet} if quiet else dict(fields)
        self._log.log(level, message, extra=extra)
        return True
