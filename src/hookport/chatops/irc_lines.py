"""IRC lines, sans-IO: parsing what the server sends, and fitting answers into what it accepts.

An IRC line is at most 512 bytes with its ``\\r\\n`` (RFC 1459 §2.3), and the server relays our
PRIVMSG to others with our ``nick!user@host`` prefix in front, so a message's text must stay
well under that: :data:`MAX_TEXT_BYTES`. Text is cut at a UTF-8 character boundary, never in the
middle of one, and control characters (a ``\\r`` or ``\\n`` would start a new command) become
spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_TEXT_BYTES = 400
"""Bytes of text per PRIVMSG: 512 minus the relayed prefix (nick, user, host: up to ~100),
the command, the target and the separators."""

CTCP = "\x01"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Line:
    """One parsed server line: ``prefix`` (``nick!user@host`` or a server name; may be
    empty), ``command`` (upper case, or a three-digit numeric) and its ``params`` (the last
    one may hold spaces)."""

    prefix: str
    command: str
    params: list[str] = field(default_factory=list)

    @property
    def nick(self) -> str:
        """The sender's nick (the prefix up to ``!``)."""
        return self.prefix.split("!", 1)[0]


def parse(raw: str) -> Line:
    """Parse one line (without its ``\\r\\n``); IRCv3 tags (``@k=v ...``) are skipped."""
    text = raw
    if text.startswith("@"):
        text = text.partition(" ")[2]
    prefix = ""
    if text.startswith(":"):
        prefix, _, text = text[1:].partition(" ")
    trailing: str | None = None
    if " :" in text:
        text, _, trailing = text.partition(" :")
    elif text.startswith(":"):
        text, trailing = "", text[1:]
    words = text.split()
    params = words[1:] + ([trailing] if trailing is not None else [])
    return Line(prefix, words[0].upper() if words else "", params)


def clean(text: str) -> str:
    """``text`` without control characters (each becomes a space)."""
    return _CONTROL.sub(" ", text)


def truncate(text: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """``text`` cut to ``max_bytes`` of UTF-8 (ending in ``…`` when cut)."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    room = max_bytes - len(ELLIPSIS.encode("utf-8"))
    return encoded[: max(room, 0)].decode("utf-8", errors="ignore") + ELLIPSIS


def answer_lines(text: str, *, max_lines: int, max_bytes: int = MAX_TEXT_BYTES) -> list[str]:
    """An answer as PRIVMSG texts: one per line of ``text`` (blank lines dropped), each cut
    to ``max_bytes``; past ``max_lines`` the last one says how many lines were left out."""
    lines = [truncate(clean(line).rstrip(), max_bytes) for line in text.splitlines()]
    lines = [line for line in lines if line.strip()]
    if len(lines) <= max_lines:
        return lines
    kept = lines[: max(max_lines - 1, 0)]
    return [*kept, f"{ELLIPSIS} {len(lines) - len(kept)} more line(s) not shown"]


def command_text(text: str, *, prefix: str, private: bool) -> str | None:
    """The command in a PRIVMSG, or None when it is not one for us.

    In a channel the message must start with ``prefix`` (``!hookport status``); in a private
    message the prefix may be left out (``status``). CTCP requests (``\\x01VERSION\\x01``,
    ``/me`` actions) are never commands.
    """
    if text.startswith(CTCP):
        return None
    stripped = text.strip()
    word, _, rest = stripped.partition(" ")
    if word.lower() == prefix.lower():
        return rest.strip() or "help"
    if private and stripped:
        return stripped
    return None


def is_channel(target: str) -> bool:
    """Whether ``target`` names a channel (``#ops``, ``&local``) rather than a nick."""
    return target[:1] in ("#", "&", "+", "!")


def fallback_nick(base: str, attempt: int, *, max_length: int = 30) -> str:
    """The nick to try after ``attempt`` refusals (in use, or not allowed): ``hookport_``,
    ``hookport__``, then ``hookport1``, ``hookport2``, ..., within ``max_length``."""
    if attempt <= 0:
        return base[:max_length]
    suffix = "_" * attempt if attempt <= 2 else str(attempt - 2)
    return base[: max_length - len(suffix)] + suffix
