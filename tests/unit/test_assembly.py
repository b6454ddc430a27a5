"""Assembly rejects broken plugins before serving, naming the plugin and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from hookport import Plugin
from hookport.app import create_app
from hookport.config import load_settings
from hookport.discovery import load_plugins, load_spec
from hookport.errors import ConfigError, PluginError


def settings(tmp_path: Path, env: dict[str, str] | None = None, **over: object):  # type: ignore[no-untyped-def]
    return load_settings(None, env or {}, store={"url": f"sqlite:///{tmp_path}/t.db"}, **over)


def test_two_plugins_claiming_the_same_path_and_method(tmp_path: Path) -> None:
    a, b = Plugin("a"), Plugin("b")
    a.route("/x", methods=["POST"])(lambda: None)
    b.receiver("/x")
    with pytest.raises(PluginError, match="'b'.*POST /x is already declared by plugin 'a'"):
        create_app(settings(tmp_path), [a, b])


def test_handler_asking_for_an_unknown_parameter(tmp_path: Path) -> None:
    p = Plugin("p")

    @p.route("/x/{name}")
    def handler(nam: str) -> str:
        return nam

    with pytest.raises(
        PluginError,
        match=r"plugin 'p'.*handler\(nam: .?str.?\).*'nam'.*available: ctx, name, request",
    ):
        create_app(settings(tmp_path), [p])


def test_receiver_handler_cannot_ask_for_request(tmp_path: Path) -> None:
    p = Plugin("p")
    r = p.receiver("/in")

    @r.on("push")
    def handler(request: object) -> None:
        return None

    with pytest.raises(PluginError, match="'request', which does not exist here"):
        create_app(settings(tmp_path), [p])


def test_missing_secret_env_is_a_startup_error_naming_the_variable(tmp_path: Path) -> None:
    from hookport import verify

    p = Plugin("gh")
    p.receiver("/github", verify=verify.github(secret_env="NO_SUCH_SECRET_VAR"))
    with pytest.raises(PluginError, match="gh.*NO_SUCH_SECRET_VAR"):
        create_app(settings(tmp_path), [p])


def test_unknown_channel_declared_by_a_plugin(tmp_path: Path) -> None:
    p = Plugin("p", channels=["nowhere"])
    with pytest.raises(PluginError, match="nowhere"):
        create_app(settings(tmp_path), [p])


def test_plugin_settings_validated_and_filled(tmp_path: Path) -> None:
    class S(BaseModel):
        repo: str
        limit: int = 3

    p = Plugin("my-plugin", settings=S)
    app = create_app(settings(tmp_path, plugins={"my-plugin": {"repo": "a/b"}}), [p])
    assert app.assembly.plugin_settings["my-plugin"] == S(repo="a/b", limit=3)
    q = Plugin("bad-plugin", settings=S)
    with pytest.raises(PluginError, match=r"bad-plugin.*repo"):
        create_app(settings(tmp_path), [q])


def test_plugin_settings_from_environment(tmp_path: Path) -> None:
    class S(BaseModel):
        repo: str

    p = Plugin("envplug", settings=S)
    app = create_app(settings(tmp_path, {"HOOKPORT_PLUGINS__ENVPLUG__REPO": "o/r"}), [p])
    assert app.assembly.plugin_settings["envplug"] == S(repo="o/r")


def test_declaring_after_assembly_is_refused(tmp_path: Path) -> None:
    p = Plugin("p")
    create_app(settings(tmp_path), [p])
    with pytest.raises(RuntimeError, match="already assembled"):
        p.route("/late")(lambda: None)


def test_discovery_errors_name_the_plugin_and_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_anywhere\n")
    with pytest.raises(PluginError, match=r"broken\.py.*ModuleNotFoundError"):
        load_spec(str(broken), tmp_path)
    with pytest.raises(PluginError, match="does not exist"):
        load_spec(str(tmp_path / "missing.py"), tmp_path)
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(PluginError, match="defines no hookport.Plugin"):
        load_spec(str(empty), tmp_path)
    with pytest.raises(PluginError, match="cannot import"):
        load_spec("no_such_pkg.mod:plugin", tmp_path)


def test_enabled_and_disabled_lists(tmp_path: Path) -> None:
    f = tmp_path / "two.py"
    f.write_text("from hookport import Plugin\na = Plugin('a')\nb = Plugin('b')\n")
    s = settings(tmp_path)
    names = lambda ps: sorted(p.name for p in ps)  # noqa: E731
    assert names(load_plugins([str(f)], s.plugins, base_dir=tmp_path, environ={})) == ["a", "b"]
    s2 = settings(tmp_path, plugins={"disabled": ["a"]})
    assert names(load_plugins([str(f)], s2.plugins, base_dir=tmp_path, environ={})) == ["b"]
    s3 = settings(tmp_path, plugins={"enabled": ["a"]})
    assert names(load_plugins([str(f)], s3.plugins, base_dir=tmp_path, environ={})) == ["a"]
    s4 = settings(tmp_path, plugins={"enabled": ["zzz"]})
    with pytest.raises(PluginError, match="zzz"):
        load_plugins([str(f)], s4.plugins, base_dir=tmp_path, environ={})


def test_bad_store_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        create_app(load_settings(None, {}, store={"url": "mysql://x"}), [])


def test_unknown_worker_receiver_names_the_known_ones(tmp_path: Path) -> None:
    p = Plugin("p")
    p.receiver("/a", name="alpha")
    with pytest.raises(ConfigError, match=r"unknown receiver\(s\) gamma; known: alpha"):
        create_app(settings(tmp_path), [p], worker_endpoints=["gamma"])
