"""Which GitHub (or Gitea) event a payload is, from its shape, for signers given no event type.

GitHub names the event only in the ``X-GitHub-Event`` header; a body alone (``hookport sign
--data @push.json``) says it by its keys. The rules are GitHub's documented payload shapes,
most specific first; a body that fits none is ``ping`` when it has GitHub's ``zen`` and
``hook_id``, else unknown (None).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

# (event, keys the payload has). First match wins, so an event whose keys include another's
# comes first (a review comment has "comment" and "pull_request").
_SHAPES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (event, frozenset(keys.split()))
    for event, keys in (
        ("ping", "zen hook_id"),
        ("push", "ref commits"),
        ("push", "ref pusher"),
        ("pull_request_review_comment", "comment pull_request"),
        ("pull_request_review", "review pull_request"),
        ("pull_request", "pull_request"),
        ("issue_comment", "comment issue"),
        ("issues", "issue"),
        ("discussion_comment", "comment discussion"),
        ("discussion", "discussion"),
        ("commit_comment", "comment"),
        ("create", "ref ref_type master_branch"),
        ("delete", "ref ref_type"),
        ("release", "release"),
        ("workflow_run", "workflow_run"),
        ("workflow_job", "workflow_job"),
        ("check_run", "check_run"),
        ("check_suite", "check_suite"),
        ("deployment_status", "deployment_status"),
        ("deployment", "deployment"),
        ("fork", "forkee"),
        ("gollum", "pages"),
        ("status", "sha state context"),
        ("star", "starred_at"),
        ("member", "member"),
        ("milestone", "milestone"),
        ("label", "label"),
        ("package", "package"),
        ("registry_package", "registry_package"),
        ("repository_dispatch", "branch client_payload"),
        ("workflow_dispatch", "workflow inputs"),
    )
)


def github_event(body: bytes) -> str | None:
    """The ``X-GitHub-Event`` value that fits ``body`` (JSON, or a form's ``payload`` field),
    or None when its shape says nothing."""
    document = _document(body)
    if not isinstance(document, dict):
        return None
    keys = document.keys()
    for event, needed in _SHAPES:
        if needed <= keys:
            return event
    return None


def _document(body: bytes) -> object:
    text = body.decode("utf-8", "replace").strip()
    if not text.startswith("{"):
        payload = parse_qs(text, keep_blank_values=True).get("payload")
        if not payload:
            return None
        text = payload[0]
    try:
        return json.loads(text)
    except ValueError:
        return None
