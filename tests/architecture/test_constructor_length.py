"""CDK stacks are composed of named constructs: no ``__init__`` in ``infra/`` is longer than 80 lines.

A long constructor is a stack or construct that should be split into constructs named for what they
are (docs/ARCHITECTURE.md "infra"). Measured with ``ast`` from ``def`` to the last line of the body.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 80


def long_constructors(package: Path, limit: int = MAX_LINES) -> list[str]:
    """``path:line Class.__init__ is N lines`` for every ``__init__`` under ``package`` longer than ``limit``."""
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
            for item in cls.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    lines = (item.end_lineno or item.lineno) - item.lineno + 1
                    if lines > limit:
                        where = path.relative_to(package.parent)
                        found.append(f"{where}:{item.lineno} {cls.name}.__init__ is {lines} lines")
    return found


def test_no_constructor_in_infra_is_longer_than_80_lines() -> None:
    assert long_constructors(ROOT / "infra") == []


def test_infra_has_constructors_to_measure() -> None:
    """Control: the walk sees the stacks' constructors (a renamed folder must not make the check vacuous)."""
    assert long_constructors(ROOT / "infra", limit=5), "found no __init__ in infra/ at all"


@pytest.mark.parametrize("body_lines", [79, 80])
def test_the_check_catches_a_long_constructor(tmp_path: Path, body_lines: int) -> None:
    package = tmp_path / "infra"
    package.mkdir()
    body = "".join(f"        self.x{i} = {i}\n" for i in range(body_lines))
    (package / "stack.py").write_text(f"class Big:\n    def __init__(self) -> None:\n{body}")
    expected = [f"infra/stack.py:2 Big.__init__ is {body_lines + 1} lines"] if body_lines + 1 > MAX_LINES else []
    assert long_constructors(package) == expected
