"""Body reading: limits, Content-Encoding, bombs; Request parsing; return-value mapping."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest
from starlette.datastructures import Headers

from hookport.body import read_body
from hookport.errors import HTTPError, PayloadError, PayloadTooLarge, UnsupportedEncoding
from hookport.http import Request, Response, UnsupportedReturn, to_response, unanswerable_return
from hookport.proxies import parse_networks, resolve_client
from hookport.templating import TemplateResponse


def receiver(body: bytes, chunk: int = 65536) -> Callable[[], Awaitable[MutableMapping[str, Any]]]:
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]

    async def receive() -> MutableMapping[str, Any]:
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    return receive


def headers(**values: str) -> Headers:
    return Headers({k.replace("_", "-"): v for k, v in values.items()})


def make_request(
    body: bytes = b"", content_type: str = "", raw: list[tuple[bytes, bytes]] | None = None
) -> Request:
    raw = (
        raw
        if raw is not None
        else ([(b"content-type", content_type.encode())] if content_type else [])
    )
    return Request(
        method="POST",
        path="/x",
        url="http://t/x",
        raw_headers=raw,
        query_string="a=1&a=2",
        body=body,
        client="127.0.0.1",
    )


@pytest.mark.anyio
async def test_plain_body_under_limit_is_read_whole() -> None:
    body = b"x" * 200_000
    assert await read_body(receiver(body), headers(), 200_000) == body


@pytest.mark.anyio
async def test_declared_or_streamed_size_over_limit_is_413() -> None:
    with pytest.raises(PayloadTooLarge):
        await read_body(receiver(b"x" * 11), headers(content_length="11"), 10)
    with pytest.raises(PayloadTooLarge):
        await read_body(receiver(b"x" * 11), headers(), 10)


@pytest.mark.anyio
@pytest.mark.parametrize("coding", ["gzip", "deflate", "x-gzip", "gzip, identity"])
async def test_gzip_and_deflate_are_decoded(coding: str) -> None:
    data = b'{"hello": "world"}' * 100
    encoded = zlib.compress(data) if coding == "deflate" else gzip.compress(data)
    assert await read_body(receiver(encoded, 7), headers(content_encoding=coding), 10_000) == data


@pytest.mark.anyio
async def test_stacked_encodings_decode_in_reverse_order() -> None:
    data = b"abc" * 1000
    encoded = zlib.compress(gzip.compress(data))
    assert (
        await read_body(receiver(encoded), headers(content_encoding="gzip, deflate"), 10**6) == data
    )


@pytest.mark.anyio
async def test_gzip_bomb_is_413_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge):
            await read_body(receiver(bomb), headers(content_encoding="gzip"), 1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # never near the 50 MB the bomb would inflate to


@pytest.mark.anyio
async def test_unknown_encoding_is_415_and_corrupt_or_truncated_is_400() -> None:
    with pytest.raises(UnsupportedEncoding) as info:
        await read_body(receiver(b"x"), headers(content_encoding="br"), 100)
    assert info.value.status == 415
    with pytest.raises(PayloadError, match="corrupt"):
        await read_body(receiver(b"not gzip at all"), headers(content_encoding="gzip"), 100)
    with pytest.raises(PayloadError, match="truncated"):
        await read_body(
            receiver(gzip.compress(b"abc" * 100)[:-10]), headers(content_encoding="gzip"), 10_000
        )


def test_json_is_lazy_strict_and_bounded() -> None:
    assert make_request(b'{"a": [1, 2]}').json == {"a": [1, 2]}
    assert make_request(b"{}").json == {}  # an empty document is still a document
    for bad, message in [
        (b'{"a":', "malformed JSON"),
        (b'{"a":1} x', "malformed JSON"),
        (b'"\xff"', "not valid UTF-8"),
        (b"[" * 100_000, "nesting"),
    ]:
        with pytest.raises(HTTPError, match=message) as info:
            _ = make_request(bad).json
        assert info.value.status == 400


def test_headers_are_case_insensitive_and_multi_valued_query_too() -> None:
    req = make_request(
        raw=[(b"x-thing", b"1"), (b"x-thing", b"2"), (b"content-type", b"text/plain")]
    )
    assert req.headers.get("X-Thing") == "1"
    assert req.headers.getlist("x-THING") == ["1", "2"]
    assert req.query.getlist("a") == ["1", "2"]
    assert req.header_pairs()[0] == ("x-thing", "1")


def test_urlencoded_form_and_form_param() -> None:
    req = make_request(b"payload=%7B%22a%22%3A1%7D&x=1&x=2", "application/x-www-form-urlencoded")
    assert req.form.getlist("x") == ["1", "2"]
    assert req.form_param("payload") == {"a": 1}
    with pytest.raises(PayloadError, match="missing"):
        req.form_param("nope")


def test_multipart_fields_and_files() -> None:
    boundary = "BOUNDARY"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhi\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nfile body\r\n--{boundary}--\r\n"
    ).encode()
    req = make_request(body, f"multipart/form-data; boundary={boundary}")
    assert req.form.get("title") == "hi"
    assert [(f.field, f.filename, f.content) for f in req.files] == [("doc", "a.txt", b"file body")]


def test_return_values_map_to_responses() -> None:
    assert (to_response("hi").body, to_response("hi").media_type) == (
        b"hi",
        "text/plain; charset=utf-8",
    )
    assert to_response({"a": 1}).body == b'{"a":1}'
    assert to_response([1]).media_type == "application/json"
    assert to_response(b"\x00").media_type == "application/octet-stream"
    assert (to_response(None).status, to_response(None).body) == (200, b"")
    custom = Response("x", status=201, headers={"X-A": "b"})
    assert to_response(custom) is custom
    assert ("X-A", "b") in custom.header_list()
    with pytest.raises(TypeError, match="returned int"):
        to_response(42)
    assert isinstance(TemplateResponse("a.html", {}), TemplateResponse)


def test_client_address_honours_forwarded_headers_only_from_trusted_proxies() -> None:
    trusted = parse_networks(["10.0.0.0/8"])
    xff = Headers({"x-forwarded-for": "203.0.113.7, 10.0.0.2"})
    assert resolve_client("10.0.0.1", xff, trusted) == "203.0.113.7"
    assert resolve_client("198.51.100.1", xff, trusted) == "198.51.100.1"  # untrusted peer
    assert resolve_client("10.0.0.1", xff, []) == "10.0.0.1"
    fwd = Headers({"forwarded": 'for="[2001:db8::1]:4711";proto=https'})
    assert resolve_client("10.1.1.1", fwd, trusted) == "2001:db8::1"


@pytest.mark.anyio
async def test_concatenated_gzip_members_are_all_decoded() -> None:
    body = gzip.compress(b"first,") + gzip.compress(b"second")
    assert (
        await read_body(receiver(body, 5), headers(content_encoding="gzip"), 1000)
        == b"first,second"
    )


@pytest.mark.anyio
async def test_multi_member_bomb_is_stopped_at_the_limit() -> None:
    member = gzip.compress(b"\0" * 1_000_000)
    with pytest.raises(PayloadTooLarge):
        await read_body(receiver(member * 50), headers(content_encoding="gzip"), 10_000_000)


@pytest.mark.anyio
async def test_trailing_garbage_after_deflate_is_400() -> None:
    with pytest.raises(PayloadError, match="trailing"):
        await read_body(
            receiver(zlib.compress(b"abc") + b"junk"), headers(content_encoding="deflate"), 1000
        )


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": [1, {}]}',
        b"{}",
        b"[]",
        b'"s"',
        b"3",
        b'{"big": 123456789012345678901234567890}',
        b'  {"a" : 1}\n',
        b"[" * 512 + b"]" * 512,
    ],
)
def test_check_json_accepts_what_parse_json_accepts(body: bytes) -> None:
    from hookport.events import check_json, parse_json

    parse_json(body)
    check_json(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a":', "malformed JSON: Expecting value"),
        (b'{"a":1} x', "malformed JSON: Extra data"),
        (b'"\xff"', "not valid UTF-8"),
        (b"[" * 100_000, "nesting"),
        (b"[NaN]", "malformed JSON"),
        (b"\xef\xbb\xbf{}", "malformed JSON"),
        (b"1e400", "malformed JSON"),
        (b"", "malformed JSON"),
    ],
)
def test_check_json_rejects_with_a_clear_message(body: bytes, message: str) -> None:
    from hookport.events import check_json

    with pytest.raises(PayloadError, match=message) as info:
        check_json(body)
    assert info.value.status == 400


def test_header_map_is_case_insensitive_multi_valued_and_keeps_arrival_order() -> None:
    from hookport.http import HeaderMap

    h = HeaderMap.from_asgi([(b"X-A", b"1"), (b"content-type", b"text/plain"), (b"x-a", b"2")])
    assert (h.get("x-a"), h.get("X-A"), h["CONTENT-TYPE"]) == ("1", "1", "text/plain")
    assert h.getlist("X-a") == ["1", "2"]
    assert h.getlist("missing") == []
    assert (h.get("missing"), h.get("missing", "d")) == (None, "d")
    assert "Content-Type" in h and "nope" not in h and 3 not in h
    assert h.items() == [("x-a", "1"), ("content-type", "text/plain"), ("x-a", "2")]
    assert h.pairs() == [("X-A", "1"), ("content-type", "text/plain"), ("x-a", "2")]
    assert sorted(h) == ["content-type", "x-a"]
    with pytest.raises(KeyError):
        h["missing"]


@pytest.mark.anyio
async def test_bodies_in_flight_share_one_budget_and_give_it_back() -> None:
    from hookport.body import BodyBudget
    from hookport.errors import ServerBusy

    budget = BodyBudget(100)
    first = budget.hold()
    assert await read_body(receiver(b"x" * 60, 7), headers(content_length="60"), 1000, first)
    assert budget.used == 60
    second = budget.hold()
    with pytest.raises(ServerBusy):  # declared length: refused before reading
        await read_body(receiver(b"y" * 50), headers(content_length="50"), 1000, second)
    chunked = budget.hold()
    with pytest.raises(ServerBusy):  # no length: refused when the chunks pass the budget
        await read_body(receiver(b"z" * 50, 10), headers(), 1000, chunked)
    for hold in (first, second, chunked):
        hold.release()
    assert budget.used == 0


def test_tuple_returns_set_status_and_merge_headers() -> None:
    r = to_response(({"a": 1}, 201))
    assert (r.status, r.body, r.media_type) == (201, b'{"a":1}', "application/json")
    r = to_response(("hi", 202, {"X-A": "1"}))
    assert (r.status, r.headers, r.media_type) == (202, {"X-A": "1"}, "text/plain; charset=utf-8")
    r = to_response((Response(b"x", headers={"X-A": "1"}), 409, [("X-B", "2")]))
    assert (r.status, r.headers) == (409, {"X-A": "1", "X-B": "2"})
    assert to_response((None, 204)).status == 204


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (42, "int"),
        ({1, 2}, "set"),
        (("x",), "tuple of 1"),
        (("x", "200"), "tuple[str, str]"),
        (("x", True), "tuple[str, bool]"),
        (("x", 99), "tuple[str, int]"),
        ((("x", 200), 200), "tuple[tuple, int]"),
        (("x", 200, 5), "headers int"),
    ],
)
def test_unsupported_returns_name_their_type(value: object, type_name: str) -> None:
    with pytest.raises(UnsupportedReturn) as info:
        to_response(value)
    assert info.value.type_name == type_name
    assert isinstance(info.value, TypeError)


def _returns_int() -> int:
    return 1


def _returns_set() -> set[str]:
    return set()


def _returns_bad_tuple() -> tuple[str, str]:
    return ("a", "b")


def _returns_optional_dict() -> dict[str, int] | None:
    return None


def _returns_pair() -> tuple[dict[str, str], int]:
    return {}, 201


def _returns_response_or_str() -> Response | str:
    return ""


def _unannotated():  # type: ignore[no-untyped-def]
    return 1


@pytest.mark.parametrize(
    ("func", "problem"),
    [
        (_returns_int, "int"),
        (_returns_set, "set[str]"),
        (
            _returns_bad_tuple,
            "tuple[str, str] (a tuple is (body, status) or (body, status, headers))",
        ),
        (_returns_optional_dict, None),
        (_returns_pair, None),
        (_returns_response_or_str, None),
        (_unannotated, None),
    ],
)
def test_annotated_return_types_that_cannot_be_answered(func: Any, problem: str | None) -> None:
    assert unanswerable_return(func) == problem
