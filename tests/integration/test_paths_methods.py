"""Path syntaxes, methods="*", trailing-slash twins and OPTIONS through the in-process app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hookport import Event, Plugin, PluginError, Request
from hookport.testing import HookportClient


def seed_paths_plugin() -> Plugin:
    plugin = Plugin("paths")

    @plugin.route(r"/foo/(?P<bar>[0-9]+)")  # helga, as its docs write it
    def foo(request: Request, bar: str) -> str:
        return f"someone hit the /foo endpoint with bar {bar}"

    @plugin.route("/example/<name>/<action>/", methods=["POST"])  # errbot's Flask rule
    def example(name: str, action: str) -> str:
        return f"User {name} is performing {action}"

    @plugin.route("/items/<int:item>")
    def item(item: int) -> dict[str, int]:
        return {"item": item, "next": item + 1}

    @plugin.route("/resource", methods="*")  # Nekro Agent: every method, the handler decides
    def resource(request: Request) -> Any:
        if request.method == "GET":
            return {"status": "available"}
        if request.method == "POST":
            return {"status": "created", "id": "1"}, 201
        return {"status": request.method.lower()}

    @plugin.route("/preflight", methods=["GET", "OPTIONS"])
    def preflight(request: Request) -> Any:
        return ("", 200, {"X-Own": "yes"}) if request.method == "OPTIONS" else "got"

    events = plugin.receiver("/events")

    @events
    def on_event(event: Event) -> None:
        pass

    return plugin


@pytest.mark.anyio
async def test_helga_errbot_and_nekro_paths_port_as_written(tmp_path: Path) -> None:
    async with HookportClient.create([seed_paths_plugin()], tmp_path) as client:
        r = await client.send("/foo/42", method="GET")
        assert (r.status_code, r.text) == (200, "someone hit the /foo endpoint with bar 42")
        assert (await client.send("/foo/4x", method="GET")).status_code == 404
        r = await client.send("/example/alice/deploy/")
        assert (r.status_code, r.text) == (200, "User alice is performing deploy")
        assert (await client.send("/items/41", method="GET")).json() == {"item": 41, "next": 42}
        assert (await client.send("/items/x", method="GET")).status_code == 404


@pytest.mark.anyio
async def test_handlers_that_ask_no_parameter_are_served_at_the_real_urls(tmp_path: Path) -> None:
    # Issue 11: such handlers were served at the literal text of the path and the URLs 404ed.
    plugin = Plugin("bare")

    @plugin.route(r"/foo/(?P<bar>[0-9]+)")  # helga, no ^ nor $
    def foo() -> str:
        return "foo"

    @plugin.route("/example/<name>/<action>/", methods=["POST"])  # errbot
    def example() -> str:
        return "example"

    orgs = plugin.receiver(r"/orgs/(?P<org>[a-z]+)")

    @orgs
    def on_org(event: Event) -> None:
        pass

    async with HookportClient.create([plugin], tmp_path) as client:
        assert (await client.send("/foo/42", method="GET")).text == "foo"
        assert (await client.send("/foo/(?P<bar>[0-9]+)", method="GET")).status_code == 404
        assert (await client.send("/example/alice/deploy/")).text == "example"
        assert (await client.send("/example/alice/")).status_code == 404
        assert (await client.send("/orgs/acme", b"{}")).status_code == 202
        assert (await client.send("/orgs/(?P<org>[a-z]+)", b"{}")).status_code == 404


@pytest.mark.anyio
async def test_star_methods_reach_the_handler_for_every_method(tmp_path: Path) -> None:
    async with HookportClient.create([seed_paths_plugin()], tmp_path) as client:
        assert (await client.send("/resource", method="GET")).json() == {"status": "available"}
        r = await client.send("/resource", b"{}")
        assert (r.status_code, r.json()["status"]) == (201, "created")
        for method in ("DELETE", "PATCH", "OPTIONS"):
            r = await client.send("/resource", method=method)
            assert r.json() == {"status": method.lower()}


@pytest.mark.anyio
async def test_trailing_slash_twins_are_served_with_their_query(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    plugin = Plugin("slashes")

    @plugin.route("/test", methods=["POST"])
    def test(request: Request) -> str:
        seen.append((request.path, request.query_string))
        return "OK"

    async with HookportClient.create([plugin, seed_paths_plugin()], tmp_path) as client:
        assert (await client.send("/test/?a=1", b"x")).text == "OK"
        assert (await client.send("/test?b=2", b"x")).text == "OK"
        r = await client.send("/example/bob/run")  # declared with a trailing slash
        assert r.text == "User bob is performing run"
    assert seen == [("/test/", "a=1"), ("/test", "b=2")]


@pytest.mark.anyio
async def test_options_is_204_with_allow_unless_declared(tmp_path: Path) -> None:
    async with HookportClient.create([seed_paths_plugin()], tmp_path) as client:
        r = await client.send("/events", method="OPTIONS")
        assert (r.status_code, r.headers["allow"], r.content) == (204, "OPTIONS, POST", b"")
        r = await client.send("/foo/1", method="OPTIONS")
        assert (r.status_code, r.headers["allow"]) == (204, "GET, HEAD, OPTIONS")
        r = await client.send("/example/a/b/", method="OPTIONS")
        assert (r.status_code, r.headers["allow"]) == (204, "OPTIONS, POST")
        r = await client.send("/preflight", method="OPTIONS")
        assert (r.status_code, r.headers["x-own"]) == (200, "yes")
        r = await client.send("/events", method="PUT")
        assert (r.status_code, r.headers["allow"]) == (405, "OPTIONS, POST")
        r = await client.send("/nowhere", method="OPTIONS")
        assert r.status_code == 404


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path", ["/a/{x}/<y>", r"/a/([0-9]+)", "/a/{x", r"/a/(?P<x>\d+)/{y}", "/a/<any:x>"]
)
async def test_ambiguous_paths_stop_start_up_naming_plugin_and_path(
    tmp_path: Path, path: str
) -> None:
    plugin = Plugin("ambiguous")

    @plugin.route(path)
    def handler() -> str:
        return ""

    with pytest.raises(PluginError) as info:
        HookportClient.create([plugin], tmp_path)
    assert "'ambiguous'" in str(info.value) and repr(path) in str(info.value)
