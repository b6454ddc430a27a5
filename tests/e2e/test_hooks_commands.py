"""Hooks with real commands: answers compared with adnanh/webhook 2.8, and hookport's safety
guarantees (no shell, one request value = one argument, capped output, hung commands killed)."""

from __future__ import annotations

import base64
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.hooks_support import same_answer, webhook  # noqa: F401 - the fixture

ARGS = Path(__file__).parent / "hooks_examples"
DEADLINE = 15.0


def write_hooks(tmp_path: Path, hooks: list[dict[str, Any]], name: str = "hooks.json") -> Path:
    file = tmp_path / name
    file.write_text(json.dumps(hooks))
    return file


def script(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    return str(path)


def sh(command: str) -> list[dict[str, str]]:
    return [{"source": "string", "name": "-c"}, {"source": "string", "name": command}]


def wait_until(check: Any, what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)  # poll interval; the deadline bounds the wait
    raise AssertionError(f"timed out waiting for {what}")


def command_hooks(tmp_path: Path) -> list[dict[str, Any]]:
    printer = script(tmp_path, "args.sh", 'for a in "$@"; do printf "[%s]\\n" "$a"; done\n')
    return [
        {"id": "args", "execute-command": printer, "include-command-output-in-response": True,
         "pass-arguments-to-command": [
             {"source": "payload", "name": "a"}, {"source": "payload", "name": "list"},
             {"source": "payload", "name": "n"}, {"source": "payload", "name": "missing"},
             {"source": "header", "name": "x-thing"}, {"source": "query", "name": "q"},
             {"source": "entire-query"}, {"source": "request", "name": "method"},
             {"source": "payload", "name": "obj.k.0"}]},
        {"id": "env", "execute-command": "/bin/sh", "include-command-output-in-response": True,
         "pass-environment-to-command": [{"source": "payload", "name": "a"},
                                         {"source": "payload", "name": "n", "envname": "NUM"}],
         "pass-arguments-to-command": sh('printf "%s|%s" "$HOOK_a" "$NUM"')},
        {"id": "file", "execute-command": "/bin/sh", "include-command-output-in-response": True,
         "command-working-directory": str(tmp_path),
         "pass-file-to-command": [{"source": "payload", "name": "bin", "base64decode": True}],
         "pass-arguments-to-command": sh('cat "$HOOK_BIN"')},
        {"id": "fail", "execute-command": "/bin/sh", "include-command-output-in-response": True,
         "pass-arguments-to-command": sh("echo out; echo err >&2; exit 3")},
        {"id": "fail-shown", "execute-command": "/bin/sh",
         "include-command-output-in-response": True,
         "include-command-output-in-response-on-error": True,
         "pass-arguments-to-command": sh("echo out; echo err >&2; exit 3")},
        {"id": "html", "execute-command": "/bin/echo", "include-command-output-in-response": True,
         "response-headers": [{"name": "x-foo", "value": "bar"}],
         "success-http-response-code": 201,
         "pass-arguments-to-command": [{"source": "string", "name": "<html><b>hi</b>"}]},
        {"id": "codes", "execute-command": "/bin/true", "response-message": "done",
         "success-http-response-code": 299,
         "trigger-rule": {"match": {"type": "regex", "regex": "^ok", "parameter":
                                    {"source": "url", "name": "t"}}},
         "trigger-rule-mismatch-http-response-code": 418},
        {"id": "soft", "execute-command": "/bin/true", "response-message": "soft",
         "trigger-signature-soft-failures": True,
         "trigger-rule": {"or": [
             {"match": {"type": "payload-hmac-sha256", "secret": "s",
                        "parameter": {"source": "header", "name": "X-Sig"}}},
             {"match": {"type": "value", "value": "yes",
                        "parameter": {"source": "url", "name": "t"}}}]}},
        {"id": "not", "execute-command": "/bin/true", "response-message": "negated",
         "trigger-rule": {"not": {"match": {"type": "value", "value": "x",
                                            "parameter": {"source": "payload", "name": "nope"}}}}},
        {"id": "only-get", "execute-command": "/bin/true", "http-methods": ["get "]},
        {"id": "unicode-class", "execute-command": "/bin/true", "response-message": "letters",
         "trigger-rule": {"match": {"type": "regex", "regex": "^\\pL+\\z",
                                    "parameter": {"source": "url", "name": "t"}}}},
        {"id": "bad-regex", "execute-command": "/bin/true",
         "trigger-rule": {"match": {"type": "regex", "regex": "(?=look)",
                                    "parameter": {"source": "url", "name": "t"}}}},
        {"id": "dotted-json", "execute-command": "/bin/true",
         "parse-parameters-as-json": [{"source": "payload", "name": "obj.doc"}]},
        {"id": "json-param", "execute-command": "/bin/true", "response-message": "parsed",
         "parse-parameters-as-json": [{"source": "url", "name": "doc"}],
         "trigger-rule": {"match": {"type": "value", "value": "1",
                                    "parameter": {"source": "url", "name": "doc.k"}}}},
    ]  # fmt: skip


def test_commands_answer_as_adnanh(serve: Any, webhook: Any, tmp_path: Path) -> None:  # noqa: F811
    file = write_hooks(tmp_path, command_hooks(tmp_path))
    theirs = webhook([file]).url
    ours = serve("--hooks", str(file)).url
    body = {"a": "-rf /; $(touch pwned) `id`", "list": [1, "x"], "n": 1.50,
            "obj": {"k": ["first"]}, "bin": base64.b64encode(b"\x00\x01binary").decode()}  # fmt: skip
    raw = json.dumps(body).replace("1.5", "1.50").encode()
    req = {"content": raw, "headers": {"Content-Type": "application/json", "X-Thing": "a b"}}
    got = same_answer(theirs, ours, "POST", "/hooks/args?q=%3Cq%3E&z=1", **req)
    assert got["body"].splitlines()[0] == "[-rf /; $(touch pwned) `id`]"
    assert not (tmp_path / "pwned").exists()  # no shell ever saw it
    assert same_answer(theirs, ours, "POST", "/hooks/env", **req)["body"] == (
        "-rf /; $(touch pwned) `id`|1.50"
    )
    assert same_answer(theirs, ours, "POST", "/hooks/file", **req)["body"] == "\x00\x01binary"
    assert same_answer(theirs, ours, "POST", "/hooks/fail", **req)["status"] == 500
    assert same_answer(theirs, ours, "POST", "/hooks/fail-shown", **req)["body"] == "out\nerr\n"
    assert same_answer(theirs, ours, "POST", "/hooks/html", **req)["status"] == 201
    for path in ("/hooks/codes?t=okay", "/hooks/codes?t=no", "/hooks/soft?t=yes",
                 "/hooks/soft?t=no", "/hooks/not", "/hooks/json-param?doc=%7B%22k%22%3A1%7D",
                 "/hooks/json-param?doc=nojson", "/hooks/unicode-class?t=h%C3%A9llo",
                 "/hooks/unicode-class?t=h1", "/hooks/bad-regex?t=x",
                 "/hooks/dotted-json"):  # fmt: skip
        same_answer(theirs, ours, "POST", path, **req)
    same_answer(theirs, ours, "POST", "/hooks/soft?t=no", headers={"X-Sig": "bad"})
    panic = same_answer(
        theirs, ours, "POST", "/hooks/dotted-json", json={"obj": {"doc": '{"x": 1}'}}
    )  # adnanh panics: http.Error's 500
    assert (panic["status"], panic["body"]) == (500, "Internal Server Error\n")
    same_answer(theirs, ours, "GET", "/hooks/only-get")
    same_answer(theirs, ours, "POST", "/hooks/only-get")


def test_default_methods_and_prefix_as_adnanh(serve: Any, webhook: Any, tmp_path: Path) -> None:  # noqa: F811
    file = write_hooks(tmp_path, [{"id": "x", "execute-command": "/bin/true"}])
    theirs = webhook([file], "-http-methods", "post,PUT", "-urlprefix", "in").url
    ours = serve("--hooks", str(file), "--hooks-http-methods", "post,PUT",
                 "--hooks-prefix", "in").url  # fmt: skip
    for method in ("GET", "POST", "PUT", "DELETE"):
        same_answer(theirs, ours, method, "/in/x")


def test_template_mode_as_adnanh(serve: Any, webhook: Any, tmp_path: Path) -> None:  # noqa: F811
    file = tmp_path / "hooks.json"
    file.write_text(
        '[{"id": "t", "execute-command": "/bin/true", "response-message": '
        '"{{ getenv "GREETING" | js }}", "trigger-rule": {"match": {"type": "value", '
        '"value": "{{- getenv "TOKEN" -}}", "parameter": {"source": "url", "name": "t"}}}}]'
    )
    env = {"GREETING": 'say "hi" <now>', "TOKEN": "tok"}
    os.environ.update(env)  # the webhook binary reads its environment at start
    try:
        theirs = webhook([file], "-template").url
    finally:
        for key in env:
            os.environ.pop(key)
    ours = serve("--hooks", str(file), "--hooks-template", env=env).url
    assert same_answer(theirs, ours, "POST", "/hooks/t?t=tok")["body"] == 'say "hi" <now>'
    same_answer(theirs, ours, "POST", "/hooks/t?t=other")


def test_output_is_capped(serve: Any, tmp_path: Path) -> None:
    file = write_hooks(tmp_path, [{
        "id": "big", "execute-command": "/bin/sh", "include-command-output-in-response": True,
        "pass-arguments-to-command": sh("head -c 5000000 /dev/zero | tr '\\0' x")}])  # fmt: skip
    server = serve("--hooks", str(file), env={"HOOKPORT_HOOKS__MAX_OUTPUT": "1000"})
    answer = httpx.post(server.url + "/hooks/big", timeout=30)
    assert answer.status_code == 200
    assert answer.text == "x" * 1000  # the command ran to its end; only 1000 bytes were kept


def test_a_hung_command_is_killed_at_its_timeout(serve: Any, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    file = write_hooks(tmp_path, [{
        "id": "hang", "execute-command": "/bin/sh", "include-command-output-in-response": True,
        "timeout": "1s",
        "pass-arguments-to-command": sh(f"sleep 300 & echo $! > {pids}; echo $$ >> {pids}; wait"),
    }])  # fmt: skip
    server = serve("--hooks", str(file))
    started = time.monotonic()
    answer = httpx.post(server.url + "/hooks/hang", timeout=30)
    assert answer.status_code == 500
    assert time.monotonic() - started < 10
    for pid in (int(p) for p in pids.read_text().split()):  # the shell and its child
        wait_until(
            lambda pid=pid: (
                not Path(f"/proc/{pid}").exists()
                or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
            ),
            f"pid {pid} gone",
        )


def test_reload_on_sighup_and_sigusr1(serve: Any, tmp_path: Path) -> None:
    file = write_hooks(tmp_path, [{"id": "one", "execute-command": "/bin/true"}])
    server = serve("--hooks", str(file))
    assert httpx.post(server.url + "/hooks/two").status_code == 404
    for sig, new in ((signal.SIGHUP, "two"), (signal.SIGUSR1, "three")):
        write_hooks(tmp_path, [{"id": new, "execute-command": "/bin/true"}])
        server.proc.send_signal(sig)
        wait_until(lambda new=new: httpx.post(f"{server.url}/hooks/{new}").status_code == 200,
                   f"hook {new} after {sig.name}")  # fmt: skip
        assert httpx.post(server.url + "/hooks/one").status_code == 404
    file.write_text("[not yaml")  # a broken file keeps the hooks it had
    server.proc.send_signal(signal.SIGHUP)
    server.wait_for_line("hooks not reloaded")
    assert httpx.post(server.url + "/hooks/three").status_code == 200


def test_hot_reload(serve: Any, tmp_path: Path) -> None:
    file = write_hooks(tmp_path, [{"id": "one", "execute-command": "/bin/true"}])
    server = serve("--hooks", str(file), "--hooks-hotreload")
    server.wait_for_line("watching hooks files")
    write_hooks(tmp_path, [{"id": "fresh", "execute-command": "/bin/true"}])
    wait_until(lambda: httpx.post(server.url + "/hooks/fresh").status_code == 200, "hot reload")


def test_a_value_starting_with_a_dash_stays_one_argument(serve: Any, tmp_path: Path) -> None:
    """No option injection: a request value is one argv element of the configured program,
    inline and stored; with the usual ``--`` before it, a program that has an ``--output``
    option takes the value as an operand and creates no file."""
    target = tmp_path / "injected"
    printer = script(
        tmp_path, "argv.sh", 'echo "$#"; for a in "$@"; do printf "[%s]\\n" "$a"; done\n'
    )
    stored_out = tmp_path / "stored-argv"
    stored = script(
        tmp_path,
        "stored.sh",
        f'for a in "$@"; do printf "[%s]\\n" "$a"; done > {stored_out}.tmp; mv {stored_out}.tmp {stored_out}\n',
    )
    value = {"source": "payload", "name": "opt"}
    file = write_hooks(tmp_path, [
        {"id": "argv", "execute-command": printer, "include-command-output-in-response": True,
         "pass-arguments-to-command": [value, {"source": "payload", "name": "spaced"}]},
        {"id": "stored", "execute-command": stored, "pass-arguments-to-command": [value]},
        {"id": "sort", "execute-command": "/usr/bin/sort",
         "include-command-output-in-response": True,
         "include-command-output-in-response-on-error": True,
         "pass-arguments-to-command": [{"source": "string", "name": "--"}, value]},
    ])  # fmt: skip
    server = serve("--hooks", str(file))
    body = {"opt": f"--output={target}", "spaced": f"-o {target} --help"}
    answer = httpx.post(server.url + "/hooks/argv", json=body, timeout=10)
    assert answer.status_code == 200
    assert answer.text == f"2\n[--output={target}]\n[-o {target} --help]\n"
    assert httpx.post(server.url + "/hooks/stored", json=body, timeout=10).status_code == 200
    wait_until(stored_out.exists, "the stored hook's command")
    assert stored_out.read_text() == f"[--output={target}]\n"
    sort = httpx.post(server.url + "/hooks/sort", json=body, timeout=10)
    assert sort.status_code == 500  # sort was asked to read a file named "--output=..."
    assert "No such file" in sort.text and f"--output={target}" in sort.text
    assert not target.exists()


def test_environment_names_are_sanitised(serve: Any, tmp_path: Path) -> None:
    """A name with ``=``, a space or NUL (from the hooks file: request values never choose a
    name) cannot define a second variable or break the command's environment."""
    file = write_hooks(tmp_path, [{
        "id": "env", "execute-command": "/usr/bin/env", "include-command-output-in-response": True,
        "pass-environment-to-command": [
            {"source": "payload", "name": "a", "envname": "EVIL=1 PATH"},
            {"source": "payload", "name": "b c\u0000d"},
        ]}])  # fmt: skip
    server = serve("--hooks", str(file))
    answer = httpx.post(server.url + "/hooks/env", json={"a": "x=y", "b c\u0000d": "z"}, timeout=10)
    assert answer.status_code == 200, answer.text
    env = answer.text.splitlines()
    assert "EVIL_1_PATH=x=y" in env
    assert "HOOK_b_c_d=z" in env
    assert not any(line.startswith(("EVIL=", "HOOK_b c")) for line in env)
    assert f"PATH={os.environ['PATH']}" in env  # PATH itself untouched
