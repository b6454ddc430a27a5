"""Settings: one typed object from ``hookport.toml`` and ``HOOKPORT_<SECTION>__<KEY>`` variables.

``load_settings(path, environ)`` is the one way in; tests pass ``environ`` instead of mutating
``os.environ``. Nothing is read at import. Defaults make ``hookport serve`` work with no file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources import EnvSettingsSource

from hookport.errors import ConfigError

_SIZE_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9,
    "kib": 2**10, "mib": 2**20, "gib": 2**30,
}  # fmt: skip
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "": 1}
_NUM_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: object) -> int:
    """``"25MB"`` -> 25_000_000 (10^6 per MB); ``"25MiB"`` -> 25 * 2^20; ints pass through."""
    if isinstance(value, bool):
        raise ValueError("a size must be a number of bytes or a string like '25MB'")
    if isinstance(value, int | float):
        return int(value)
    match = _NUM_UNIT.match(str(value))
    unit = match.group(2).lower() if match else None
    if not match or unit not in _SIZE_UNITS:
        raise ValueError(f"invalid size {value!r}: use e.g. '25MB' or '25MiB'")
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def parse_duration(value: object) -> float:
    """``"10s"``, ``"5m"``, ``"1h"``, ``"3d"``, ``"250ms"`` -> seconds; numbers are seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string like '10s'")
    if isinstance(value, int | float):
        return float(value)
    match = _NUM_UNIT.match(str(value))
    unit = match.group(2).lower() if match else None
    if not match or unit not in _DURATION_UNITS:
        raise ValueError(f"invalid duration {value!r}: use e.g. '10s', '5m', '1h' or '3d'")
    return float(match.group(1)) * _DURATION_UNITS[unit]


Size = Annotated[int, BeforeValidator(parse_size)]
Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Section(BaseModel):
    # A field's docstring (the string under it) is its description: docs/configuration.md is
    # generated from these models, so every key documents itself where it is declared.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class ServerSettings(_Section):
    """``[server]``: where and how the HTTP server listens."""

    host: str = "127.0.0.1"
    """Address to listen on (``0.0.0.0``: every interface)."""
    port: int = Field(8080, ge=0, le=65535)
    """TCP port to listen on (``0``: any free port, printed at start)."""
    max_body_size: Size = 25_000_000
    """Largest request body accepted, also after gzip/deflate decoding; past it, 413
    (GitHub sends up to 25 MB)."""
    base_url: str | None = None
    """The public URL senders reach hookport at: full hook URLs in ``hookport routes
    --urls``, and the URL Twilio signs (default: the request's own)."""
    urls: dict[str, str] = Field(default_factory=dict)
    """``[server.urls]``: endpoint name -> its public URL, shown by ``hookport routes --urls``
    instead of ``base_url`` + path (a tunnel in development); ``{token}`` marks where each
    access token goes."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """CIDRs of proxies whose ``X-Forwarded-For`` / ``Forwarded`` headers are believed for
    the client address (``verify.ip_allow``, an event's ``source_ip``)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Least severe level logged (``serve --log-level``)."""
    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object per log line (``serve --log-format``)."""
    processes: int = Field(1, ge=1, le=64)
    """Server processes sharing the port (``serve --processes``): each has its own event loop,
    group commit and in-process workers on the one store; a supervisor restarts any that die."""
    metrics: bool = True
    """Prometheus metrics at ``/_hookport/metrics``; ``false`` counts nothing and answers 404
    there (the verification-failure counts ``[alerts]`` rules read are kept)."""
    shutdown_timeout: Duration = 30.0
    """On SIGTERM/SIGINT: how long in-flight requests and running handlers may take to
    finish before the server stops anyway (unfinished events are released, not lost)."""
    route_threads: int = Field(16, ge=1)
    """Threads for sync route handlers (their own: sync receiver handlers never take them)."""
    max_header_size: Size = 65_536
    """Request line and headers together; past it, 431."""
    max_headers: int = Field(100, ge=1)
    """Header fields per request; past it, 431."""
    header_timeout: Duration = 10.0
    """Seconds a connection has to send a complete request head; then 408 and close."""
    body_timeout: Duration = 60.0
    """Seconds a request has to send its whole body once its head is in; then 408."""
    keep_alive_timeout: Duration = 5.0
    """Seconds an idle keep-alive connection stays open."""
    max_connections: int | None = Field(None, ge=1)
    """Open connections at once (default: ``ulimit -n`` minus 64); the oldest idle one is
    closed to admit a new one."""
    max_buffered: Size = 100_000_000
    """Bytes of request bodies held in memory at once while they are read and verified; a
    request that would exceed it is answered 503 with Retry-After."""
    tls_cert: str | None = None
    """PEM certificate (chain) to serve HTTPS with; relative to the config file. With
    ``tls_key``; ``hookport cert`` makes a self-signed pair."""
    tls_key: str | None = None
    """The certificate's PEM private key (keep it mode 0600)."""


class StoreSettings(_Section):
    """``[store]``: the durable event store."""

    url: str = "sqlite:///./hookport.db"
    """``sqlite:///relative/path.db`` (from the working directory), ``sqlite:////absolute/path.db``
    or ``postgresql://user@host/db``."""
    synchronous: Literal["full", "normal"] = "full"
    """SQLite's ``synchronous`` pragma: ``full`` survives power loss; ``normal`` is faster
    but may lose the last commits on power loss (never on a process crash)."""
    retention: Duration = 30 * 86400.0
    """``done`` and ``unhandled`` events (and route records) older than this are pruned;
    ``dead`` events are kept. Never less than 3 days, so dedupe outlives sender retries."""
    batch_max: int = Field(256, ge=1)
    """Group commit: most appends committed in one transaction."""
    queue_max: int = Field(10_000, ge=1)
    """Group commit: appends waiting for their transaction; past it a receiver answers 503
    with Retry-After at once."""
    pool_size: int = Field(10, ge=1)
    """PostgreSQL: connections in the pool of each process."""
    route_record_max: Size = 65_536
    """Bodies (request and response) of a recorded route call larger than this are not kept."""
    rejected_keep: int = Field(10_000, ge=0)
    """Rejected deliveries kept (the newest; metadata only): ``hookport events rejected``."""
    rejected_max_age: Duration = 7 * 86400.0
    """Rejected deliveries older than this are pruned."""


class BackoffSettings(_Section):
    """``[worker.backoff]``: exponential backoff with jitter (see ``hookport.retry``)."""

    initial: Duration = 1.0
    """The longest wait before the first retry (the wait doubles with each failure)."""
    max: Duration = 3600.0
    """The longest wait between two attempts."""


class WorkerSettings(_Section):
    """``[worker]``: in-process and standalone workers."""

    concurrency: int = Field(16, ge=1)
    """Events handled at once by one process's workers (``worker --concurrency``)."""
    max_attempts: int = Field(8, ge=1)
    """Runs of an event, the first included, before it is ``dead`` (a receiver's
    ``max_attempts=`` overrides it)."""
    backoff: BackoffSettings = Field(default_factory=BackoffSettings)
    """Waits between attempts: exponential with jitter, each drawn between half the cap and
    the cap."""
    lease: Duration = 60.0
    """How long a worker holds an event it claimed (renewed while the handler runs); a
    lease that expires (the worker died) makes the event due again."""
    timeout: Duration | None = 300.0
    """Default handler timeout, 5 minutes (a receiver's ``timeout=`` overrides it). Without
    one, a handler that never returns would hold its worker slot forever."""
    threads: int | None = Field(None, ge=1)
    """Threads for sync handlers (default: ``concurrency``)."""
    poll_interval: Duration = 1.0
    """Longest sleep of an idle worker between looks at the store (it wakes sooner when
    work is appended or falls due)."""


class PluginsSettings(BaseModel):
    """``[plugins]``: which plugins load; other keys are per-plugin settings tables."""

    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)

    load: list[str] = Field(default_factory=list)
    """Plugins to load: file paths (relative to the config file) or ``module:attribute``."""
    enabled: list[str] = Field(default_factory=list)
    """When non-empty, only the plugins of these names load."""
    disabled: list[str] = Field(default_factory=list)
    """Plugins of these names never load."""
    autoload: bool = True
    """Load the entry points of group ``hookport.plugins`` (also off with
    ``HOOKPORT_DISABLE_PLUGIN_AUTOLOAD=1``)."""

    def settings_for(self, plugin: str) -> dict[str, Any]:
        """The ``[plugins.<plugin>]`` table (empty if absent)."""
        extra = self.model_extra or {}
        table = extra.get(plugin) or extra.get(plugin.replace("-", "_")) or {}
        if not isinstance(table, dict):
            raise ConfigError(f"[plugins.{plugin}] must be a table")
        return table


class HooksSettings(_Section):
    """``[hooks]``: adnanh/webhook hooks files served at ``/{prefix}/{id}`` (docs/hooks.md)."""

    files: list[str] = Field(default_factory=list)
    """Hooks files (.json, .yaml, .yml, .toml); relative paths resolve from the config file."""
    prefix: str = "hooks"
    """Hooks are served at ``/{prefix}/{id}``."""
    template: bool = False
    """Render the files as Go templates first (adnanh's -template)."""
    hotreload: bool = False
    """Re-read the hooks files when they change on disk (``--hooks-hotreload``)."""
    http_methods: list[str] = Field(default_factory=list)
    """Methods every hook accepts unless it says otherwise (default: POST)."""
    response_headers: dict[str, str] = Field(default_factory=dict)
    """Headers added to every hook's answer."""
    timeout: Duration = 60.0
    """A command still running after this is killed (its process group)."""
    max_output: Size = 1 << 20
    """Bytes of a command's output kept (and answered, for hooks that include it)."""
    concurrency: int | None = Field(16, ge=1)
    """Commands of one hook at once; more wait their turn."""
    hook: list[dict[str, Any]] = Field(default_factory=list)
    """Hooks defined in the config: ``[[hooks]]`` tables (or ``[[hooks.hook]]`` beside other
    ``[hooks]`` keys), adnanh's keys plus ``run``, ``forward``, ``notify``, ``filter``."""
    forward_allow: list[str] = Field(default_factory=list)
    """Non-public destinations forwards may reach: CIDRs, addresses or host names."""


class AdminSettings(_Section):
    """``[admin]``: the admin API and dashboard under ``/_hookport``."""

    token_env: str = "HOOKPORT_ADMIN_TOKEN"  # noqa: S105 - a variable name, not a secret
    """The environment variable holding the admin token for ``/_hookport/api`` and the
    dashboard; unset, both are off."""
    session_lifetime: Duration = Field(12 * 3600.0, gt=0)
    """How long a dashboard sign-in lasts (a signed cookie; rotating the token ends them all)."""


class RedactSettings(_Section):
    """``[redact]``: header and query names whose values are never shown (docs/security.md).

    Names are case-insensitive patterns (``*`` matches anything). ``headers``/``query`` replace
    the defaults of ``hookport.redaction``; ``extra_headers``/``extra_query`` add to them.
    """

    headers: list[str] | None = None
    """Header names whose values are redacted, replacing the defaults."""
    query: list[str] | None = None
    """Query parameter names whose values are redacted, replacing the defaults."""
    extra_headers: list[str] = Field(default_factory=list)
    """Header names redacted in addition to the defaults."""
    extra_query: list[str] = Field(default_factory=list)
    """Query parameter names redacted in addition to the defaults."""


class _AlertRule(_Section):
    kind: str
    """What the rule watches: ``dead``, ``failures``, ``backlog`` or ``verification``."""
    name: str | None = None
    """What messages and ``hookport_alerts_sent_total{rule}`` call it (default: its kind);
    unique among the rules."""
    channel: str
    """A channel of ``[channels]``."""
    to: str | None = None
    """The target, for a channel whose URL holds ``{to}``."""
    endpoints: list[str] = Field(default_factory=list)
    """Only these endpoints (names); empty: all."""
    window: Duration | None = Field(None, gt=0)
    """At most one message per subject (endpoint, or endpoint and handler) per window
    (default: ``[alerts] window``)."""

    @property
    def label(self) -> str:
        """The rule's name: ``name`` or its kind."""
        return self.name or self.kind


class DeadRule(_AlertRule):
    """An event went dead (its attempts exhausted); clears when an event of the endpoint is
    done again."""

    kind: Literal["dead"]


class FailuresRule(_AlertRule):
    """A handler failed ``count`` times in a row; clears when it succeeds."""

    kind: Literal["failures"]
    count: int = Field(3, ge=1)
    """Failures in a row that trigger the alert."""


class BacklogRule(_AlertRule):
    """The oldest due event of an endpoint has waited longer than ``max_age``."""

    kind: Literal["backlog"]
    max_age: Duration = Field(gt=0)
    """How long the oldest due event may wait."""


class VerificationRule(_AlertRule):
    """``count`` or more verification failures (401/403) of an endpoint within ``per``."""

    kind: Literal["verification"]
    count: int = Field(ge=1)
    """Failures within ``per`` that trigger the alert."""
    per: Duration = Field(300.0, gt=0)
    """The sliding window the failures are counted in."""


AlertRule = Annotated[
    DeadRule | FailuresRule | BacklogRule | VerificationRule, Field(discriminator="kind")
]


class AlertSettings(_Section):
    """``[alerts]``: rules whose messages go through ``[channels]`` (docs/operations.md)."""

    window: Duration = Field(900.0, gt=0)
    """Default throttle window of the rules."""
    interval: Duration = Field(15.0, gt=0)
    """How often backlog and verification rules look, and held messages go out."""
    rules: list[AlertRule] = Field(default_factory=list)
    """``[[alerts.rules]]`` tables."""

    @model_validator(mode="after")
    def _unique_names(self) -> AlertSettings:
        labels = [rule.label for rule in self.rules]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"alert rule names must be unique (give each a name=): {twice}")
        return self

    def window_of(self, rule: DeadRule | FailuresRule | BacklogRule | VerificationRule) -> float:
        """The rule's throttle window."""
        return rule.window if rule.window is not None else self.window


class ChatPlatformSettings(_Section):
    """``[chatops.<platform>]``: one chat platform's endpoint and who may do what (docs/chatops.md).

    Read-only commands (``help status routes events show``) answer anyone whose request passes
    the platform's verification, unless ``read_users`` is given. Commands that change state
    (``test replay pause resume``) need the caller in ``users`` (when given) *and* the channel
    in ``channels`` (when given); with both empty, nobody may run them. Secrets are never
    written here: ``*_env`` keys name variables of the environment or of ``[secrets]``.
    """

    enabled: bool = False
    """Serve this platform's chat endpoint."""
    path: str | None = None
    """Where the platform posts (default ``/_hookport/chat/<platform>``)."""
    users: list[str] = Field(default_factory=list)
    """User ids allowed to run commands that change state."""
    channels: list[str] = Field(default_factory=list)
    """Channel ids where commands that change state may run."""
    read_users: list[str] | None = None
    """When given, only these users (and ``users``) may run read-only commands."""
    secret_env: str | None = None
    """The variable holding the platform's signing secret (Slack) or webhook secret token
    (Telegram)."""
    token_env: str | None = None
    """The variable holding the bot token used to answer (Slack ``chat.postMessage``,
    Telegram ``sendMessage``)."""
    api_base: str | None = None
    """The platform API's base URL (default: the platform's own; tests point it at loopback)."""
    response_base: str | None = None
    """Slack: a base URL ``response_url`` may also start with (beside ``https://hooks.slack.com``)."""
    bot_name: str | None = None
    """Telegram: the bot's username (``/hookport@name`` is then only answered for this name)."""
    public_key_env: str | None = None
    """Discord: the variable holding the application's Ed25519 public key (hex)."""
    application_id: str | None = None
    """Discord: the application id (follow-up messages)."""
    server: str | None = None
    """IRC: ``host:port`` of the server."""
    tls: bool = False
    """IRC: connect with TLS."""
    tls_ca: str | None = None
    """IRC: a PEM file of certificates to trust instead of the system's (relative to the
    config file), for a server with a private CA or a self-signed certificate."""
    nick: str | None = None
    """IRC: the bot's nick."""
    irc_channels: list[str] = Field(default_factory=list)
    """IRC: channels to join."""
    password_env: str | None = None
    """IRC: the variable holding the NickServ password."""


class ChatopsSettings(_Section):
    """``[chatops]``: hookport's commands from chat (docs/chatops.md)."""

    keep: int = Field(10_000, ge=0)
    """Command records kept (the newest) for the dashboard and ``api/chatops``."""
    max_age: Duration = 30 * 86400.0
    """Command records older than this are pruned."""
    max_rows: int = Field(15, ge=1, le=200)
    """Rows an answer shows before "… and N more"."""
    slow_after: Duration = 2.0
    """Seconds after which a platform with a deadline (Slack: 3 s) answers "working…" and
    sends the result later."""
    slack: ChatPlatformSettings = Field(default_factory=ChatPlatformSettings)
    discord: ChatPlatformSettings = Field(default_factory=ChatPlatformSettings)
    telegram: ChatPlatformSettings = Field(default_factory=ChatPlatformSettings)
    irc: ChatPlatformSettings = Field(default_factory=ChatPlatformSettings)

    def platforms(self) -> dict[str, ChatPlatformSettings]:
        """The enabled platforms' tables, by platform name."""
        tables = {"slack": self.slack, "discord": self.discord, "telegram": self.telegram,
                  "irc": self.irc}  # fmt: skip
        return {name: table for name, table in tables.items() if table.enabled}


class TracingSettings(_Section):
    """``[tracing]``: OpenTelemetry traces of deliveries and handler runs (docs/operations.md).

    Needs the ``hookport[otel]`` extra. Off by default: no span is made and OpenTelemetry is
    not imported.
    """

    enabled: bool = False
    """A ``hookport.ingest`` span per request and a ``hookport.handler`` span per handler run,
    linked to the ingest span of its delivery."""
    service_name: str | None = None
    """The spans' ``service.name`` (default: ``$OTEL_SERVICE_NAME``, else ``hookport``)."""
    incoming_parent: bool = False
    """Continue the trace of a W3C ``traceparent`` header the sender sent (the ingest span
    becomes its child). Off, the header is ignored: anyone can send one, so only turn it on
    for callers you trust to put sensible trace ids there."""
    exporter: Literal["otlp", "console", "none"] = "otlp"
    """Where spans go: ``otlp`` (OTLP over HTTP/protobuf, set up by the standard
    ``OTEL_EXPORTER_OTLP_*`` variables; default ``http://localhost:4318``), ``console``
    (printed on stdout, to try it out) or ``none``."""
    sample_ratio: float = Field(1.0, ge=0.0, le=1.0)
    """The share of new traces kept; a continued trace keeps its caller's decision."""


class Settings(BaseSettings):
    """Every hookport setting. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="HOOKPORT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        nested_model_default_partial_update=True,
        use_attribute_docstrings=True,
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    plugins: PluginsSettings = Field(default_factory=PluginsSettings)
    channels: dict[str, str] = Field(default_factory=dict)
    """``[channels]``: channel name -> Apprise URL (``slack://``, ``json://``, ``mailto://``, ...)
    that ``ctx.send(name, ...)`` posts through; ``${NAME}`` references are expanded and a
    ``{to}`` in the URL is filled from ``ctx.send(..., to=...)``."""
    admin: AdminSettings = Field(default_factory=AdminSettings)
    redact: RedactSettings = Field(default_factory=RedactSettings)
    hooks: HooksSettings = Field(default_factory=HooksSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    chatops: ChatopsSettings = Field(default_factory=ChatopsSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    """``[secrets]``: name -> value, where ``secret_env=`` names and ``${NAME}`` references
    resolve when the environment does not set them (the environment wins)."""

    def secret_environ(self) -> dict[str, str]:
        """Where ``secret_env=`` names and ``${NAME}`` references resolve: the ``[secrets]``
        table of the config, overridden by the environment."""
        merged = {k: v.get_secret_value() for k, v in self.secrets.items()}
        merged.update(self.environ)
        return merged

    # Where relative paths in the config resolve from, and the environment it was read with.
    config_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    environ: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only explicit init values: load_settings layers the file and the environment itself,
        # so tests can inject an environment instead of mutating os.environ.
        return (init_settings,)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' env source reading an injected mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._environ.items()}


def default_config_path(environ: Mapping[str, str]) -> Path | None:
    """``$HOOKPORT_CONFIG``, else ``./hookport.toml`` if present, else None."""
    if environ.get("HOOKPORT_CONFIG"):
        return Path(environ["HOOKPORT_CONFIG"])
    candidate = Path("hookport.toml")
    return candidate if candidate.is_file() else None


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read settings: defaults < TOML file < ``HOOKPORT_*`` environment < ``overrides``.

    ``overrides`` are section tables, e.g. ``server={"port": 0}``. Raises ``ConfigError`` with
    every problem listed.
    """
    env = dict(os.environ if environ is None else environ)
    file_path = Path(path) if path is not None else default_config_path(env)
    data: dict[str, Any] = {}
    if file_path is not None:
        data = _read_toml(file_path)
        if isinstance(data.get("hooks"), list):  # [[hooks]]: TOML has no room for [hooks] too
            data["hooks"] = {"hook": data["hooks"]}
    env_values = _MappingEnvSource(Settings, env)()
    merged = _deep_merge(_deep_merge(data, env_values), overrides)
    merged["config_dir"] = file_path.resolve().parent if file_path else Path.cwd()
    merged["environ"] = env
    try:
        return Settings(**merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, file_path)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None


def _deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" in {str(path)!r}" if path else ""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        problems.append(f"{loc}: {err['msg']}")
    return f"invalid configuration{where}: " + "; ".join(problems)


ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""A ``${NAME}`` reference to an environment variable (the name is group 1)."""


def expand_env(value: str, environ: Mapping[str, str]) -> str:
    """Replace ``${NAME}`` references; a missing variable is a ``ConfigError``."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ or environ[name] == "":
            raise ConfigError(f"environment variable {name} is referenced but not set")
        return environ[name]

    return ENV_REF.sub(sub, value)
