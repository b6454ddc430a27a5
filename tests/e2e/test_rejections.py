"""Rejected deliveries end to end: every 4xx of a real ``hookport serve`` (and a hook whose rules
do not match, which adnanh answers 200) is recorded with its reason as metadata only, listed by
``hookport events rejected`` and the admin API, counted in metrics, and bounded."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import run_hookport, wait_until

SITE = str(Path(__file__).parent / "plugins" / "site.py")
TOKEN = "admin-token-for-rejections"
SECRET = "gh-secret-for-rejections"
HEADER_VALUE = "very-secret-header-value-xyz"


def _config(tmp_path: Path, keep: int = 10_000) -> Path:
    hooks = tmp_path / "hooks.json"
    hooks.write_text(
        json.dumps(
            [
                {
                    "id": "deploy",
                    "execute-command": "/bin/true",
                    "trigger-rule": {
                        "match": {
                            "type": "value",
                            "value": "main",
                            "parameter": {"source": "payload", "name": "ref"},
                        }
                    },
                }
            ]
        )
    )
    config = tmp_path / "hookport.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/r.db"\nrejected_keep = {keep}\n'
        f'[server]\nmax_body_size = "64KiB"\n'
        f'[hooks]\nfiles = ["{hooks}"]\n'
    )
    return config


ENV = {
    "SITE_GITHUB_SECRET": SECRET,
    "HOOKPORT_CHANNELS__OUT": "json://127.0.0.1:9/x",
    "HOOKPORT_ADMIN_TOKEN": TOKEN,
}


def _rejected(config: Path, tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    done = run_hookport(
        "events", "rejected", "--json", "--config", str(config), "--plugin", SITE, *args,
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_every_rejection_is_recorded_with_its_reason_and_no_values(
    serve: Any, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    server = serve("--config", str(config), "--plugin", SITE, env=ENV)
    body = b'{"zen": "hi"}'
    good_sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with httpx.Client(base_url=server.url) as c:
        expected = [
            (c.post("/nowhere", headers={"X-Secret-Header": HEADER_VALUE}), 404, None),
            (c.delete("/hello/x"), 405, None),  # the path, not the method: no endpoint
            (
                c.post(
                    "/github",
                    content=body,
                    headers={
                        "X-GitHub-Event": "push",
                        "X-Hub-Signature-256": "sha256=" + "0" * 64,
                        "Content-Type": "application/json",
                    },
                ),
                401,
                "site:/github",
            ),
            (
                c.post(
                    "/github",
                    content=b"not json",
                    headers={
                        "X-GitHub-Event": "push",
                        "X-Hub-Signature-256": "sha256="
                        + hmac.new(SECRET.encode(), b"not json", hashlib.sha256).hexdigest(),
                        "Content-Type": "application/json",
                    },
                ),
                400,
                "site:/github",
            ),
            (c.post("/private", auth=("alice", "wrong")), 401, "site:private"),
            (c.get("/internal"), 403, "site:internal"),
            (c.post("/inbox", content=b"x" * 70_000), 413, "site:/inbox"),
            (c.get("/teapot"), 418, "site:teapot"),
            (c.post("/hooks/deploy", json={"ref": "dev"}), 200, "hooks:hooks"),
        ]
        for answer, status, _ in expected:
            assert answer.status_code == status, (answer.request.url, answer.text)
        ok = c.post("/github", content=body, headers={"X-GitHub-Event": "push",
                    "X-Hub-Signature-256": good_sig, "Content-Type": "application/json"})  # fmt: skip
        assert ok.status_code == 202  # accepted deliveries are not rejections

        wait_until(lambda: len(_rejected(config, tmp_path)) >= len(expected), 20, "the record")
        found = list(reversed(_rejected(config, tmp_path)))  # oldest first, as sent
        assert [(r["status"], r["endpoint"]) for r in found] == [
            (status, endpoint) for _, status, endpoint in expected
        ]
        reasons = [r["reason"] for r in found]
        assert reasons[0] == "no endpoint serves this path"
        assert reasons[1].startswith("method DELETE not allowed")
        assert reasons[2] == "signature does not match"
        assert "JSON" in reasons[3]
        assert reasons[8] == (
            "hook 'deploy': trigger rule match(value payload ref) failed: "
            "value: payload 'ref' differs from the value"
        )
        first = found[0]
        assert first["method"] == "POST" and first["path"] == "/nowhere"
        assert first["source_ip"] == "127.0.0.1"
        assert "x-secret-header" in first["header_names"]
        assert found[6]["body_size"] == 70_000

        # Filters, the admin API, metrics.
        only = _rejected(config, tmp_path, "--endpoint", "site:/github")
        assert [r["status"] for r in only] == [400, 401]
        auth = {"Authorization": f"Bearer {TOKEN}"}
        api = c.get("/_hookport/api/rejections?endpoint=site:/inbox", headers=auth).json()
        assert [r["status"] for r in api["rejections"]] == [413]
        assert c.get("/_hookport/api/rejections?limit=0", headers=auth).status_code == 400
        metrics = c.get("/_hookport/metrics", headers=auth).text
        assert 'hookport_rejected_total{endpoint="unmatched",status="404"} 1.0' in metrics
        assert 'hookport_rejected_total{endpoint="hooks:hooks",status="200"} 1.0' in metrics

    # Metadata only: neither the header's value nor any body reached the store.
    raw = b"".join(
        Path(f"{tmp_path}/r.db{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{tmp_path}/r.db{suffix}").exists()
    )
    assert HEADER_VALUE.encode() not in raw
    assert b"x" * 1000 not in raw


def test_the_record_keeps_only_the_newest(serve: Any, tmp_path: Path) -> None:
    config = _config(tmp_path, keep=5)
    server = serve("--config", str(config), "--plugin", SITE, env=ENV)
    with httpx.Client(base_url=server.url) as c:
        for i in range(30):
            assert c.get(f"/missing/{i}").status_code == 404
    wait_until(
        lambda: [r["path"] for r in _rejected(config, tmp_path)][:1] == ["/missing/29"],
        20,
        "the last rejection to be recorded",
    )
    server.stop()
    with sqlite3.connect(tmp_path / "r.db") as db:
        assert db.execute("SELECT count(*) FROM rejections").fetchone()[0] == 5
    assert [r["path"] for r in _rejected(config, tmp_path)] == [
        f"/missing/{i}" for i in range(29, 24, -1)
    ]


HOOK_SECRET = "hook-secret-for-rejections"


def test_a_hook_that_did_not_fire_names_the_rule_that_failed(serve: Any, tmp_path: Path) -> None:
    """Point 5: a mismatch and a signature failure each record the failed rule's path and why,
    in the CLI and the API, and never the signature the request sent."""
    hooks = tmp_path / "signed.json"
    hooks.write_text(json.dumps([{
        "id": "signed",
        "execute-command": "/bin/true",
        "trigger-rule": {"and": [
            {"match": {"type": "value", "value": "refs/heads/main",
                       "parameter": {"source": "payload", "name": "ref"}}},
            {"match": {"type": "payload-hmac-sha256", "secret": HOOK_SECRET,
                       "parameter": {"source": "header", "name": "X-Hub-Signature"}}},
        ]},
    }, {
        "id": "billing",
        "execute-command": "/bin/true",
        "trigger-rule": {"and": [
            {"verify": {"scheme": "stripe", "secret_env": "BILLING_SECRET"}},
            {"match": {"type": "value", "value": "x",
                       "parameter": {"source": "payload", "name": "type"}}},
        ]},
    }]))  # fmt: skip
    config = tmp_path / "hookport.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/r.db"\n[hooks]\nfiles = ["{hooks}"]\n')
    env = {**{k: v for k, v in ENV.items() if k != "SITE_GITHUB_SECRET"},
           "BILLING_SECRET": "whsec_billing-rejections"}  # fmt: skip
    server = serve("--config", str(config), env=env)
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    sent_signature = "sha256=" + "ab" * 32
    good = "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    json_type = {"Content-Type": "application/json"}
    with httpx.Client(base_url=server.url) as c:
        bad = c.post("/hooks/signed", content=body,
                     headers={**json_type, "X-Hub-Signature": sent_signature})  # fmt: skip
        assert bad.status_code == 500  # adnanh's answer to a signature failure
        unsigned = c.post("/hooks/signed", content=body, headers=json_type)
        assert unsigned.status_code == 200 and unsigned.text == "Hook rules were not satisfied."
        wrong_ref = c.post("/hooks/signed", json={"ref": "dev"})
        assert wrong_ref.status_code == 200
        fired = c.post(
            "/hooks/signed", content=body, headers={**json_type, "X-Hub-Signature": good}
        )
        assert fired.status_code == 200 and fired.text == ""  # it fired: no rejection
        assert c.post("/hooks/billing", json={"type": "x"}).status_code == 500  # unsigned

        def listed() -> list[dict[str, Any]]:
            done = run_hookport("events", "rejected", "--json", "--config", str(config),
                                cwd=tmp_path, env=env)  # fmt: skip
            assert done.returncode == 0, done.stderr
            rows: list[dict[str, Any]] = json.loads(done.stdout)
            return rows

        wait_until(lambda: len(listed()) >= 4, 20, "the record")
        found = list(reversed(listed()))
        stripe = found.pop()
        assert stripe["reason"].startswith(
            "hook 'billing': trigger rule and[0].verify(stripe) failed: verify stripe: "
            "SignatureError: "
        ), stripe["reason"]
        assert [r["reason"] for r in found] == [
            "hook 'signed': trigger rule and[1].match(payload-hmac-sha256 header "
            "X-Hub-Signature) failed: payload-hmac-sha256: SignatureError: signature does "
            "not match",
            "hook 'signed': trigger rule and[1].match(payload-hmac-sha256 header "
            "X-Hub-Signature) failed: payload-hmac-sha256: ParameterNodeError: parameter node "
            "not found: X-Hub-Signature",
            "hook 'signed': trigger rule and[0].match(value payload ref) failed: value: "
            "payload 'ref' differs from the value",
        ]
        assert [r["status"] for r in found] == [500, 200, 200]
        assert all(r["endpoint"] == "hooks:hooks" for r in found)
        table = run_hookport("events", "rejected", "--config", str(config), cwd=tmp_path, env=env)
        assert "and[1].match(payload-hmac-sha256 header X-Hub-Signature)" in table.stdout

        auth = {"Authorization": f"Bearer {TOKEN}"}
        api = c.get("/_hookport/api/rejections", headers=auth).json()["rejections"]
        assert [r["reason"] for r in reversed(api)] == [
            *[r["reason"] for r in found],
            stripe["reason"],
        ]
        assert sent_signature[7:] not in json.dumps(api)  # the signature it sent: never kept


def test_the_admin_api_filters_rejections_and_pages_them_by_id(serve: Any, tmp_path: Path) -> None:
    config = _config(tmp_path)
    server = serve("--config", str(config), "--plugin", SITE, env=ENV)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    bad = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64}
    with httpx.Client(base_url=server.url, headers=auth) as c:
        statuses = [c.get(f"/missing/{i}").status_code for i in range(3)]
        statuses.append(c.delete("/hello/x").status_code)
        statuses += [c.post("/github", content=b"{}", headers=bad).status_code for _ in range(2)]
        assert statuses == [404, 404, 404, 405, 401, 401]

        def api(query: str) -> Any:
            answer = c.get(f"/_hookport/api/rejections?{query}")
            assert answer.status_code == 200, answer.text
            return answer.json()

        wait_until(lambda: api("")["total"] == 6, 20, "the record")
        everything = api("")
        assert everything["next_before"] is None  # not a full page: the last one
        ids = [r["id"] for r in everything["rejections"]]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6

        first = api("no_endpoint=true&limit=3")
        assert [r["status"] for r in first["rejections"]] == [405, 404, 404]
        assert first["total"] == 4 and first["next_before"] == first["rejections"][-1]["id"]
        rest = api(f"no_endpoint=true&limit=3&before={first['next_before']}")
        assert [r["path"] for r in rest["rejections"]] == ["/missing/0"]
        assert rest["total"] == 4 and rest["next_before"] is None
        signed = api("status=401&endpoint=site:/github")
        assert [r["status"] for r in signed["rejections"]] == [401, 401]
        assert signed["total"] == 2
        assert api("status=418")["total"] == 0
        assert api("until=1")["rejections"] == []
        for query in ("status=abc", "status=4010", "no_endpoint=maybe", "before=x",
                      "endpoint=site:/github&no_endpoint=1"):  # fmt: skip
            answer = c.get(f"/_hookport/api/rejections?{query}")
            assert answer.status_code == 400, query
            assert answer.json()["error"].startswith("bad query parameter")
