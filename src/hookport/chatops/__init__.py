"""Chat-ops: hookport's own operations as chat commands (Slack, Telegram, Discord, IRC).

One platform-neutral command set (:class:`~hookport.chatops.commands.Commands`) answers
:class:`~hookport.chatops.answer.Invocation`\\ s with structured
:class:`~hookport.chatops.answer.Answer`\\ s that each platform renders
(:mod:`hookport.chatops.render`). Platform adapters are small: verify, parse, answer. See
docs/chatops.md.
"""

from hookport.chatops.answer import Answer, Invocation, Outcome
from hookport.chatops.commands import Commands
from hookport.chatops.service import ChatOps, build_chatops

__all__ = ["Answer", "ChatOps", "Commands", "Invocation", "Outcome", "build_chatops"]
