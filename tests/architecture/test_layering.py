"""The layering the README states is what the imports do: a package imports only packages of lower layers.

    core  <-  chain, tools  <-  agents, explorer  <-  scheduler, echo_sync  <-  marl_detector  <-  symphony

Packages of the same layer do not import each other. Read from the source with `ast`, so a lazy import inside a
function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {"core": 0, "chain": 1, "tools": 1, "agents": 2, "explorer": 2, "scheduler": 3, "echo_sync": 3, "marl_detector": 4, "symphony": 5}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_a_package_imports_only_lower_layers(package: str) -> None:
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for other in imported_packages(path):
            if other != package and LAYERS[other] >= LAYERS[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {other}")
    assert not wrong, "\n".join(wrong)


def test_every_package_is_placed() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages == set(LAYERS), packages ^ set(LAYERS)
