"""precheck: what the head alone refuses (or decides), with verify()'s own errors."""

from __future__ import annotations

import pytest

from hookport import verify
from hookport.errors import ForbiddenError, VerificationError
from hookport.http import HeaderMap, RequestHead
from hookport.types import Verified
from hookport.verify.base import precheck_of

NOW = 1_700_000_000.0


def head(
    headers: dict[str, str] | None = None, query: str = "", client: str = "10.0.0.1"
) -> RequestHead:
    pairs = list((headers or {}).items())
    return RequestHead("POST", "/h", "http://x/h", HeaderMap(pairs), query, client, {})


@pytest.mark.parametrize(
    ("verifier", "message"),
    [
        (verify.github(secret="s"), "missing X-Hub-Signature-256 header"),
        (verify.stripe(secret="whsec_c2VjcmV0"), "missing Stripe-Signature header"),
        (verify.slack(secret="s"), "missing X-Slack-Request-Timestamp header"),
        (verify.shopify(secret="s"), "missing X-Shopify-Hmac-Sha256 header"),
        (verify.bitbucket(secret="s"), "missing X-Hub-Signature header"),
        (verify.gitea(secret="s"), "missing X-Gitea-Signature header"),
        (verify.basic({"u": "p"}), "missing Authorization header"),
        (verify.token(secret="t"), "missing token"),
    ],
)
def test_a_missing_credential_is_refused_from_the_head_with_verifys_message(
    verifier: object, message: str
) -> None:
    empty = head()
    with pytest.raises(VerificationError) as early:
        precheck_of(verifier, empty, NOW)  # type: ignore[arg-type]
    assert early.value.message == message
    with pytest.raises(VerificationError) as late:  # the same answer verify() gives
        verifier.verify(empty, NOW)  # type: ignore[attr-defined]
    assert late.value.message == message


def test_signature_schemes_need_the_body_when_the_header_is_there() -> None:
    assert (
        precheck_of(verify.github(secret="s"), head({"X-Hub-Signature-256": "sha256=00"}), NOW)
        is None
    )


def test_head_only_schemes_decide_from_the_head() -> None:
    token = verify.token(secret="t")
    decided = precheck_of(token, head({"X-Hook-Token": "t"}), NOW)
    assert decided == token.verify(head({"X-Hook-Token": "t"}), NOW)  # final, no body needed
    with pytest.raises(VerificationError, match="invalid token"):
        precheck_of(token, head({"X-Hook-Token": "wrong"}), NOW)
    with pytest.raises(ForbiddenError):
        precheck_of(verify.ip_allow(["192.0.2.0/24"]), head(client="10.0.0.1"), NOW)
    assert precheck_of(verify.ip_allow(["10.0.0.0/8"]), head(client="10.0.0.1"), NOW) == Verified()


def test_combinators_precheck_their_parts_in_order() -> None:
    both = verify.all_of(verify.ip_allow(["10.0.0.0/8"]), verify.github(secret="s"))
    with pytest.raises(VerificationError, match="missing X-Hub-Signature-256"):
        precheck_of(both, head(), NOW)
    assert precheck_of(both, head({"X-Hub-Signature-256": "sha256=00"}), NOW) is None
    either = verify.any_of(verify.basic({"u": "p"}), verify.ip_allow(["10.0.0.0/8"]))
    assert precheck_of(either, head(), NOW) == Verified()  # the second part decides
    with pytest.raises((VerificationError, ForbiddenError)):
        precheck_of(either, head(client="192.0.2.9"), NOW)
