"""Route table: templates, converters, regexes, precedence, 404/405, duplicates."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hookport import Plugin
from hookport.errors import PluginError
from hookport.routing import Match, RouteTable, compile_path, join_prefix, path_kind


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
    assert m.allow == ("GET", "HEAD", "OPTIONS", "POST")
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
        ("/a/{id:decimal}", "unknown converter"),
        ("/a/{x}/{x}", "appears twice"),
        ("/a/{x", "malformed"),
        ("^/a/(", "invalid regular expression"),
    ],
)
def test_bad_paths_explain_themselves(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compile_path(path)


def test_flask_and_werkzeug_rules_match_as_in_flask() -> None:
    t = table(
        ("/example/<name>/<action>/", ("POST",), "errbot"),
        ("/items/<int:id>", ("GET",), "int"),
        ("/files/<path:rest>", ("GET",), "path"),
        ("/s/<string:word>", ("GET",), "string"),
        ("/f/<float:x>", ("GET",), "float"),
    )
    m = t.match("POST", "/example/alice/deploy/")
    assert (m.target, m.params) == ("errbot", {"name": "alice", "action": "deploy"})
    assert t.match("GET", "/items/42").params == {"id": 42}
    assert t.match("GET", "/items/x").kind is Match.NONE
    assert t.match("GET", "/files/a/b.txt").params == {"rest": "a/b.txt"}
    assert t.match("GET", "/s/w").params == {"word": "w"}
    assert t.match("GET", "/f/1.5").params == {"x": 1.5}
    assert t.match("GET", "/f/1").kind is Match.NONE  # werkzeug's float needs a dot


def test_hookport_float_and_uuid_converters() -> None:
    t = table(("/f/{x:float}", ("GET",), "f"), ("/u/{id:uuid}", ("GET",), "u"))
    assert t.match("GET", "/f/2").params == {"x": 2.0}
    u = "12345678-1234-5678-1234-567812345678"
    assert str(t.match("GET", f"/u/{u}").params["id"]) == u


@pytest.mark.parametrize(
    "path",
    [
        r"/foo/(?P<bar>[0-9]+)",  # helga: no anchors
        r"^/foo/(?P<bar>[0-9]+)",
        r"/foo/(?P<bar>[0-9]+)$",
        r"^/foo/(?P<bar>[0-9]+)$",
    ],
)
def test_regular_expressions_with_or_without_anchors(path: str) -> None:
    t = table((path, ("GET",), "helga"))
    m = t.match("GET", "/foo/12")
    assert (m.kind, m.params) == (Match.FULL, {"bar": "12"})
    assert t.match("GET", "/foo/12x").kind is Match.NONE
    assert t.match("GET", "/x/foo/12").kind is Match.NONE
    assert compile_path(path).kind == "regex"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/github", "static"),
        ("/api/plugin/me.mod/webhook/github", "static"),  # '.' and '-' are literal
        ("/a-b/c_d~e", "static"),
        ("/x/{name}", "template"),
        ("/x/<name>", "template"),
        (r"/x/\d+", "regex"),
        ("/x/.*", "regex"),
        ("/x|/y", "regex"),
        ("/x$", "regex"),
    ],
)
def test_the_detection_rule(path: str, kind: str) -> None:
    assert path_kind(path) == kind


def test_static_paths_with_dots_are_literal() -> None:
    t = table(("/v1.0/hook", ("POST",), "dot"))
    assert t.match("POST", "/v1.0/hook").target == "dot"
    assert t.match("POST", "/v1x0/hook").kind is Match.NONE


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/a/{x}/<y>", "mixes {name} and <name>"),
        (r"/a/(?P<x>\d+)/{y}", r"mixes a regular expression with a {name} parameter"),
        (r"/a/(?P<x>\d+)/<int:y>", r"mixes a regular expression with a <name> parameter"),
        (r"/a/([0-9]+)", "group without a name"),
        ("/a/{x}}", "malformed or unbalanced"),
        ("/a/{{x}", "malformed or unbalanced"),
        ("/a/<x", "malformed or unbalanced"),
        ("/a/x>", "malformed or unbalanced"),
        ("/a/{}", "malformed or unbalanced"),
        ("/a/<int(signed=True):x>", "converter arguments are not supported"),
        ("/a/<any:x>", "unknown converter 'any'"),
        ("/a/{x:string}", "unknown converter 'string'"),
        ("/a/<str:x>", "unknown converter 'str'"),
        ("/a/<x>/<x>", "appears twice"),
        ("^foo", "must begin with '/'"),
        ("/a{2}", "malformed or unbalanced"),
    ],
)
def test_ambiguous_paths_are_refused(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        compile_path(path)


def test_ambiguous_paths_are_a_plugin_error_naming_plugin_and_path() -> None:
    with pytest.raises(PluginError, match=r"plugin 'p'.*'/a/\{x\}/<y>'"):
        table(("/a/{x}/<y>", ("GET",), "t"))


def test_examples_show_parameters_as_placeholders() -> None:
    assert compile_path("/example/<name>/<int:n>/").example == "/example/{name}/{n}/"
    assert compile_path("/items/{id:int}/{rest:path}").example == "/items/{id}/{rest}"
    assert compile_path("/static").example == "/static"
    assert compile_path(r"^/foo/(?P<bar>\d+)$").example is None


def test_trailing_slash_twins_are_served_unless_declared() -> None:
    t = table(
        ("/test", ("POST",), "bare"),
        ("/errbot/", ("POST",), "slash"),
        ("/x/<name>/", ("POST",), "param"),
        ("/both", ("GET",), "one"),
        ("/both/", ("GET",), "two"),
    )
    assert t.match("POST", "/test/").target == "bare"
    assert t.match("POST", "/errbot").target == "slash"
    assert t.match("POST", "/x/a").params == {"name": "a"}
    assert (t.match("GET", "/both").target, t.match("GET", "/both/").target) == ("one", "two")
    assert t.match("GET", "/test/").kind is Match.PARTIAL
    assert t.match("POST", "/nothing/").kind is Match.NONE


def test_star_means_every_method() -> None:
    t = table(("/any", ("*",), "any"), ("/get", ("GET",), "get"))
    for method in ("GET", "POST", "DELETE", "OPTIONS", "PROPFIND", "HEAD"):
        assert t.match(method, "/any").target == "any"
    m = t.match("PUT", "/get")
    assert (m.kind, m.allow) == (Match.PARTIAL, ("GET", "HEAD", "OPTIONS"))


@pytest.mark.parametrize(
    ("first", "second"), [(("*",), ("GET",)), (("GET",), ("*",)), (("*",), ("*",))]
)
def test_star_overlaps_every_method_of_the_same_path(
    first: tuple[str, ...], second: tuple[str, ...]
) -> None:
    with pytest.raises(PluginError, match=r"'b'.*/a .*already declared by plugin 'a'"):
        RouteTable([("/a", first, "one", "a"), ("/a", second, "two", "b")])


def test_join_prefix_keeps_each_syntax() -> None:
    prefix = "/api/plugin/me.mod/webhook"
    assert join_prefix(prefix, "/github") == "/api/plugin/me.mod/webhook/github"
    assert join_prefix(prefix, "/x/<name>") == "/api/plugin/me.mod/webhook/x/<name>"
    joined = join_prefix(prefix, r"^/foo/(?P<bar>\d+)$")
    assert compile_path(joined).match("/api/plugin/me.mod/webhook/foo/3") == {"bar": "3"}
    assert compile_path(joined).match("/api/plugin/meXmod/webhook/foo/3") is None
    assert join_prefix("", "/a") == "/a"


@pytest.mark.parametrize(
    ("methods", "expected"),
    [("*", ("*",)), (["*"], ("*",)), (["get", "*"], ("*",)), ("post", ("POST",))],
)
def test_method_lists(methods: Any, expected: tuple[str, ...]) -> None:
    plugin = Plugin("m")
    assert plugin.receiver("/r", methods=methods).methods == expected


@pytest.mark.parametrize("methods", [[], ["GET POST"], [""]])
def test_bad_method_lists_are_refused(methods: list[str]) -> None:
    with pytest.raises(ValueError, match="method"):
        Plugin("m").receiver("/r", methods=methods)
