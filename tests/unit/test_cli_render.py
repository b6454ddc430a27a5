"""``hookport events show`` prints stored values as text: rich markup in them is not rendered."""

from __future__ import annotations

import pytest

from hookport.cli.events import _render


def test_stored_markup_is_printed_literally(capsys: pytest.CaptureFixture[str]) -> None:
    detail = {
        "id": "e1", "status": "dead", "attempt": 1, "endpoint": "p:/[bold]x[/bold]",
        "plugin": "p", "type": "[red]push[/red]", "delivery_id": "[link=http://x]d[/link]",
        "sender": "[blink]s[/blink]", "received_at": 1.0, "source_ip": "127.0.0.1",
        "method": "POST", "path": "/x", "query_string": "", "next_attempt_at": None,
        "last_error": "ValueError: [green]oops[/green]", "headers": [["X-A", "[b]v[/b]"]],
        "body": "[i]plain[/i]",
        "attempts": [{"attempt": 1, "handler": "[u]h[/u]", "ok": False, "started_at": 1.0,
                      "finished_at": 2.0, "error": "[red]e[/red]", "traceback": None}],
    }  # fmt: skip
    _render(detail)
    out = capsys.readouterr().out
    for text in ("[red]push[/red]", "[bold]x[/bold]", "[link=http://x]d[/link]", "[green]oops[/green]",
                 "[blink]s[/blink]", "[b]v[/b]", "[i]plain[/i]", "[u]h[/u]", "[red]e[/red]"):  # fmt: skip
        assert text in out, text
