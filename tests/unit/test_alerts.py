"""[alerts] rules as a state machine: each rule fires, throttles (the held count in the next
message), and recovers; messages never carry more than ids, names, types and counts."""

from __future__ import annotations

from typing import Any

import pytest

from hookport.alerts import AlertBook, AlertMessage, Finished, safe_type, span
from hookport.config import AlertSettings, load_settings
from hookport.errors import ConfigError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def book(*rules: dict[str, Any], window: str = "10m") -> tuple[AlertBook, Clock]:
    settings = AlertSettings.model_validate({"window": window, "rules": list(rules)})
    clock = Clock()
    return AlertBook(settings, clock=clock), clock


def dead(event_id: str, endpoint: str = "shop", attempt: int = 3) -> Finished:
    return Finished(event_id, endpoint, "order.paid", "dead", attempt, (("on_order", False),))


def done(event_id: str, endpoint: str = "shop") -> Finished:
    return Finished(event_id, endpoint, "order.paid", "done", 1, (("on_order", True),))


def failed(event_id: str, endpoint: str = "shop", handler: str = "on_order") -> Finished:
    return Finished(event_id, endpoint, "order.paid", "retrying", 1, ((handler, False),))


def test_dead_fires_at_once_with_the_event_and_nothing_else() -> None:
    alerts, _ = book({"kind": "dead", "channel": "ops"})
    [message] = alerts.finished(dead("ev1"))
    assert message == AlertMessage(
        "dead",
        "ops",
        None,
        "hookport alert: dead",
        "event ev1 of endpoint shop (type order.paid) went dead after 3 attempt(s)",
        recovery=False,
    )


def test_dead_throttles_and_the_next_message_counts_what_was_held() -> None:
    alerts, clock = book({"kind": "dead", "channel": "ops"}, window="10m")
    assert len(alerts.finished(dead("ev1"))) == 1
    clock.now += 60
    assert alerts.finished(dead("ev2")) == []
    assert alerts.finished(dead("ev3")) == []
    clock.now += 530  # 590 s after the first message: still inside the window
    assert alerts.tick() == []
    clock.now += 10
    [message] = alerts.tick()
    assert message.body.startswith("event ev3 of endpoint shop")
    assert "1 more since the last message (throttled)" in message.body
    assert not message.recovery
    assert alerts.tick() == []  # nothing more held


def test_dead_recovers_when_an_event_of_the_endpoint_is_done_again() -> None:
    alerts, clock = book({"kind": "dead", "channel": "ops"}, window="1m")
    alerts.finished(dead("ev1"))
    assert alerts.finished(done("ev0", endpoint="other")) == []  # another endpoint: no recovery
    clock.now += 30
    assert alerts.finished(done("ev2")) == []  # the recovery waits for the window
    clock.now += 30
    [message] = alerts.tick()
    assert message.recovery and message.title == "hookport recovered: dead"
    assert message.body == "events of endpoint shop are handled again (event ev2 done)"
    clock.now += 600
    assert alerts.tick() == []
    assert alerts.finished(done("ev3")) == []  # no second recovery


def test_an_occurrence_cleared_before_its_window_says_so_in_one_message() -> None:
    alerts, clock = book({"kind": "dead", "channel": "ops"}, window="1m")
    alerts.finished(dead("ev1"))
    clock.now += 10
    alerts.finished(dead("ev2"))
    alerts.finished(done("ev3"))
    clock.now += 50
    [message] = alerts.tick()
    assert not message.recovery
    assert "event ev2" in message.body and "cleared since: " in message.body
    clock.now += 600
    assert alerts.tick() == []  # that message already said it cleared


def test_rules_filter_by_endpoint_and_keep_subjects_apart() -> None:
    alerts, _ = book({"kind": "dead", "channel": "ops", "endpoints": ["shop"]})
    assert alerts.finished(dead("ev1", endpoint="billing")) == []
    assert len(alerts.finished(dead("ev2"))) == 1
    alerts2, _ = book({"kind": "dead", "channel": "ops"})
    assert len(alerts2.finished(dead("ev1", endpoint="billing"))) == 1
    assert len(alerts2.finished(dead("ev2"))) == 1  # a subject of its own: not throttled


def test_failures_fire_at_n_in_a_row_throttle_and_recover() -> None:
    alerts, clock = book({"kind": "failures", "channel": "ops", "count": 3}, window="5m")
    assert alerts.finished(failed("ev1")) == []
    assert alerts.finished(failed("ev2")) == []
    [message] = alerts.finished(failed("ev3"))
    assert message.body == (
        "handler on_order of endpoint shop failed 3 times in a row "
        "(latest: event ev3, type order.paid, attempt 1)"
    )
    assert alerts.finished(failed("ev4")) == []
    assert alerts.finished(failed("ev5")) == []
    clock.now += 300
    [held] = alerts.tick()
    assert "failed 5 times in a row (latest: event ev5" in held.body
    assert "1 more since the last message" in held.body
    assert alerts.finished(done("ev6")) == []  # recovery held: a message went out just now
    clock.now += 300
    [recovered] = alerts.tick()
    assert recovered.recovery
    assert recovered.body == "handler on_order of endpoint shop succeeded again (event ev6)"


def test_a_success_resets_the_streak() -> None:
    alerts, _ = book({"kind": "failures", "channel": "ops", "count": 2})
    assert alerts.finished(failed("ev1")) == []
    assert alerts.finished(done("ev2")) == []
    assert alerts.finished(failed("ev3")) == []
    assert alerts.finished(failed("ev4", handler="other")) == []  # its own streak
    assert len(alerts.finished(failed("ev5"))) == 1


def test_backlog_fires_once_while_over_throttles_onsets_and_recovers() -> None:
    alerts, clock = book({"kind": "backlog", "channel": "ops", "max_age": "10m"}, window="15m")
    assert alerts.backlog({"shop": 599}) == []
    [message] = alerts.backlog({"shop": 601})
    assert message.body == (
        "the oldest due event of endpoint shop has waited 10m1s (more than 10m)"
    )
    clock.now += 60
    assert alerts.backlog({"shop": 700}) == []  # still over: no new occurrence
    assert alerts.backlog({}) == []  # nothing due: cleared, recovery held by the window
    assert alerts.backlog({"shop": 800}) == []  # over again: a second onset, held
    assert alerts.backlog({"shop": 1}) == []
    assert alerts.backlog({"shop": 900}) == []  # and a third
    clock.now += 840
    [held] = alerts.tick()
    assert not held.recovery and "waited 15m" in held.body
    assert "1 more since the last message" in held.body
    clock.now += 900
    [recovered] = alerts.backlog({"shop": 5})
    assert recovered.recovery
    assert recovered.body == "the backlog of endpoint shop is under 10m again (oldest due: 5s)"


def test_verification_counts_a_sliding_window_fires_throttles_and_recovers() -> None:
    rule = {"kind": "verification", "channel": "ops", "count": 5, "per": "1m"}
    alerts, clock = book(rule, window="2m")
    assert alerts.verification({"shop": 4}) == []  # t=0: 4 since the start
    clock.now += 30
    [message] = alerts.verification({"shop": 6})  # t=30: 6 within the minute
    assert message.body == "6 verification failures of endpoint shop in the last 1m (limit 5)"
    clock.now += 40
    assert alerts.verification({"shop": 7}) == []  # t=70: 3 since the sample at t=0 (4)
    clock.now += 40
    assert alerts.verification({"shop": 7}) == []  # t=110: 1 since t=30; cleared, held
    clock.now += 10
    assert alerts.verification({"shop": 20}) == []  # t=120: 14 since t=30; over again, held
    clock.now += 29
    assert alerts.tick() == []  # t=149: the window since the message at t=30 is still open
    clock.now += 1
    [held] = alerts.tick()  # t=150
    assert not held.recovery
    assert held.body == "14 verification failures of endpoint shop in the last 1m (limit 5)"
    clock.now += 200
    [recovered] = alerts.verification({"shop": 20})  # t=350: none in the last minute
    assert recovered.recovery
    assert recovered.body == ("verification failures of endpoint shop are under 5 per 1m again (0)")


def test_messages_carry_no_payload_or_header_text() -> None:
    alerts, _ = book({"kind": "dead", "channel": "ops"})
    weird = Finished("ev1", "shop", "x\x00\n" + "y" * 500, "dead", 1, (("h", False),))
    [message] = alerts.finished(weird)
    assert "\x00" not in message.body and "\n" not in message.body
    assert len(message.body) < 250
    assert safe_type(None) == "-"
    assert (
        span(42) == "42s"
        and span(0) == "0s"
        and span(700) == "11m40s"
        and span(3900) == "1h5m"
        and span(86400 * 3) == "3d"
    )


def test_settings_validate_rules() -> None:
    settings = load_settings(
        None,
        {},
        alerts={
            "rules": [
                {"kind": "dead", "channel": "ops"},
                {"kind": "backlog", "channel": "ops", "max_age": "10m", "name": "slow"},
            ]
        },
    )
    assert [r.label for r in settings.alerts.rules] == ["dead", "slow"]
    assert settings.alerts.window_of(settings.alerts.rules[1]) == 900
    bad = [
        [{"kind": "dead", "channel": "ops"}, {"kind": "dead", "channel": "dev"}],
        [{"kind": "sometimes", "channel": "ops"}],
        [{"kind": "backlog", "channel": "ops"}],  # max_age is required
        [{"kind": "verification", "channel": "ops", "count": 0}],
    ]
    for rules in bad:
        with pytest.raises(ConfigError):
            load_settings(None, {}, alerts={"rules": rules})


def test_changes_say_when_a_condition_starts_and_clears_even_while_held() -> None:
    alerts, clock = book({"kind": "failures", "channel": "ops", "count": 1})
    assert len(alerts.finished(failed("ev1"))) == 1
    assert alerts.finished(failed("ev2")) == []  # held by the window: no new change either
    [started] = alerts.changes()
    assert (started.rule, started.subject, started.firing) == (
        "failures",
        ("shop", "on_order"),
        True,
    )
    assert alerts.changes() == []  # forgotten once read
    clock.now += 1
    alerts.finished(done("ev3"))
    [cleared] = alerts.changes()
    assert (cleared.subject, cleared.firing) == (("shop", "on_order"), False)
