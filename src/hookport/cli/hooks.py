"""``hookport hooks check|convert`` and the ``--hooks*`` options of ``hookport serve``."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from hookport.app import HookportApp
from hookport.hooks.endpoint import HooksPlugin
from hookport.hooks.watch import HotReload

F = TypeVar("F", bound=Callable[..., Any])


def hooks_options(func: F) -> F:
    """Add ``--hooks FILE`` (repeatable) and the other ``--hooks-*`` options.

    They reach the command as one ``hooks`` table of ``[hooks]`` overrides.
    """

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        hooks_files: tuple[str, ...],
        hooks_prefix: str | None,
        hooks_hotreload: bool,
        hooks_template: bool,
        hooks_http_methods: str | None,
        **kwargs: Any,
    ) -> Any:
        table: dict[str, object] = {}
        if hooks_files:
            table["files"] = list(hooks_files)
        if hooks_prefix is not None:
            table["prefix"] = hooks_prefix
        if hooks_hotreload:
            table["hotreload"] = True
        if hooks_template:
            table["template"] = True
        if hooks_http_methods is not None:
            table["http_methods"] = [hooks_http_methods]
        return func(*args, hooks=table, **kwargs)

    options = [
        click.option(
            "--hooks",
            "hooks_files",
            multiple=True,
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="Serve an adnanh/webhook hooks file (.json/.yaml/.toml; repeatable) [hooks].",
        ),
        click.option(
            "--hooks-prefix", default=None, help="URL prefix of hooks, /PREFIX/{id} [hooks.prefix]."
        ),
        click.option(
            "--hooks-hotreload", is_flag=True, help="Reload hooks files when they change."
        ),
        click.option(
            "--hooks-template", is_flag=True, help="Render hooks files as Go templates first."
        ),
        click.option(
            "--hooks-http-methods",
            default=None,
            metavar="M1,M2",
            help="Default allowed methods of hooks without http-methods.",
        ),
    ]
    decorated: Callable[..., Any] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[return-value]


@contextlib.contextmanager
def hooks_reloading(app: HookportApp) -> Iterator[Callable[[], object] | None]:
    """The reload callback for the server's signals (None without hooks), and the hot-reload
    watcher while the block runs when ``[hooks] hotreload`` is on."""
    endpoints = [p.endpoint for p in app.assembly.plugins if isinstance(p, HooksPlugin)]
    if not endpoints:
        yield None
        return

    def reload() -> None:
        for endpoint in endpoints:
            endpoint.reload()

    watcher = None
    if app.settings.hooks.hotreload:
        files = [f for endpoint in endpoints for f in endpoint.hooks.files]
        watcher = HotReload(files, reload)
        watcher.start()
    try:
        yield reload
    finally:
        if watcher is not None:
            watcher.stop()


@click.group()
def hooks() -> None:
    """Check and convert adnanh/webhook hooks files."""


@hooks.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--data", default=None, help="Request body: text, @file or @- (stdin).")
@click.option("-H", "--header", "headers", multiple=True, metavar="'K: V'", help="A header.")
@click.option("--method", default="POST", show_default=True, help="The request's method.")
@click.option("--query", default="", metavar="'a=1&b=2'", help="The request's query string.")
@click.option("--remote-addr", default="127.0.0.1", show_default=True, help="The sender's address.")
@click.option("--id", "hook_id", default=None, help="Only this hook (default: every hook).")
@click.option("--template", is_flag=True, help="Render FILE as a Go template first.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON object.")
def check_command(
    file: str,
    data: str | None,
    headers: tuple[str, ...],
    method: str,
    query: str,
    remote_addr: str,
    hook_id: str | None,
    template: bool,
    as_json: bool,
) -> None:
    """Validate FILE; given a request (--data, -H, ...), say which rules matched and why.

    Exit status: 0 the file is valid (and, with a request, every hook checked triggered);
    1 the file cannot be loaded; 2 a checked hook did not trigger.
    """
    import os

    from hookport.cli._common import emit_json, read_data
    from hookport.errors import ConfigError
    from hookport.hooks.check import explain, lint
    from hookport.hooks.loading import read_hooks_file
    from hookport.http import HeaderMap, Request

    try:
        found = read_hooks_file(file, template=template, environ=os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    chosen = [h for h in found if hook_id is None or h.id == hook_id]
    if hook_id is not None and not chosen:
        raise click.ClickException(f"no hook with the id {hook_id!r} in {file}")
    with_request = data is not None or bool(headers) or bool(query)
    pairs = [_header(h) for h in headers]
    body = read_data(data) if with_request else b""
    report: list[dict[str, Any]] = []
    for hook in chosen:
        entry: dict[str, Any] = {
            "id": hook.id,
            "command": hook.execute_command or None,
            "warnings": list(lint(hook)),
        }
        if with_request:
            request = Request(
                method=method.upper(), path=f"/hooks/{hook.id}",
                url=f"http://check/hooks/{hook.id}", raw_headers=HeaderMap(pairs),
                query_string=query.lstrip("?"), body=body, client=remote_addr,
            )  # fmt: skip
            result = explain(hook, request)
            entry.update(
                steps=[
                    {"matched": st.matched, "path": st.path, "reason": st.reason}
                    for st in result.steps
                ],
                notes=list(result.notes),
                triggered=result.triggered,
                status=result.status,
                body=result.body,
            )
        report.append(entry)
    failed = any(entry.get("triggered") is False for entry in report)
    if as_json:
        emit_json({"file": file, "hooks": len(found), "checked": report})
    else:
        _print_check(file, len(found), report)
    if failed:
        raise SystemExit(2)


def _print_check(file: str, count: int, report: list[dict[str, Any]]) -> None:
    click.echo(f"{file}: {count} hook(s)")
    for entry in report:
        click.echo(f"hook {entry['id']!r}: {entry['command'] or '(no command)'}")
        for problem in entry["warnings"]:
            click.echo(f"  warning: {problem}")
        if "triggered" not in entry:
            continue
        for step in entry["steps"]:
            click.echo(
                f"  {'match' if step['matched'] else 'FAIL '}  {step['path']}: {step['reason']}"
            )
        for note in entry["notes"]:
            click.echo(f"  note: {note}")
        verdict = "triggered" if entry["triggered"] else "NOT triggered"
        click.echo(f"  => {verdict}: {entry['status']} {entry['body']!r}")


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise click.BadParameter(f"{text!r} is not 'Name: value'", param_hint="-H")
    return name.strip(), value.strip()


@hooks.command("convert")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write here instead of standard output.")  # fmt: skip
@click.option("--template", is_flag=True, help="Render FILE as a Go template first.")
def convert_command(file: str, output: str | None, template: bool) -> None:
    """Write FILE's hooks as TOML ([[hooks]] tables), loadable with --hooks FILE.toml."""
    import os
    from pathlib import Path

    from hookport.errors import ConfigError
    from hookport.hooks.convert import to_toml
    from hookport.hooks.loading import read_hooks_file

    try:
        text = to_toml(read_hooks_file(file, template=template, environ=os.environ))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if output is None:
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
