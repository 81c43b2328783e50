"""The house rules of src/pip_tfmac (docs/architecture.md), checked so they cannot drift:
imports run one way between the layers (import-linter's contracts in pyproject.toml), no module
is over 400 lines, and no private (underscore) name is imported from another module."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "pip_tfmac"
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_imports_follow_the_layer_contracts() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if lint is None:
        pytest.fail("import-linter is a test dependency (pip install -e '.[test]')")
    proc = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout


def test_a_wrong_way_import_is_caught(tmp_path: Path) -> None:
    """The contract is not vacuous: a core module that imports a flow breaks it."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint is not None
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / "src" / "pip_tfmac" / "core" / "bad.py").write_text("from pip_tfmac.flows import plan\n")
    proc = subprocess.run([lint, "--no-cache"], cwd=copy, capture_output=True, text=True,
                          env={"PYTHONPATH": str(copy / "src"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0
    assert "pip_tfmac.core.bad" in proc.stdout


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_small(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_no_private_name_is_imported_across_modules() -> None:
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pip_tfmac"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        offenders.append(f"{path.relative_to(PACKAGE)}: {node.module}.{alias.name}")
    assert offenders == []


def test_test_modules_have_unique_basenames() -> None:
    """pytest imports test modules by basename (no packages under tests/): two test_x.py in
    different folders make the second an import error in the full run."""
    tests = Path(__file__).resolve().parents[1]
    names = [p.name for p in tests.rglob("test_*.py") if "__pycache__" not in p.parts]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
