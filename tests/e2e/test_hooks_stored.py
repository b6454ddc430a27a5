"""Stored hooks: an adnanh hook that does not wait for its command is committed before its
answer and run by the workers (at least once, retried, dead, replayed, deduplicated), with each
attempt's exit code, stdout and stderr in ``hookport events show``; ``hookport worker --hooks``
reloads on SIGHUP; per-hook ``concurrency``; hookport verifiers inside ``trigger-rule``."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import run_hookport, start, wait_until
from tests.e2e.hooks_support import same_answer, webhook  # noqa: F401 - the fixture

DEADLINE = 30.0
FAST_RETRIES = {
    "HOOKPORT_WORKER__MAX_ATTEMPTS": "2",
    "HOOKPORT_WORKER__BACKOFF__INITIAL": "0.2s",
    "HOOKPORT_WORKER__BACKOFF__MAX": "0.5s",
}


def write_hooks(tmp_path: Path, hooks: list[dict[str, Any]], name: str = "hooks.json") -> Path:
    file = tmp_path / name
    file.write_text(json.dumps(hooks))
    return file


def sh(command: str, *args: dict[str, str]) -> list[dict[str, str]]:
    return [{"source": "string", "name": "-c"}, {"source": "string", "name": command},
            {"source": "string", "name": "sh"}, *args]  # fmt: skip


def events(tmp_path: Path) -> list[dict[str, Any]]:
    done = run_hookport("events", "list", "--json", "--limit", "200", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def show(tmp_path: Path, event_id: str) -> tuple[dict[str, Any], str]:
    as_json = run_hookport("events", "show", event_id, "--json", cwd=tmp_path)
    text = run_hookport("events", "show", event_id, cwd=tmp_path)
    assert as_json.returncode == 0 and text.returncode == 0, as_json.stderr + text.stderr
    return json.loads(as_json.stdout), text.stdout


def statuses(tmp_path: Path) -> list[str]:
    return [e["status"] for e in events(tmp_path)]


def test_a_stored_hook_answers_as_adnanh_and_runs_once_per_delivery(
    serve: Any,
    webhook: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = tmp_path / "ran.txt"
    file = write_hooks(tmp_path, [{
        "id": "append", "execute-command": "/bin/sh", "response-message": "queued",
        "response-headers": [{"name": "X-Foo", "value": "bar"}], "success-http-response-code": 201,
        "pass-arguments-to-command": sh(f'echo "$1" >> {out}; echo "out:$1"; echo "err:$1" >&2',
                                        {"source": "payload", "name": "n"}),
    }])  # fmt: skip
    theirs = webhook([file]).url
    server = serve("--hooks", str(file))
    body = {"json": {"n": "-x; $(id)"}, "headers": {"X-GitHub-Delivery": "delivery-1"}}
    got = same_answer(theirs, server.url, "POST", "/hooks/append", **body)
    assert (got["status"], got["body"]) == (201, "queued")
    wait_until(lambda: out.exists() and len(out.read_text().splitlines()) == 2, DEADLINE,
               "both servers ran the command")  # fmt: skip
    # The same delivery again: the same answer, nothing stored, the command not run again.
    again = httpx.post(server.url + "/hooks/append", **body)  # type: ignore[arg-type]
    assert (again.status_code, again.text) == (201, "queued")
    assert httpx.post(server.url + "/hooks/append", json={"n": "second"}).status_code == 201
    wait_until(lambda: statuses(tmp_path) == ["done", "done"], DEADLINE, "two events done")
    found = {e["delivery_id"]: e for e in events(tmp_path)}
    first = found["delivery-1"]
    assert (first["endpoint"], first["type"]) == ("hooks:commands", "append")
    detail, text = show(tmp_path, first["id"])
    assert detail["response"]["status"] == 201 and detail["response"]["body"] == "queued"
    report = detail["attempts"][0]["traceback"]
    assert "exit code: 0" in report
    assert "stdout (14 bytes):\nout:-x; $(id)" in report
    assert "stderr (14 bytes):\nerr:-x; $(id)" in report
    assert "last report" in text and "err:-x; $(id)" in text
    # adnanh ran it once, hookport once per distinct delivery: the argument reached no shell.
    assert out.read_text().splitlines().count("-x; $(id)") == 2
    assert out.read_text().splitlines().count("second") == 1


def test_failures_retry_then_dead_and_replay_runs_again(serve: Any, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    file = write_hooks(tmp_path, [{
        "id": "flaky", "execute-command": "/bin/sh",
        "pass-arguments-to-command": sh(f'test -e {flag} || {{ echo "not yet" >&2; exit 3; }}'),
    }])  # fmt: skip
    server = serve("--hooks", str(file), env=FAST_RETRIES)
    assert httpx.post(server.url + "/hooks/flaky").status_code == 200
    wait_until(lambda: statuses(tmp_path) == ["dead"], DEADLINE, "the event dead")
    event = events(tmp_path)[0]
    detail, _ = show(tmp_path, event["id"])
    assert [a["ok"] for a in detail["attempts"]] == [False, False]
    assert "exit code: 3 (exit status 3)" in detail["attempts"][-1]["traceback"]
    assert "not yet" in detail["attempts"][-1]["traceback"]
    assert "exit status 3" in detail["last_error"]
    flag.touch()
    replay = run_hookport("events", "replay", event["id"], cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    wait_until(lambda: statuses(tmp_path) == ["done"], DEADLINE, "the replayed event done")


def test_a_hanging_command_is_killed_at_its_timeout_and_retried(serve: Any, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    file = write_hooks(tmp_path, [{
        "id": "hang", "execute-command": "/bin/sh", "timeout": "1s",
        "pass-arguments-to-command": sh(f"sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; wait"),
    }])  # fmt: skip
    server = serve("--hooks", str(file), env=FAST_RETRIES)
    started = time.monotonic()
    answer = httpx.post(server.url + "/hooks/hang", timeout=10)
    assert answer.status_code == 200 and time.monotonic() - started < 5  # never waits for it
    wait_until(lambda: statuses(tmp_path) == ["dead"], DEADLINE, "both attempts killed")
    detail, _ = show(tmp_path, events(tmp_path)[0]["id"])
    assert len(detail["attempts"]) == 2  # killed, then retried, then killed again
    for attempt in detail["attempts"]:
        assert "killed after its timeout of 1s" in attempt["error"]
        assert attempt["finished_at"] - attempt["started_at"] < 10
    for pid in (int(p) for p in pids.read_text().split()):  # each shell and its child
        wait_until(lambda pid=pid: not Path(f"/proc/{pid}").exists()
                   or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2], DEADLINE,
                   f"pid {pid} gone")  # fmt: skip


def test_at_most_concurrency_commands_of_one_hook_at_once(serve: Any, tmp_path: Path) -> None:
    running, counts = tmp_path / "running", tmp_path / "counts"
    running.mkdir()
    command = f"touch {running}/$$; ls {running} | wc -l >> {counts}; sleep 0.3; rm {running}/$$"
    file = write_hooks(tmp_path, [
        {"id": "two", "execute-command": "/bin/sh", "concurrency": 2,
         "pass-arguments-to-command": sh(command)},
    ])  # fmt: skip
    server = serve("--hooks", str(file))
    with httpx.Client() as client:
        for _ in range(8):
            assert client.post(server.url + "/hooks/two").status_code == 200
    wait_until(lambda: statuses(tmp_path) == ["done"] * 8, DEADLINE, "eight commands done")
    seen = [int(n) for n in counts.read_text().split()]
    assert len(seen) == 8 and max(seen) <= 2


def test_worker_runs_stored_hooks_and_reloads_on_sighup(serve: Any, tmp_path: Path) -> None:
    out = tmp_path / "ran.txt"

    def hooks(word: str) -> Path:
        return write_hooks(tmp_path, [{"id": "w", "execute-command": "/bin/sh",
                                       "pass-arguments-to-command": sh(f"echo {word} >> {out}")}])  # fmt: skip

    file = hooks("before")
    server = serve("--hooks", str(file), "--no-workers")
    worker = start(["worker", "--hooks", str(file)], cwd=tmp_path,
                   announce="hookport worker running")  # fmt: skip
    try:
        assert httpx.post(server.url + "/hooks/w").status_code == 200
        wait_until(lambda: out.exists() and out.read_text() == "before\n", DEADLINE, "first run")
        hooks("after")
        worker.proc.send_signal(signal.SIGHUP)
        worker.wait_for_line("reloaded")
        assert httpx.post(server.url + "/hooks/w").status_code == 200
        wait_until(lambda: out.read_text() == "before\nafter\n", DEADLINE, "the reloaded command")
    finally:
        worker.stop()
        worker.close()


def _sign(tmp_path: Path, scheme: str, secret: str, body: bytes, url: str) -> dict[str, str]:
    data = tmp_path / "body.json"
    data.write_bytes(body)
    done = run_hookport("sign", "--scheme", scheme, "--secret", secret, "--data", f"@{data}",
                        "--url", url, "--json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_trigger_rules_take_hookport_verifiers(serve: Any, tmp_path: Path) -> None:
    out = tmp_path / "ran.txt"
    stripe_secret, standard_secret = "whsec_stripe_test", "whsec_" + "c2VjcmV0LWtleS0xMjM0NTY="
    (tmp_path / "stripe.toml").write_text(f"""
[[hooks]]
id = "stripe"
execute-command = "/bin/sh"
response-message = "paid"
pass-arguments-to-command = [
  {{ source = "string", name = "-c" }}, {{ source = "string", name = "echo stripe:$1 >> {out}" }},
  {{ source = "string", name = "sh" }}, {{ source = "payload", name = "type" }},
]
trigger-rule = {{ verify = {{ scheme = "stripe", secret_env = "STRIPE_SECRET" }} }}
""")
    json_file = write_hooks(tmp_path, [{
        "id": "std", "execute-command": "/bin/sh", "response-message": "std",
        "pass-arguments-to-command": sh(f"echo std:$1 >> {out}", {"source": "payload", "name": "type"}),
        "trigger-rule": {"and": [
            {"verify": {"scheme": "standard", "secret_env": "STD_SECRET"}},
            {"match": {"type": "value", "value": "ping", "parameter": {"source": "payload", "name": "type"}}},
        ]},
    }])  # fmt: skip
    env = {"STRIPE_SECRET": stripe_secret, "STD_SECRET": standard_secret}
    server = serve("--hooks", str(tmp_path / "stripe.toml"), "--hooks", str(json_file), env=env)
    body = b'{"id": "evt_1", "type": "charge.succeeded"}'
    url = server.url + "/hooks/stripe"
    signed = _sign(tmp_path, "stripe", stripe_secret, body, url)
    ok = httpx.post(url, content=body, headers={**signed, "Content-Type": "application/json"})
    assert (ok.status_code, ok.text) == (200, "paid")
    forged = _sign(tmp_path, "stripe", "whsec_other", body, url)
    bad = httpx.post(url, content=body, headers={**forged, "Content-Type": "application/json"})
    assert (bad.status_code, bad.text) == (500, "Error occurred while evaluating hook rules.")
    ping = b'{"type": "ping"}'
    std_url = server.url + "/hooks/std"
    std = httpx.post(std_url, content=ping, headers={
        **_sign(tmp_path, "standard", standard_secret, ping, std_url),
        "Content-Type": "application/json"})  # fmt: skip
    assert (std.status_code, std.text) == (200, "std")
    unsigned = httpx.post(std_url, content=ping, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 500
    wait_until(lambda: out.exists() and sorted(out.read_text().splitlines())
               == ["std:ping", "stripe:charge.succeeded"], DEADLINE, "both commands ran")  # fmt: skip
    check = run_hookport("hooks", "check", str(json_file), "--data", '{"type": "ping"}',
                         "-H", "Content-Type: application/json", cwd=tmp_path, env=env)  # fmt: skip
    assert (
        check.returncode == 2
        and "FAIL   trigger-rule.and[0].verify: verify standard" in check.stdout
    )
