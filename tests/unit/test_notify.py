"""Notifier end to end through Apprise's ``json://`` service and a real local HTTP server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from tests.notify_sink import Receiver, notify_sink

from hookport.errors import ConfigError, NotifyError
from hookport.notify import Notifier, RecordingNotifier, SentNotification

SECRET = "s3cr3t-token-value"


@pytest.fixture
def service() -> Iterator[Receiver]:
    with notify_sink() as receiver:
        yield receiver


def notifier_for(service: Receiver, **channels: str) -> Notifier:
    environ = {"NOTIFY_PORT": str(service.port), "NOTIFY_TOKEN": SECRET}
    return Notifier(channels, environ)


@pytest.mark.anyio
async def test_send_posts_title_and_message_to_the_channel_url(service: Receiver) -> None:
    notifier = notifier_for(service, dev="json://127.0.0.1:${NOTIFY_PORT}/notify")

    await notifier.send("dev", "octocat pushed to octo-org/hello", title="push")

    assert len(service.received) == 1
    path, payload = service.received[0]
    assert path == "/notify"
    assert payload["title"] == "push"
    assert payload["message"] == "octocat pushed to octo-org/hello"


@pytest.mark.anyio
async def test_send_without_title_sends_an_empty_title(service: Receiver) -> None:
    notifier = notifier_for(service, dev="json://127.0.0.1:${NOTIFY_PORT}/notify")

    await notifier.send("dev", "hello")

    assert service.received[0][1]["title"] == ""
    assert service.received[0][1]["message"] == "hello"


@pytest.mark.anyio
async def test_a_failing_service_raises_notify_error_naming_the_channel_only(
    service: Receiver,
) -> None:
    notifier = notifier_for(service, ops="json://bot:${NOTIFY_TOKEN}@127.0.0.1:${NOTIFY_PORT}/fail")

    with pytest.raises(NotifyError, match="'ops'") as info:
        await notifier.send("ops", "disk full")

    assert len(service.received) == 1  # it was tried, and the server answered 500
    assert SECRET not in str(info.value)
    assert "127.0.0.1" not in str(info.value)


@pytest.mark.anyio
async def test_sending_to_an_unknown_channel_raises_notify_error(service: Receiver) -> None:
    notifier = notifier_for(service, dev="json://127.0.0.1:${NOTIFY_PORT}/notify")

    with pytest.raises(NotifyError, match="unknown notification channel 'nope'"):
        await notifier.send("nope", "hello")
    assert service.received == []


@pytest.mark.anyio
async def test_apprise_log_lines_do_not_leak_url_tokens(
    service: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="apprise")
    notifier = notifier_for(service, ops="json://bot:${NOTIFY_TOKEN}@127.0.0.1:${NOTIFY_PORT}/fail")

    with pytest.raises(NotifyError):
        await notifier.send("ops", "disk full")

    assert any(r.name.startswith("apprise") for r in caplog.records)
    assert SECRET not in caplog.text


def test_missing_environment_variable_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="SLACK_URL") as info:
        Notifier({"team": "${SLACK_URL}"}, {"OTHER": SECRET})
    assert "team" in str(info.value)
    assert SECRET not in str(info.value)


def test_url_apprise_cannot_use_is_a_config_error_without_the_url() -> None:
    with pytest.raises(ConfigError, match=r"\[channels\] team") as info:
        Notifier({"team": "nosuchscheme://${TOKEN}@host"}, {"TOKEN": SECRET})
    assert SECRET not in str(info.value)
    assert "nosuchscheme" not in str(info.value)


def test_check_names_the_plugin_and_the_undefined_channels() -> None:
    notifier = Notifier({"dev": "json://127.0.0.1:9/x"}, {})
    notifier.check(["dev"], plugin="github-notify")
    with pytest.raises(ConfigError, match=r"'github-notify'.*'ops'.*defined: dev"):
        notifier.check(["dev", "ops"], plugin="github-notify")


def test_names_lists_the_defined_channels() -> None:
    notifier = Notifier({"dev": "json://127.0.0.1:9/x", "ops": "json://127.0.0.1:9/y"}, {})
    assert notifier.names == {"dev", "ops"}


@pytest.mark.anyio
async def test_recording_notifier_records_in_order() -> None:
    notifier = RecordingNotifier()

    await notifier.send("dev", "one", title="t")
    await notifier.send("ops", "two")

    assert notifier.sent == [
        SentNotification("dev", "one", "t"),
        SentNotification("ops", "two", None),
    ]
    assert notifier.messages("dev") == ["one"]
    assert notifier.messages() == ["one", "two"]


@pytest.mark.anyio
async def test_recording_notifier_rejects_unknown_and_failing_channels() -> None:
    notifier = RecordingNotifier(["dev", "ops"], failing=["ops"])

    with pytest.raises(NotifyError, match="unknown"):
        await notifier.send("nope", "x")
    with pytest.raises(NotifyError, match="'ops' failed"):
        await notifier.send("ops", "x")
    with pytest.raises(ConfigError, match="'nope'"):
        notifier.check(["nope"], plugin="p")
    assert notifier.sent == []


@pytest.mark.anyio
async def test_a_target_fills_the_placeholder_url_quoted(service: Receiver) -> None:
    notifier = notifier_for(service, chat="json://127.0.0.1:${NOTIFY_PORT}/rooms/{to}")
    assert notifier.targeted == {"chat"}
    await notifier.send("chat", "to a channel", to="#ops")
    await notifier.send("chat", "to a user", to="@alice")
    posts = service.wait_for(2)
    # The target arrives whole, as one path segment ("#" quoted: not a fragment).
    assert [(unquote(path), doc["message"]) for path, doc in posts] == [
        ("/rooms/#ops", "to a channel"),
        ("/rooms/@alice", "to a user"),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "target",
    ["", "#a b", "x/../../admin", "a,b", "a?x=1", "%2Fetc", "a\r\nQUIT", "x" * 101, "@", "#"],
)
async def test_a_target_that_could_change_the_url_is_refused(
    service: Receiver, target: str
) -> None:
    notifier = notifier_for(service, chat="json://127.0.0.1:${NOTIFY_PORT}/rooms/{to}")
    with pytest.raises(NotifyError, match="not a valid target for channel 'chat'") as raised:
        await notifier.send("chat", "x", to=target)
    assert str(service.port) not in str(raised.value)
    assert service.received == []


@pytest.mark.anyio
async def test_to_is_required_by_a_placeholder_and_refused_without_one(
    service: Receiver,
) -> None:
    notifier = notifier_for(
        service,
        chat="json://127.0.0.1:${NOTIFY_PORT}/rooms/{to}",
        fixed="json://127.0.0.1:${NOTIFY_PORT}/fixed",
    )
    with pytest.raises(NotifyError, match="channel 'chat' needs a target"):
        await notifier.send("chat", "x")
    with pytest.raises(NotifyError, match="channel 'fixed' takes no target"):
        await notifier.send("fixed", "x", to="#ops")
    assert service.received == []


def test_a_placeholder_url_is_checked_at_construction() -> None:
    with pytest.raises(ConfigError, match="irc: not a notification URL") as raised:
        Notifier({"irc": "nosuchservice://host/{to}"}, {})
    assert "nosuchservice" not in str(raised.value)
    assert Notifier({"irc": "irc://bot@127.0.0.1:6667/{to}"}, {}).targeted == {"irc"}


@pytest.mark.anyio
async def test_recording_notifier_records_targets_and_refuses_what_the_real_one_would() -> None:
    recorder = RecordingNotifier(["irc", "dev"], targeted=["irc"])
    await recorder.send("irc", "hi", to="#ops")
    with pytest.raises(NotifyError, match="needs a target"):
        await recorder.send("irc", "hi")
    with pytest.raises(NotifyError, match="takes no target"):
        await recorder.send("dev", "hi", to="#ops")
    assert recorder.sent == [SentNotification("irc", "hi", None, "#ops")]


class FakeRelay:
    """A relay that records what it is given, or fails like a connection that is down."""

    def __init__(self, *, down: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.down = down

    async def send(self, target: str, message: str) -> None:
        if self.down:
            raise ConnectionError("not connected to the IRC server")
        self.sent.append((target, message))


@pytest.mark.anyio
async def test_a_relay_channel_sends_through_the_relay_with_its_target() -> None:
    relay = FakeRelay()
    notifier = Notifier(
        {"ops": "hookport-irc://#ops", "anyone": "hookport-irc://{to}"},
        {},
        relays={"hookport-irc": relay},
    )
    await notifier.send("ops", "deploy finished", title="deploy")
    await notifier.send("anyone", "psst", to="#dev")
    await notifier.send("anyone", "hi", to="alice")
    assert relay.sent == [("#ops", "deploy\ndeploy finished"), ("#dev", "psst"), ("alice", "hi")]
    with pytest.raises(NotifyError, match="not a valid target"):
        await notifier.send("anyone", "x", to="#a,#b")


@pytest.mark.anyio
async def test_a_relay_that_is_down_is_a_notify_error_naming_the_channel() -> None:
    notifier = Notifier(
        {"ops": "hookport-irc://#ops"}, {}, relays={"hookport-irc": FakeRelay(down=True)}
    )
    with pytest.raises(NotifyError, match="channel 'ops' failed: not connected"):
        await notifier.send("ops", "lost")


def test_a_relay_channel_without_its_relay_or_target_is_a_config_error() -> None:
    with pytest.raises(
        ConfigError, match=r"\[channels\] ops: hookport-irc:// sends through \[chatops.irc\]"
    ):
        Notifier({"ops": "hookport-irc://#ops"}, {})
    with pytest.raises(ConfigError, match="needs one channel or nick"):
        Notifier({"ops": "hookport-irc://"}, {}, relays={"hookport-irc": FakeRelay()})
