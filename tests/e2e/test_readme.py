"""The README's tutorial, run as written, from a fresh clone.

The test clones the repository at HEAD into a temporary directory and follows README.md: it
writes the files the tutorial's code blocks name (``# plugins/hello.py``), runs every command of
its ``sh`` blocks in order (``export`` lines set the environment; ``hookport serve`` and
``make run`` start real servers in the background, stopped with Ctrl-C's SIGINT), and checks
each command's exit code and the output the README shows under it (``# HTTP 202 Accepted``;
``…`` stands for anything). Then every delivery the README sent must be ``done`` in the store
the README's commands read, and the log lines the README promises must be in the server's log.

Deviations, all documented in the README: a free port replaces 8080 (``make run PORT=N``,
``HOOKPORT_SERVER__PORT``, and the URLs); ``<id>`` is the id ``send`` answered. ``.venv`` is
provisioned from this test run's own environment (the clone's ``src`` first, no network), so
``make run`` finds it installed and skips ``pip install``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 60.0
START_TIMEOUT = 60.0


@dataclass
class Command:
    """One shell command of a README block and the output lines shown under it."""

    text: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Section:
    """A part of the README: the files it writes and the commands it runs, in order."""

    text: str
    files: dict[str, str]
    commands: list[Command]


def readme_sections() -> tuple[Section, Section]:
    """The tutorial (steps 1-4) and the ``make run`` example, parsed from README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Five-minute tutorial")
    end = text.index("\n## ", start + 1)
    tutorial = text[start:end]
    split = tutorial.index("### The example")
    return parse_section(tutorial[:split]), parse_section(tutorial[split:])


def parse_section(text: str) -> Section:
    files: dict[str, str] = {}
    commands: list[Command] = []
    for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
        first = body.split("\n", 1)[0]
        named = re.fullmatch(r"# ([\w./-]+\.(?:py|toml))", first)
        if lang in ("python", "toml") and named:
            files[named.group(1)] = body
        elif lang == "sh":
            commands.extend(parse_commands(body))
    return Section(text, files, commands)


def parse_commands(body: str) -> list[Command]:
    commands: list[Command] = []
    for raw in body.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            assert commands, f"README output line before any command: {line}"
            commands[-1].expected.append(line[1:].strip())
        else:
            commands.append(Command(line))
    return commands


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def provision_venv(clone: Path) -> None:
    """``.venv`` in the clone: its own ``src`` first, this run's packages after, no network."""
    venv = clone / ".venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        timeout=COMMAND_TIMEOUT,
    )
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    ).stdout.strip()
    # Plain directory lines: the outer site-packages' own .pth files (the editable install of
    # the outer checkout) are not processed, so `hookport` comes from the clone.
    ours = sysconfig.get_paths()["purelib"]
    Path(purelib, "readme_test.pth").write_text(f"{clone / 'src'}\n{ours}\n", encoding="utf-8")
    script = venv / "bin" / "hookport"
    script.write_text(
        f"#!{python}\nimport sys\nfrom hookport.cli import main\nsys.exit(main())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    (venv / ".installed").touch()  # newer than the clone's pyproject.toml: make skips pip
    where = subprocess.run(
        [str(python), "-c", "import hookport; print(hookport.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    ).stdout.strip()
    assert where.startswith(str(clone / "src")), where


@dataclass
class Runner:
    """Runs README commands in the clone, as a user's shell would."""

    clone: Path
    port: int
    env: dict[str, str]
    servers: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)
    last_id: str | None = None

    def localize(self, text: str) -> str:
        return text.replace("127.0.0.1:8080", f"127.0.0.1:{self.port}")

    def write(self, files: dict[str, str]) -> None:
        for name, body in files.items():
            path = self.clone / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.localize(body), encoding="utf-8")

    def run(self, command: Command) -> str:
        text = self.localize(command.text)
        if exported := re.fullmatch(r"export (\w+)=(\S+)", text):
            self.env[exported.group(1)] = exported.group(2)
            return ""
        if text.startswith("make run") or " serve" in text.split("#", 1)[0]:
            self.start(text)
            return ""
        if "<id>" in text:
            assert self.last_id, "the README shows an <id> before any send answered one"
            text = text.replace("<id>", self.last_id)
        done = subprocess.run(
            ["bash", "-c", text],
            cwd=self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{text!r} exited {done.returncode}:\n{output}"
        for line in command.expected:
            pattern = ".*?".join(re.escape(part) for part in line.split("…"))
            assert re.search(pattern, output), f"{text!r}: no {line!r} in:\n{output}"
        if answered := re.search(r'"id":\s*"([0-9a-f]{12,})"', output):
            self.last_id = answered.group(1)
        return output

    def start(self, text: str) -> None:
        command = text.split("#", 1)[0].strip()
        if command.startswith("make run"):
            command += f" PORT={self.port}"
        log = self.clone / f"server-{len(self.servers)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=self.clone,
                env={**self.env, "HOOKPORT_SERVER__PORT": str(self.port)},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as a terminal's job is
            )
        self.servers.append((proc, log))

        def ready() -> bool:
            assert proc.poll() is None, f"{command!r} exited:\n{log.read_text()}"
            try:
                url = f"http://127.0.0.1:{self.port}/_hookport/ready"
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, START_TIMEOUT, f"{command!r} to answer /_hookport/ready")

    def log(self) -> str:
        return self.servers[-1][1].read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Ctrl-C the newest server: SIGINT to its process group, then wait."""
        proc, log = self.servers.pop()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            raise AssertionError(f"server ignored Ctrl-C:\n{log.read_text()}") from None
        assert code in (0, 130, -signal.SIGINT, 2), f"exit {code}:\n{log.read_text()}"

    def close(self) -> None:
        for proc, _ in self.servers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        self.servers.clear()


def events(clone: Path) -> list[dict[str, object]]:
    with sqlite3.connect(clone / "hookport.db") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT id, kind, endpoint, type, path, status FROM events").fetchall()
    return [dict(row) for row in rows]


def settled(clone: Path) -> bool:
    return all(e["status"] in ("done", "dead") for e in events(clone))


def promised_log_lines(section: Section) -> list[str]:
    """What the README says the server's log shows: ``The server's log shows ... (`line`)``."""
    return re.findall(r"The server's log shows[^`]*`([^`]+)`", section.text)


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.skip("needs git and make")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    clone = tmp_path / "hookport"
    subprocess.run(
        ["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=COMMAND_TIMEOUT
    )
    provision_venv(clone)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPORT_")}
    env.update(NO_COLOR="1", PYTHONUNBUFFERED="1")
    runner = Runner(clone, free_port(), env)
    yield runner
    runner.close()


def test_readme_tutorial_runs_as_written(runner: Runner) -> None:
    tutorial, example = readme_sections()
    assert {"plugins/hello.py", "hookport.toml"} <= set(tutorial.files)
    runner.write(tutorial.files)
    outputs = [runner.run(command) for command in tutorial.commands]
    sends = sum("hookport send" in c.text and "--url" in c.text for c in tutorial.commands)
    assert sends >= 2

    wait_until(lambda: settled(runner.clone), 30, "the tutorial's events to settle")
    found = events(runner.clone)
    assert [e for e in found if e["status"] != "done"] == []
    received = {e["type"] for e in found if e["kind"] == "receiver"}
    assert {"push", "issues.opened"} <= received
    # ctx.send("dev", ...) went through the [channels] URL to the plugin's own route.
    assert any(e["kind"] == "route" and e["path"] == "/hello/dev" for e in found), found
    listed = next(
        o for c, o in zip(tutorial.commands, outputs, strict=True) if "events list" in c.text
    )
    assert "issues.opened" in listed and "push" in listed, listed
    for line in promised_log_lines(tutorial):
        assert line in runner.log(), f"no {line!r} in the server's log:\n{runner.log()}"
    runner.stop()

    before = {e["id"] for e in events(runner.clone)}
    outputs = [runner.run(command) for command in example.commands]
    wait_until(lambda: settled(runner.clone), 30, "the example's events to settle")
    new = [e for e in events(runner.clone) if e["id"] not in before]
    assert [e for e in new if e["status"] != "done"] == []
    assert any(e["type"] == "issues.opened" for e in new), new
    assert any(e["path"] == "/notify" for e in new), new  # the example's channel loop
    listed = next(
        o for c, o in zip(example.commands, outputs, strict=True) if "events list" in c.text
    )
    for e in new:
        assert str(e["endpoint"]) in listed, listed  # one store: the list shows the new events
    assert promised_log_lines(example), "the README promises the example's log line"
    for line in promised_log_lines(example):
        assert line in runner.log(), f"no {line!r} in the server's log:\n{runner.log()}"
    runner.stop()


def test_readme_plugin_is_what_hookport_init_writes(tmp_path: Path) -> None:
    tutorial, _ = readme_sections()
    done = subprocess.run(
        [sys.executable, "-m", "hookport", "init", "--directory", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "plugins" / "hello.py").read_text(encoding="utf-8")
    assert written == tutorial.files["plugins/hello.py"]
    config = (tmp_path / "hookport.toml").read_text(encoding="utf-8")
    for line in tutorial.files["hookport.toml"].splitlines():
        if line and not line.startswith("#"):
            assert line in config.splitlines(), f"hookport init's config lacks {line!r}"
