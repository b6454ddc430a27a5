"""Answers rendered for each platform: Slack mrkdwn, Discord markdown, Telegram HTML, plain text.

Every renderer escapes what the platform would read as markup (Slack's ``& < >``, Discord's
markdown and mentions, Telegram's HTML), strips control characters (a newline in a cell must
not start a new IRC line), aligns tables in a monospace block, and fits the platform's message
limit: rows that do not fit are counted ("… and 37 more"), never cut mid-way.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

from hookport.chatops.answer import Answer

__all__ = [
    "fit",
    "render_discord_markdown",
    "render_plain",
    "render_slack_mrkdwn",
    "render_telegram_html",
]

MAX_CELL = 48
"""Characters of a table cell shown (longer ones end in "…")."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_DISCORD_MARKUP = re.compile(r"([\\*_~`|>#\[\]()-])")


def clean(text: str) -> str:
    """``text`` on one line: control characters become one space."""
    return _CONTROL.sub(" ", text).strip()


def _cell(text: str) -> str:
    text = clean(text)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def table_lines(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A table as aligned lines (header first), for a monospace block."""
    cells = [[_cell(c) for c in columns], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) if i < len(r) else 0 for r in cells) for i in range(len(columns))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in cells]


def _more(answer: Answer) -> str:
    return f"… and {answer.more} more" if answer.more else ""


def _error_note(answer: Answer) -> str:
    return f"(error id {answer.error_id}: look it up in hookport's log)" if answer.error_id else ""


def _assemble(
    answer: Answer,
    title: Callable[[str], str],
    text: Callable[[str], str],
    block: Callable[[list[str]], str],
) -> str:
    parts = [title(clean(answer.title))]
    parts += [text(clean(line)) for line in answer.lines]
    if answer.columns:
        parts.append(block(table_lines(answer.columns, answer.rows)))
    parts += [text(note) for note in (_more(answer), _error_note(answer)) if note]
    return "\n".join(parts)


def render_plain(answer: Answer) -> str:
    """Plain text (IRC, logs, the CLI): one line per line, tables aligned with spaces."""
    return _assemble(answer, lambda t: t, lambda t: t, "\n".join)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code_fence_safe(text: str) -> str:
    return text.replace("```", "`\u200b`\u200b`")


def render_slack_mrkdwn(answer: Answer) -> str:
    """Slack mrkdwn: a bold title, ``& < >`` escaped (no ``<!channel>`` or links from data),
    tables in a code block."""
    return _assemble(
        answer,
        lambda t: f"*{_slack_escape(t)}*",
        _slack_escape,
        lambda lines: "```\n" + _code_fence_safe(_slack_escape("\n".join(lines))) + "\n```",
    )


def _discord_escape(text: str) -> str:
    text = _DISCORD_MARKUP.sub(r"\\\1", text)
    return text.replace("@", "@\u200b")  # no @everyone, @here or user mentions from data


def render_discord_markdown(answer: Answer) -> str:
    """Discord markdown: a bold title, markdown characters and mentions escaped, tables in a
    code block."""
    return _assemble(
        answer,
        lambda t: f"**{_discord_escape(t)}**",
        _discord_escape,
        lambda lines: (
            "```\n" + _code_fence_safe("\n".join(lines)).replace("@", "@\u200b") + "\n```"
        ),
    )


def _h(text: str) -> str:
    return html.escape(text, quote=False)


def render_telegram_html(answer: Answer) -> str:
    """Telegram HTML (``parse_mode=HTML``): a bold title, ``& < >`` escaped, tables in
    ``<pre>``."""
    return _assemble(
        answer,
        lambda t: f"<b>{_h(t)}</b>",
        _h,
        lambda lines: "<pre>" + _h("\n".join(lines)) + "</pre>",
    )


def fit(answer: Answer, render: Callable[[Answer], str], max_items: int, max_chars: int) -> str:
    """``answer`` rendered with at most ``max_items`` rows (and lines), dropping more rows
    until the text fits ``max_chars``; what is dropped is counted in "… and N more"."""
    current: Answer | None = answer.cut(max_items)
    while current is not None:
        text = render(current)
        if len(text) <= max_chars:
            return text
        current = current.drop_last()
    text = render(Answer(answer.title[:200], outcome=answer.outcome, error_id=answer.error_id))
    return text[:max_chars]
