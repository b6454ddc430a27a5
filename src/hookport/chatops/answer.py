"""What a chat command is asked (:class:`Invocation`) and what it answers (:class:`Answer`).

An answer is structured, not formatted: a title, free lines, an optional table and a count of
what was left out. Each platform renders it (:mod:`hookport.chatops.render`): Slack mrkdwn,
Discord markdown, Telegram HTML, plain text for IRC.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Outcome = Literal["ok", "refused", "error"]
"""How a command ended (also what the audit records): answered, refused, or failed."""


@dataclass(frozen=True, slots=True)
class Invocation:
    """One command as a platform delivered it: ``text`` is what follows the bot's trigger
    (``/hookport``, a mention, ``!hookport``), e.g. ``"pause github 30m"``."""

    platform: str
    user: str
    channel: str
    text: str


@dataclass(frozen=True, slots=True)
class Answer:
    """A command's answer, for every platform to render.

    ``lines`` come first (free text), then a table of ``columns`` and ``rows``; ``more`` counts
    the items that exist beyond those given ("… and 37 more"). ``error_id`` names the log
    record of a failure (chat never shows a traceback).
    """

    title: str
    lines: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    more: int = 0
    outcome: Outcome = "ok"
    error_id: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the command did what it was asked."""
        return self.outcome == "ok"

    @property
    def summary(self) -> str:
        """One line for the audit: the title, and how many rows it listed."""
        shown = len(self.rows) + self.more
        return f"{self.title} ({shown} rows)" if self.columns else self.title

    def cut(self, max_items: int) -> Answer:
        """At most ``max_items`` lines and ``max_items`` rows; the rest is counted in ``more``."""
        dropped = max(len(self.lines) - max_items, 0) + max(len(self.rows) - max_items, 0)
        if not dropped:
            return self
        return replace(
            self,
            lines=self.lines[:max_items],
            rows=self.rows[:max_items],
            more=self.more + dropped,
        )

    def drop_last(self) -> Answer | None:
        """The answer with one row (else one line) less, counted in ``more``; None when
        nothing is left to drop."""
        if self.rows:
            return replace(self, rows=self.rows[:-1], more=self.more + 1)
        if self.lines:
            return replace(self, lines=self.lines[:-1], more=self.more + 1)
        return None


def refused(message: str) -> Answer:
    """A polite refusal (the allow-list said no)."""
    return Answer(message, outcome="refused")


def failed(message: str, error_id: str | None = None) -> Answer:
    """A command that could not be done: bad input (no id), or a failure (an ``error_id``)."""
    return Answer(message, outcome="error", error_id=error_id)
