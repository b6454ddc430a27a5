"""A native hook's ``trigger-rule``: checked at the request, answered as adnanh answers."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from hookport import verify
from hookport.errors import VerificationError
from hookport.hooks.actions import TriggerGate
from hookport.hooks.model import Argument, Hook, MatchRule, Rules
from hookport.http import HeaderMap, Request

RULE = Rules(match=MatchRule(type="value", value="yes", parameter=Argument("header", "X-Go")))


def request(headers: dict[str, str], body: bytes = b"{}") -> Request:
    return Request(method="POST", path="/hooks/h", url="http://t/hooks/h",
                   raw_headers=HeaderMap(list(headers.items())), query_string="", body=body,
                   client="127.0.0.1")  # fmt: skip


def test_a_mismatch_is_answered_and_not_stored() -> None:
    gate = TriggerGate(Hook(id="h", mismatch_code=412), RULE)
    reply = gate.verify(request({"X-Go": "no"}), time.time()).reply
    assert reply is not None
    assert (reply.status, reply.body) == (412, b"Hook rules were not satisfied.")
    assert gate.verify(request({"X-Go": "yes"}), time.time()).reply is None


def test_a_rule_error_is_a_500() -> None:
    bad = Rules(match=MatchRule(type="payload-hmac-sha256", secret="",
                                parameter=Argument("header", "X-Sig")))  # fmt: skip
    reply = TriggerGate(Hook(id="h"), bad).verify(request({"X-Sig": "x"}), time.time()).reply
    assert reply is not None and reply.status == 500


def test_the_verifier_runs_first_and_its_results_are_kept() -> None:
    inner = verify.github(secret="s3cret").resolve({})
    gate = TriggerGate(Hook(id="h"), RULE, inner)
    with pytest.raises(VerificationError):
        gate.verify(request({"X-Go": "yes"}), time.time())
    signed = inner.sign(b"{}", url="http://t/hooks/h", now=time.time(), event_type="push")
    verified = gate.verify(request({"X-Go": "yes", **signed.headers}), time.time())
    assert verified.reply is None and verified.event_type == "push"
    assert gate.scheme == "github+trigger-rule"


def test_requests_of_another_type_are_still_checked() -> None:
    other = SimpleNamespace(method="POST", path="/hooks/h", url="http://t/hooks/h",
                            headers=HeaderMap([("X-Go", "no")]), body=b"", client=None)  # fmt: skip
    reply = TriggerGate(Hook(id="h"), RULE).verify(other, time.time()).reply  # type: ignore[arg-type]
    assert reply is not None and reply.status == 200
