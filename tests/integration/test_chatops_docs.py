"""docs/chatops.md shows the ``help`` answer as the plain renderer prints it (IRC, logs), so the
documented command list cannot drift from the command set."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import pytest

from hookport.chatops.answer import Invocation
from hookport.chatops.commands import Call, Commands
from hookport.chatops.render import render_plain

DOC = Path(__file__).resolve().parents[2] / "docs" / "chatops.md"

pytestmark = pytest.mark.anyio


async def test_the_documented_help_is_what_help_answers() -> None:
    commands = Commands(ops=cast(Any, None), access={})  # help reads only the command set
    who = Invocation("irc", "alice", "#ops", "help")
    answer = await commands.specs["help"].run(Call(who, [], ""))
    blocks = re.findall(r"^```text\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert render_plain(answer) + "\n" in blocks
    for name in commands.specs:
        assert f"`{name}" in DOC.read_text(encoding="utf-8"), name
