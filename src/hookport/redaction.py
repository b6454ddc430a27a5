"""What a person is shown of a recorded delivery: credentials replaced by ``[redacted]``.

Deliveries are stored as they arrived (a replay must verify again with the original
``Authorization``, ``X-Gitlab-Token`` or signature headers), so credentials are removed when an
event is *shown*: by the admin API, the dashboard, ``hookport events`` and the logs. One
:class:`Redaction` decides it everywhere, from the ``[redact]`` settings:

- a header whose name matches one of ``headers`` (case-insensitive, ``*`` as a wildcard) shows
  ``[redacted]``; an ``Authorization``-style value keeps its scheme (``Basic [redacted]``);
- a query parameter (in a stored query string, a path or a URL) or a form field whose name
  matches one of ``query`` shows ``name=[redacted]``;
- every known secret value of the app (verifier secrets, the admin token, ``[secrets]``) is
  masked wherever it appears in shown text: bodies, paths, errors, tracebacks.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from hookport.config import RedactSettings

REDACTED = "[redacted]"

DEFAULT_HEADERS: tuple[str, ...] = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-gitlab-token",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-access-token",
    "x-telegram-bot-api-secret-token",
    "x-hub-signature*",
    "*-signature",
    "*-signature-*",
    "x-shopify-hmac-sha256",
    "x-goog-channel-token",
    "*-secret",
    "*-secret-*",
    "*-token",
    "*-api-key",
    "*-password",
)
"""Header names (``fnmatch`` patterns, case-insensitive) whose values are never shown."""

DEFAULT_QUERY: tuple[str, ...] = (
    "access_token",
    "token",
    "*_token",
    "api_key",
    "apikey",
    "key",
    "*api_key",
    "access_key",
    "secret_key",
    "private_key",
    "secret",
    "*_secret",
    "password",
    "passwd",
    "pass",
    "signature",
    "sig",
    "auth",
    "code",
)
"""Query parameter and form field names (patterns, case-insensitive) whose values are hidden."""

# Headers whose value is "<scheme> <credentials>": the scheme is kept.
_SCHEMED = frozenset({"authorization", "proxy-authorization"})
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s+\S")
# Free text (log lines, error messages): ``name=value`` pairs and ``Name: value`` header lines.
_PAIR = re.compile(r"(?<![A-Za-z0-9_.\-])([A-Za-z0-9_.\-]+)=([^&\s\"',;<>]+)")
_HEADER_LINE = re.compile(
    r"(?m)(^[ \t]*|(?<![A-Za-z0-9\-]))([A-Za-z][A-Za-z0-9\-]*)([ \t]*:[ \t]*)"
    r"((?:[A-Za-z][A-Za-z0-9\-]*[ \t]+)?[^\s,;\"'<>]+)"
)


class _Names:
    """A set of case-insensitive ``fnmatch`` patterns, matched with one compiled regex."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(sorted({p.strip().lower() for p in patterns if p.strip()}))
        joined = "|".join(fnmatch.translate(p) for p in self.patterns)
        self._regex = re.compile(joined) if joined else None

    def __contains__(self, name: object) -> bool:
        return (
            isinstance(name, str)
            and self._regex is not None
            and self._regex.match(name.strip().lower()) is not None
        )


@dataclass(frozen=True)
class Redaction:
    """The one rule for hiding credentials in what is shown (see the module docstring)."""

    headers: Sequence[str] = DEFAULT_HEADERS
    query: Sequence[str] = DEFAULT_QUERY
    secrets: Iterable[str] = ()
    """Known secret values, masked in any shown text (shorter than 4 characters: ignored)."""
    _headers: _Names = field(init=False, repr=False, compare=False)
    _query: _Names = field(init=False, repr=False, compare=False)
    _secrets: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_headers", _Names(self.headers))
        object.__setattr__(self, "_query", _Names(self.query))
        forms = {
            form
            for secret in self.secrets
            if len(secret) >= 4
            for form in (secret, quote(secret, safe=""), quote_plus(secret))
        }
        ordered = sorted(forms, key=len, reverse=True)
        pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        object.__setattr__(self, "_secrets", pattern)

    @classmethod
    def from_settings(cls, settings: RedactSettings, secrets: Iterable[str] = ()) -> Redaction:
        """The rule of a ``[redact]`` section: its lists (default: the defaults) plus extras."""
        headers = DEFAULT_HEADERS if settings.headers is None else tuple(settings.headers)
        query = DEFAULT_QUERY if settings.query is None else tuple(settings.query)
        return cls(
            headers=(*headers, *settings.extra_headers),
            query=(*query, *settings.extra_query),
            secrets=tuple(secrets),
        )

    def with_secrets(self, secrets: Iterable[str]) -> Redaction:
        """The same names, masking these secret values too."""
        return Redaction(self.headers, self.query, (*self.secrets, *secrets))

    # -- names ----------------------------------------------------------------------------

    def sensitive_header(self, name: str) -> bool:
        """Whether a header of this name is never shown."""
        return name in self._headers

    def sensitive_param(self, name: str) -> bool:
        """Whether a query parameter or form field of this name is never shown."""
        return name in self._query

    # -- values ---------------------------------------------------------------------------

    def header_value(self, name: str, value: str) -> str:
        """The value as shown: ``[redacted]`` (keeping an authorization scheme), else masked."""
        if not self.sensitive_header(name):
            return self.text(value)
        if name.strip().lower() in _SCHEMED:
            match = _SCHEME.match(value)
            if match:
                return f"{match.group(1)} {REDACTED}"
        return REDACTED

    def header_list(self, headers: Iterable[Sequence[str]]) -> list[list[str]]:
        """``[[name, shown value], ...]``."""
        return [[name, self.header_value(name, value)] for name, value in headers]

    def query_string(self, query: str) -> str:
        """A raw query (or form body) with the values of sensitive names redacted; the rest is
        kept byte for byte."""
        if not query:
            return query
        parts = []
        for part in query.split("&"):
            name, eq, _ = part.partition("=")
            if eq and self.sensitive_param(unquote_plus(name)):
                parts.append(f"{name}={REDACTED}")
            else:
                parts.append(self.text(part))
        return "&".join(parts)

    def target(self, target: str) -> str:
        """A path or URL with its query redacted and known secrets masked."""
        head, q, rest = target.partition("?")
        if not q:
            return self.text(target)
        query, hash_, fragment = rest.partition("#")
        return f"{self.text(head)}?{self.query_string(query)}{hash_}{fragment}"

    def body(self, text: str, content_type: str | None) -> str:
        """A shown body: form fields redacted by name, known secrets masked."""
        if content_type and content_type.split(";")[0].strip().lower() == (
            "application/x-www-form-urlencoded"
        ):
            return self.query_string(text)
        return self.text(text)

    def params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Path parameters as shown: sensitive names redacted, known secrets masked."""
        return {
            key: REDACTED
            if self.sensitive_param(key)
            else (self.text(value) if isinstance(value, str) else value)
            for key, value in params.items()
        }

    def text(self, text: str) -> str:
        """``text`` with every known secret value masked."""
        if self._secrets is None or not text:
            return text
        return self._secrets.sub(REDACTED, text)

    def scrub(self, text: str) -> str:
        """Free text (a log line, an error message): known secrets masked, ``name=value``
        pairs of sensitive names and ``Name: value`` lines of sensitive headers redacted."""
        if not text:
            return text
        text = self.text(text)

        def pair(match: re.Match[str]) -> str:
            name = match.group(1)
            return f"{name}={REDACTED}" if self.sensitive_param(name) else match.group(0)

        def line(match: re.Match[str]) -> str:
            indent, name, sep, value = match.groups()
            if not self.sensitive_header(name):
                return match.group(0)
            return f"{indent}{name}{sep}{self.header_value(name, value)}"

        if "=" in text:
            text = _PAIR.sub(pair, text)
        if ":" in text:
            text = _HEADER_LINE.sub(line, text)
        return text
