"""Credentials a sender sent are never shown: admin API, dashboard, CLI, ``--json``, logs.

Deliveries are stored as received (a replay re-checks the original credential), and every
surface shows them through the app's one :class:`hookport.redaction.Redaction`.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import run_hookport, wait_until

PLUGIN = str(Path(__file__).parent / "plugins" / "creds.py")
ADMIN = "admin-token-redaction-e2e"
SECRETS = {
    "CREDS_GITLAB": "glsecret-7f3a9c41",
    "CREDS_BASIC": "basic-pw-51e2d0aa",
    "CREDS_BEARER": "bearer-tok-88d1f0c2",
    "CREDS_QUERY": "query-tok-2c9b77e3",
}
RELAY = "relay-cred-0b5e61d4"  # a header named in [redact] extra_headers
TICKET = "ticket-val-93a0c7f1"  # a query parameter named in [redact] extra_query
BASIC_B64 = base64.b64encode(f"alice:{SECRETS['CREDS_BASIC']}".encode()).decode()
NEVER = [*SECRETS.values(), RELAY, TICKET, BASIC_B64, ADMIN]
CONFIG = """
[redact]
extra_headers = ["X-Relay-Credential"]
extra_query = ["ticket"]
"""


def _assert_hidden(text: str, where: str) -> None:
    leaked = [secret for secret in NEVER if secret in text]
    assert not leaked, f"{where} shows {leaked}"


def _deliver(c: httpx.Client) -> dict[str, str]:
    body = b'{"object_kind": "push", "note": "[bold red]not markup[/bold red]"}'
    relay = {"X-Relay-Credential": RELAY, "X-Note": "[red]stored[/red]"}
    answers = {
        "gitlab": c.post(
            "/gitlab",
            content=body,
            headers={
                "X-Gitlab-Token": SECRETS["CREDS_GITLAB"],
                "X-Gitlab-Event": "Push Hook",
                "Content-Type": "application/json",
                **relay,
            },
        ),
        "basic": c.post(
            "/basic", content=body, auth=("alice", SECRETS["CREDS_BASIC"]), headers=relay
        ),
        "bearer": c.post(
            "/bearer",
            content=body,
            headers={"Authorization": f"Bearer {SECRETS['CREDS_BEARER']}", **relay},
        ),
        "query": c.post(
            f"/query?access_token={SECRETS['CREDS_QUERY']}&ticket={TICKET}&keep=visible",
            content=body,
            headers=relay,
        ),
    }
    for name, answer in answers.items():
        assert answer.status_code == 202, (name, answer.text)
    return {name: answer.json()["id"] for name, answer in answers.items()}


def test_no_surface_shows_a_credential_and_replay_still_verifies(
    serve: Any, tmp_path: Path
) -> None:
    config = tmp_path / "hookport.toml"
    config.write_text(CONFIG)
    env = {
        **SECRETS,
        "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/r.db",
        "HOOKPORT_ADMIN_TOKEN": ADMIN,
    }
    server = serve("--config", str(config), "--plugin", PLUGIN, env=env)
    auth = {"Authorization": f"Bearer {ADMIN}"}
    shown: list[tuple[str, str]] = []
    with httpx.Client(base_url=server.url, timeout=10) as c:
        ids = _deliver(c)

        def all_done() -> bool:
            events = c.get("/_hookport/api/events", headers=auth).json()["events"]
            return len(events) == 4 and all(e["status"] == "done" for e in events)

        wait_until(all_done, 20, "the four deliveries to be handled")
        shown.append(("api list", c.get("/_hookport/api/events", headers=auth).text))
        shown.append(("api routes", c.get("/_hookport/api/routes", headers=auth).text))
        details = {}
        for name, event_id in ids.items():
            answer = c.get(f"/_hookport/api/events/{event_id}", headers=auth)
            details[name] = answer.json()
            shown.append((f"api detail {name}", answer.text))

        # The scheme stays, the credential goes; names that are not sensitive stay as sent.
        headers = {n.lower(): v for n, v in details["basic"]["headers"]}
        assert headers["authorization"] == "Basic [redacted]"
        assert headers["x-relay-credential"] == "[redacted]"
        assert headers["x-note"] == "[red]stored[/red]"
        bearer = {n.lower(): v for n, v in details["bearer"]["headers"]}
        assert bearer["authorization"] == "Bearer [redacted]"
        gitlab = {n.lower(): v for n, v in details["gitlab"]["headers"]}
        assert gitlab["x-gitlab-token"] == "[redacted]"
        assert gitlab["x-gitlab-event"] == "Push Hook"
        assert details["query"]["query_string"] == (
            "access_token=[redacted]&ticket=[redacted]&keep=visible"
        )

        # The dashboard, signed in.
        signed_in = c.post(
            "/_hookport/login", data={"token": ADMIN}, headers={"Origin": server.url}
        )
        assert signed_in.status_code == 303
        shown.append(("dashboard index", c.get("/_hookport/").text))
        shown.append(("dashboard live list", c.get("/_hookport/?partial=1").text))
        shown.append(("dashboard endpoints", c.get("/_hookport/endpoints").text))
        for name, event_id in ids.items():
            page = c.get(f"/_hookport/events/{event_id}")
            assert page.status_code == 200
            shown.append((f"dashboard event {name}", page.text))
            live = c.get(f"/_hookport/events/{event_id}?partial=1").text
            shown.append((f"dashboard event {name} live", live))
        assert "access_token=[redacted]&amp;ticket=[redacted]" in shown[-2][1]

        # Replay re-checks the stored (unredacted) credential: the handler sees the original.
        replayed = c.post(f"/_hookport/api/events/{ids['gitlab']}/replay", headers=auth)
        assert replayed.status_code == 200

        def replayed_done() -> bool:
            e = c.get(f"/_hookport/api/events/{ids['gitlab']}", headers=auth).json()
            return e["status"] == "done" and len(e["attempts"]) == 2

        wait_until(replayed_done, 20, "the replayed GitLab delivery to be handled again")
        final = c.get(f"/_hookport/api/events/{ids['gitlab']}", headers=auth).json()
        assert all(a["ok"] for a in final["attempts"]), final["attempts"]

    cli_env = {**env, "HOOKPORT_REDACT__EXTRA_HEADERS": '["X-Relay-Credential"]'}
    cli_env["HOOKPORT_REDACT__EXTRA_QUERY"] = '["ticket"]'
    for name, event_id in ids.items():
        text = run_hookport(
            "events", "show", event_id, "--plugin", PLUGIN, cwd=tmp_path, env=cli_env
        )
        assert text.returncode == 0, text.stderr
        shown.append((f"events show {name}", text.stdout + text.stderr))
        as_json = run_hookport(
            "events", "show", event_id, "--json", "--plugin", PLUGIN, cwd=tmp_path, env=cli_env
        )
        assert as_json.returncode == 0, as_json.stderr
        shown.append((f"events show --json {name}", as_json.stdout + as_json.stderr))
        assert json.loads(as_json.stdout)["id"] == event_id
    # Rich markup stored in a delivery is printed as the text it is.
    assert "[red]stored[/red]" in shown[-2][1]
    assert "Basic [redacted]" in next(t for w, t in shown if w == "events show basic")
    listed = run_hookport("events", "list", "--json", "--plugin", PLUGIN, cwd=tmp_path, env=cli_env)
    shown.append(("events list --json", listed.stdout + listed.stderr))
    routes = run_hookport("routes", "--json", "--plugin", PLUGIN, cwd=tmp_path, env=cli_env)
    shown.append(("routes --json", routes.stdout + routes.stderr))
    assert "access_token=[redacted]" in routes.stdout
    # ``routes --urls`` is the one place the operator asks for the URLs to give senders.
    urls = run_hookport("routes", "--urls", "--plugin", PLUGIN, cwd=tmp_path, env=cli_env)
    assert f"access_token={SECRETS['CREDS_QUERY']}" in urls.stdout

    server.stop()
    shown.append(("server log", "".join(server.output)))
    for where, text in shown:
        _assert_hidden(text, where)
    assert re.search(r"Bearer \[redacted\]", next(t for w, t in shown if w == "api detail bearer"))
