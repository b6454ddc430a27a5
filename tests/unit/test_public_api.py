"""The public surface is deliberate: ``__all__`` lists exactly the public names."""

from __future__ import annotations

import ast
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest

import hookport


def test_all_is_sorted_and_complete() -> None:
    # Submodules become attributes once imported; only ``verify`` is public among them.
    public = {
        name
        for name, value in vars(hookport).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    public.add("verify")
    assert sorted(hookport.__all__, key=str.lower) == sorted(set(hookport.__all__), key=str.lower)
    assert public == set(hookport.__all__) - {"__version__"}


def test_import_does_no_io_and_registers_nothing(tmp_path: Path) -> None:
    # Importing hookport in an empty directory creates no file (no store, no config read).
    code = "import hookport, hookport.verify, hookport.testing; print('ok')"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ok"
    assert list(tmp_path.iterdir()) == []


def _mypy(target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )


ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    "target",
    [
        "tests/typing/check_decorators.py",
        "tests/typing/check_settings.py",
        "examples/github_notify.py",  # typed settings: no isinstance or assert on ctx.settings
    ],
)
def test_typing_of_the_decorators_is_checked_by_mypy(target: str) -> None:
    result = _mypy(ROOT / target)
    assert result.returncode == 0, result.stdout + result.stderr


def test_untyped_settings_fail_type_checking() -> None:
    # The negative twin of check_settings.py: mypy really checks ctx.settings.
    result = _mypy(ROOT / "tests" / "typing" / "fail" / "untyped_settings.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Item "BaseModel" of "BaseModel | None" has no attribute "channel"' in result.stdout
    assert 'Item "None" of "BaseModel | None" has no attribute "channel"' in result.stdout


EXAMPLES = sorted((ROOT / "examples").rglob("*.py"))


def _hookport_submodule_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hookport."):
            found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {alias.name}"
                for alias in node.names
                if alias.name.startswith("hookport.")
            ]
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_import_only_from_hookport(path: Path) -> None:
    # Issue 11: what a plugin needs is importable from ``hookport`` itself.
    assert _hookport_submodule_imports(ast.parse(path.read_text())) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_need_no_assert_to_use_settings_or_payloads(path: Path) -> None:
    # Issue 11: ``ctx.settings`` was ``BaseModel | None`` and ``event.json`` a union, so the
    # shipped example asserted isinstance before using either. Typed settings and ``Any``
    # payloads make that needless; mypy --strict on github_notify.py (above) proves it.
    tree = ast.parse(path.read_text())
    asserts = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    assert asserts == [], f"assert statements on lines {asserts}"


def test_the_example_checks_see_every_example() -> None:
    assert {p.parent.name for p in EXAMPLES} == {"examples", "providers", "seeds"}
    assert len(EXAMPLES) >= 18


def test_payloads_are_indexed_without_narrowing() -> None:
    # The DESIGN example ``event.json['pusher']['name']`` type-checks as written.
    assert hookport.Event.json.fget is not None and hookport.Request.json.fget is not None
    for func in (
        hookport.Event.json.fget,
        hookport.Request.json.fget,
        hookport.Event.form_param,
        hookport.Request.form_param,
    ):
        assert typing.get_type_hints(func)["return"] is typing.Any, func
