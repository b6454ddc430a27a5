"""The public surface is deliberate: ``__all__`` lists exactly the public names."""

from __future__ import annotations

import subprocess
import sys
import types
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
