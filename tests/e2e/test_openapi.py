"""The admin API describes itself: ``/_hookport/api/`` and ``/_hookport/api/openapi.json``.

The description is generated from the routes, so these tests hold it to the running server:
every route is described and every described operation answers as described.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from starlette.routing import Route

from hookport.admin.api import AdminAPI
from hookport.admin.openapi import OPEN_PATHS, openapi_spec, operations

PLUGIN = str(Path(__file__).parent / "plugins" / "site.py")
TOKEN = "admin-token-for-openapi"


def admin_routes() -> set[tuple[str, str]]:
    api = AdminAPI(None, None, None)  # type: ignore[arg-type]  # routes() only names handlers
    found = set()
    for route in api.routes():
        assert isinstance(route, Route)
        path = "/_hookport" + re.sub(r"{(\w+)(:\w+)?}", r"{\1}", route.path)
        found |= {(m, path) for m in route.methods or ["GET"] if m != "HEAD"}
    return found


def test_every_admin_route_is_described_and_nothing_else() -> None:
    api = AdminAPI(None, None, None)  # type: ignore[arg-type]
    spec = openapi_spec(api.routes())
    described = {(method, path) for method, path, _ in operations(spec)}
    assert described == admin_routes()
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    for method, path, op in operations(spec):
        assert op["summary"] and "``" not in op["summary"], (method, path)
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
        guarded = path.startswith("/_hookport/api/") and path[10:] not in OPEN_PATHS
        assert ("security" in op) == guarded, (method, path)


def test_the_served_description_matches_the_server(serve: Any, tmp_path: Path) -> None:
    server = serve(
        "--plugin",
        PLUGIN,
        env={
            "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/o.db",
            "HOOKPORT_CHANNELS__OUT": "json://127.0.0.1:9/x",
            "SITE_GITHUB_SECRET": "x",
            "SITE_RESULTS": str(tmp_path / "r.log"),
            "HOOKPORT_ADMIN_TOKEN": TOKEN,
        },
    )
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.url) as c:
        index = c.get("/_hookport/api/")
        assert index.status_code == 200, index.text
        assert c.get("/_hookport/api", follow_redirects=True).json() == index.json()
        spec = c.get(index.json()["openapi"])
        assert spec.status_code == 200
        doc = spec.json()
        assert doc["openapi"].startswith("3.1")
        assert {(m, p) for m, p, _ in operations(doc)} == admin_routes()
        listed = {(o["method"], o["path"]) for o in index.json()["operations"]}
        assert listed == admin_routes()
        event_id = c.post("/inbox", content=b'{"n": 1}').json()["id"]
        routes = c.get("/_hookport/api/routes", headers=auth).json()["routes"]
        name = next(r["name"] for r in routes if "/" not in r["name"])
        for method, path, op in operations(doc):
            url = path.replace("{event_id}", event_id).replace("{name}", name)
            if "security" in op:
                refused = c.request(method, url)
                assert refused.status_code == 401, (method, path)
                assert refused.json()["error"]
            answer = c.request(method, url, headers=auth)
            assert str(answer.status_code) in op["responses"], (method, path, answer.status_code)
            assert answer.status_code < 400, (method, path, answer.text)
