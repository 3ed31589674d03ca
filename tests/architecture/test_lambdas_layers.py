"""Inside ``lambdas/``: handler -> reactor -> executor -> data access, and a pure domain under all of them.

Read from the source with ``ast`` (every import at any depth, relative ones resolved), like
``test_layers.py`` does for the packages. docs/ARCHITECTURE.md states the rule; docs/LAMBDAS.md
the layout.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: layer -> the layers of lambdas/ it may import (besides itself). ``handler`` is any function's package.
MAY_IMPORT: dict[str, set[str]] = {
    "domain": set(),
    "shared": {"tables"},  # config.check_function reads which variables each function needs from wiring
    "dal": {"domain", "shared"},
    "executor": {"dal", "domain", "shared"},
    "reactor": {"executor", "dal", "domain", "shared"},
    "handler": {"reactor", "executor", "dal", "domain", "shared"},
    "tables": {"domain"},  # routing.py and wiring.py: read by CDK as data
}

#: What the domain must never import: AWS SDKs, HTTP, the Legs client, Powertools, the environment.
DOMAIN_FORBIDDEN = ("boto3", "botocore", "urllib3", "requests", "legs.client", "aws_lambda_powertools", "os")


def functions(root: Path = ROOT) -> set[str]:
    return {p.parent.name for p in (root / "lambdas").glob("*/handler.py")}


def layer_of(module: str, root: Path = ROOT) -> str | None:
    """``lambdas.dal.aws`` -> ``dal``; a function's package -> ``handler:<name>``; None for the package itself."""
    parts = module.split(".")
    if parts[0] != "lambdas" or len(parts) == 1:
        return None
    head = parts[1]
    if head in ("domain", "dal", "shared", "executor", "reactor"):
        return head
    if head in ("routing", "wiring"):
        return "tables"
    if head in functions(root):
        return f"handler:{head}"
    return "unknown"


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every module ``path`` imports, relative imports resolved; ``from pkg import mod`` names ``pkg.mod``."""
    here = _module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module in ("lambdas", *(f"lambdas.{p}" for p in ("domain", "dal", "shared"))):
                found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, module))
    return found


def lambdas_violations(root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted((root / "lambdas").rglob("*.py")):
        mine = layer_of(_module_name(path, root), root)
        if mine is None:
            continue
        if mine == "unknown":
            out.append(f"{path.relative_to(root)} belongs to no layer (add it to MAY_IMPORT)")
            continue
        kind = mine.split(":")[0]
        for line, module in imported_modules(path, root):
            target = layer_of(module, root)
            if target is None or target == mine:
                continue
            if target.split(":")[0] not in MAY_IMPORT[kind] or target.startswith("handler:"):
                out.append(f"{path.relative_to(root)}:{line} ({mine}) imports {module} ({target})")
    return out


def domain_impurities(root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted((root / "lambdas" / "domain").rglob("*.py")):
        for line, module in imported_modules(path, root):
            if any(module == bad or module.startswith(bad + ".") for bad in DOMAIN_FORBIDDEN):
                out.append(f"{path.relative_to(root)}:{line} imports {module}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                out.append(f"{path.relative_to(root)}:{node.lineno} reads the environment")
    return out


def test_lambdas_layers_import_only_downwards() -> None:
    assert lambdas_violations() == []


def test_the_domain_is_pure() -> None:
    assert domain_impurities() == []


def test_importing_the_domain_loads_no_io_library() -> None:
    """At run time too: every domain module imported in a fresh interpreter pulls in no SDK or HTTP client."""
    modules = sorted(
        _module_name(p, ROOT) for p in (ROOT / "lambdas" / "domain").glob("*.py") if p.name != "__init__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = ('boto3', 'botocore', 'urllib3', 'aws_lambda_powertools', 'legs.client', 'lambdas.dal', "
        "'lambdas.shared', 'lambdas.executor')\n"
        "print(sorted(m for m in sys.modules if any(m == b or m.startswith(b + '.') for b in bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert modules and out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        ("domain/bad.py", "import boto3\n", "imports boto3"),
        ("domain/bad.py", "def f():\n    from legs.client import LegsClient\n", "imports legs.client"),
        ("domain/bad.py", "import os\nX = os.environ.get('A')\n", "imports os"),
        ("domain/bad.py", "from lambdas.executor import Executor\n", "(domain) imports lambdas.executor (executor)"),
        ("domain/bad.py", "from ..dal import aws\n", "(domain) imports lambdas.dal.aws (dal)"),
        ("dal/bad.py", "from lambdas.executor import Executor\n", "(dal) imports lambdas.executor (executor)"),
        ("connect/other.py", "from lambdas.retry.handler import handler\n", "imports lambdas.retry.handler"),
        ("stray.py", "X = 1\n", "belongs to no layer"),
    ],
)
def test_the_rules_catch_a_violation(tmp_path: Path, where: str, source: str, expected: str) -> None:
    """The checker itself, on a small tree with one bad module."""
    for package in ("lambdas", "lambdas/domain", "lambdas/dal", "lambdas/connect", "lambdas/retry"):
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    for function in ("connect", "retry"):
        (tmp_path / "lambdas" / function / "handler.py").write_text("from lambdas.executor import Executor\n")
    (tmp_path / "lambdas" / "executor.py").write_text("from lambdas.dal import aws\n")
    (tmp_path / "lambdas" / where).write_text(source)
    assert lambdas_violations(tmp_path) + domain_impurities(tmp_path) != []
    assert any(expected in problem for problem in lambdas_violations(tmp_path) + domain_impurities(tmp_path))
    (tmp_path / "lambdas" / where).unlink()
    assert lambdas_violations(tmp_path) + domain_impurities(tmp_path) == []
