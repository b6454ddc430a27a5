"""Route return values through the in-process app: tuples, and values a route cannot answer."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from hookport import Plugin, Response
from hookport.testing import HookportClient


def returns_plugin() -> Plugin:
    plugin = Plugin("returns")

    @plugin.route("/created", methods=["POST"])
    def created() -> tuple[dict[str, str], int]:
        return {"status": "created", "id": "r1"}, 201  # Nekro Agent's spelling

    @plugin.route("/accepted")
    def accepted() -> tuple[str, int, dict[str, str]]:
        return "queued", 202, {"X-Job": "7"}

    @plugin.route("/pairs")
    def pairs() -> Any:
        return Response("x", headers={"X-A": "1"}), 409, [("X-B", "2")]

    @plugin.route("/number")
    def number() -> Any:
        return 42

    @plugin.route("/bad-status")
    def bad_status() -> Any:
        return "x", "200"

    @plugin.route("/ok")
    def ok() -> str:
        return "ok"

    return plugin


@pytest.mark.anyio
async def test_tuples_set_status_and_headers(tmp_path: Path) -> None:
    async with HookportClient.create([returns_plugin()], tmp_path) as client:
        r = await client.send("/created", b"")
        assert (r.status_code, r.json()) == (201, {"status": "created", "id": "r1"})
        assert r.headers["content-type"] == "application/json"
        r = await client.send("/accepted", method="GET")
        assert (r.status_code, r.text, r.headers["x-job"]) == (202, "queued", "7")
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        r = await client.send("/pairs", method="GET")
        assert (r.status_code, r.headers["x-a"], r.headers["x-b"]) == (409, "1", "2")


@pytest.mark.anyio
async def test_unanswerable_values_are_a_500_naming_the_handler_every_call(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hookport.ingest")
    async with HookportClient.create([returns_plugin()], tmp_path) as client:
        for _ in range(2):
            r = await client.send("/number", method="GET")
            assert (r.status_code, r.json()) == (500, {"error": "internal server error"})
        r = await client.send("/bad-status", method="GET")
        assert r.status_code == 500
        assert (await client.send("/ok", method="GET")).text == "ok"  # still serving
    records = [rec for rec in caplog.records if getattr(rec, "handler", None)]
    lines = [rec.getMessage() for rec in records]
    number = [rec for rec in records if getattr(rec, "handler", None) == "number"]
    assert len(number) == 2, lines  # one line per call
    assert all(
        (getattr(rec, "plugin", None), getattr(rec, "type", None)) == ("returns", "int")
        for rec in number
    )
    assert any(
        getattr(rec, "handler", None) == "bad_status"
        and getattr(rec, "type", None) == "tuple[str, str]"
        for rec in records
    ), lines
