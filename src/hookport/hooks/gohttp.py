"""Details of Go's ``net/http`` that shape adnanh/webhook's answers.

- :func:`detect_content_type` is ``http.DetectContentType`` (the WHATWG sniffing subset Go
  implements): Go sets ``Content-Type`` from the first 512 bytes of a body when the handler did
  not set one, so ``response-message`` ``<h1>hi</h1>`` is sent as ``text/html``.
- :func:`status_known` is ``len(http.StatusText(code)) > 0``: adnanh answers 200 instead of a
  configured code Go does not know.
- :func:`canonical_header` is ``textproto.CanonicalMIMEHeaderKey``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

__all__ = ["canonical_header", "detect_content_type", "status_known"]

_KNOWN_STATUS = frozenset(
    [
        *(100, 101, 102, 103, *range(200, 209), 226, *range(300, 306), 307, 308),
        *(*range(400, 419), 421, 422, 423, 424, 425, 426, 428, 429, 431, 451),
        *(*range(500, 509), 510, 511),
    ]
)


def status_known(code: int) -> bool:
    """True if Go's ``http.StatusText`` has a text for ``code`` (Go 1.19)."""
    return code in _KNOWN_STATUS


_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@functools.lru_cache(maxsize=1024)  # the same few names arrive with every request
def canonical_header(name: str) -> str:
    """``accept-encoding`` -> ``Accept-Encoding``; names with non-token bytes stay as they are."""
    raw = name.encode("utf-8", "surrogateescape")
    if not raw or any(b not in _TOKEN for b in raw):
        return name
    out, upper = [], True
    for ch in name:
        out.append(ch.upper() if upper else ch.lower())
        upper = ch == "-"
    return "".join(out)


_WS = b"\t\n\x0c\r "
_HTML = [
    b"<!DOCTYPE HTML", b"<HTML", b"<HEAD", b"<SCRIPT", b"<IFRAME", b"<H1", b"<DIV", b"<FONT",
    b"<TABLE", b"<A", b"<STYLE", b"<TITLE", b"<B", b"<BODY", b"<BR", b"<P", b"<!--",
]  # fmt: skip
# (mask, pattern, content type); exact prefixes use a mask of 0xFF bytes.
_MASKED: list[tuple[bytes, bytes, str]] = [
    (b"\xff\xff\x00\x00", b"\xfe\xff\x00\x00", "text/plain; charset=utf-16be"),
    (b"\xff\xff\x00\x00", b"\xff\xfe\x00\x00", "text/plain; charset=utf-16le"),
    (b"\xff\xff\xff\x00", b"\xef\xbb\xbf\x00", "text/plain; charset=utf-8"),
]
_EXACT_IMAGES = [
    (b"\x00\x00\x01\x00", "image/x-icon"), (b"\x00\x00\x02\x00", "image/x-icon"),
    (b"BM", "image/bmp"), (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"),
]  # fmt: skip
_MASKED_MEDIA: list[tuple[bytes, bytes, str]] = [
    (b"\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff", b"RIFF\x00\x00\x00\x00WEBPVP",
     "image/webp"),
    (b"\xff" * 8, b"\x89PNG\x0d\x0a\x1a\x0a", "image/png"),
    (b"\xff" * 3, b"\xff\xd8\xff", "image/jpeg"),
    (b"\xff" * 4, b".snd", "audio/basic"),
    (b"\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff", b"FORM\x00\x00\x00\x00AIFF",
     "audio/aiff"),
    (b"\xff" * 3, b"ID3", "audio/mpeg"),
    (b"\xff" * 5, b"OggS\x00", "application/ogg"),
    (b"\xff" * 8, b"MThd\x00\x00\x00\x06", "audio/midi"),
    (b"\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff", b"RIFF\x00\x00\x00\x00AVI ",
     "video/avi"),
    (b"\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff", b"RIFF\x00\x00\x00\x00WAVE",
     "audio/wave"),
]  # fmt: skip
_EXACT_LATE = [
    (b"\x1a\x45\xdf\xa3", "video/webm"),
]
_FONTS_AND_ARCHIVES = [
    (b"\x00\x01\x00\x00", "font/ttf"), (b"OTTO", "font/otf"), (b"ttcf", "font/collection"),
    (b"wOFF", "font/woff"), (b"wOF2", "font/woff2"), (b"\x1f\x8b\x08", "application/x-gzip"),
    (b"PK\x03\x04", "application/zip"), (b"Rar!\x1a\x07\x00", "application/x-rar-compressed"),
    (b"Rar!\x1a\x07\x01\x00", "application/x-rar-compressed"),
    (b"\x00\x61\x73\x6d", "application/wasm"),
]  # fmt: skip


def _masked(data: bytes, mask: bytes, pattern: bytes) -> bool:
    if len(data) < len(pattern):
        return False
    return all(data[i] & mask[i] == pattern[i] for i in range(len(pattern)))


def _html(data: bytes, first: int) -> bool:
    body = data[first:]
    for sig in _HTML:
        if len(body) < len(sig) + 1:
            continue
        prefix = body[: len(sig)]
        head = bytes(b & 0xDF if 0x41 <= sig[i] <= 0x5A else b for i, b in enumerate(prefix))
        if head == sig and body[len(sig)] in b" >":
            return True
    return False


def _mp4(data: bytes) -> bool:
    if len(data) < 12:
        return False
    box = int.from_bytes(data[:4], "big")
    if len(data) < box or box % 4 != 0 or data[4:8] != b"ftyp":
        return False
    return any(data[st : st + 3] == b"mp4" for st in range(8, box, 4) if st != 12)


def _text(data: bytes, first: int) -> bool:
    return not any(
        b <= 0x08 or b == 0x0B or 0x0E <= b <= 0x1A or 0x1C <= b <= 0x1F for b in data[first:]
    )


def _prefixes(table: list[tuple[bytes, str]]) -> Callable[[bytes, int], str | None]:
    def match(data: bytes, first: int) -> str | None:
        return next((ctype for prefix, ctype in table if data.startswith(prefix)), None)

    return match


def _masks(table: list[tuple[bytes, bytes, str]]) -> Callable[[bytes, int], str | None]:
    def match(data: bytes, first: int) -> str | None:
        return next((ctype for m, p, ctype in table if _masked(data, m, p)), None)

    return match


def _when(test: Callable[[bytes, int], bool], ctype: str) -> Callable[[bytes, int], str | None]:
    return lambda data, first: ctype if test(data, first) else None


# Go's sniffSignatures, in its order (the first that matches wins).
_SIGNATURES: list[Callable[[bytes, int], str | None]] = [
    _when(_html, "text/html; charset=utf-8"),
    _when(lambda d, f: d[f:].startswith(b"<?xml"), "text/xml; charset=utf-8"),
    _prefixes([(b"%PDF-", "application/pdf"), (b"%!PS-Adobe-", "application/postscript")]),
    _masks(_MASKED),
    _prefixes(_EXACT_IMAGES),
    _masks(_MASKED_MEDIA),
    _when(lambda d, f: _mp4(d), "video/mp4"),
    _prefixes(_EXACT_LATE),
    _when(lambda d, f: d[34:36] == b"LP", "application/vnd.ms-fontobject"),  # 34 bytes, "LP"
    _prefixes(_FONTS_AND_ARCHIVES),
    _when(_text, "text/plain; charset=utf-8"),
]


def detect_content_type(body: bytes) -> str:
    """The ``Content-Type`` Go's server gives a body whose handler set none."""
    return _sniff(body[:512])


@functools.lru_cache(maxsize=256)  # a hook's response-message is the same for every answer
def _sniff(data: bytes) -> str:
    first = next((i for i, b in enumerate(data) if b not in _WS), len(data))
    for signature in _SIGNATURES:
        found = signature(data, first)
        if found is not None:
            return found
    return "application/octet-stream"
