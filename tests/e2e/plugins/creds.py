"""Receivers that senders authenticate with credentials in headers and queries (redaction tests).

Each handler checks the stored delivery still carries its original credential: a replay works
only because deliveries are stored as received (credentials are redacted when shown).
"""

from __future__ import annotations

import base64
import os

from hookport import Event, Plugin, verify

plugin = Plugin("creds")

GITLAB = os.environ.get("CREDS_GITLAB", "unset-gitlab")
BASIC = os.environ.get("CREDS_BASIC", "unset-basic")
BEARER = os.environ.get("CREDS_BEARER", "unset-bearer")
QUERY = os.environ.get("CREDS_QUERY", "unset-query")

gitlab = plugin.receiver("/gitlab", verify=verify.gitlab(secret_env="CREDS_GITLAB"))
basic = plugin.receiver("/basic", verify=verify.basic({"alice": BASIC}))
bearer = plugin.receiver(
    "/bearer", verify=verify.token(BEARER, header="Authorization", scheme="Bearer", query=None)
)
query = plugin.receiver("/query", verify=verify.token(QUERY, header=None, query="access_token"))


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise RuntimeError(f"stored delivery lost its {what}")


@gitlab
def on_gitlab(event: Event) -> None:
    _require(event.header("X-Gitlab-Token") == GITLAB, "X-Gitlab-Token")


@basic
def on_basic(event: Event) -> None:
    expected = "Basic " + base64.b64encode(f"alice:{BASIC}".encode()).decode()
    _require(event.header("Authorization") == expected, "Basic credentials")


@bearer
def on_bearer(event: Event) -> None:
    _require(event.header("Authorization") == f"Bearer {BEARER}", "bearer token")


@query
def on_query(event: Event) -> None:
    _require(f"access_token={QUERY}" in event.query_string, "access token")
