"""Chat answers rendered for each platform: escaping, tables, limits, counts of what was left."""

from __future__ import annotations

import pytest

from hookport.chatops.answer import Answer, failed
from hookport.chatops.render import (
    fit,
    render_discord_markdown,
    render_plain,
    render_slack_mrkdwn,
    render_telegram_html,
)

TABLE = Answer(
    "2 endpoints",
    ("line <one> & *two*",),
    ("endpoint", "state"),
    (("github", "active"), ("stripe-payments", "paused")),
)


def test_plain_aligns_the_table_and_adds_no_markup() -> None:
    assert render_plain(TABLE) == (
        "2 endpoints\n"
        "line <one> & *two*\n"
        "endpoint         state\n"
        "github           active\n"
        "stripe-payments  paused"
    )


def test_control_characters_never_start_a_new_line() -> None:
    evil = Answer("t\r\nPRIVMSG #x :owned", rows=(("a\nb", "c\x00"),), columns=("k", "v"))
    text = render_plain(evil)
    assert "\r" not in text and "\x00" not in text
    assert text.splitlines()[0] == "t PRIVMSG #x :owned"
    assert text.splitlines()[2] == "a b  c"


def test_slack_escapes_angle_brackets_and_ampersands() -> None:
    text = render_slack_mrkdwn(Answer("<!channel> & co", ("see <https://evil|here>",)))
    assert text == "*&lt;!channel&gt; &amp; co*\nsee &lt;https://evil|here&gt;"
    table = render_slack_mrkdwn(Answer("t", columns=("a",), rows=(("x```y",),)))
    assert table.count("```") == 2  # data cannot close the code block


def test_discord_escapes_markdown_and_mentions() -> None:
    text = render_discord_markdown(Answer("@everyone *bold* `code`", ("_x_ [link](http://e)",)))
    assert "@everyone" not in text and "@\u200beveryone" in text
    assert "\\*bold\\*" in text and "\\`code\\`" in text
    assert "\\[link\\]\\(http://e\\)" in text


def test_telegram_html_escapes_and_uses_pre_for_tables() -> None:
    text = render_telegram_html(TABLE)
    assert text.startswith("<b>2 endpoints</b>\nline &lt;one&gt; &amp; *two*\n<pre>")
    assert text.endswith("</pre>")
    assert "<script>" not in render_telegram_html(Answer("<script>"))


def test_long_answers_are_cut_with_a_count() -> None:
    rows = tuple((f"endpoint-{i}", "active") for i in range(50))
    answer = Answer("50 endpoints", columns=("endpoint", "state"), rows=rows)
    text = fit(answer, render_plain, 10, 10_000)
    assert "endpoint-9 " in text and "endpoint-10" not in text
    assert text.endswith("… and 40 more")
    # A character limit drops more rows, still counted.
    short = fit(answer, render_plain, 50, 200)
    assert len(short) <= 200
    shown = sum(1 for line in short.splitlines() if line.startswith("endpoint-"))
    assert short.endswith(f"… and {50 - shown} more")


def test_more_from_the_command_adds_to_what_rendering_drops() -> None:
    answer = Answer("t", columns=("a",), rows=(("1",), ("2",), ("3",)), more=37)
    assert fit(answer, render_plain, 2, 1000).endswith("… and 38 more")


@pytest.mark.parametrize(
    "render", [render_plain, render_slack_mrkdwn, render_discord_markdown, render_telegram_html]
)
def test_an_error_id_is_shown_never_a_traceback(render: object) -> None:
    text = render(failed("something went wrong", "ab12cd34"))  # type: ignore[operator]
    assert "ab12cd34" in text and "Traceback" not in text
