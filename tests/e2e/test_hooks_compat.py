"""adnanh/webhook's own documented examples, served unchanged by hookport and by Debian's
``webhook`` 2.8 side by side: every request gets the same status, body and headers from both.

The files in ``hooks_examples/`` are copied verbatim from adnanh's docs/Hook-Examples.md; each
case sends the request its docs describe (and the near misses: a wrong token, a bad signature,
a missing header), then compares the two answers.
"""

from __future__ import annotations

import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.hooks_support import same_answer, webhook  # noqa: F401 - the fixture

EXAMPLES = Path(__file__).parent / "hooks_examples"
PUSH = {
    "ref": "refs/heads/master",
    "head_commit": {"id": "c0ffee"},
    "pusher": {"name": "octocat", "email": "octo@example.com"},
}
BODY = json.dumps(PUSH).encode()
JSON_CT = {"Content-Type": "application/json"}


def sig(algo: str, body: bytes, secret: str = "mysecret") -> str:
    return hmac.new(secret.encode(), body, algo).hexdigest()


def gitea_body(ref: str) -> bytes:
    return json.dumps(
        {**PUSH, "ref": ref, "pusher": {"full_name": "Octo", "email": "o@e"}}
    ).encode()


def scalr_headers(body: bytes, key: str = "Scalr-provided signing key") -> dict[str, str]:
    date = time.strftime("%a %d %b %Y %H:%M:%S UTC", time.gmtime())
    mac = hmac.new(key.encode(), body + date.encode(), "sha1").hexdigest()
    return {"X-Signature": mac, "Date": date, **JSON_CT}


XML = b"""<app>
  <users>
    <user id="1" name="Jeff" />
    <user id="2" name="Sally" />
  </users>
  <messages>
    <message id="1" from_user="1" to_user="2">Hello!!</message>
  </messages>
</app>"""

SENDGRID = (EXAMPLES / "sendgrid-payload.json").read_bytes()
TRAVIS = "payload=" + json.dumps({"state": "passed", "branch": "master"})
ACR = json.dumps({"action": "push", "target": {"repository": "r", "tag": "t", "digest": "d"}})

# (hooks file, method, path, request keyword arguments)
CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("print-payload.json", "POST", "/hooks/print-payload", {"content": BODY, "headers": JSON_CT}),
    ("print-payload.json", "GET", "/hooks/print-payload", {}),
    ("print-payload.json", "POST", "/hooks/other", {}),
    ("github.json", "POST", "/hooks/webhook",
     {"content": BODY, "headers": {"X-Hub-Signature": "sha1=" + sig("sha1", BODY), **JSON_CT}}),
    ("github.json", "POST", "/hooks/webhook",
     {"content": BODY, "headers": {
         "X-Hub-Signature": f"sha1=0000,sha1={sig('sha1', BODY)}", **JSON_CT}}),
    ("github.json", "POST", "/hooks/webhook",
     {"content": BODY, "headers": {"X-Hub-Signature": "sha1=deadbeef", **JSON_CT}}),
    ("github.json", "POST", "/hooks/webhook", {"content": BODY, "headers": JSON_CT}),
    ("github.json", "POST", "/hooks/webhook",
     {"content": gitea_body("refs/heads/dev"),
      "headers": {"X-Hub-Signature": "sha1=" + sig("sha1", gitea_body("refs/heads/dev")),
                  **JSON_CT}}),
    ("bitbucket.json", "POST", "/hooks/webhook", {"content": b'{"actor":{"username":"u"}}',
                                                  "headers": JSON_CT}),
    ("gitlab.json", "POST", "/hooks/redeploy-webhook",
     {"content": b'{"user_name":"u"}',
      "headers": {"X-Gitlab-Token": "<YOUR-GENERATED-TOKEN>", **JSON_CT}}),
    ("gitlab.json", "POST", "/hooks/redeploy-webhook",
     {"content": b'{"user_name":"u"}', "headers": {"X-Gitlab-Token": "wrong", **JSON_CT}}),
    ("gogs.json", "POST", "/hooks/webhook",
     {"content": BODY, "headers": {"X-Gogs-Signature": sig("sha256", BODY), **JSON_CT}}),
    ("gogs.json", "POST", "/hooks/webhook",
     {"content": BODY, "headers": {"X-Gogs-Signature": "00", **JSON_CT}}),
    ("gitea.json", "POST", "/hooks/webhook",
     {"content": gitea_body("refs/heads/main"), "headers": {
         "X-Gitea-Signature": sig("sha256", gitea_body("refs/heads/main")), **JSON_CT}}),
    ("gitea.yaml", "POST", "/hooks/webhook",
     {"content": gitea_body("refs/heads/main"), "headers": {
         "X-Gitea-Signature": sig("sha256", gitea_body("refs/heads/main")), **JSON_CT}}),
    ("gitea.yaml", "POST", "/hooks/webhook",
     {"content": gitea_body("refs/heads/dev"), "headers": {
         "X-Gitea-Signature": sig("sha256", gitea_body("refs/heads/dev")), **JSON_CT}}),
    ("slack.json", "POST", "/hooks/redeploy-webhook",
     {"data": {"token": "<YOUR-GENERATED-TOKEN>", "text": "deploy"}}),
    ("slack.json", "POST", "/hooks/redeploy-webhook", {"data": {"token": "nope"}}),
    ("simple-one.json", "GET", "/hooks/simple-one?token=42", {}),
    ("simple-one.json", "GET", "/hooks/simple-one", {}),
    ("simple-one.json", "GET", "/hooks/simple-one?token=41", {}),
    ("scalr.json", "POST", "/hooks/redeploy-webhook",
     {"content": b'{"eventName":"HostUp","data":{"SCALR_SERVER_HOSTNAME":"h"}}',
      "headers": scalr_headers(b'{"eventName":"HostUp","data":{"SCALR_SERVER_HOSTNAME":"h"}}')}),
    ("scalr.json", "POST", "/hooks/redeploy-webhook",
     {"content": b"{}", "headers": scalr_headers(b"{}", key="wrong")}),
    ("scalr.json", "POST", "/hooks/redeploy-webhook", {"content": b"{}", "headers": JSON_CT}),
    ("travis.json", "POST", "/hooks/deploy",
     {"content": TRAVIS.encode(), "headers": {
         "Content-Type": "application/x-www-form-urlencoded"}}),
    ("travis.json", "POST", "/hooks/deploy",
     {"data": {"payload": json.dumps({"state": "failed", "branch": "master"})}}),
    ("sendgrid.json", "POST", "/hooks/sendgrid", {"content": SENDGRID, "headers": JSON_CT}),
    ("sendgrid.json", "POST", "/hooks/sendgrid", {"content": b"[]", "headers": JSON_CT}),
    ("xml.json", "POST", "/hooks/deploy",
     {"content": XML, "headers": {"Content-Type": "application/xml"}}),
    ("xml.json", "POST", "/hooks/deploy",
     {"content": XML.replace(b"Jeff", b"Bob"), "headers": {"Content-Type": "text/xml"}}),
    ("plex.json", "POST", "/hooks/plex",
     {"data": {"payload": json.dumps({"event": "media.play"})},
      "files": {"thumb": ("thumb.jpg", b"\xff\xd8\xff", "image/jpeg")}}),
    ("plex.json", "POST", "/hooks/plex",
     {"data": {"payload": json.dumps({"event": "media.pause"})},
      "files": {"thumb": ("thumb.jpg", b"\xff\xd8\xff", "image/jpeg")}}),
    ("string-arguments.json", "POST", "/hooks/webhook", {"content": BODY, "headers": JSON_CT}),
    ("synology.json", "POST", "/hooks/synology",
     {"content": b'{"message":"disk ok"}',
      "headers": {"api_key": "PUT_YOUR_API_KEY_HERE", **JSON_CT}}),
    ("synology.json", "POST", "/hooks/synology", {"content": b'{"message":"x"}',
                                                  "headers": JSON_CT}),
    ("acr.json", "POST", "/hooks/acr-push-event",
     {"content": ACR.encode(), "headers": {"X-Static-Token": "mysecretToken", **JSON_CT}}),
    ("acr.json", "POST", "/hooks/acr-push-event",
     {"content": ACR.replace("push", "delete").encode(),
      "headers": {"X-Static-Token": "mysecretToken", **JSON_CT}}),
]  # fmt: skip


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One adnanh and one hookport server per example file, started once for the module."""
    from tests.e2e.conftest import start
    from tests.e2e.hooks_support import start_webhook

    tmp = tmp_path_factory.mktemp("compat")
    running: dict[str, tuple[Any, Any]] = {}

    def get(name: str) -> tuple[str, str]:
        if name not in running:
            file = EXAMPLES / name
            theirs = start_webhook([file], tmp)
            ours = start(
                ["serve", "--host", "127.0.0.1", "--port", "0", "--hooks", str(file)],
                cwd=tmp,
                env={"HOOKPORT_STORE__URL": f"sqlite:///{tmp}/{name}.db"},
            )
            running[name] = (theirs, ours)
        theirs, ours = running[name]
        return theirs.url, ours.url

    yield get
    for theirs, ours in running.values():
        theirs.proc.kill()
        theirs.proc.wait()
        ours.close()


@pytest.mark.parametrize(("name", "method", "path", "kwargs"), CASES)
def test_documented_example_answers_as_adnanh(
    pairs: Any, name: str, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    theirs, ours = pairs(name)
    same_answer(theirs, ours, method, path, **kwargs)


def test_the_documented_answers_are_the_expected_ones(pairs: Any) -> None:
    """A few answers spelled out, so a change in both servers cannot go unnoticed."""
    theirs, ours = pairs("gitlab.json")
    ok = CASES[9][3]
    assert same_answer(theirs, ours, "POST", "/hooks/redeploy-webhook", **ok)["body"] == (
        "Executing redeploy script"
    )
    theirs, ours = pairs("github.json")
    bad = same_answer(theirs, ours, "POST", "/hooks/webhook", **CASES[5][3])
    assert (bad["status"], bad["body"]) == (500, "Error occurred while evaluating hook rules.")
    theirs, ours = pairs("simple-one.json")
    miss = same_answer(theirs, ours, "GET", "/hooks/simple-one")
    assert (miss["status"], miss["body"]) == (200, "Hook rules were not satisfied.")


def test_the_commented_example_is_refused_by_both(tmp_path: Path) -> None:
    """pass-file-to-command's example has // comments: neither server loads it."""
    import subprocess

    from tests.e2e.conftest import run_hookport
    from tests.e2e.hooks_support import webhook_binary

    file = EXAMPLES / "pass-file-to-command.json"
    theirs = subprocess.run(
        [webhook_binary(), "-ip", "127.0.0.1", "-port", "0", "-hooks", str(file)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert theirs.returncode != 0 and "couldn't load any hooks" in theirs.stdout
    ours = run_hookport("serve", "--port", "0", "--hooks", str(file), cwd=tmp_path)
    assert ours.returncode != 0
    assert "did not find expected ',' or '}'" in ours.stderr
