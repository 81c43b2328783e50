"""TensorFlow by any road (issue 18): requests that do not name TensorFlow but bring it in are
planned for macOS arm64 from this Linux machine exactly as if they had named it. Each plan is
re-checked by plain pip with only the plan's requirements, constraints and find-links on macOS
11-14 arm64 tags, and its tensorflow/tensorflow-metal pair is checked against the knowledge.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from helpers import isolated_env, run, tool_command
from pip_tfmac.knowledge import load

pytestmark = pytest.mark.network

MAC_TAGS = [f"macosx_{major}_0_arm64" for major in (11, 12, 13, 14)]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("any-road")
    shared = tmp_path_factory.getbasetemp().parent / "acceptance-shared"
    shared.mkdir(exist_ok=True)
    out = isolated_env(base, {"PIP_TFMAC_CACHE_DIR": shared / "wheelhouse"})
    out["XDG_CACHE_HOME"] = str(shared / "xdg-cache")
    return out


def plan(args: list[str], env: dict[str, str], python: str = "3.11", cwd: Path | None = None) -> Any:
    result = run([*tool_command(), "plan", "--platform", "macos-arm64", "--python-version", python,
                  *args, "--json"], env, cwd=cwd, timeout=900)
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def pyproject(folder: Path, name: str, dependencies: list[str], extras: dict[str, list[str]] | None = None) -> Path:
    """A local setuptools project (built by pip in an isolated build environment)."""
    folder.mkdir()
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in (extras or {}).items())
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "0.1"\ndependencies = {json.dumps(dependencies)}\n'
        + (f"[project.optional-dependencies]\n{extra}" if extra else "")
        + "[tool.setuptools]\npy-modules = []\n")
    return folder


def resolved(data: dict[str, Any]) -> dict[str, str]:
    return {item["name"].lower().replace("_", "-"): item["version"] for item in data["resolved"]}


def check_pair(data: dict[str, Any], python: str) -> tuple[str, str]:
    """One real TensorFlow, and its plugin is the knowledge's verified choice for it."""
    got = resolved(data)
    shim = load().boundary("tensorflow_shim_on_macos")
    real = [(n, v) for n, v in got.items() if n in ("tensorflow", "tensorflow-macos") and "+tfmac" not in v
            and not (n == "tensorflow" and shim.holds_for(Version(v)) and got.get("tensorflow-macos") == v)]
    assert len(real) == 1, got
    tf = Version(real[0][1])
    choice = load().metal_choice(tf, python)
    assert choice is not None, f"no verified plugin for {tf}"
    assert got.get("tensorflow-metal") == str(choice.version), got
    return real[0][1], got["tensorflow-metal"]


def recheck(data: dict[str, Any], python: str, env: dict[str, str], tmp_path: Path, cwd: Path | None = None,
            names: tuple[str, ...] = ("tensorflow", "tensorflow-macos", "tensorflow-metal")) -> None:
    reqs = tmp_path / "recheck-requirements.txt"
    reqs.write_text("\n".join(data["requirements"]) + "\n")
    cons = tmp_path / "recheck-constraints.txt"
    cons.write_text("\n".join(data["constraints"]) + "\n")
    argv = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", tmp_path / "r.json",
            "--target", tmp_path / "t", "--only-binary=:all:", "--python-version", python, "-r", reqs, "-c", cons]
    for tag in MAC_TAGS:
        argv += ["--platform", tag]
    for link in data["find_links"]:
        argv += ["--find-links", link]
    result = run(argv, env, cwd=cwd, timeout=900)
    assert result.returncode == 0, result.describe()
    report = json.loads((tmp_path / "r.json").read_text())
    again = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in report["install"]}
    for name in names:
        assert again.get(name) == resolved(data).get(name), (name, again.get(name))


def test_a_dependent_of_tensorflow_is_planned_gpu_paired(env: dict[str, str], tmp_path: Path) -> None:
    result, data = plan(["tensorflowjs"], env)
    assert result.returncode == 0, result.describe()
    assert "tensorflowjs" in resolved(data)
    check_pair(data, "3.11")
    assert any(r.startswith("tensorflow") for r in data["requirements"])
    recheck(data, "3.11", env, tmp_path)


def test_a_local_pyproject_project_is_planned(env: dict[str, str], tmp_path: Path) -> None:
    project = pyproject(tmp_path / "proj", "uses-tf", ["tensorflow>=2.15,<2.19"])
    result, data = plan([str(project)], env)
    assert result.returncode == 0, result.describe()
    tf, metal = check_pair(data, "3.11")
    assert Version(tf) < Version("2.19")
    recheck(data, "3.11", env, tmp_path)


def test_a_setup_py_project_is_planned(env: dict[str, str], tmp_path: Path) -> None:
    project = tmp_path / "legacy"
    project.mkdir()
    (project / "setup.py").write_text(
        "from setuptools import setup\nsetup(name='legacy-tf', version='0.1', py_modules=[],\n"
        "      install_requires=['tensorflow==2.16.*'])\n")
    result, data = plan([str(project)], env)
    assert result.returncode == 0, result.describe()
    tf, metal = check_pair(data, "3.11")
    assert tf.startswith("2.16.")
    recheck(data, "3.11", env, tmp_path)


def test_a_pep723_script_is_planned(env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""\
        # /// script
        # requires-python = ">=3.9"
        # dependencies = ["tensorflow==2.16.*"]
        # ///
        import tensorflow as tf
        print(tf.__version__)
        """))
    result, data = plan(["--requirements-from-script", str(script)], env)
    if result.returncode == 64 and "requirements-from-script" in result.stderr:
        pytest.skip("this pip has no --requirements-from-script")
    assert result.returncode == 0, result.describe()
    tf, metal = check_pair(data, "3.11")
    assert tf.startswith("2.16.")


def test_an_extra_brings_tensorflow_macos_under_a_darwin_marker(env: dict[str, str], tmp_path: Path) -> None:
    """basic-pitch[tf] asks for `tensorflow-macos<2.15.1; platform_system == "Darwin"`: read for
    the Mac (not for this Linux machine), the plan has one TensorFlow of that range."""
    result, data = plan(["basic-pitch[tf]"], env)
    assert result.returncode == 0, result.describe()
    got = resolved(data)
    assert "basic-pitch" in got
    tf, metal = check_pair(data, "3.11")
    assert Version(tf) < Version("2.15.1"), got
    assert "coremltools" in got  # basic-pitch's other Darwin-only dependency: markers read for the Mac
    # Plain pip on Linux reads the tensorflow 2.15.0 shim's `tensorflow-macos; platform_system ==
    # "Darwin"` for Linux and leaves it out: its re-check can confirm the pair, not the shim's target.
    recheck(data, "3.11", env, tmp_path, names=("tensorflow", "tensorflow-metal"))


def test_a_marker_branched_requirements_file(env: dict[str, str], tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text('tensorflow-macos==2.12.0; sys_platform == "darwin"\n'
                    'tensorflow==2.12.0; sys_platform != "darwin"\n')
    result, data = plan(["-r", str(reqs)], env, python="3.10")
    assert result.returncode == 0, result.describe()
    got = resolved(data)
    assert got.get("tensorflow-macos") == "2.12.0" and got.get("tensorflow-metal") == "0.8.0", got
    assert any(a["kind"] == "marker" for a in data["actions"])
    recheck(data, "3.10", env, tmp_path)


def test_a_dependent_pinning_a_companion_without_arm64_build(env: dict[str, str]) -> None:
    result, data = plan(["tf-models-official==2.15.*"], env)
    assert result.returncode == 67, result.describe()
    error = data["error"]
    text = error["message"] + error["remedy"]
    assert "tensorflow-text" in text and "2.15" in text and "tf-models-official" in text, error
    assert "2.18" in error["remedy"]  # the versions that do exist for the target
    assert "Traceback" not in result.stderr


def test_an_extra_of_a_local_project_brings_tensorflow(env: dict[str, str], tmp_path: Path) -> None:
    project = pyproject(tmp_path / "withextra", "with-extra", ["numpy"], {"tf": ["tensorflow>=2.16,<2.18"]})
    result, data = plan([f"{project}[tf]"], env)
    assert result.returncode == 0, result.describe()
    tf, metal = check_pair(data, "3.11")
    assert tf.startswith(("2.16.", "2.17.")), tf
    recheck(data, "3.11", env, tmp_path)
