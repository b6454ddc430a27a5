"""Store contract: chat command records (the chat-ops audit) are kept newest first, bounded by
count and age, on both backends."""

from __future__ import annotations

import pytest

from hookport.store.base import ChatCommand, ChatCommandFilter, Store

pytestmark = pytest.mark.anyio


def command(at: float, platform: str = "slack", result: str = "ok") -> ChatCommand:
    return ChatCommand(
        at=at,
        platform=platform,
        user="U024BE7LH",
        channel="C2147483705",
        command="pause github 30m",
        result=result,  # type: ignore[arg-type]
        summary="github paused for 30m",
    )


async def test_chat_commands_round_trip_newest_first_and_filtered(store: Store, t0: float) -> None:
    assert await store.chat_commands(ChatCommandFilter()) == []
    first = command(t0)
    await store.record_chat_command(first, keep=100, before=t0 - 60)
    await store.record_chat_command(command(t0 + 1, "telegram", "refused"), keep=100, before=t0 - 60)
    await store.record_chat_command(command(t0 + 2, result="error"), keep=100, before=t0 - 60)
    found = await store.chat_commands(ChatCommandFilter())
    assert [c.at for c in found] == [t0 + 2, t0 + 1, t0]
    assert found[2] == first  # every field survives
    assert [c.result for c in found] == ["error", "refused", "ok"]
    slack = await store.chat_commands(ChatCommandFilter(platform="slack"))
    assert [c.at for c in slack] == [t0 + 2, t0]
    assert [c.at for c in await store.chat_commands(ChatCommandFilter(since=t0 + 1))] == [
        t0 + 2,
        t0 + 1,
    ]
    assert len(await store.chat_commands(ChatCommandFilter(limit=1))) == 1


async def test_chat_commands_are_pruned_by_count_and_age(store: Store, t0: float) -> None:
    for i in range(6):
        await store.record_chat_command(command(t0 + i), keep=3, before=t0)
    assert [c.at for c in await store.chat_commands(ChatCommandFilter())] == [
        t0 + 5,
        t0 + 4,
        t0 + 3,
    ]
    await store.record_chat_command(command(t0 + 200), keep=3, before=t0 + 100)
    assert [c.at for c in await store.chat_commands(ChatCommandFilter())] == [t0 + 200]


def test_the_filter_limit_is_bounded() -> None:
    with pytest.raises(ValueError, match="limit must be between"):
        ChatCommandFilter(limit=0)
