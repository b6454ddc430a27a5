"""Settings: defaults, TOML, environment precedence, sizes and durations, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookport.config import expand_env, load_settings, parse_duration, parse_size
from hookport.errors import ConfigError


def test_defaults_need_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(None, {})
    assert (s.server.host, s.server.port, s.server.max_body_size) == ("127.0.0.1", 8080, 25_000_000)
    assert s.store.url == "sqlite:///./hookport.db"
    assert s.store.synchronous == "full"
    assert (s.worker.concurrency, s.worker.max_attempts, s.worker.lease) == (16, 8, 60.0)


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "hookport.toml"
    cfg.write_text(
        '[server]\nport = 9000\nmax_body_size = "1MiB"\n[worker]\nbackoff = { initial = "2s", max = "5m" }\n'
        '[plugins]\nload = ["a.py"]\n[plugins.my-plugin]\nrepo = "x/*"\n[channels]\ndev = "json://h/p"\n'
    )
    s = load_settings(
        cfg,
        {"HOOKPORT_SERVER__PORT": "9100", "HOOKPORT_WORKER__CONCURRENCY": "3"},
        server={"host": "0.0.0.0"},
    )
    assert (s.server.port, s.server.host, s.server.max_body_size) == (9100, "0.0.0.0", 2**20)
    assert (s.worker.concurrency, s.worker.backoff.initial, s.worker.backoff.max) == (3, 2.0, 300.0)
    assert s.plugins.load == ["a.py"]
    assert s.plugins.settings_for("my-plugin") == {"repo": "x/*"}
    assert s.channels == {"dev": "json://h/p"}
    assert s.config_dir == tmp_path


def test_hookport_config_variable_names_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "other.toml"
    cfg.write_text("[server]\nport = 1234\n")
    assert load_settings(None, {"HOOKPORT_CONFIG": str(cfg)}).server.port == 1234


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nport = 'x'\n", "server.port"),
        ("[server]\nmax_body_size = '12 parsecs'\n", "invalid size"),
        ("[nope]\na = 1\n", "nope"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "hookport.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(cfg, {})
    assert "hookport.toml" in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", {})


def test_sizes_and_durations() -> None:
    assert parse_size("25MB") == 25_000_000
    assert parse_size("25MiB") == 25 * 2**20
    assert parse_size(10) == 10
    assert [parse_duration(v) for v in ("10s", "5m", "1h", "3d", "250ms", 7)] == [
        10,
        300,
        3600,
        259200,
        0.25,
        7,
    ]
    for bad in ("10 years", "", True):
        with pytest.raises(ValueError, match="invalid|must be"):
            parse_duration(bad)


def test_env_references_expand_or_fail_naming_the_variable() -> None:
    assert expand_env("json://${HOST}/x", {"HOST": "h:1"}) == "json://h:1/x"
    with pytest.raises(ConfigError, match="MISSING_VAR") as info:
        expand_env("json://${MISSING_VAR}/x", {"OTHER": "secret-value"})
    assert "secret-value" not in str(info.value)


def test_secrets_table_fills_secret_env_lookups_environment_wins(tmp_path: Path) -> None:
    cfg = tmp_path / "hookport.toml"
    cfg.write_text('[secrets]\nA = "from-file"\nB = "file-b"\n')
    s = load_settings(cfg, {"B": "from-env"})
    assert s.secret_environ()["A"] == "from-file"
    assert s.secret_environ()["B"] == "from-env"
    assert "from-file" not in repr(s)
