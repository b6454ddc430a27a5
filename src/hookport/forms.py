"""Form bodies: URL-encoded fields, and multipart fields with their uploaded files.

Framework-free (no Starlette), so that a stored :class:`hookport.events.Event` parses its form
exactly as a live :class:`hookport.http.Request` does: receivers read what routes read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, overload
from urllib.parse import parse_qsl

from hookport.errors import PayloadError

FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"


class FormFields:
    """Form fields in arrival order: ``form["k"]`` and ``get`` give the first value of a field,
    ``getlist`` every value. Satisfies :class:`hookport.types.MultiMapping`."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: list[tuple[str, str]] | None = None) -> None:
        self._pairs = pairs or []

    @overload
    def get(self, key: str, /) -> str | None: ...
    @overload
    def get(self, key: str, default: Any, /) -> Any: ...
    def get(self, key: str, default: Any = None, /) -> Any:
        """The first value of ``key``, else ``default``."""
        for name, value in self._pairs:
            if name == key:
                return value
        return default

    def getlist(self, key: Any) -> list[str]:
        """Every value of ``key``, in arrival order."""
        return [value for name, value in self._pairs if name == key]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object, /) -> bool:
        return any(name == key for name, _ in self._pairs)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def keys(self) -> list[str]:
        """Field names, each once, in order of first appearance."""
        return list(dict.fromkeys(name for name, _ in self._pairs))

    def items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair, in arrival order."""
        return list(self._pairs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FormFields) and self._pairs == other._pairs

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FormFields({self._pairs!r})"


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file from a multipart form: its field, file name, content type and bytes."""

    field: str
    filename: str | None
    content_type: str | None
    content: bytes

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return len(self.content)


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` value, lower-cased, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_type(media: str) -> bool:
    """``application/json`` or a ``+json`` type (``application/vnd.x+json``)."""
    return media == "application/json" or media.endswith("+json")


def guess_content_type(body: bytes) -> str:
    """What a test sender labels ``body`` with when it is given no ``Content-Type``."""
    try:
        json.loads(body)
    except ValueError:
        return "application/octet-stream"
    return "application/json"


def parse_form(content_type: str, body: bytes) -> tuple[FormFields, list[UploadedFile]]:
    """Parse an urlencoded or multipart body; anything else has no fields.

    Bounded by the body: it was read within ``max_body_size``, and multipart files are kept
    in memory (never spilled to temporary files), so parsing costs at most one more copy.
    """
    media = media_type(content_type)
    if media == MULTIPART_TYPE:
        return _parse_multipart(content_type, body)
    if media in (FORM_TYPE, ""):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("form body is not valid UTF-8") from None
        return FormFields(parse_qsl(text, keep_blank_values=True)), []
    return FormFields(), []


def _parse_multipart(content_type: str, body: bytes) -> tuple[FormFields, list[UploadedFile]]:
    from python_multipart import FormParser
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import parse_options_header

    fields: list[tuple[str, str]] = []
    files: list[UploadedFile] = []

    def on_field(field: Any) -> None:
        value = field.value or b""
        fields.append((_text(field.field_name), value.decode("utf-8", "replace")))

    def on_file(file: Any) -> None:
        file.file_object.seek(0)
        files.append(
            UploadedFile(
                _text(file.field_name),
                _text(file.file_name) or None,
                file.content_type,
                file.file_object.read(),
            )
        )

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise PayloadError("multipart body without a boundary")
    # In memory whatever the size: the body is already bounded, and a temporary file per
    # upload would be disk I/O no limit accounts for.
    config = {"MAX_MEMORY_FILE_SIZE": len(body) + 1, "MAX_BODY_SIZE": len(body) + 1}
    try:
        parser = FormParser(MULTIPART_TYPE, on_field, on_file, boundary=boundary, config=config)
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError) as exc:
        raise PayloadError(f"malformed multipart body: {exc}") from None
    return FormFields(fields), files


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
