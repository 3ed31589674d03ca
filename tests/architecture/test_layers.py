"""The dependency rule (docs/ARCHITECTURE.md): a package imports only from the layers below it.

Read from the source with ``ast`` (every ``import`` and ``from … import``, at any depth, including
imports inside functions), so a lazy import that climbs a layer fails here too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: package -> the project packages it may import (besides itself). Third-party imports are free.
ALLOWED: dict[str, set[str]] = {
    "contract": set(),
    "legs": {"contract"},
    "bridge": {"legs", "contract"},
    "lambdas": {"legs", "contract"},
    "simulator": {"legs", "contract"},
    "infra": {"lambdas", "legs", "contract"},
    "devstack": {"bridge", "lambdas", "simulator", "legs", "contract"},
    "bench": {"devstack", "bridge", "lambdas", "simulator", "legs", "contract", "infra"},
}
PROJECT = {*ALLOWED, "tests", "app"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(package: str) -> list[str]:
    allowed = ALLOWED[package] | {package}
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, top in _imports(path):
            if top in PROJECT and top not in allowed:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_package_imports_a_higher_layer(package: str) -> None:
    assert violations(package) == []


def test_the_rule_catches_an_upward_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself: a lambdas module importing infra is reported."""
    (tmp_path / "lambdas").mkdir()
    (tmp_path / "lambdas" / "bad.py").write_text("def f():\n    from infra.config import DeployConfig\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert violations("lambdas") == ["lambdas/bad.py:2 imports infra"]


def test_contract_uses_the_standard_library_only() -> None:
    third_party = []
    for path in sorted((ROOT / "contract").rglob("*.py")):
        for line, top in _imports(path):
            if top not in {"contract", "__future__"} and top not in __import__("sys").stdlib_module_names:
                third_party.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    assert third_party == []


def test_every_top_level_package_has_a_layer() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert packages - {"tests"} == set(ALLOWED)


def _contract_values() -> dict[str, str]:
    """Every name the contract defines -> where (event names, env names, metric names, bus defaults)."""
    from contract import bus, catalogue, deployment, env, metrics

    values: dict[str, str] = {}
    for name in catalogue.ALL_EVENTS:
        values[name] = "contract.catalogue.EventName"
    env_classes = (env.Env, env.AwsEnv, env.PowertoolsEnv, env.BridgeEnv, env.SimulatorEnv, env.DevstackEnv)
    for cls in (*env_classes, env.EventsV2Env):
        for attr, value in vars(cls).items():
            if attr.isupper() and attr != "PREFIX" and isinstance(value, str):
                values[value] = f"contract.env.{cls.__name__}.{attr}"
    for metric in (*metrics.BridgeMetric, *metrics.FunctionMetric):
        values[metric.value] = f"contract.metrics.{type(metric).__name__}"
    values[metrics.NAMESPACE] = "contract.metrics.NAMESPACE"
    for module, attrs in ((bus, ("DEFAULT_SOURCE", "DEFAULT_BUS_NAME")), (deployment, ("EXOTEL_SECRET_NAME",))):
        for attr in attrs:
            values[getattr(module, attr)] = f"{module.__name__}.{attr}"
    return values


def _string_literals(path: Path) -> list[tuple[int, str]]:
    """String constants that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize("package", ["legs", "bridge", "lambdas", "simulator", "infra", "devstack"])
def test_no_contract_name_is_repeated_as_a_literal(package: str) -> None:
    known = _contract_values()
    repeated = [
        f"{path.relative_to(ROOT)}:{line} {value!r} (use {known[value]})"
        for path in sorted((ROOT / package).rglob("*.py"))
        if "pb" not in path.parts
        for line, value in _string_literals(path)
        if value in known
    ]
    assert repeated == []
