"""``hookport hooks check`` and ``hookport hooks convert`` through the CLI."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from click.testing import CliRunner

from hookport.cli import cli
from hookport.hooks.loading import read_hooks_file

EXAMPLES = Path(__file__).parents[1] / "e2e" / "hooks_examples"
GITHUB = str(EXAMPLES / "github.json")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_check_without_a_request_validates_and_warns() -> None:
    code, out = run("hooks", "check", GITHUB)
    assert code == 0
    assert "1 hook(s)" in out and "is not an executable file" in out


def test_check_says_which_rule_failed_and_why() -> None:
    body = json.dumps({"ref": "refs/heads/dev"})
    mac = hmac.new(b"mysecret", body.encode(), hashlib.sha1).hexdigest()
    code, out = run("hooks", "check", GITHUB, "--data", body,
                    "-H", "Content-Type: application/json", "-H", f"X-Hub-Signature: sha1={mac}")  # fmt: skip
    assert code == 2
    assert "match  trigger-rule.and[0].match: payload-hmac-sha1: HMAC-SHA1 signature valid" in out
    assert "FAIL   trigger-rule.and[1].match: value: payload 'ref' differs" in out
    assert "NOT triggered: 200 'Hook rules were not satisfied.'" in out


def test_check_reports_a_bad_signature_as_the_500_it_is() -> None:
    code, out = run("hooks", "check", GITHUB, "--data", "{}", "-H", "X-Hub-Signature: sha1=00")
    assert code == 2
    assert "SignatureError: invalid payload signature" in out
    assert "500 'Error occurred while evaluating hook rules.'" in out


def test_check_a_triggered_hook_and_a_missing_id(tmp_path: Path) -> None:
    simple = str(EXAMPLES / "simple-one.json")
    code, out = run("hooks", "check", simple, "--method", "GET", "--query", "token=42")
    assert code == 0 and "triggered: 200 'Executing simple webhook...'" in out
    code, out = run("hooks", "check", simple, "--id", "nope")
    assert code == 1 and "no hook with the id 'nope'" in out


def test_check_refuses_an_unloadable_file() -> None:
    code, out = run("hooks", "check", str(EXAMPLES / "pass-file-to-command.json"))
    assert code == 1 and "error converting YAML to JSON" in out


def test_convert_writes_toml_that_reads_back_as_the_same_hooks(tmp_path: Path) -> None:
    for source in sorted(EXAMPLES.glob("*.*")):
        if source.suffix == ".md" or source.name.startswith("pass-file-to-command"):
            continue
        target = tmp_path / f"{source.stem}.toml"
        code, out = run("hooks", "convert", str(source), "-o", str(target))
        assert code == 0, out
        assert read_hooks_file(target) == read_hooks_file(source), source.name
    code, out = run("hooks", "convert", GITHUB)
    assert out.count("[[hooks]]") == 1
    assert 'parameter = {source = "header", name = "X-Hub-Signature"}' in out
