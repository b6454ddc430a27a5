"""``env_name``: what a hook's environment variable name becomes before the command sees it."""

from __future__ import annotations

import pytest

from hookport.hooks.command import env_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("HOOK_ref", "HOOK_ref"),
        ("A=B", "A_B"),  # would define A with the value "B=..."
        ("HOOK_a b", "HOOK_a_b"),
        ("X\x00Y", "X_Y"),  # a NUL ends a C string: exec would refuse or cut it
        ("a\nb", "a_b"),
        ("é", "_"),
        ("dotted.name-x", "dotted.name-x"),
        ("", "_"),
    ],
)
def test_names_keep_only_safe_characters(name: str, expected: str) -> None:
    assert env_name(name) == expected
