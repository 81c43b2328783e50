"""tflite-model-maker's newer recipe lines, planned from this machine against the real index for
the targets a Linux x86_64 install cannot show: a Mac with Python 3.12 (GPU-paired) and 3.13
(CPU-only, with the reason), and a Docker container on an Apple Silicon Mac (linux/arm64) with
an old and a newer manylinux tag. Each resolved plan is re-checked by plain pip given only the
plan's requirements, constraints, find-links and platform tags (as tests/network/test_acceptance.py
does), so the tool's own word is not the evidence.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from helpers import find_python, isolated_env, run, tool_command

pytestmark = [pytest.mark.network, pytest.mark.slow]

MAC14_TAGS = [f"macosx_{major}_0_arm64" for major in (11, 12, 13, 14)]
NAME = "tflite-model-maker"
TFJS = "recipe:tensorflowjs@4.22.0+tfmac.1"
TFMOT = "recipe:tensorflow-model-optimization@0.8.1+tfmac.1"

# (--platform, Python) -> (recipe label, TensorFlow, tensorflow-metal or None)
CASES: dict[tuple[str, str], tuple[str, str, str | None]] = {
    ("macos-arm64", "3.12"): ("tfmac.9", "2.18.1", "1.2.0"),
    ("macos-arm64", "3.13"): ("tfmac.10", "2.20.0", None),
    ("manylinux2014_aarch64", "3.12"): ("tfmac.9", "2.18.1", None),
    ("manylinux_2_28_aarch64", "3.10"): ("tfmac.9", "2.18.1", None),
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("mm-lines")
    shared = tmp_path_factory.getbasetemp().parent / "mm-lines-shared"
    shared.mkdir(exist_ok=True)
    out = isolated_env(base, {"PIP_TFMAC_CACHE_DIR": shared / "wheelhouse"})
    out["XDG_CACHE_HOME"] = str(shared / "xdg-cache")
    return out


def _versions(items: list[dict[str, Any]]) -> dict[str, str]:
    """name -> version, from a plan's `resolved` or a pip report's `install` items."""
    out = {}
    for item in items:
        meta = item.get("metadata", item)
        out[meta["name"].lower().replace("_", "-")] = meta["version"]
    return out


@pytest.mark.parametrize(("platform", "python"), sorted(CASES))
def test_line_plans_and_plain_pip_agrees(platform: str, python: str, env: dict[str, str], tmp_path: Path) -> None:
    label, tf, metal = CASES[(platform, python)]
    argv = [*tool_command(), "plan", "--platform", platform, "--python-version", python, NAME, "--json"]
    result = run(argv, env, timeout=1200)
    assert result.returncode == 0, result.describe()[-6000:]
    plan = json.loads(result.stdout)
    # Python 3.13: tensorflow-model-optimization 0.8.1 through its dependency-only recipe.
    # Every line brings the patched tensorflowjs; the 3.13 line pins tensorflow-model-optimization.
    assert plan["recipes"] == [f"recipe:{NAME}@0.4.3+{label}"] + ([TFMOT] if python == "3.13" else []) + [TFJS]
    resolved = _versions(plan["resolved"])
    assert resolved[NAME] == f"0.4.3+{label}"
    assert resolved["tensorflow"] == tf
    assert resolved.get("tensorflow-metal") == metal
    tf_minor = ".".join(tf.split(".")[:2])
    assert resolved["tf-keras"].startswith(tf_minor + ".")  # Keras 2 for this TF (patch 0005)
    assert resolved["tensorflow-addons"] == "0.23.0+tfmac.1"  # the stand-in, not the EOL release
    assert resolved["tensorflow-model-optimization"] == ("0.8.1+tfmac.1" if python == "3.13" else "0.8.1")
    assert "scann" not in resolved and "tflite-support" not in resolved
    if metal is None and platform == "macos-arm64":
        assert any("tensorflow-metal has no build for Python 3.13" in w for w in plan["warnings"])
    if platform.startswith("manylinux_2_28"):
        assert "manylinux2014_aarch64" in plan["target"]["pip_platforms"]  # TF's own wheel tag

    reqs = tmp_path / "requirements.txt"
    reqs.write_text("\n".join(plan["requirements"]) + "\n")
    cons = tmp_path / "constraints.txt"
    cons.write_text("\n".join(plan["constraints"]) + "\n")
    pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", tmp_path / "r.json"]
    pip += ["--target", tmp_path / "t", "--only-binary=:all:", "--python-version", python]
    pip += ["-r", reqs, "-c", cons]
    for tag in MAC14_TAGS if platform == "macos-arm64" else plan["target"]["pip_platforms"]:
        pip += ["--platform", tag]
    for link in plan["find_links"]:
        pip += ["--find-links", link]
    again = run(pip, env, timeout=1200)
    assert again.returncode == 0, again.describe()[-6000:]
    rechecked = _versions(json.loads((tmp_path / "r.json").read_text())["install"])
    for name in ("tensorflow", "tensorflow-metal", "tf-keras", NAME, "tensorflow-addons", "mediapipe",
                 "tensorflow-model-optimization"):
        assert rechecked.get(name) == resolved.get(name), (name, rechecked.get(name), resolved.get(name))


@pytest.mark.parametrize("where", ["macos-arm64", "this-linux"])
def test_python_313_lines_of_both_model_makers_share_one_tfmot_wheel(where: str, env: dict[str, str]) -> None:
    """Both Model Makers' Python 3.13 lines pin tensorflow-model-optimization 0.8.1 and get the
    dependency-only recipe's build: one wheel 0.8.1+tfmac.1 in the shared wheelhouse, the real
    package (no stand-in of the same name and version), its hash recorded once."""
    before, after = [], ["--platform", "macos-arm64", "--python-version", "3.13"]  # around `plan`
    if where == "this-linux":
        python = find_python("3.13")
        if python is None:
            pytest.skip("no Python 3.13 interpreter on this machine")
        before, after = ["--python", python], []
    for name in (NAME, "mediapipe-model-maker"):
        argv = [*tool_command(), *before, "plan", *after, name, "--json"]
        result = run(argv, env, timeout=1200)
        assert result.returncode == 0, result.describe()[-6000:]
        plan = json.loads(result.stdout)
        assert TFMOT in plan["recipes"]
        assert _versions(plan["resolved"])["tensorflow-model-optimization"] == "0.8.1+tfmac.1"
    wheels = sorted((Path(env["PIP_TFMAC_CACHE_DIR"]) / "wheels").glob("tensorflow_model_optimization-*.whl"))
    assert [w.name for w in wheels] == ["tensorflow_model_optimization-0.8.1+tfmac.1-py3-none-any.whl"]
    with zipfile.ZipFile(wheels[0]) as zf:
        assert "tensorflow_model_optimization/python/core/api/sparsity/keras/__init__.py" in zf.namelist()
    verify = run([*tool_command(), "wheelhouse", "verify"], env, timeout=600)
    assert verify.returncode == 0, verify.describe()[-3000:]
