"""The type check (``make typecheck``) covers the core packages strictly, and its escapes are explained.

mypy itself runs in ``make test`` before pytest; these tests keep its configuration from drifting
(a core package dropped from ``files``, strictness turned off) and hold every ``# type: ignore``
in the core packages to the rule in docs/ARCHITECTURE.md: an error code, and a reason in a
comment on the same line or the line above.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ("contract", "legs", "bridge", "lambdas")

_IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<after>.*)$")


def _mypy_config() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert isinstance(config, dict)
    return config


def test_mypy_checks_every_core_package_strictly() -> None:
    config = _mypy_config()
    assert config["strict"] is True
    files, codes = config["files"], config["enable_error_code"]
    assert isinstance(files, list) and sorted(files) == sorted(CORE)
    assert isinstance(codes, list) and "ignore-without-code" in codes


def unexplained_ignores(root: Path = ROOT) -> list[str]:
    """``# type: ignore`` comments in the core packages without an error code or without a reason."""
    found = []
    for package in CORE:
        for path in sorted((root / package).rglob("*.py")):
            if "pb" in path.relative_to(root).parts:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines, start=1):
                match = _IGNORE.search(line)
                if match is None:
                    continue
                where = f"{path.relative_to(root)}:{number}"
                if not match.group("codes"):
                    found.append(f"{where}: no error code")
                    continue
                reason_after = match.group("after").strip().lstrip("#").strip()
                above = lines[number - 2].strip() if number > 1 else ""
                if not reason_after and not above.startswith("#"):
                    found.append(f"{where}: no reason")
    return found


def test_every_type_ignore_names_its_code_and_why() -> None:
    assert unexplained_ignores() == []


def test_the_rule_catches_a_bare_or_unexplained_ignore(tmp_path: Path) -> None:
    """The checker itself, on a small tree."""
    (tmp_path / "bridge").mkdir()
    (tmp_path / "bridge" / "bad.py").write_text(
        "x = f()  # type: ignore\n"
        "y = g()  # type: ignore[attr-defined]\n"
        "# the stubs lack g's return type\n"
        "z = g()  # type: ignore[no-any-return]\n"
        "w = h()  # type: ignore[misc]  # h is generated\n"
    )
    assert unexplained_ignores(tmp_path) == ["bridge/bad.py:1: no error code", "bridge/bad.py:2: no reason"]
