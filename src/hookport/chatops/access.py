"""Who may run which chat command: one platform's allow-lists (``[chatops.<platform>]``).

Read-only commands answer anyone whose request passed the platform's verification, unless
``read_users`` is given. Commands that change state need the user in ``users`` (when given)
and the channel in ``channels`` (when given); with both empty, nobody may run them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hookport.chatops.answer import Invocation
from hookport.config import ChatPlatformSettings


@dataclass(frozen=True, slots=True)
class Access:
    """One platform's allow-lists."""

    users: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    read_users: frozenset[str] | None = None

    @classmethod
    def from_settings(cls, table: ChatPlatformSettings) -> Access:
        """The allow-lists of a ``[chatops.<platform>]`` table."""
        read = None if table.read_users is None else frozenset(table.read_users)
        return cls(frozenset(table.users), frozenset(table.channels), read)

    def may_read(self, who: Invocation) -> bool:
        """Whether ``who`` may run a read-only command."""
        return self.read_users is None or who.user in self.read_users or who.user in self.users

    def may_change(self, who: Invocation) -> bool:
        """Whether ``who`` may run a command that changes state."""
        if not self.users and not self.channels:
            return False
        user_ok = not self.users or who.user in self.users
        channel_ok = not self.channels or who.channel in self.channels
        return user_ok and channel_ok
