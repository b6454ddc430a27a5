"""The one rule for what is shown of a delivery: credentials by name, known secrets by value."""

from __future__ import annotations

import logging

import pytest

from hookport.config import load_settings
from hookport.events import Attempt, Event, EventStatus, RecordedResponse
from hookport.observability import LogFormatter, RedactingFilter
from hookport.operations import event_detail, event_summary
from hookport.redaction import DEFAULT_HEADERS, REDACTED, Redaction


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("Authorization", "Basic YWxpY2U6cHc=", "Basic [redacted]"),
        ("authorization", "Bearer abc.def", "Bearer [redacted]"),
        ("Authorization", "opaque-credential", "[redacted]"),
        ("Proxy-Authorization", "Digest x=1", "Digest [redacted]"),
        ("Cookie", "session=abc; other=def", "[redacted]"),
        ("X-Gitlab-Token", "gl-tok", "[redacted]"),
        ("X-Hub-Signature-256", "sha256=ab", "[redacted]"),
        ("X-Telegram-Bot-Api-Secret-Token", "t", "[redacted]"),
        ("Stripe-Signature", "t=1,v1=ab", "[redacted]"),
        ("X-API-Key", "k", "[redacted]"),
        ("Content-Type", "application/json", "application/json"),
        ("X-GitHub-Event", "push", "push"),
    ],
)
def test_header_values(name: str, value: str, shown: str) -> None:
    assert Redaction().header_value(name, value) == shown


def test_query_strings_keep_everything_but_sensitive_values() -> None:
    r = Redaction()
    assert (
        r.query_string("access_token=s3cr3t&page=2&API_KEY=k&x=a%20b&flag")
        == "access_token=[redacted]&page=2&API_KEY=[redacted]&x=a%20b&flag"
    )
    assert r.target("/hook?token=abc#frag") == "/hook?token=[redacted]#frag"
    assert r.target("https://h.example/p?sig=1&v=2") == "https://h.example/p?sig=[redacted]&v=2"
    assert r.target("/plain/path") == "/plain/path"


def test_known_secret_values_are_masked_anywhere() -> None:
    r = Redaction(secrets=["hunter2-secret", "abc"])  # under 4 characters: ignored
    assert r.text("path /hook/hunter2-secret/x abc") == f"path /hook/{REDACTED}/x abc"
    assert r.target("/in/hunter2-secret?q=1") == f"/in/{REDACTED}?q=1"


def test_settings_replace_or_extend_the_defaults() -> None:
    settings = load_settings(
        None,
        {},
        redact={"extra_headers": ["X-Relay-*"], "extra_query": ["ticket"]},
    )
    r = Redaction.from_settings(settings.redact)
    assert r.sensitive_header("x-relay-credential")
    assert r.sensitive_header("Authorization")  # defaults kept
    assert r.sensitive_param("TICKET")
    only = Redaction.from_settings(
        load_settings(None, {}, redact={"headers": ["x-only"], "query": []}).redact
    )
    assert only.sensitive_header("X-Only")
    assert not only.sensitive_header("Authorization")
    assert not only.sensitive_param("access_token")
    assert len(DEFAULT_HEADERS) == len(set(DEFAULT_HEADERS))


def _event() -> Event:
    return Event(
        id="e" * 32,
        kind="receiver",
        plugin="p",
        endpoint="p:/x",
        type="push",
        delivery_id="d1",
        received_at=1.0,
        method="POST",
        path="/x",
        query_string="access_token=qtok-1234&a=1",
        headers=[
            ("Authorization", "Basic Zm9vOmJhcg=="),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body=b"token=slack-legacy-token&text=hello",
        params={"token": "p-tok", "name": "n"},
        sender=None,
        source_ip="127.0.0.1",
        status=EventStatus.DEAD,
        last_error="RuntimeError: GET /x?access_token=qtok-1234 failed",
        attempts=[Attempt(1, "h", False, 1.0, 2.0, "boom key=k-1234", "Traceback\nsecretvalue")],
        response=RecordedResponse(200, [("Set-Cookie", "sid=abc")], b"ok"),
    )


def test_event_shapes_are_redacted() -> None:
    r = Redaction(secrets=["secretvalue"])
    detail = event_detail(_event(), None, r)
    assert detail["headers"][0] == ["Authorization", "Basic [redacted]"]
    assert detail["query_string"] == "access_token=[redacted]&a=1"
    assert detail["body"] == "token=[redacted]&text=hello"  # form fields, by name
    assert detail["params"] == {"token": REDACTED, "name": "n"}
    assert "qtok-1234" not in detail["last_error"]
    assert detail["attempts"][0]["error"] == "boom key=[redacted]"
    assert detail["attempts"][0]["traceback"] == f"Traceback\n{REDACTED}"
    assert detail["response"]["headers"] == [["Set-Cookie", REDACTED]]
    assert "qtok-1234" not in str(event_summary(_event()))


def test_log_filter_redacts_by_name() -> None:
    filt = RedactingFilter(["known-secret-1"], names=Redaction())
    record = logging.LogRecord(
        "hookport.x", logging.WARNING, "f", 1,
        "GET /hook?access_token=tok-999&page=2 with Authorization: Bearer tok-888 and %s",
        ("known-secret-1",), None,
    )  # fmt: skip
    record.token = "field-tok"
    record.url = "/p?signature=sig-777"
    assert filt.filter(record)
    line = LogFormatter("text").format(record)
    for secret in ("tok-999", "tok-888", "known-secret-1", "field-tok", "sig-777"):
        assert secret not in line
    assert "page=2" in line
    assert "Authorization: Bearer [redacted]" in line
