"""The log format (text and JSON, with ``extra=`` and ``ctx.log`` fields) and the redactor."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hookport import Plugin, verify
from hookport.app import create_app
from hookport.config import load_settings
from hookport.context import Context
from hookport.notify import RecordingNotifier
from hookport.observability import LogFormatter, RedactingFilter, redact_logs, setup_logging
from hookport.verify.base import secret_values

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\w+) (\S+) (.*)$")
Capture = Callable[..., tuple[logging.Logger, io.StringIO]]


@pytest.fixture
def capture() -> Iterator[Capture]:
    """``capture(name, fmt, secrets=())``: a logger writing to a buffer through hookport's
    formatter (and a redactor of ``secrets``), detached from every other handler."""
    made: list[tuple[logging.Logger, logging.Handler, bool]] = []

    def make(
        name: str, fmt: str = "text", secrets: tuple[str, ...] = ()
    ) -> tuple[logging.Logger, io.StringIO]:
        buffer = io.StringIO()
        handler = logging.StreamHandler(buffer)
        handler.setFormatter(LogFormatter(fmt))  # type: ignore[arg-type]
        handler.addFilter(RedactingFilter(secrets))
        logger = logging.getLogger(name)
        made.append((logger, handler, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        return logger, buffer

    yield make
    for logger, handler, propagate in made:
        logger.removeHandler(handler)
        logger.propagate = propagate
        logger.setLevel(logging.NOTSET)


def _context(plugin: str = "fmt") -> Context:
    return Context(
        plugin=Plugin(plugin),
        notifier=RecordingNotifier(),
        endpoint=f"{plugin}:/hook",
        handler="on_push",
        settings=None,
        event_id="ev123",
        delivery_id="d-1",
    )


def test_text_renders_the_message_then_every_extra_field(capture: Capture) -> None:
    log, out = capture("hookport.test.text")
    log.warning(
        "rejected %s",
        "now",
        extra={
            "endpoint": "p:/x",
            "status": 401,
            "gone": None,
            "reason": 'bad "sig" = x',
            "empty": "",
        },
    )
    level, logger, rest = TEXT_LINE.match(out.getvalue().rstrip("\n")).groups()  # type: ignore[union-attr]
    assert (level, logger) == ("WARNING", "hookport.test.text")
    # None is left out; values with spaces, quotes or "=" (or empty) are quoted JSON strings.
    assert rest == 'rejected now endpoint=p:/x status=401 reason="bad \\"sig\\" = x" empty=""'


def test_json_is_one_object_a_line_with_the_same_fields(capture: Capture) -> None:
    log, out = capture("hookport.test.json", "json")
    log.info("started", extra={"endpoints": 3, "workers": True, "where": {"a": [1]}, "time": "x"})
    [line] = out.getvalue().splitlines()
    doc = json.loads(line)
    assert doc["level"] == "INFO" and doc["logger"] == "hookport.test.json"
    assert doc["message"] == "started"
    assert (doc["endpoints"], doc["workers"], doc["where"]) == (3, True, {"a": [1]})
    assert doc["extra.time"] == "x"  # a field named like a fixed key does not replace it
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["time"])


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_ctx_log_carries_its_bound_context_plus_the_call_s_fields(
    capture: Capture, fmt: str
) -> None:
    _, out = capture("hookport.plugin.fmt", fmt)
    _context().log.info("pushed %d", 2, extra={"repo": "octo/hello", "handler": "override"})
    line = out.getvalue().rstrip("\n")
    if fmt == "json":
        doc = json.loads(line)
        assert doc["message"] == "pushed 2" and doc["logger"] == "hookport.plugin.fmt"
        assert {k: doc[k] for k in ("plugin", "endpoint", "event_id", "delivery_id")} == {
            "plugin": "fmt",
            "endpoint": "fmt:/hook",
            "event_id": "ev123",
            "delivery_id": "d-1",
        }
        assert (doc["repo"], doc["handler"]) == ("octo/hello", "override")
    else:
        assert line.endswith(
            " INFO hookport.plugin.fmt pushed 2 plugin=fmt endpoint=fmt:/hook handler=override"
            " event_id=ev123 delivery_id=d-1 repo=octo/hello"
        )


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_exceptions_are_rendered(capture: Capture, fmt: str) -> None:
    log, out = capture("hookport.test.exc", fmt)
    try:
        raise ValueError("kaput")
    except ValueError:
        log.exception("failed", extra={"endpoint": "e"})
    text = out.getvalue()
    if fmt == "json":
        doc = json.loads(text)
        assert doc["exception"].startswith("Traceback") and "ValueError: kaput" in doc["exception"]
    else:
        first, *rest = text.splitlines()
        assert first.endswith("ERROR hookport.test.exc failed endpoint=e")
        assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "ValueError: kaput"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_masked_in_message_fields_exception_and_stack(
    capture: Capture, fmt: str
) -> None:
    secret = "hunter2-is/the+secret"
    log, out = capture("hookport.test.redact", fmt, secrets=(secret, "abc"))
    log.info(
        "token %s",
        secret,
        extra={
            "header": f"Bearer {secret}",
            "doc": {"k": secret},
            "query": "t=hunter2-is%2Fthe%2Bsecret",
            "n": 7,
        },
    )
    try:
        raise RuntimeError(f"cannot use {secret}")
    except RuntimeError:
        log.error("crashed", exc_info=True, stack_info=True, extra={"abc": "abc"})
    text = out.getvalue()
    assert secret not in text and "hunter2" not in text
    assert "abc" in text  # shorter than 4 characters: not masked
    assert text.count("***") >= 5
    if fmt == "json":
        first, second = (json.loads(line) for line in text.splitlines())
        assert first["message"] == "token ***" and first["header"] == "Bearer ***"
        assert first["doc"] == "{'k': '***'}" and first["query"] == "t=***" and first["n"] == 7
        assert second["exception"].endswith("RuntimeError: cannot use ***")
        assert second["stack"].startswith("Stack (most recent call last)")


def test_setup_logging_keeps_one_handler_and_one_redactor() -> None:
    root = logging.getLogger("hookport")
    saved = (list(root.handlers), root.propagate, root.level)
    try:
        setup_logging("info", "json")
        setup_logging("debug", "text")
        ours = [h for h in root.handlers if getattr(h, "_hookport", False)]
        assert len(ours) == 1 and ours[0] in logging.getLogger("uvicorn").handlers
        assert (
            isinstance(ours[0].formatter, LogFormatter) and ours[0].formatter.log_format == "text"
        )
        redactor = RedactingFilter(["s3cret-value"])
        redact_logs(redactor)
        assert [f for f in ours[0].filters if isinstance(f, RedactingFilter)] == [redactor]
    finally:
        for handler in root.handlers[:]:
            if handler not in saved[0]:
                root.removeHandler(handler)
                logging.getLogger("uvicorn").removeHandler(handler)
        root.propagate, root.level = saved[1], saved[2]
        logging.getLogger("uvicorn").propagate = True


# -- which secrets the redactor gets -------------------------------------------------------------


def test_secret_values_walks_resolved_verifiers() -> None:
    gh = verify.github(secret=["old-secret", "new-secret"])
    assert secret_values(gh) == {"old-secret", "new-secret"}
    from_env = verify.github(secret_env="GH")
    assert secret_values(from_env) == set()  # not resolved: nothing known yet
    assert secret_values(from_env.resolve({"GH": "env-secret"})) == {"env-secret"}
    combined = verify.any_of(
        verify.all_of(verify.token({"ci": "ci-token-1"}), verify.ip_allow("10.0.0.0/8")),
        verify.basic({"alice": "wonderland"}),
        verify.gitlab(token="gl-token", signing_secret="whsec_Z2wtc2lnbmluZy1rZXk="),
    )
    # Token names and user names are not secrets (they become the event's sender).
    assert secret_values(combined) == {
        "ci-token-1",
        "wonderland",
        "gl-token",
        "whsec_Z2wtc2lnbmluZy1rZXk=",
    }


def test_a_custom_verifier_declares_its_secrets() -> None:
    class Custom:
        def secret_values(self) -> list[str]:
            return ["custom-secret"]

    assert secret_values(Custom()) == {"custom-secret"}
    assert secret_values(None) == set()


def test_the_app_masks_every_configured_secret(tmp_path: Path) -> None:
    plugin = Plugin("sec")
    plugin.receiver("/gh", verify=verify.github(secret_env="GH_SECRET"))
    plugin.receiver("/tok", verify=verify.token(tokens_env="HOOK_TOKEN"))
    environ = {
        "GH_SECRET": "gh-from-env",
        "HOOK_TOKEN": "tok-from-env",
        "HOOKPORT_ADMIN_TOKEN": "admin-from-env",
        "HOOK_PATH": "hook-path-secret",
        "UNRELATED": "not-a-secret",
    }
    settings = load_settings(
        None,
        environ,
        store={"url": f"sqlite:///{tmp_path}/x.db"},
        secrets={"TABLE_SECRET": "from-the-table"},
        channels={"dev": "json://127.0.0.1:9/${HOOK_PATH}"},
    )
    app = create_app(settings, [plugin], workers=False)
    masked = app.log_filter.redact(
        "gh-from-env tok-from-env admin-from-env from-the-table hook-path-secret not-a-secret"
    )
    assert masked == "*** *** *** *** *** not-a-secret"
    assert "gh-from-env" not in repr(app.log_filter)


def test_the_store_password_is_masked() -> None:
    settings = load_settings(None, {}, store={"url": "postgresql://hp:pg-pass-word@db/hookport"})
    app = create_app(settings, [], workers=False)
    assert app.log_filter.redact("connect failed: pg-pass-word") == "connect failed: ***"


def test_the_log_limiter_logs_once_per_key_then_a_count(caplog: pytest.LogCaptureFixture) -> None:
    from hookport.observability import LogLimiter

    now = [100.0]
    limiter = LogLimiter(
        logging.getLogger("hookport.test"), every=5.0, max_keys=2, clock=lambda: now[0]
    )
    with caplog.at_level(logging.WARNING, logger="hookport.test"):
        assert limiter.log(logging.WARNING, "bad-sig", "rejected", {"client": "192.0.2.1"})
        for _ in range(500):  # a flood of the same rejection: no more lines...
            assert not limiter.log(logging.WARNING, "bad-sig", "rejected", {"client": "192.0.2.1"})
        assert limiter.log(logging.WARNING, "other", "rejected", {})  # ...but other keys still log
        now[0] += 5.0
        assert limiter.log(logging.WARNING, "bad-sig", "rejected", {"client": "192.0.2.1"})
    records = [r for r in caplog.records if r.name == "hookport.test"]
    assert len(records) == 3
    assert records[0].client == "192.0.2.1"
    assert records[2].suppressed == 500  # the count of what was not logged
