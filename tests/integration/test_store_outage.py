"""A store outage is answered 503 + Retry-After by receivers and the admin API alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hookport import Event, Plugin
from hookport.config import load_settings
from hookport.errors import StoreUnavailable
from hookport.testing import HookportClient

TOKEN = "admin-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client_for(tmp_path: Path) -> HookportClient:
    plugin = Plugin("p")

    @plugin.receiver("/hook")
    def handle(event: Event) -> None: ...

    settings = load_settings(
        None, {"HOOKPORT_ADMIN_TOKEN": TOKEN}, store={"url": f"sqlite:///{tmp_path}/o.db"}
    )
    return HookportClient.create([plugin], tmp_path, settings=settings)


async def outage(*args: Any) -> Any:
    raise StoreUnavailable("store unavailable, retry later", retry_after=7)


def assert_outage_answer(status: int, headers: Any, body: Any) -> None:
    assert status == 503
    assert headers["retry-after"] == "7"
    assert headers["content-type"] == "application/json"
    assert body == {"error": "store unavailable, retry later"}


@pytest.mark.anyio
async def test_a_receiver_answers_a_store_outage_with_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client_for(tmp_path) as client:
        monkeypatch.setattr(client.app.store, "append", outage)
        r = await client.send("/hook", b"{}")
        assert_outage_answer(r.status_code, r.headers, r.json())


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "verb"),
    [
        ("GET", "/_hookport/api/events", "list"),
        ("GET", "/_hookport/api/events/0123", "get"),
        ("POST", "/_hookport/api/events/0123/replay", "requeue"),
        ("GET", "/_hookport/api/stats", "counts"),
    ],
)
async def test_the_admin_api_answers_a_store_outage_with_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, path: str, verb: str
) -> None:
    async with client_for(tmp_path) as client:
        monkeypatch.setattr(client.app.store, verb, outage)
        r = await client.http.request(method, path, headers=AUTH)
        assert_outage_answer(r.status_code, r.headers, r.json())


@pytest.mark.anyio
async def test_admin_api_errors_keep_their_answers(tmp_path: Path) -> None:
    async with client_for(tmp_path) as client:
        missing = await client.http.get("/_hookport/api/events")
        assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")
        assert missing.json() == {"error": "missing or invalid admin token"}
        bad = await client.http.get("/_hookport/api/events?limit=x", headers=AUTH)
        assert bad.status_code == 400
        assert bad.json()["error"].startswith("bad query parameter: ")
        unknown = await client.http.get("/_hookport/api/events/nope", headers=AUTH)
        assert (unknown.status_code, unknown.json()) == (404, {"error": "no such event"})
