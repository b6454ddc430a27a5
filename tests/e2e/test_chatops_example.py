"""The example (``make run``) answers Slack-style commands against itself: the server is started
with the command and environment of the Makefile's ``run`` recipe, and ``hookport send`` signs a
slash command with the Slack verifier of ``examples/hookport.toml``, as the README shows. No
outside service is involved."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from tests.e2e.conftest import run_hookport, start
from tests.e2e.pg import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "examples" / "hookport.toml")
SLASH_FORM = "Content-Type: application/x-www-form-urlencoded"  # what Slack sends


def make_run(port: int) -> tuple[list[str], dict[str, str]]:
    """The Makefile's ``run`` recipe as argv and environment, for ``PORT=port``."""
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe, "the Makefile has no run recipe"
    words = shlex.split(recipe.group(1).replace("\\\n", " ").replace("$(PORT)", str(port)))
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == "$(BIN)/hookport", words
    return [word.replace("examples/", str(ROOT / "examples") + "/") for word in words[1:]], env


def slash(url: str, cwd: Path, text: str, user: str = "U-DEV") -> dict[str, str]:
    """``hookport send`` a slash command (in channel C-DEV) to the example's chat endpoint;
    Slack's JSON answer."""
    form = f"command=/hookport&text={text}&user_id={user}&channel_id=C-DEV"
    sent = run_hookport(
        "send", "/_hookport/chat/slack", "--data", form, "-H", SLASH_FORM,
        "--url", url, "--config", CONFIG, cwd=cwd,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr
    status, _, body = sent.stdout.partition("\n")
    assert status == "HTTP 200 OK", sent.stdout
    answer: dict[str, str] = json.loads(body)
    return answer


def test_the_example_answers_slack_commands_sent_by_hookport_send(tmp_path: Path) -> None:
    port = free_port()
    args, env = make_run(port)
    assert args[0] == "serve" and CONFIG in args, args
    server = start(args, cwd=tmp_path, env=env)  # its ./hookport.db in tmp_path
    try:
        url = f"http://127.0.0.1:{port}"
        status = slash(url, tmp_path, "status")
        assert status["response_type"] == "in_channel"
        assert status["text"].startswith("*6 endpoints · backlog 0 · dead 0 · paused 0*\n```\n")
        assert "\nGitHub                active  0" in status["text"]

        routes = slash(url, tmp_path, "routes")["text"]
        [chat] = [line.split() for line in routes.splitlines() if line.startswith("chatops:")]
        assert chat == ["chatops:slack", "POST", f"{url}/_hookport/chat/slack", "slack", "active"]

        # The example's allow-list: U-DEV in C-DEV may pause; anyone else is refused.
        refused = slash(url, tmp_path, "pause /github", user="U-OTHER")
        assert refused["response_type"] == "ephemeral"
        assert refused["text"].startswith("*sorry, pause changes state")
        assert "paused 0*" in slash(url, tmp_path, "status")["text"]
        paused = slash(url, tmp_path, "pause /github 5m")["text"]
        assert paused.startswith("*paused GitHub for 5m")
        assert "paused (5m left)" in slash(url, tmp_path, "status")["text"]
        assert slash(url, tmp_path, "resume GitHub")["text"].startswith("*resumed GitHub")
        assert "dev-only-slack-signing-secret" not in "".join(server.output)
    finally:
        server.close()


def test_the_makefile_recipe_is_read_as_make_would_run_it() -> None:
    args, env = make_run(9123)
    assert args == ["serve", "--config", CONFIG, "--host", "127.0.0.1", "--port", "9123"]
    assert env["HOOKPORT_CHANNELS__DEV"] == "json://127.0.0.1:9123/notify"
