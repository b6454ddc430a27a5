"""``examples/no-code/hookport.toml`` and ``[[hooks]]`` through a real ``hookport serve``.

Real commands, a real forwarding target and a real Apprise ``json://`` endpoint, both on
loopback (:mod:`tests.e2e.capture_server`); deliveries signed as GitHub and Stripe sign them.
Every wait is a deadline on a real condition.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookport import verify
from tests.e2e.capture_server import Capture
from tests.e2e.conftest import run_hookport, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "no-code"
GITHUB_SECRET = "github-no-code-secret"
STRIPE_SECRET = "whsec_stripe-no-code-secret"
FORWARD_KEY = b"billing-forward-key-32-bytes-long!"
FORWARD_SECRET = "whsec_" + base64.b64encode(FORWARD_KEY).decode()


def example_env(capture: Capture, tmp_path: Path) -> dict[str, str]:
    return {
        "GITHUB_SECRET": GITHUB_SECRET,
        "STRIPE_SECRET": STRIPE_SECRET,
        "BILLING_FORWARD_SECRET": FORWARD_SECRET,
        "BILLING_URL": f"{capture.url}/billing",
        "CHAT_URL": capture.url.replace("http://", "json://") + "/chat",
        "DEPLOY_LOG": str(tmp_path / "deploys.log"),
        "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/no-code.db",
    }


def github_push(url: str, ref: str, after: str) -> httpx.Response:
    body = json.dumps({
        "ref": ref, "after": after, "repository": {"full_name": "octo/app"},
        "pusher": {"name": "mona"},
    }).encode()  # fmt: skip
    signer = verify.github(secret=GITHUB_SECRET).resolve({})
    signed = signer.sign(body, url=url, now=time.time(), event_type="push")
    headers = {"Content-Type": "application/json", **signed.headers}
    return httpx.post(url, content=body, headers=headers, timeout=10)


def stripe_event(url: str, event_id: str) -> tuple[httpx.Response, bytes]:
    body = json.dumps({"id": event_id, "type": "invoice.paid", "data": {"amount": 42}}).encode()
    signed = verify.stripe(secret=STRIPE_SECRET).resolve({}).sign(body, url=url, now=time.time())
    headers = {"Content-Type": "application/json", **signed.headers}
    return httpx.post(url, content=body, headers=headers, timeout=10), body


def event_json(event_id: str, cwd: Path, env: dict[str, str], config: Path) -> dict[str, Any]:
    done = run_hookport("events", "show", event_id, "--json", "--config", str(config),
                        cwd=cwd, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def wait_status(
    event_id: str, status: str, cwd: Path, env: dict[str, str], config: Path
) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def reached() -> bool:
        seen.update(event_json(event_id, cwd, env, config))
        return seen.get("status") == status

    wait_until(reached, 30, f"event {event_id} {status}")
    return seen


def test_the_example_runs_forwards_and_notifies(
    serve: Any, capture: Capture, tmp_path: Path
) -> None:
    env = example_env(capture, tmp_path)
    config = EXAMPLE / "hookport.toml"
    server = serve("--config", str(config), env=env)
    log = tmp_path / "deploys.log"

    # GitHub push -> the script, for main only (the hook's filter), one at a time in order.
    assert (
        github_push(f"{server.url}/hooks/github", "refs/heads/main", "c0ffee1").status_code == 202
    )
    other = github_push(f"{server.url}/hooks/github", "refs/heads/dev", "bad0bad")
    assert other.status_code == 202
    assert (
        github_push(f"{server.url}/hooks/github", "refs/heads/main", "c0ffee2").status_code == 202
    )
    wait_until(lambda: log.is_file() and len(log.read_text().splitlines()) >= 2, 30, "deploys")
    assert log.read_text().splitlines() == ["octo/app c0ffee1 mona", "octo/app c0ffee2 mona"]
    filtered = wait_status(other.json()["id"], "done", tmp_path, env, config)
    assert filtered["attempts"] == []  # stored, no action ran: the filter refused the dev push

    # A bad signature is refused at the door and never runs anything.
    forged = httpx.post(f"{server.url}/hooks/github", content=b"{}", headers={
        "X-Hub-Signature-256": "sha256=" + "0" * 64, "X-GitHub-Event": "push",
        "Content-Type": "application/json"})  # fmt: skip
    assert forged.status_code == 401

    # Stripe -> the billing service: the same body, re-signed with Standard Webhooks.
    answer, body = stripe_event(f"{server.url}/hooks/stripe", "evt_no_code_1")
    assert answer.status_code == 202
    (got,) = capture.wait_for("/billing")
    assert got.body == body
    assert got.headers["content-type"] == "application/json"
    assert "stripe-signature" not in got.headers  # only the headers the forward lists
    msg_id, stamp = got.headers["webhook-id"], got.headers["webhook-timestamp"]
    assert msg_id == f"msg_{answer.json()['id']}"
    mac = hmac.new(FORWARD_KEY, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256)
    assert got.headers["webhook-signature"] == "v1," + base64.b64encode(mac.digest()).decode()
    # Stripe retries the same event: stored once, forwarded once.
    again, _ = stripe_event(f"{server.url}/hooks/stripe", "evt_no_code_1")
    assert again.json() == {"id": answer.json()["id"], "status": "duplicate"}

    # Any delivery -> chat through Apprise's json://, the message rendered from the payload.
    note = httpx.post(f"{server.url}/hooks/any", json={"name": "nightly-build"}, timeout=10)
    assert note.status_code == 202
    (chat,) = capture.wait_for("/chat")
    sent = json.loads(chat.body)
    assert sent["title"] == "webhook received"
    assert sent["message"] == "nightly-build: delivery (application/json)"
    assert capture.at("/billing") == [got]


def write_config(tmp_path: Path, text: str, name: str = "hookport.toml") -> Path:
    config = tmp_path / name
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/hooks.db"\n'
        '[worker]\nbackoff = { initial = "50ms", max = "200ms" }\npoll_interval = "100ms"\n' + text
    )
    return config


def test_a_hanging_target_never_delays_the_answers(
    serve: Any, capture: Capture, tmp_path: Path
) -> None:
    capture.hanging.add("/slow")
    config = write_config(
        tmp_path,
        f"""
[[hooks]]
id = "relay"
[[hooks.forward]]
url = "{capture.url}/slow"
allow = ["127.0.0.1"]
timeout = "60s"
""",
    )
    server = serve("--config", str(config))
    first = httpx.post(f"{server.url}/hooks/relay", content=b"1", timeout=10)
    assert first.status_code == 202
    capture.wait_for("/slow")  # the worker is now stuck on the target, which does not answer
    answers = [httpx.post(f"{server.url}/hooks/relay", content=str(i).encode(), timeout=10)
               for i in range(2, 7)]  # fmt: skip
    # Every delivery was stored and answered while the target still hung.
    assert [a.status_code for a in answers] == [202] * 5
    assert not capture.release.is_set()
    capture.release.set()
    bodies = {r.body for r in capture.wait_for("/slow", 6)}
    assert bodies == {str(i).encode() for i in range(1, 7)}


def test_each_destination_is_retried_on_its_own(
    serve: Any, capture: Capture, tmp_path: Path
) -> None:
    capture.failures_left["/flaky"] = 2
    config = write_config(
        tmp_path,
        f"""
[[hooks]]
id = "fanout"
max-attempts = 5
[[hooks.forward]]
url = "{capture.url}/steady"
allow = ["127.0.0.1"]
[[hooks.forward]]
url = "{capture.url}/flaky"
allow = ["127.0.0.1"]
""",
    )
    server = serve("--config", str(config))
    answer = httpx.post(f"{server.url}/hooks/fanout", content=b"fan", timeout=10)
    assert answer.status_code == 202
    detail = wait_status(answer.json()["id"], "done", tmp_path, {}, config)
    assert len(capture.at("/flaky")) == 3
    assert [r.body for r in capture.at("/steady")] == [b"fan"]  # not re-sent on the retries
    failed = [a for a in detail["attempts"] if not a["ok"]]
    assert len(failed) == 2
    assert all("answered 500: target unavailable" in a["error"] for a in failed)


def test_redirects_are_not_followed(serve: Any, capture: Capture, tmp_path: Path) -> None:
    capture.redirects["/moved"] = f"{capture.url}/elsewhere"
    config = write_config(
        tmp_path,
        f"""
[[hooks]]
id = "moved"
max-attempts = 1
[[hooks.forward]]
url = "{capture.url}/moved"
allow = ["127.0.0.1"]
""",
    )
    server = serve("--config", str(config))
    answer = httpx.post(f"{server.url}/hooks/moved", content=b"x", timeout=10)
    detail = wait_status(answer.json()["id"], "dead", tmp_path, {}, config)
    assert "302, a redirect (not followed)" in detail["attempts"][0]["error"]
    assert len(capture.at("/moved")) == 1
    assert capture.at("/elsewhere") == []


def test_templates_cannot_escape_the_sandbox(serve: Any, capture: Capture, tmp_path: Path) -> None:
    chat = capture.url.replace("http://", "json://") + "/chat"
    config = write_config(
        tmp_path,
        f"""
[channels]
chat = "{chat}"
[[hooks]]
id = "echo"
[[hooks.notify]]
channel = "chat"
message = "said: {{{{ payload.text }}}}"
[[hooks]]
id = "escape"
max-attempts = 1
[[hooks.notify]]
channel = "chat"
message = "{{{{ payload.__class__.__mro__[1].__subclasses__() }}}}"
""",
    )
    server = serve("--config", str(config))
    # Template syntax in a payload is data, never rendered again.
    httpx.post(f"{server.url}/hooks/echo", json={"text": "{{ 7*7 }} {% raw %}"}, timeout=10)
    (said,) = capture.wait_for("/chat")
    assert json.loads(said.body)["message"] == "said: {{ 7*7 }} {% raw %}"
    escape = httpx.post(f"{server.url}/hooks/escape", json={"a": 1}, timeout=10)
    detail = wait_status(escape.json()["id"], "dead", tmp_path, {}, config)
    error = detail["attempts"][0]["error"]
    assert error.startswith("SecurityError: access to attribute '__class__'")
    assert len(capture.at("/chat")) == 1  # nothing was sent for the escape attempt


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            '[[hooks.forward]]\nurl = "http://127.0.0.1:9/x"',
            "[[hooks]] 'bad' forward[0]: forward to http://127.0.0.1:9/x refused: 127.0.0.1",
        ),
        (
            '[[hooks.forward]]\nurl = "http://169.254.169.254/latest/meta-data"',
            "forward to http://169.254.169.254/latest/meta-data refused",
        ),
        (
            '[[hooks.forward]]\nurl = "http://[::1]:8080/"',
            "http://[::1]:8080/ refused: ::1 is a non-public address",
        ),
        ('[[hooks.forward]]\nurl = "http://localhost:8080/"', "localhost is loopback"),
        ('[[hooks.forward]]\nurl = "http://10.1.2.3/"', "10.1.2.3 is a non-public address"),
        (
            '[[hooks.notify]]\nchannel = "nope"\nmessage = "x"',
            "[[hooks]] 'bad' notify[0]: channel 'nope' is not defined in [channels] (defined: chat)",
        ),
        (
            '[[hooks.notify]]\nchannel = "chat"\nmessage = "{{ payload.x "',
            "[[hooks]] 'bad' notify[0] message: template syntax error on line 1",
        ),
        ('run = ["./missing.sh"]', "[[hooks]] 'bad' run: command './missing.sh' is not an"),
        (
            'filter = { match = { type = "regex", regex = "(", parameter = { source = "payload", name = "a" } } }\nrun = ["/bin/true"]',
            "[[hooks]] 'bad' filter: filter.match: regex '(' does not compile",
        ),
    ],
)
def test_check_names_the_hook(tmp_path: Path, table: str, expected: str) -> None:
    config = write_config(
        tmp_path, f'[channels]\nchat = "json://127.0.0.1:9/c"\n[[hooks]]\nid = "bad"\n{table}\n'
    )
    done = run_hookport("check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 1
    assert expected in done.stderr


def test_check_accepts_the_example(capture: Capture, tmp_path: Path) -> None:
    env = example_env(capture, tmp_path)
    done = run_hookport("check", "--config", str(EXAMPLE / "hookport.toml"), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "3 endpoint(s)" in done.stdout
    assert "hooks/any" in done.stdout  # the unverified one is pointed out


def test_converted_hooks_serve_as_the_file_does(serve: Any, tmp_path: Path) -> None:
    """``hooks convert`` output is a config whose ``[[hooks]]`` answer as the JSON file."""
    script = tmp_path / "greet.sh"
    script.write_text('#!/bin/sh\necho "hello $1"\n')
    script.chmod(0o755)
    hooks = [{
        "id": "greet", "execute-command": str(script), "include-command-output-in-response": True,
        "pass-arguments-to-command": [{"source": "payload", "name": "who"}],
        "trigger-rule": {"match": {"type": "value", "value": "yes",
                                   "parameter": {"source": "header", "name": "X-Go"}}},
        "trigger-rule-mismatch-http-response-code": 412,
    }]  # fmt: skip
    source = tmp_path / "hooks.json"
    source.write_text(json.dumps(hooks))
    converted = run_hookport("hooks", "convert", str(source), cwd=tmp_path)
    assert converted.returncode == 0, converted.stderr
    config = write_config(tmp_path, converted.stdout, "converted.toml")
    from_file = serve("--hooks", str(source))
    from_config = serve("--config", str(config))
    for headers in ({"X-Go": "yes"}, {"X-Go": "no"}):
        answers = [
            httpx.post(f"{s.url}/hooks/greet", json={"who": "ada"}, headers=headers, timeout=10)
            for s in (from_file, from_config)
        ]
        assert [(a.status_code, a.text) for a in answers[1:]] == [
            (answers[0].status_code, answers[0].text)
        ]
    assert answers[0].status_code == 412
    ok = httpx.post(f"{from_config.url}/hooks/greet", json={"who": "ada"},
                    headers={"X-Go": "yes"}, timeout=10)  # fmt: skip
    assert (ok.status_code, ok.text) == (200, "hello ada\n")


def test_the_example_script_is_executable() -> None:
    assert shutil.which("on_push.sh", path=str(EXAMPLE / "scripts"))


def test_forwards_to_private_addresses_are_refused_unless_allowed(
    serve: Any, capture: Capture, tmp_path: Path
) -> None:
    port = httpx.URL(capture.url).port
    # A loopback literal with no allow-list: refused when the config is read, nothing starts.
    literal = write_config(tmp_path, f"""
[[hooks]]
id = "relay"
[[hooks.forward]]
url = "{capture.url}/literal"
""", "literal.toml")  # fmt: skip
    refused = run_hookport("serve", "--config", str(literal), "--port", "0", cwd=tmp_path)
    assert refused.returncode != 0
    assert "is a non-public address" in refused.stderr, refused.stderr

    # "127.1" is not an address literal to Python but resolves to 127.0.0.1: the server starts,
    # and the forward is refused when it resolves the host, before any connection; the
    # event's attempt says why.
    sneaky = f"http://127.1:{port}/sneaky"
    hook = f'[[hooks.hook]]\nid = "relay"\nmax-attempts = 1\n[[hooks.hook.forward]]\nurl = "{sneaky}"\n'
    config = write_config(tmp_path, "[hooks]\n" + hook, "sneaky.toml")
    server = serve("--config", str(config))
    answer = httpx.post(f"{server.url}/hooks/relay", content=b"secret-ish", timeout=10)
    assert answer.status_code == 202
    detail = wait_status(answer.json()["id"], "dead", tmp_path, {}, config)
    (attempt,) = detail["attempts"]
    assert "127.1 resolves to 127.0.0.1, a non-public address" in attempt["error"]
    assert capture.received == []  # nothing reached the loopback server
    server.stop()

    # The same destination listed in [hooks] forward_allow: it arrives.
    allowed = write_config(
        tmp_path, f'[hooks]\nforward_allow = ["127.0.0.0/8"]\n{hook}', "allowed.toml"
    )
    server = serve("--config", str(allowed))
    answer = httpx.post(f"{server.url}/hooks/relay", content=b"allowed", timeout=10)
    assert answer.status_code == 202
    (got,) = capture.wait_for("/sneaky")
    assert got.body == b"allowed"
    wait_status(answer.json()["id"], "done", tmp_path, {}, allowed)
