"""Route table: templates, converters, regexes, precedence, 404/405, duplicates."""

from __future__ import annotations

import pytest

from hookport.errors import PluginError
from hookport.routing import Match, RouteTable, compile_path


def table(*entries: tuple[str, tuple[str, ...], str]) -> RouteTable[str]:
    return RouteTable((path, methods, target, "p") for path, methods, target in entries)


def test_static_template_int_path_and_regex_parameters() -> None:
    t = table(
        ("/hello", ("GET",), "static"),
        ("/hello/{name}", ("GET",), "name"),
        ("/items/{id:int}", ("GET",), "item"),
        ("/files/{rest:path}", ("GET",), "files"),
        (r"^/re/(?P<year>\d{4})/(?P<slug>[a-z-]+)$", ("GET",), "regex"),
    )
    assert t.match("GET", "/hello").target == "static"
    m = t.match("GET", "/hello/world")
    assert (m.kind, m.target, m.params) == (Match.FULL, "name", {"name": "world"})
    assert t.match("GET", "/items/42").params == {"id": 42}
    assert t.match("GET", "/items/4x").kind is Match.NONE
    assert t.match("GET", "/files/a/b/c.txt").params == {"rest": "a/b/c.txt"}
    assert t.match("GET", "/re/2024/hello-world").params == {"year": "2024", "slug": "hello-world"}


def test_patterns_are_anchored() -> None:
    t = table(
        ("/foo", ("GET",), "foo"), ("/x/{name}", ("GET",), "x"), ("^/r/[0-9]+", ("GET",), "r")
    )
    assert t.match("GET", "/foobar").kind is Match.NONE
    assert t.match("GET", "/x/a/b").kind is Match.NONE
    assert t.match("GET", "/r/12x").kind is Match.NONE
    assert t.match("GET", "/pre/r/12").kind is Match.NONE


def test_wrong_method_is_partial_with_allow() -> None:
    t = table(("/a/{x}", ("POST",), "post"), ("/a/{y}", ("GET",), "get"))
    m = t.match("DELETE", "/a/1")
    assert m.kind is Match.PARTIAL
    assert m.allow == ("GET", "HEAD", "POST")
    assert t.match("HEAD", "/a/1").target == "get"


def test_precedence_static_then_more_static_segments_then_regex() -> None:
    t = table(
        ("^/users/(?P<any>.*)$", ("GET",), "regex"),
        ("/users/{name}", ("GET",), "param"),
        ("/users/me", ("GET",), "static"),
        ("/users/{name}/repos", ("GET",), "repos"),
    )
    assert t.match("GET", "/users/me").target == "static"
    assert t.match("GET", "/users/bob").target == "param"
    assert t.match("GET", "/users/bob/repos").target == "repos"
    assert t.match("GET", "/users/bob/other").target == "regex"
    assert [e.target for e in t.entries] == ["static", "repos", "param", "regex"]


def test_duplicate_path_and_method_is_rejected_naming_plugins() -> None:
    entries = [("/a", ("POST",), "one", "first"), ("/a", ("POST", "GET"), "two", "second")]
    with pytest.raises(
        PluginError, match=r"'second'.*POST /a is already declared by plugin 'first'"
    ):
        RouteTable(entries)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nope", "must start with '/'"),
        ("/a/{id:float}", "unknown converter"),
        ("/a/{x}/{x}", "appears twice"),
        ("/a/{x", "malformed"),
        ("^/a/(", "invalid regular expression"),
    ],
)
def test_bad_paths_explain_themselves(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compile_path(path)
