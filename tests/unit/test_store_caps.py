"""The store's pure parts: which capped events a lease may claim, and the Finish value."""

from __future__ import annotations

import pytest

from hookport.events import EventStatus
from hookport.store._caps import Candidate, Room, capped_rooms, choose
from hookport.store.base import Finish


def test_rooms_are_the_cap_less_live_leases_at_most_the_limit() -> None:
    caps = {"a": 3, "b": 2, "c": 1, "d": 5}
    live = {"a": 1, "b": 2, "d": 1}
    assert capped_rooms(caps, live, limit=3) == [
        Room("a", 2, ordered=False),
        Room("c", 1, ordered=True),
        Room("d", 3, ordered=False),
    ]


def test_rooms_leave_out_endpoints_not_asked_for() -> None:
    rooms = capped_rooms({"a": 2, "b": 2}, {}, limit=10, endpoints={"b"})
    assert rooms == [Room("b", 2, ordered=False)]


def test_rooms_of_an_endpoint_over_its_cap_are_left_out() -> None:
    assert capped_rooms({"a": 1}, {"a": 2}, limit=10) == []


def test_choose_takes_due_events_oldest_first_up_to_the_room() -> None:
    candidates = [Candidate(1, True), Candidate(2, False), Candidate(3, True), Candidate(4, True)]
    assert choose(Room("a", 2, ordered=False), candidates) == [1, 3]


def test_an_ordered_endpoint_stops_at_its_first_event_not_due() -> None:
    assert choose(Room("a", 1, ordered=True), [Candidate(7, False), Candidate(8, True)]) == []
    assert choose(Room("a", 1, ordered=True), [Candidate(7, True), Candidate(8, True)]) == [7]
    assert choose(Room("a", 1, ordered=True), []) == []


def test_finish_constructors() -> None:
    assert Finish.done("e", "w", []) == Finish("e", "w", [], EventStatus.DONE, None, None)
    assert Finish.retry("e", "w", [], 5.0, "x") == Finish(
        "e", "w", [], EventStatus.RETRYING, 5.0, "x"
    )
    assert Finish.dead("e", "w", [], "x") == Finish("e", "w", [], EventStatus.DEAD, None, "x")


@pytest.mark.parametrize(
    ("status", "next_attempt_at"),
    [
        (EventStatus.QUEUED, None),
        (EventStatus.PROCESSING, None),
        (EventStatus.RETRYING, None),
        (EventStatus.DONE, 5.0),
    ],
)
def test_finish_refuses_what_an_attempt_cannot_end_as(
    status: EventStatus, next_attempt_at: float | None
) -> None:
    with pytest.raises(ValueError, match="cannot finish|next_attempt_at"):
        Finish("e", "w", [], status, next_attempt_at)
