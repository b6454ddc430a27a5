"""Which events of endpoints with a concurrency cap a lease may claim: pure, for both backends.

An endpoint with cap ``n`` has at most ``n`` events in flight across all workers; cap 1 also
means arrival order: only the endpoint's oldest unfinished event may run, and only once it is
due. Each backend counts the live leases and fetches the candidates with its own SQL (under
its own locking); the decisions in between are made here, in two steps:

1. :func:`capped_rooms`: from the caps and the live counts, how many more events each capped
   endpoint may have claimed now (endpoints without room are left out, so nothing is fetched
   for them);
2. :func:`choose`: from one endpoint's candidates, in arrival order, the seqs to claim.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Room:
    """How many more events of ``endpoint`` one lease may claim; ``ordered``: its cap is 1."""

    endpoint: str
    room: int
    ordered: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    """An unfinished event of a capped endpoint: its arrival ``seq`` and whether it is due."""

    seq: int
    due: bool


def capped_rooms(
    caps: Mapping[str, int],
    live: Mapping[str, int],
    limit: int,
    endpoints: Collection[str] | None = None,
) -> list[Room]:
    """The capped endpoints (of ``endpoints``, if given) that may have events claimed now.

    ``live``: events per endpoint whose lease has not expired; ``limit``: the most events the
    lease takes in all. An endpoint's room is its cap less its live events, at most ``limit``.
    """
    rooms: list[Room] = []
    for endpoint, cap in caps.items():
        if endpoints is not None and endpoint not in endpoints:
            continue
        room = min(cap - live.get(endpoint, 0), limit)
        if room > 0:
            rooms.append(Room(endpoint, room, ordered=cap == 1))
    return rooms


def choose(room: Room, candidates: Sequence[Candidate]) -> list[int]:
    """The seqs to claim for ``room`` from ``candidates`` (oldest first), at most ``room.room``.

    An ordered endpoint stops at its first event that is not due: nothing after an unfinished
    event may overtake it. Other endpoints skip events not due.
    """
    chosen: list[int] = []
    for candidate in candidates:
        if len(chosen) >= room.room:
            break
        if candidate.due:
            chosen.append(candidate.seq)
        elif room.ordered:
            break
    return chosen
