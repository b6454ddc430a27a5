"""Form bodies: URL-encoded fields, and multipart fields with their uploaded files."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile

from hookport.errors import PayloadError


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file from a multipart form: its field, file name, content type and bytes."""

    field: str
    filename: str | None
    content_type: str | None
    content: bytes


def parse_form(content_type: str, body: bytes) -> tuple[FormData, list[UploadedFile]]:
    """Parse an urlencoded or multipart body; anything else has no fields."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        return _parse_multipart(content_type, body)
    if media in ("application/x-www-form-urlencoded", ""):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("form body is not valid UTF-8") from None
        pairs: list[tuple[str, str | UploadFile]] = list(parse_qsl(text, keep_blank_values=True))
        return FormData(pairs), []
    return FormData(), []


def _parse_multipart(content_type: str, body: bytes) -> tuple[FormData, list[UploadedFile]]:
    from python_multipart import parse_form as mp_parse
    from python_multipart.exceptions import FormParserError

    fields: list[tuple[str, str | UploadFile]] = []
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

    headers = {
        "Content-Type": content_type.encode("latin-1"),
        "Content-Length": str(len(body)).encode(),
    }
    try:
        mp_parse(headers, io.BytesIO(body), on_field, on_file)
    except (FormParserError, ValueError) as exc:
        raise PayloadError(f"malformed multipart body: {exc}") from None
    return FormData(fields), files


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
