"""The uv backend against the real index: the same TensorFlow/metal pairs as the pip backend for
acceptance sets, and a real install on this Linux machine that ends with the verify block.

The sets compared are a subset (a01 a02 a05 a11 m02), chosen to keep the run at a few minutes
while covering each way a pair is made: the newest TF with a working plugin (a01, a preference),
an old tensorflow-macos pair (a02), TensorFlow arriving through a dependent, planned as an alias
(a05: the arrival is read from uv's `# via` annotations), a user's wrong pin corrected (a11), and
the headline recipe set (m02: patched local wheels found through the wheelhouse). a10 (no
consistent set) is refused in plan step 1, before any backend runs.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

import helpers
from helpers import isolated_env, run, tool_command

pytestmark = pytest.mark.network

ACCEPTANCE = Path(__file__).resolve().parents[1] / "acceptance"
SETS = ("a01", "a02", "a05", "a11", "m02")
FAMILY = ("tensorflow", "tensorflow-macos", "tensorflow-metal")


def _shared(name: str) -> Path:
    root = Path(os.environ.get("PIP_TFMAC_TEST_CACHE") or os.path.join(tempfile.gettempdir(), "pip-tfmac-test-cache"))
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def uv_isolated_env(base: Path) -> dict[str, str]:
    """isolated_env, with uv's own configuration and UV_* variables kept out too; one shared uv
    cache (the tests run warm after the first)."""
    env = {k: v for k, v in isolated_env(base).items() if not k.startswith("UV_")}
    env.update(UV_NO_CONFIG="1", UV_CACHE_DIR=str(_shared("uv-cache")),
               PIP_TFMAC_CACHE_DIR=str(_shared("uv-backend-wheelhouse")))
    env["XDG_CACHE_HOME"] = str(_shared("uv-backend-xdg-cache"))
    return env


def pairs(plan: dict) -> dict[str, str]:
    return {i["name"].lower(): i["version"] for i in plan["resolved"] if i["name"].lower() in FAMILY}


@pytest.mark.parametrize("case", SETS)
def test_both_backends_plan_the_same_tensorflow_metal_pair(case: str, tmp_path: Path) -> None:
    path = sorted(ACCEPTANCE.glob(case + "-*.txt"))[0]
    python = next(ln.split(":", 1)[1].strip() for ln in path.read_text().splitlines() if ln.startswith("# python:"))
    env = uv_isolated_env(tmp_path)
    plans = {}
    for backend in ("pip", "uv"):
        result = run([*tool_command(), "plan", "--backend", backend, "--platform", "macos-arm64",
                      "--python-version", python, "-r", path, "--json"], env, timeout=900)
        assert result.returncode == 0, result.describe()
        plans[backend] = json.loads(result.stdout)
        assert plans[backend]["backend"] == backend
    assert pairs(plans["uv"]) == pairs(plans["pip"]), (pairs(plans["uv"]), pairs(plans["pip"]))
    assert "tensorflow" in pairs(plans["uv"]) or "tensorflow-macos" in pairs(plans["uv"])
    # The family lines of the plan are the same; the rest of a resolution may differ where both
    # answers are valid (m02: pip takes tensorflow-model-optimization 0.8.1, which needs tf_keras
    # and brings it into pip's plan; uv takes 0.7.3, which does not).
    assert family_lines(plans["uv"]["requirements"]) == family_lines(plans["pip"]["requirements"])
    assert family_lines(plans["uv"]["constraints"]) == family_lines(plans["pip"]["constraints"])


def family_lines(lines: list) -> list:
    return [line for line in lines if line.lower().startswith(("tensorflow", "tflite", "mediapipe"))]


@pytest.mark.slow
def test_real_install_through_uv_ends_with_the_verify_block(tmp_path: Path) -> None:
    base = helpers.find_python("3.11")
    if base is None:
        pytest.skip("needs Python 3.11 (tensorflow-cpu 2.15.1 has Linux wheels for 3.9-3.11)")
    env = uv_isolated_env(tmp_path)
    venv = tmp_path / "venv"
    made = run([base, "-m", "venv", "--without-pip", venv], env)
    assert made.returncode == 0, made.describe()
    py = helpers.venv_bin(venv, "python")
    env["PIP_TFMAC_BACKEND"] = "uv"  # the variable, this time
    result = run([*tool_command(), "--python", py, "install", "tensorflow-cpu==2.15.1"], env, timeout=1800)
    assert result.returncode == 0, result.describe()
    assert "Verify" in result.stdout or "verify" in result.stdout.lower(), result.describe()
    assert "tensorflow" in result.stdout.lower()
    # the install went through uv (it installs no pip into the venv; pip would say "Successfully")
    assert "Successfully installed" not in result.stdout + result.stderr, result.describe()
    again = run([*tool_command(), "--python", py, "install", "--json", "tensorflow-cpu==2.15.1"], env, timeout=900)
    assert again.returncode == 0, again.describe()
    data = json.loads(again.stdout)
    assert data["backend"] == "uv" and data["plan"]["backend"] == "uv"
    assert data["verify"] is not None and data["verify"]["tensorflow"]["version"] == "2.15.1", data["verify"]
