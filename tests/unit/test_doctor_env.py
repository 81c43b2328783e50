"""`pip-tfmac doctor` / `repair` end to end on real throwaway environments, offline.

The environments are real venvs; their packages are either installed by real pip from tiny
wheels the test writes (see helpers.write_wheel), or, for wheels this Linux machine cannot
install (macOS tags), written as dist-info folders, which is all importlib.metadata reads.
Where the finding is about a Mac, the Mac is injected through PIP_TFMAC_PROBE_FACTS: these
tests stand in for an Apple Silicon machine that does not exist here.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import helpers

MAC = {
    "sys_platform": "darwin",
    "machine": "arm64",
    "macos_version": "14.5",
    "arm64_hardware": True,
}


def make_env(root: Path) -> Path:
    """A venv without pip (fast); doctor runs pip check through its own pip (--python)."""
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root)
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def site_packages(py: Path) -> Path:
    env = py.parent.parent
    return Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))


def write_dist(
    py: Path,
    name: str,
    version: str,
    tag: str,
    *,
    package: str | None = None,
    requires: tuple[str, ...] = (),
) -> None:
    """An installed distribution as pip leaves it: package files plus dist-info with RECORD."""
    site = site_packages(py)
    package = package or name.replace("-", "_")
    (site / package).mkdir(exist_ok=True)
    (site / package / "__init__.py").write_text(f"__version__ = {version!r}\n")
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    (info / "METADATA").write_text(meta)
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text(
        f"{package}/__init__.py,,\n{info.name}/METADATA,,\n{info.name}/WHEEL,,\n{info.name}/RECORD,,\n"
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """This machine's pip setup removed (find-links, constraints): pip sees only our wheels."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    return helpers.isolated_env(
        tmp_path / "iso", {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    )


def tool(*args: str, env: dict[str, str]) -> helpers.Result:
    return helpers.run([*helpers.tool_command(), *args], env, timeout=300)


def pip_install(py: Path, env: dict[str, str], *reqs: str) -> None:
    done = helpers.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", *reqs], env, timeout=300
    )
    assert done.returncode == 0, done.describe()


def test_clean_environment_exits_zero(tmp_path: Path, env: dict[str, str]) -> None:
    py = make_env(tmp_path / "venv")
    done = tool("doctor", "--python", str(py), env=env)
    assert done.returncode == 0, done.describe()
    assert "No problems found." in done.stdout


def test_mac_findings_from_a_real_environment(tmp_path: Path, env: dict[str, str]) -> None:
    """Stands in for an Apple Silicon venv with x86_64 numpy, TF 2.18 and metal 1.1.0."""
    py = make_env(tmp_path / "venv")
    write_dist(py, "tensorflow", "2.18.1", "cp311-cp311-macosx_12_0_arm64")
    write_dist(
        py,
        "tensorflow-metal",
        "1.1.0",
        "cp311-cp311-macosx_12_0_arm64",
        package="tensorflow_metal_stub",
    )
    write_dist(py, "numpy", "1.26.4", "cp311-cp311-macosx_10_9_x86_64")
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({**MAC, "python_version": "3.11.9"}))
    env = {**env, "PIP_TFMAC_PROBE_FACTS": str(facts)}
    done = tool("doctor", "--python", str(py), "--json", env=env)
    assert done.returncode == 71, done.describe()
    data = json.loads(done.stdout)
    assert data["version"] == 1 and data["ok"] is False and data["exit_code"] == 71
    found = {f["id"] for f in data["findings"]}
    assert {"metal-pairing", "foreign-wheel"} <= found
    pairing = next(f for f in data["findings"] if f["id"] == "metal-pairing")
    assert pairing["action"]["steps"] == [["install", "tensorflow-metal==1.2.0"]]
    assert sorted(data["facts"]["injected"]) == sorted([*MAC, "python_version"])


def test_pip_check_conflict_is_a_finding(tmp_path: Path, env: dict[str, str]) -> None:
    wheels = Path(env["PIP_FIND_LINKS"])
    helpers.build_wheel(wheels, "dep", "1.0")
    helpers.build_wheel(wheels, "app", "1.0", requires=["dep>=2"])
    py = make_env(tmp_path / "venv")
    pip_install(py, env, "dep==1.0")
    pip_install(py, env, "--no-deps", "app==1.0")
    done = tool("doctor", "--python", str(py), env=env)
    assert done.returncode == 71, done.describe()
    assert "pip check: app 1.0 has requirement dep>=2, but you have dep 1.0." in done.stdout
    assert "[--fix applies this]" in done.stdout


def test_repair_shows_the_plan_names_removals_and_fixes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """Both tensorflow and tensorflow-macos owning `tensorflow/`, plus a pip check conflict:
    `repair` plans, says what it removes, runs pip, and ends with a clean diagnosis."""
    wheels = Path(env["PIP_FIND_LINKS"])
    for name in ("tensorflow", "tensorflow-macos"):
        helpers.build_wheel(wheels, name, "2.15.1", files={"tensorflow/__init__.py": f"# {name}\n"})
    helpers.build_wheel(wheels, "dep", "1.0")
    helpers.build_wheel(wheels, "dep", "2.0")
    helpers.build_wheel(wheels, "app", "1.0", requires=["dep>=2"])
    py = make_env(tmp_path / "venv")
    pip_install(py, env, "tensorflow==2.15.1", "dep==1.0")
    pip_install(py, env, "tensorflow-macos==2.15.1")
    pip_install(py, env, "--no-deps", "app==1.0")

    dry = tool("doctor", "--fix", "--dry-run", "--python", str(py), env=env)
    assert dry.returncode == 71, dry.describe()
    assert "this REMOVES tensorflow-macos (not reinstalled)" in dry.stdout
    assert "nothing was changed" in dry.stdout
    assert (site_packages(py) / "tensorflow_macos-2.15.1.dist-info").is_dir()

    done = tool("repair", "--python", str(py), env=env)
    assert done.returncode == 0, done.describe()
    out = done.stdout
    plan_at = out.index("Plan (pip-tfmac --fix runs these, in order):")
    assert plan_at < out.index("pip-tfmac: running pip uninstall -y tensorflow tensorflow-macos")
    assert "No problems found." in out.split("running pip")[-1]
    site = site_packages(py)
    assert not (site / "tensorflow_macos-2.15.1.dist-info").exists()
    assert (site / "tensorflow-2.15.1.dist-info").is_dir()
    assert (site / "tensorflow" / "__init__.py").read_text() == "# tensorflow\n"
    assert (site / "dep-2.0.dist-info").is_dir()


def test_repair_json_keeps_stdout_one_object(tmp_path: Path, env: dict[str, str]) -> None:
    wheels = Path(env["PIP_FIND_LINKS"])
    helpers.build_wheel(wheels, "dep", "1.0")
    helpers.build_wheel(wheels, "dep", "2.0")
    helpers.build_wheel(wheels, "app", "1.0", requires=["dep>=2"])
    py = make_env(tmp_path / "venv")
    pip_install(py, env, "dep==1.0")
    pip_install(py, env, "--no-deps", "app==1.0")
    done = tool("doctor", "--fix", "--json", "--python", str(py), env=env)
    assert done.returncode == 0, done.describe()
    data = json.loads(done.stdout)
    assert data["ok"] is True
    assert [s["pip"] for s in data["plan"]] == [["install", "dep>=2"]]
    assert data["applied"] == [{"pip": ["install", "dep>=2"], "returncode": 0}]
    assert data["before_fix"][0]["id"] == "pip-check"
    assert "Plan (pip-tfmac --fix" in done.stderr


def test_doctor_on_a_missing_interpreter_is_bad_input(tmp_path: Path, env: dict[str, str]) -> None:
    done = tool("doctor", "--python", str(tmp_path / "nope"), env=env)
    assert done.returncode == 65
    assert "Traceback" not in done.stderr


def test_doctor_help(env: dict[str, str]) -> None:
    done = tool("doctor", "--help", env=env)
    assert done.returncode == 0 and "--fix" in done.stdout
