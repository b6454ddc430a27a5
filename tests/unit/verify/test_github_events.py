"""``hookport.verify.github_events``: the event a GitHub payload is, from its keys alone."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from hookport import verify
from hookport.verify.github_events import github_event


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        ({"ref": "refs/heads/main", "commits": [], "pusher": {}}, "push"),
        ({"ref": "refs/tags/v1", "pusher": {}}, "push"),  # a tag push without commits
        ({"action": "opened", "pull_request": {}, "number": 1}, "pull_request"),
        ({"action": "submitted", "review": {}, "pull_request": {}}, "pull_request_review"),
        ({"action": "created", "comment": {}, "pull_request": {}}, "pull_request_review_comment"),
        ({"action": "created", "comment": {}, "issue": {}}, "issue_comment"),
        ({"action": "opened", "issue": {}}, "issues"),
        ({"ref": "v1", "ref_type": "tag", "master_branch": "main"}, "create"),
        ({"ref": "v1", "ref_type": "tag"}, "delete"),
        ({"action": "published", "release": {}}, "release"),
        ({"action": "completed", "workflow_run": {}}, "workflow_run"),
        ({"forkee": {}}, "fork"),
        ({"zen": "Design for failure.", "hook_id": 1}, "ping"),
        ({"repository": {}}, None),  # nothing says which
        ([1, 2], None),
    ],
)
def test_shapes(payload: object, event: str | None) -> None:
    assert github_event(json.dumps(payload).encode()) == event


def test_form_payload_and_garbage() -> None:
    form = urlencode({"payload": json.dumps({"ref": "x", "commits": []})}).encode()
    assert github_event(form) == "push"
    assert github_event(b"") is None
    assert github_event(b"\xff{not json") is None


def test_signer_uses_it_and_an_explicit_type_wins() -> None:
    body = json.dumps({"ref": "refs/heads/main", "commits": []}).encode()
    signer = verify.github(secret="s")
    assert signer.sign(body, url="http://x/", now=0).headers["X-GitHub-Event"] == "push"
    given = signer.sign(body, url="http://x/", now=0, event_type="issues.opened")
    assert given.headers["X-GitHub-Event"] == "issues"
    assert signer.sign(b"{}", url="http://x/", now=0).headers["X-GitHub-Event"] == "ping"
