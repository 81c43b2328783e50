"""Every acceptance requirement set, planned for macOS arm64 from this machine against the real
index, then re-checked by plain pip given only the plan's requirements, constraints and
find-links (so the tool's own word is not the evidence).

The sets live in tests/acceptance/ (copies of the workspace sets); each header names the Python.
The expectations below restate each header's `# expect:` line as exact checks.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from helpers import isolated_env, run, tool_command

from pip_tfmac import recipes

pytestmark = pytest.mark.network

ACCEPTANCE = Path(__file__).resolve().parents[1] / "acceptance"
MAC14_TAGS = [f"macosx_{major}_0_arm64" for major in (11, 12, 13, 14)]


def header(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        match = re.match(r"#\s*(python|expect):\s*(.*)", line)
        if match:
            out[match.group(1)] = match.group(2).strip()
    return out


def versions(plan: dict[str, Any]) -> dict[str, str]:
    return {item["name"].lower(): item["version"] for item in plan["resolved"]}


def real_tf(resolved: dict[str, str]) -> list[str]:
    """Distributions that carry TensorFlow's code (alias wheels carry none)."""
    out = []
    for name in ("tensorflow", "tensorflow-macos"):
        version = resolved.get(name)
        if version and "+tfmac" not in version:
            out.append(f"{name}=={version}")
    return out


def expect_pair(
    tf_name: str, tf_prefix: str, metal_prefix: Optional[str]
) -> Callable[[dict], None]:
    def check(plan: dict) -> None:
        resolved = versions(plan)
        assert resolved.get(tf_name, "").startswith(tf_prefix), resolved
        assert len(real_tf(resolved)) == 1, real_tf(resolved)
        if metal_prefix is None:
            assert "tensorflow-metal" not in resolved
        else:
            assert resolved.get("tensorflow-metal", "").startswith(metal_prefix), resolved

    return check


def a01(plan: dict) -> None:
    expect_pair("tensorflow", "2.18.", "1.2.0")(plan)
    assert any(a["kind"] == "prefer" and "2.21" in a["from"] for a in plan["actions"])


def a04(plan: dict) -> None:
    expect_pair("tensorflow", "2.15.", "1.1.0")(plan)
    assert any(a["kind"] == "drop-extra" and "and-cuda" in a["from"] for a in plan["actions"])


def a05(plan: dict) -> None:
    expect_pair("tensorflow-macos", "2.12.0", "0.8.0")(plan)
    resolved = versions(plan)
    assert resolved["tensorflow"] == "2.12.0+tfmac.1"  # the alias, not a second TensorFlow
    assert "deepface" in resolved


def a06(plan: dict) -> None:
    expect_pair("tensorflow", "2.20.", None)(plan)
    assert any("tensorflow-metal" in w for w in plan["warnings"])


def a07(plan: dict) -> None:
    resolved = versions(plan)
    assert real_tf(resolved) and "tensorflow-metal" not in resolved
    assert any("Python 3.13" in w for w in plan["warnings"])


def a09(plan: dict) -> None:
    expect_pair("tensorflow", "2.18.", "1.2.0")(plan)
    assert versions(plan)["tensorflow-text"].startswith("2.18.")


def a11(plan: dict) -> None:
    expect_pair("tensorflow", "2.15.1", "1.1.0")(plan)
    assert any(
        a["kind"] == "correct" and a["from"] == "tensorflow-metal==1.2.0" for a in plan["actions"]
    )
    assert plan["warnings"]


def model_maker(plan: dict) -> None:
    expect_pair("tensorflow", "2.15.1", "1.1.0")(plan)
    # The default line's patched wheel (its label moves when the wheel changes).
    assert versions(plan)["tflite-model-maker"] == recipes.load("tflite-model-maker").version
    assert any(a["kind"] == "recipe" for a in plan["actions"])


def mediapipe_model_maker(plan: dict) -> None:
    expect_pair("tensorflow", "2.18.1", "1.2.0")(plan)  # GPU-paired, not a CPU-only plan
    assert versions(plan)["mediapipe-model-maker"] == recipes.load("mediapipe-model-maker").version


# set id -> (extra args, expected exit code, check of the JSON plan or of the error)
CASES: dict[str, tuple[list[str], int, Callable[[dict], None]]] = {
    "a01": ([], 0, a01),
    "a02": ([], 0, expect_pair("tensorflow-macos", "2.11.0", "0.7.")),
    "a03": ([], 0, expect_pair("tensorflow-macos", "2.10.0", None)),
    "a04": ([], 0, a04),
    "a05": ([], 0, a05),
    "a06": ([], 0, a06),
    "a06-strict": (["--strict"], 68, lambda e: None),
    "a07": ([], 0, a07),
    "a08": ([], 0, expect_pair("tensorflow-macos", "2.9.2", "0.5.")),
    "a09": ([], 0, a09),
    "a10": ([], 67, lambda e: None),
    "a11": ([], 0, a11),
    "a11-strict": (["--strict"], 68, lambda e: None),
    "m01": ([], 0, model_maker),
    "m02": ([], 0, model_maker),
    "m03": ([], 0, mediapipe_model_maker),
}


@pytest.fixture(scope="module")
def cache_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("acceptance")
    # One pip HTTP cache and one wheelhouse for every xdist worker of the run: the sets share
    # most of their downloads (pip's cache is safe for concurrent use; so is the wheelhouse).
    shared = tmp_path_factory.getbasetemp().parent / "acceptance-shared"
    shared.mkdir(exist_ok=True)
    env = isolated_env(base, {"PIP_TFMAC_CACHE_DIR": shared / "wheelhouse"})
    env["XDG_CACHE_HOME"] = str(shared / "xdg-cache")
    return env


def set_file(case: str) -> Path:
    found = sorted(ACCEPTANCE.glob(case.split("-")[0] + "-*.txt"))
    if not found:
        pytest.fail(f"acceptance set {case} missing from {ACCEPTANCE}")
    return found[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_acceptance_set_plans_for_macos_arm64(
    case: str, cache_env: dict[str, str], tmp_path: Path
) -> None:
    path = set_file(case)
    python = header(path)["python"]
    extra, code, check = CASES[case]
    result = run(
        [
            *tool_command(),
            "plan",
            "--platform",
            "macos-arm64",
            "--python-version",
            python,
            "-r",
            path,
            "--json",
            *extra,
        ],
        cache_env,
        timeout=900,
    )
    assert result.returncode == code, result.describe()
    data = json.loads(result.stdout)
    if code != 0:
        error = data["error"]
        assert error["message"] and "Traceback" not in result.stderr
        if case == "a10":
            assert "2.17" in error["message"] + error["remedy"], error
        return
    check(data)
    recheck_with_plain_pip(data, python, cache_env, tmp_path)


def recheck_with_plain_pip(plan: dict, python: str, env: dict[str, str], tmp_path: Path) -> None:
    """Plain pip, given the plan's files only, must resolve the same TensorFlow and plugin on a
    Mac with macOS 14 (tags 11.0-14.0)."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("\n".join(plan["requirements"]) + "\n")
    cons = tmp_path / "constraints.txt"
    cons.write_text("\n".join(plan["constraints"]) + "\n")
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--quiet",
        "--report",
        tmp_path / "r.json",
        "--target",
        tmp_path / "t",
        "--only-binary=:all:",
        "--python-version",
        python,
        "-r",
        reqs,
        "-c",
        cons,
    ]
    for tag in MAC14_TAGS:
        argv += ["--platform", tag]
    for link in plan["find_links"]:
        argv += ["--find-links", link]
    result = run(argv, env, timeout=900)
    assert result.returncode == 0, result.describe()
    report = json.loads((tmp_path / "r.json").read_text())
    again = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in report["install"]}
    for name in ("tensorflow", "tensorflow-macos", "tensorflow-metal", "tensorflow-text"):
        assert again.get(name) == versions(plan).get(name), (name, again.get(name))
