"""``[[hooks]]`` in the config: what ``hooks convert`` writes is what it reads, and every
mistake in a native hook is a ``ConfigError`` naming the hook."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hookport.config import load_settings
from hookport.errors import ConfigError
from hookport.hooks.convert import to_toml
from hookport.hooks.forward import DestinationPolicy
from hookport.hooks.loading import read_hooks_file
from hookport.hooks.native import Environment, parse_config_hooks
from hookport.hooks.settings import config_hooks, native_hooks_plugin

EXAMPLES = Path(__file__).resolve().parents[2] / "e2e" / "hooks_examples"
# The README there names the blocks of adnanh's page that are payloads or do not load.
NOT_HOOKS = {
    "pass-file-to-command-request.json",
    "sendgrid-payload.json",
    "pass-file-to-command.json",
}
ENV = Environment(Path("/"), {"S": "whsec_c2VjcmV0"}, frozenset({"chat"}), DestinationPolicy())


@pytest.mark.parametrize(
    "source", [*sorted({p.name for p in EXAMPLES.glob("*.json")} - NOT_HOOKS), "gitea.yaml"]
)
def test_convert_output_is_read_back_as_the_same_hooks(source: str, tmp_path: Path) -> None:
    hooks = read_hooks_file(EXAMPLES / source)
    assert hooks
    config = tmp_path / "hookport.toml"
    config.write_text(to_toml(hooks))
    plain, native = config_hooks(load_settings(config, {}))
    assert native == []
    assert tuple(plain) == hooks


def test_hooks_in_a_hooks_table_too(tmp_path: Path) -> None:
    config = tmp_path / "hookport.toml"
    config.write_text('[hooks]\nprefix = "in"\nforward_allow = ["10.0.0.0/8"]\n'
                      '[[hooks.hook]]\nid = "f"\nforward = "http://10.1.1.1/x"\n')  # fmt: skip
    settings = load_settings(config, {})
    plugin = native_hooks_plugin(settings)
    assert plugin is not None
    assert [r.path for r in plugin.receivers] == ["/in/f"]
    assert [h.name for h in plugin.receivers[0].handlers] == ["forward[0] http://10.1.1.1/x"]


def parse(text: str) -> None:
    parse_config_hooks(tomllib.loads(text)["hooks"], ENV)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[hooks]]\nforward = "https://example.org"', r"\[\[hooks\]\] #1: a hook with hookport's actions needs an id"),
        ('[[hooks]]\nid = "a"\nforwrd = "x"', r"'a': unknown key\(s\) 'forwrd'"),
        ('[[hooks]]\nid = "a"\nfilter = {}', r"'a': no action|'a' filter: an empty filter"),
        ('[[hooks]]\nid = "a"\nevents = ["push"]', r"'a': no action \(run, forward or notify\)"),
        ('[[hooks]]\nid = "a"\nforward = "https://x.org"\nresponse-message = "hi"',
         r"'a': response-message: a hook with hookport's actions is stored and answered 202"),
        ('[[hooks]]\nid = "a"\nforward = "https://x.org"\n[[hooks]]\nid = "a"\nforward = "https://y.org"',
         r"'a': two hooks have this id"),
        ('[[hooks]]\nid = "a"\nrun = ["/bin/true"]\nexecute-command = "/bin/true"',
         r"'a': run and execute-command both give a command"),
        ('[[hooks]]\nid = "a"\nrun = { command = "/bin/true" }', r"'a' run: command must be a non-empty list"),
        ('[[hooks]]\nid = "a"\nrun = ["no-such-program-here"]', r"'a' run: command 'no-such-program-here' is not on PATH"),
        ('[[hooks]]\nid = "a"\nverify = { scheme = "gitbub", secret = "x" }\nrun = ["/bin/true"]',
         r"'a' verify: unknown scheme 'gitbub'"),
        ('[[hooks]]\nid = "a"\nverify = { scheme = "github", secret = "" }\nrun = ["/bin/true"]',
         r"'a' verify: secret must not be empty"),
        ('[[hooks]]\nid = "a"\nverify = { scheme = "github", secrt = "x" }\nrun = ["/bin/true"]',
         r"'a' verify: github got an unexpected keyword argument 'secrt'"),
        ('[[hooks]]\nid = "a"\n[[hooks.forward]]\nurl = "https://x.org"\nsign = { secret_env = "NOPE" }',
         r"'a' forward\[0\] sign: environment variable NOPE is not set"),
        ('[[hooks]]\nid = "a"\n[[hooks.forward]]\nurl = "https://x.org"\nsign = { scheme = "github", secret_env = "S" }',
         r"re-signed with scheme 'standard' only"),
        ('[[hooks]]\nid = "a"\n[[hooks.forward]]\nurl = "${MISSING}/x"',
         r"'a' forward\[0\]: environment variable MISSING is referenced but not set"),
        ('[[hooks]]\nid = "a"\n[[hooks.forward]]\nurl = "http://10.0.0.1/"\nallow = ["10.0.0.0/33"]',
         r"'a' forward\[0\]: \[\[hooks\]\] 'a' forward\[0\] allow: '10.0.0.0/33' is not a CIDR"),
        ('[[hooks]]\nid = "a"\n[[hooks.notify]]\nchannel = "chat"', r"'a' notify\[0\]: message is required"),
        ('[[hooks]]\nid = "a"\n[[hooks.notify]]\nchannel = "chat"\nmessage = "{% if %}"',
         r"'a' notify\[0\] message: template syntax error on line 1"),
    ],
)  # fmt: skip
def test_mistakes_name_the_hook(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(text)


def test_a_native_hook_declares_one_handler_per_action(tmp_path: Path) -> None:
    config = tmp_path / "hookport.toml"
    config.write_text("""
[channels]
chat = "json://127.0.0.1:9/c"
[[hooks]]
id = "all"
events = ["push"]
concurrency = 2
max-attempts = 3
run = ["/bin/true"]
forward = ["https://a.example/in", "https://b.example/in"]
[[hooks.notify]]
channel = "chat"
message = "hi"
events = ["*"]
""")
    plugin = native_hooks_plugin(load_settings(config, {}))
    assert plugin is not None
    (receiver,) = plugin.receivers
    assert (receiver.path, receiver.name, receiver.concurrency, receiver.max_attempts) == (
        "/hooks/all", "hooks:all", 2, 3)  # fmt: skip
    assert [(h.name, h.event_types) for h in receiver.handlers] == [
        ("run", ("push",)),
        ("forward[0] https://a.example/in", ("push",)),
        ("forward[1] https://b.example/in", ("push",)),
        ("notify[0] chat", ("*",)),
    ]
    assert plugin.channels == ("chat",)
