"""Provider specifics: event types, delivery ids, handshakes, auth answers, combinators."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest

from hookport import verify
from hookport.errors import ForbiddenError, VerificationError
from hookport.types import Reply

from .cases import DISCORD_PRIVATE, DISCORD_PUBLIC, WHSK
from .conftest import NOW, replace_header, request, signed

S = "s3cret"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# --- GitHub ----------------------------------------------------------------------------------


def test_github_event_plus_action_and_delivery() -> None:
    v = verify.github(secret=S)
    result = v.verify(signed(v, b'{"action":"opened"}', event_type="issues"), NOW)
    assert result.event_type == "issues.opened"
    assert result.delivery_id


def test_github_action_from_form_payload_field() -> None:
    v = verify.github(secret=S)
    body = urlencode({"payload": json.dumps({"action": "closed"})}).encode()
    result = v.verify(signed(v, body, event_type="pull_request", headers=FORM), NOW)
    assert result.event_type == "pull_request.closed"


@pytest.mark.parametrize("body", [b"[]", b"not json", b'{"action": 3}', b'{"action": ""}'])
def test_github_without_string_action_keeps_the_event(body: bytes) -> None:
    v = verify.github(secret=S)
    assert v.verify(signed(v, body, event_type="push"), NOW).event_type == "push"


def test_github_sha1_only_when_allowed() -> None:
    sha1_only = replace_header(
        signed(verify.github(secret=S, allow_sha1=True), b"x"), "X-Hub-Signature-256", None
    )
    verify.github(secret=S, allow_sha1=True).verify(sha1_only, NOW)
    with pytest.raises(VerificationError, match="X-Hub-Signature-256"):
        verify.github(secret=S).verify(sha1_only, NOW)


def test_github_prefix_must_match_algorithm() -> None:
    v = verify.github(secret=S)
    req = signed(v, b"x")
    value = req.headers.get("X-Hub-Signature-256").replace("sha256=", "sha1=")
    with pytest.raises(VerificationError):
        v.verify(replace_header(req, "X-Hub-Signature-256", value), NOW)


# --- GitLab ----------------------------------------------------------------------------------


def test_gitlab_object_kind_wins_over_header() -> None:
    v = verify.gitlab(token=S)
    req = signed(v, b'{"object_kind":"merge_request"}', event_type="push")
    assert v.verify(req, NOW).event_type == "merge_request"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("Push Hook", "push"), ("Merge Request Hook", "merge_request"), ("System Hook", "system")],
)
def test_gitlab_header_normalised_without_object_kind(header: str, expected: str) -> None:
    v = verify.gitlab(token=S)
    req = request(b"{}", {"X-Gitlab-Token": S, "X-Gitlab-Event": header})
    assert v.verify(req, NOW).event_type == expected


def test_gitlab_idempotency_key_then_event_uuid() -> None:
    v = verify.gitlab(token=S)
    both = {"X-Gitlab-Token": S, "Idempotency-Key": "k1", "X-Gitlab-Event-UUID": "u1"}
    assert v.verify(request(b"{}", both), NOW).delivery_id == "k1"
    del both["Idempotency-Key"]
    assert v.verify(request(b"{}", both), NOW).delivery_id == "u1"


def test_gitlab_token_and_signature_both_required_when_both_set() -> None:
    v = verify.gitlab(token=S, signing_secret="whsec_" + base64.b64encode(b"k" * 32).decode())
    req = signed(v, b"{}")
    v.verify(req, NOW)
    with pytest.raises(VerificationError):
        v.verify(replace_header(req, "webhook-signature", None), NOW)
    with pytest.raises(VerificationError):
        v.verify(replace_header(req, "X-Gitlab-Token", None), NOW)


# --- Gitea / Forgejo -------------------------------------------------------------------------


def test_gitea_form_signs_the_payload_field() -> None:
    v = verify.gitea(secret=S)
    payload = json.dumps({"action": "opened", "ref": "x y+z"})
    body = urlencode({"payload": payload}).encode()
    req = signed(v, body, headers=FORM, event_type="issues")
    assert v.verify(req, NOW).event_type == "issues.opened"
    # the signature is of the field, not of the encoded body
    sig = req.headers.get("X-Gitea-Signature")
    from hookport.verify import _hmac

    assert sig == _hmac.sign(S.encode(), payload.encode(), "sha256", "hex")


def test_gitea_form_without_payload_field_is_401() -> None:
    v = verify.gitea(secret=S)
    req = signed(v, b"other=1", headers=FORM)
    with pytest.raises(VerificationError, match="payload"):
        v.verify(req, NOW)


def test_forgejo_headers() -> None:
    v = verify.gitea(secret=S)
    req = signed(v, b'{"ref":"main"}')
    sig = req.headers.get("X-Gitea-Signature")
    forgejo = request(
        req.body,
        {"X-Forgejo-Signature": sig, "X-Forgejo-Event": "push", "X-Forgejo-Delivery": "d-1"},
    )
    result = v.verify(forgejo, NOW)
    assert (result.event_type, result.delivery_id) == ("push", "d-1")


# --- Bitbucket -------------------------------------------------------------------------------


def test_bitbucket_event_key_and_request_uuid_never_hook_uuid() -> None:
    v = verify.bitbucket(secret=S)
    req = signed(v, b"{}", event_type="pullrequest:created")
    req = replace_header(req, "X-Request-UUID", None)
    req.headers_list.append(("X-Hook-UUID", "hook-1"))
    result = v.verify(req, NOW)
    assert result.event_type == "pullrequest:created"
    assert result.delivery_id is None
    req.headers_list.append(("X-Request-Id", "server-req-1"))
    assert v.verify(req, NOW).delivery_id == "server-req-1"


# --- Stripe / Shopify --------------------------------------------------------------------------


def test_stripe_type_and_id_from_body() -> None:
    v = verify.stripe(secret="whsec_x")
    result = v.verify(signed(v, b'{"id":"evt_1","type":"charge.succeeded"}'), NOW)
    assert (result.event_type, result.delivery_id) == ("charge.succeeded", "evt_1")


def test_shopify_topic_and_webhook_id() -> None:
    v = verify.shopify(secret=S)
    req = replace_header(
        signed(v, b"{}", event_type="orders/create"), "X-Shopify-Webhook-Id", "w-1"
    )
    result = v.verify(req, NOW)
    assert (result.event_type, result.delivery_id) == ("orders/create", "w-1")


# --- Slack -----------------------------------------------------------------------------------


def test_slack_url_verification_is_answered() -> None:
    v = verify.slack(signing_secret=S)
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aB"}).encode()
    result = v.verify(signed(v, body), NOW)
    assert result.reply == Reply(200, b'{"challenge": "3eZbrw1aB"}')


def test_slack_challenge_not_answered_when_disabled() -> None:
    v = verify.slack(signing_secret=S, answer_challenge=False)
    body = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
    result = v.verify(signed(v, body), NOW)
    assert result.reply is None and result.event_type == "url_verification"


def test_slack_event_callback_type_and_event_id() -> None:
    v = verify.slack(signing_secret=S)
    body = json.dumps(
        {"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention"}}
    ).encode()
    result = v.verify(signed(v, body), NOW)
    assert (result.event_type, result.delivery_id) == ("app_mention", "Ev1")


def test_slack_interactive_payload_type() -> None:
    v = verify.slack(signing_secret=S)
    body = urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
    assert v.verify(signed(v, body, headers=FORM), NOW).event_type == "block_actions"


def test_slack_challenge_with_a_bad_signature_is_still_401() -> None:
    v = verify.slack(signing_secret=S)
    req = signed(
        verify.slack(signing_secret="other"), b'{"type":"url_verification","challenge":"c"}'
    )
    with pytest.raises(VerificationError):
        v.verify(req, NOW)


# --- Standard Webhooks asymmetric ------------------------------------------------------------


def test_standard_v1a_verified_with_public_key() -> None:
    from hookport.verify import _ed25519
    from hookport.verify.standard import private_public_key

    public = "whpk_" + base64.b64encode(_ed25519.public_bytes(private_public_key(WHSK))).decode()
    req = signed(verify.standard(private_key=WHSK), b'{"type":"user.created"}')
    assert req.headers.get("webhook-signature").startswith("v1a,")
    result = verify.standard(public_key=public).verify(req, NOW)
    assert result.event_type == "user.created"
    with pytest.raises(VerificationError):
        verify.standard(secret="whsec_" + base64.b64encode(b"x" * 24).decode()).verify(req, NOW)


# --- Twilio ----------------------------------------------------------------------------------


def test_twilio_body_hash_mismatch() -> None:
    v = verify.twilio(auth_token=S)
    req = signed(v, b'{"a":1}', headers={"Content-Type": "application/json"})
    req.body = b'{"a":2}'
    with pytest.raises(VerificationError, match="bodySHA256"):
        v.verify(req, NOW)


def test_twilio_wrong_url_fails_and_idempotency_token_is_the_delivery_id() -> None:
    v = verify.twilio(auth_token=S)
    req = signed(v, b"A=1", headers=FORM, url="https://public.example/sms")
    assert v.verify(req, NOW).delivery_id == req.headers.get("I-Twilio-Idempotency-Token")
    req.url = "http://10.0.0.5:8080/sms"
    with pytest.raises(VerificationError):
        v.verify(req, NOW)


# --- Discord ---------------------------------------------------------------------------------


def test_discord_ping_is_answered_with_pong() -> None:
    v = verify.discord(public_key=DISCORD_PUBLIC)
    req = signed(verify.discord(private_key=DISCORD_PRIVATE), b'{"type":1,"id":"1"}')
    result = v.verify(req, NOW)
    assert result.reply == Reply(200, b'{"type":1}')


def test_discord_webhook_event_ping_and_event() -> None:
    signer = verify.discord(private_key=DISCORD_PRIVATE)
    ping = signer.verify(signed(signer, b'{"version":1,"type":0,"event":null}'), NOW)
    assert ping.reply is not None and ping.reply.status == 204
    body = b'{"version":1,"type":1,"event":{"type":"APPLICATION_AUTHORIZED"}}'
    assert signer.verify(signed(signer, body), NOW).event_type == "APPLICATION_AUTHORIZED"


# --- generic HMAC ----------------------------------------------------------------------------


def test_generic_hmac_headers_for_type_and_id() -> None:
    v = verify.hmac(secret=S, header="X-Sig", event_type_header="X-Ev", delivery_id_header="X-Id")
    result = v.verify(signed(v, b"x", event_type="build.done"), NOW)
    assert result.event_type == "build.done" and result.delivery_id


# --- basic / token / ip_allow ----------------------------------------------------------------


@pytest.mark.parametrize("auth", [None, "Basic Zm9vOmJhcg==", "Digest x"])
def test_basic_failures_carry_www_authenticate(auth: str | None) -> None:
    v = verify.basic({"ci": "pw"}, realm="hooks")
    headers = {"Authorization": auth} if auth else {}
    with pytest.raises(VerificationError) as info:
        v.verify(request(b"", headers), NOW)
    assert info.value.status == 401
    assert info.value.headers["WWW-Authenticate"].startswith('Basic realm="hooks"')


def test_basic_non_ascii_credentials() -> None:
    v = verify.basic({"jürgen": "pässwörd", "ci": "x"})
    assert v.verify(signed(v, b""), NOW).sender == "jürgen"
    other = base64.b64encode("jürgen:wrong".encode()).decode()
    with pytest.raises(VerificationError):
        v.verify(request(b"", {"Authorization": f"Basic {other}"}), NOW)


def test_token_names_become_sender() -> None:
    v = verify.token({"ci": "t1", "ops": "t2"})
    assert v.verify(request(b"", {"X-Hook-Token": "t2"}), NOW).sender == "ops"
    assert v.verify(request(b"", url="https://x/h?access_token=t1"), NOW).sender == "ci"


def test_token_single_string_has_no_sender_and_bearer_scheme() -> None:
    v = verify.token("t1", header="Authorization", scheme="Bearer")
    assert v.verify(request(b"", {"Authorization": "bearer t1"}), NOW).sender is None


def test_token_header_wins_over_query() -> None:
    v = verify.token("t1")
    with pytest.raises(VerificationError):
        v.verify(request(b"", {"X-Hook-Token": "bad"}, url="https://x/h?access_token=t1"), NOW)


@pytest.mark.parametrize(
    ("client", "allowed"),
    [
        ("10.1.2.3", True),
        ("10.1.2.3:5555", True),
        ("::ffff:10.1.2.3", True),
        ("[2001:db8::1]:443", True),
        ("2001:db8::1", True),
        ("11.0.0.1", False),
        ("2001:db9::1", False),
        ("not-an-ip", False),
        ("", False),
        (None, False),
    ],
)
def test_ip_allow(client: str | None, allowed: bool) -> None:
    v = verify.ip_allow(["10.0.0.0/8", "2001:db8::/32"])
    req = request(b"", client=client)
    if allowed:
        v.verify(req, NOW)
    else:
        with pytest.raises(ForbiddenError) as info:
            v.verify(req, NOW)
        assert info.value.status == 403


# --- combinators -----------------------------------------------------------------------------


def test_all_of_merges_results() -> None:
    v = verify.all_of(verify.basic({"ci": "pw"}), verify.github(secret=S))
    result = v.verify(signed(v, b'{"action":"x"}', event_type="issues"), NOW)
    assert (result.sender, result.event_type) == ("ci", "issues.x")
    assert v.scheme == "all_of(basic, github)"


def test_any_of_first_success() -> None:
    v = verify.any_of(verify.token({"a": "1"}), verify.token({"b": "2"}))
    assert v.verify(request(b"", {"X-Hook-Token": "2"}), NOW).sender == "b"


def test_any_of_all_forbidden_is_403() -> None:
    v = verify.any_of(verify.ip_allow("10.0.0.0/8"), verify.ip_allow("192.168.0.0/16"))
    with pytest.raises(ForbiddenError):
        v.verify(request(b"", client="1.1.1.1"), NOW)


def test_any_of_mixed_failures_are_401_with_challenge() -> None:
    v = verify.any_of(verify.ip_allow("10.0.0.0/8"), verify.basic({"ci": "pw"}))
    with pytest.raises(VerificationError) as info:
        v.verify(request(b"", client="1.1.1.1"), NOW)
    assert "WWW-Authenticate" in info.value.headers


def test_body_format() -> None:
    assert verify.stripe(secret="x").body_format == "json"
    assert verify.github(secret="x").body_format == "json_or_payload"
    assert verify.gitea(secret="x").body_format == "json_or_payload"
    assert verify.slack(signing_secret="x").body_format == "json_or_form"
    assert verify.twilio(secret="x").body_format == "any"
    ip = verify.ip_allow("10.0.0.0/8")
    assert verify.all_of(verify.stripe(secret="x"), ip).body_format == "json"
    assert verify.all_of(verify.github(secret="x"), ip).body_format == "json_or_payload"
    assert verify.any_of(verify.stripe(secret="x"), verify.token("t")).body_format == "any"
    assert verify.any_of(verify.stripe(secret="x"), verify.github(secret="y")).body_format == (
        "json_or_payload"
    )
