"""``[tracing]``: its keys, what build_tracing makes of them, and hookport without OpenTelemetry."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from hookport.app import create_app
from hookport.config import TracingSettings, load_settings
from hookport.errors import ConfigError
from hookport.tracing import Tracing, build_tracing


def test_tracing_is_off_by_default_and_nothing_is_built(tmp_path: Path) -> None:
    settings = load_settings(None, {}, store={"url": f"sqlite:///{tmp_path}/t.db"})
    assert settings.tracing == TracingSettings()
    assert not settings.tracing.enabled and not settings.tracing.incoming_parent
    assert build_tracing(settings.tracing) is None
    app = create_app(settings)
    assert app.tracing is None and app.ingest.tracing is None


def test_tracing_keys_come_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "hookport.toml"
    config.write_text(
        '[tracing]\nenabled = true\nservice_name = "hooks-eu"\nexporter = "console"\n'
    )
    environ = {
        "HOOKPORT_TRACING__INCOMING_PARENT": "true",
        "HOOKPORT_TRACING__SAMPLE_RATIO": "0.25",
    }
    tracing = load_settings(config, environ).tracing
    assert tracing == TracingSettings(
        enabled=True,
        service_name="hooks-eu",
        exporter="console",
        incoming_parent=True,
        sample_ratio=0.25,
    )


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"exporter": "zipkin"}, "tracing.exporter"),
        ({"sample_ratio": 1.5}, "tracing.sample_ratio"),
        ({"enable": True}, "tracing.enable"),
    ],
)
def test_invalid_tracing_keys_are_config_errors(table: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings(None, {}, tracing=table)


def _service_name(tracing: Tracing | None) -> object:
    assert tracing is not None
    provider = tracing.provider
    assert isinstance(provider, TracerProvider)
    try:
        return provider.resource.attributes["service.name"]
    finally:
        provider.shutdown()


def test_an_enabled_tracing_builds_an_sdk_provider_named_hookport_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    off = TracingSettings(enabled=True, exporter="none")
    assert _service_name(build_tracing(off)) == "hookport"
    named = TracingSettings(enabled=True, exporter="none", service_name="hooks-eu")
    assert _service_name(build_tracing(named)) == "hooks-eu"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-otel-env")  # the standard variable
    assert _service_name(build_tracing(off)) == "from-otel-env"
    assert _service_name(build_tracing(named)) == "hooks-eu"  # the config says otherwise


def test_a_given_provider_turns_tracing_on_and_is_used_as_is() -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    tracing = build_tracing(TracingSettings(incoming_parent=True), provider)
    assert tracing is not None and tracing.provider is provider and tracing.incoming_parent


def test_the_sampler_keeps_the_configured_share_of_new_traces() -> None:
    tracing = build_tracing(TracingSettings(enabled=True, exporter="none", sample_ratio=0.0))
    assert tracing is not None
    span = tracing.ingest("POST", []).span
    assert not span.is_recording() and span.get_span_context().is_valid
    assert isinstance(tracing.provider, TracerProvider)
    tracing.provider.shutdown()


# What runs with every opentelemetry module unimportable, as where the extra is not installed.
WITHOUT_OTEL = """
import asyncio, importlib.abc, sys
from pathlib import Path

class NoOpenTelemetry(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "opentelemetry":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoOpenTelemetry())

from hookport import Plugin
from hookport.app import create_app
from hookport.config import load_settings
from hookport.errors import ConfigError
from hookport.testing import HookportClient

plugin = Plugin("plain")
inbox = plugin.receiver("/in")

@inbox
def handle(event):
    print("handled", event.id)

async def main():
    async with HookportClient.create([plugin], Path(sys.argv[1])) as client:
        assert (await client.send("/in", b"{}")).status_code == 202
        assert await client.drain() == 1

asyncio.run(main())
try:
    create_app(load_settings(None, {}, store={"url": f"sqlite:///{sys.argv[1]}/t.db"},
                             tracing={"enabled": True}), [plugin])
except ConfigError as exc:
    print("refused:", exc)
print("imported:", sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""


def test_hookport_runs_without_opentelemetry_and_enabling_it_then_fails_at_start(
    tmp_path: Path,
) -> None:
    script = tmp_path / "without_otel.py"
    script.write_text(textwrap.dedent(WITHOUT_OTEL))
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOOKPORT_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("handled ")
    assert lines[1] == (
        "refused: [tracing] enabled = true needs OpenTelemetry, which is not installed: "
        "pip install 'hookport[otel]'"
    )
    assert lines[2] == "imported: []"


def test_the_documented_tracing_table_loads(tmp_path: Path) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    section = docs.split("\n## Tracing\n", 1)[1]
    table = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "hookport.toml"
    config.write_text(table)
    tracing = load_settings(config, {}).tracing
    assert tracing.enabled and tracing.service_name == "hookport-eu"
    assert (tracing.exporter, tracing.incoming_parent, tracing.sample_ratio) == ("otlp", False, 1.0)
