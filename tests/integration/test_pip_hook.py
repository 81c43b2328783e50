"""The resolver hook (runners/pip_hook.py) with real pip 24.0 and 26.3, offline.

Each supported pip end (the oldest and newest) gets a "driver" venv holding that pip and, by
a .pth file, this checkout's pip_tfmac. The hook runs there and acts on a fresh target venv
through `--python` (the way pip-tfmac runs it), against a find-links folder of tiny wheels.
The pip wheels are fetched once per session with the machine's normal pip setup; without a
network the tests skip.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pip_tfmac
from helpers import Result, build_wheel, isolated_env, run, venv_bin, write_local_project
from pip_tfmac.runners.pip import (
    HOOK_STOP_EXIT_CODE,
    HookResult,
    hooked_argv,
    read_hook_result,
    write_hook_config,
)
from pip_tfmac.wheelhouse.wheelfile import Origin, Provenance
from pip_tfmac.wheelhouse.wheelfile import build_wheel as build_wheel_bytes

PIPS = ("24.0", "26.3")
WATCH = ("tensorflow", "tensorflow-macos", "tensorflow-text", "tensorflow-metal")
MAC = {"platform_system": "Darwin", "sys_platform": "darwin", "platform_machine": "arm64",
       "os_name": "posix"}
SRC = Path(pip_tfmac.__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def pip_wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """pip 24.0 and 26.3 wheels, downloaded once (one command each: they conflict)."""
    folder = tmp_path_factory.mktemp("pip-wheels")
    wheels = {}
    for version in PIPS:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", f"pip=={version}", "--no-deps", "-q",
             "-d", str(folder)], capture_output=True, text=True, timeout=300, check=False)
        found = sorted(folder.glob(f"pip-{version}-*.whl"))
        if proc.returncode != 0 or not found:
            pytest.skip(f"cannot fetch pip=={version} (network?): {proc.stderr.strip()[-300:]}")
        wheels[version] = found[0]
    return wheels


@pytest.fixture(scope="session", params=PIPS)
def driver(request: pytest.FixtureRequest, pip_wheels: dict[str, Path],
           tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with pip==param and this checkout's pip_tfmac (.pth); returns its python."""
    version: str = request.param
    base = tmp_path_factory.mktemp(f"driver-{version}")
    venv.EnvBuilder(with_pip=False).create(base / "venv")
    python = venv_bin(base / "venv", "python")
    wheel = pip_wheels[version]
    result = run([python, f"{wheel}/pip", "install", "--no-index", "-q", wheel],
                 isolated_env(base / "home"))
    assert result.returncode == 0, result.describe()
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               isolated_env(base / "home")).stdout.strip()
    (Path(site) / "pip_tfmac_src.pth").write_text(f"{SRC}\n")
    check = run([python, "-c", "import pip; print(pip.__version__)"], isolated_env(base / "home"))
    assert check.stdout.strip() == version, check.describe()
    return python


def _provenance() -> Provenance:
    return Provenance("test", "tests/integration/test_pip_hook.py", (Origin("test", "0"),))


@pytest.fixture(scope="session")
def links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The find-links folder: tiny stand-ins for the TensorFlow family and its dependents."""
    folder = tmp_path_factory.mktemp("links")
    for name, version, requires in [
        ("leaf", "1.0", []),
        ("plain", "1.0", ["leaf"]),
        ("tensorflow", "2.16.1", []),
        ("tensorflow-macos", "2.16.1", []),
        ("tensorflow-text", "2.16.1", []),
        ("mid", "1.0", ["tensorflow<2.17,>=2.15"]),
        ("top", "1.0", ["mid", "leaf"]),
        ("branchy", "1.0", ['tensorflow-macos==2.16.1; platform_system == "Darwin"',
                            'tensorflow==2.16.1; platform_system != "Darwin"']),
        ("models", "2.15.0", ["tensorflow-text~=2.15.0"]),
        ("badmarker", "1.0", ['leaf; python_version >>> "3"']),
    ]:
        build_wheel(folder, name, version, requires)
    filename, data = build_wheel_bytes(
        "extra-pkg", "1.0", {"extra_pkg/__init__.py": b""},
        requires_dist=["leaf", 'tensorflow>=2.15; extra == "tf"'], summary="",
        provenance=_provenance(), extra_metadata=[("Provides-Extra", "tf")])
    (folder / filename).write_bytes(data)
    return folder


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A fresh, pip-less target venv; returns its python."""
    venv.EnvBuilder(with_pip=False).create(tmp_path / "target")
    return venv_bin(tmp_path / "target", "python")


class Hook:
    """Run pip (plain or hooked) from the driver venv against the target venv."""

    def __init__(self, driver: Path, target: Path, links: Path, tmp: Path) -> None:
        self.driver, self.target, self.links, self.tmp = driver, target, links, tmp
        self.env = isolated_env(tmp / "home")

    def pip_args(self, command: str, *args: str) -> list[str]:
        return [command, "--no-index", "--find-links", str(self.links), *args]

    def plain(self, command: str, *args: str, python: Path | None = None) -> Result:
        argv = [str(self.driver), "-m", "pip", "--python", str(python or self.target),
                *self.pip_args(command, *args)]
        return run(argv, self.env, cwd=self.tmp)

    def hooked(self, command: str, *args: str, markers: dict[str, str] | None = None,
               stop: bool = True, python: Path | None = None,
               traceback_ok: bool = False) -> tuple[Result, HookResult | None]:
        out = self.tmp / "hook-result.json"
        out.unlink(missing_ok=True)
        config = self.tmp / "hook-config.json"
        write_hook_config(str(config), watch=WATCH, out=str(out), stop_on_watch=stop,
                          markers=markers)
        argv = hooked_argv(str(python or self.target), ["--python", str(python or self.target)],
                           str(config))
        argv[0] = str(self.driver)  # the pip under test, not the dev environment's
        result = run([*argv, *self.pip_args(command, *args)], self.env, cwd=self.tmp)
        assert traceback_ok or "Traceback" not in result.stderr, result.describe()
        return result, read_hook_result(str(out))

    def freeze(self, python: Path | None = None) -> list[str]:
        result = run([str(self.driver), "-m", "pip", "--python", str(python or self.target),
                      "list", "--format=freeze"], self.env)
        assert result.returncode == 0, result.describe()
        return sorted(result.stdout.split())


@pytest.fixture
def hook(driver: Path, target: Path, links: Path, tmp_path: Path) -> Iterator[Hook]:
    yield Hook(driver, target, links, tmp_path)


def _asked(result: HookResult, name: str) -> list[tuple[str, str | None, str]]:
    item = result.item(name)
    assert item is not None, result
    return [(a.by, a.by_version, a.specifier) for a in item.asked]


def test_no_family_package_installs_like_plain_pip(hook: Hook, tmp_path: Path) -> None:
    venv.EnvBuilder(with_pip=False).create(tmp_path / "other")
    other = venv_bin(tmp_path / "other", "python")
    plain = hook.plain("install", "plain", python=other)
    hooked, result = hook.hooked("install", "plain")
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout) == (0, plain.stdout)
    assert hook.freeze() == hook.freeze(other) == ["leaf==1.0", "plain==1.0"]
    assert result is not None and not result.stopped and not result.failed
    assert [(i.name, i.version, i.requested) for i in result.resolved] == [
        ("leaf", "1.0", False), ("plain", "1.0", True)]
    assert result.item("leaf") is not None and result.item("leaf").parents == ("plain",)  # type: ignore[union-attr]


def test_tensorflow_two_levels_deep_stops_before_install(hook: Hook) -> None:
    before = hook.freeze()
    proc, result = hook.hooked("install", "top")
    assert proc.returncode == HOOK_STOP_EXIT_CODE, proc.describe()
    assert hook.freeze() == before
    assert result is not None and result.stopped and result.watched == ("tensorflow",)
    tf = result.item("tensorflow")
    assert tf is not None and tf.version == "2.16.1" and tf.parents == ("mid",)
    assert not tf.requested
    assert _asked(result, "tensorflow") == [("mid", "1.0", "<2.17,>=2.15")]
    assert _asked(result, "mid") == [("top", "1.0", "")]
    assert _asked(result, "top") == [("user", None, "")]


def test_without_stop_the_same_resolution_installs(hook: Hook) -> None:
    proc, result = hook.hooked("install", "top", stop=False)
    assert proc.returncode == 0, proc.describe()
    assert result is not None and not result.stopped and result.watched == ("tensorflow",)
    assert "tensorflow==2.16.1" in hook.freeze()


def test_an_extra_brings_tensorflow(hook: Hook) -> None:
    proc, result = hook.hooked("install", "extra-pkg[tf]")
    assert proc.returncode == HOOK_STOP_EXIT_CODE, proc.describe()
    assert result is not None
    tf = result.item("tensorflow")
    assert tf is not None and tf.parents == ("extra-pkg",)
    assert _asked(result, "tensorflow") == [("extra-pkg", "1.0", ">=2.15")]
    pkg = result.item("extra-pkg")
    assert pkg is not None and pkg.requested and pkg.extras == ("tf",)
    # Without the extra, no TensorFlow: pip goes on and installs.
    proc, result = hook.hooked("install", "extra-pkg")
    assert proc.returncode == 0 and result is not None and not result.watched


def test_a_local_project_depending_on_tensorflow(hook: Hook, tmp_path: Path) -> None:
    project = write_local_project(tmp_path / "proj", "my-app", "0.1")
    backend = project / "tfmac_test_backend.py"
    # The shared in-tree backend declares no dependencies; give this project one.
    backend.write_text(backend.read_text().replace(
        "write_wheel(wheel_directory, name, version, [], {",
        'write_wheel(wheel_directory, name, version, ["mid"], {'))  # wheel and editable
    before = hook.freeze()
    proc, result = hook.hooked("install", str(project))
    assert proc.returncode == HOOK_STOP_EXIT_CODE, proc.describe()
    assert hook.freeze() == before
    assert result is not None
    app = result.item("my-app")
    assert app is not None and app.requested and app.link and app.link.startswith("file:")
    assert _asked(result, "my-app")[0][2].startswith("@ file:")
    assert _asked(result, "tensorflow") == [("mid", "1.0", "<2.17,>=2.15")]
    assert result.item("mid").parents == ("my-app",)  # type: ignore[union-attr]
    proc, result = hook.hooked("install", "-e", str(project))
    assert proc.returncode == HOOK_STOP_EXIT_CODE, proc.describe()
    assert result is not None and result.item("my-app").editable  # type: ignore[union-attr]
    assert hook.freeze() == before


@pytest.mark.parametrize("markers, expected, absent", [
    (MAC, "tensorflow-macos", "tensorflow"),
    (None, "tensorflow", "tensorflow-macos"),
])
def test_markers_are_the_targets(hook: Hook, markers: dict[str, str] | None, expected: str,
                                 absent: str) -> None:
    proc, result = hook.hooked("install", "branchy", markers=markers)
    assert proc.returncode == HOOK_STOP_EXIT_CODE, proc.describe()
    assert result is not None and result.watched == (expected,)
    assert result.item(absent) is None
    item = result.item(expected)
    assert item is not None and item.parents == ("branchy",)
    assert item.asked[0].specifier == "==2.16.1" and item.asked[0].marker


def test_markers_apply_to_the_users_requirements_file(hook: Hook, tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text('leaf\ntensorflow-macos==2.16.1; sys_platform == "darwin"\n')
    proc, result = hook.hooked("download", "-r", str(reqs), "-d", str(tmp_path / "dl"), markers=MAC)
    assert proc.returncode == HOOK_STOP_EXIT_CODE, proc.describe()
    assert result is not None and result.watched == ("tensorflow-macos",)
    ask = result.item("tensorflow-macos").asked[0]  # type: ignore[union-attr]
    assert (ask.by, ask.specifier) == ("user", "==2.16.1")
    assert ask.source and "requirements.txt (line 2)" in ask.source
    assert not (tmp_path / "dl").exists() or not list((tmp_path / "dl").iterdir())
    proc, result = hook.hooked("download", "-r", str(reqs), "-d", str(tmp_path / "dl"))
    assert proc.returncode == 0 and result is not None and not result.watched


def test_resolution_impossible_reports_its_causes(hook: Hook, tmp_path: Path) -> None:
    venv.EnvBuilder(with_pip=False).create(tmp_path / "other")
    plain = hook.plain("install", "models", python=venv_bin(tmp_path / "other", "python"))
    proc, result = hook.hooked("install", "models")
    assert proc.returncode == plain.returncode != 0
    assert proc.stderr == plain.stderr
    assert result is not None and result.failed and not result.resolved
    causes = [(c.name, c.specifier, c.by, c.by_version) for c in result.causes]
    assert ("tensorflow-text", "~=2.15.0", "models", "2.15.0") in causes
    text = next(c for c in result.causes if c.name == "tensorflow-text")
    assert text.available == ("2.16.1",)


def test_a_malformed_marker_keeps_pips_behaviour(hook: Hook, tmp_path: Path) -> None:
    venv.EnvBuilder(with_pip=False).create(tmp_path / "other")
    plain = hook.plain("install", "badmarker", python=venv_bin(tmp_path / "other", "python"))
    pip_crashes = "Traceback" in plain.stderr  # pip 24.0 does, on InvalidRequirement
    for markers in (None, MAC):
        proc, result = hook.hooked("install", "badmarker", markers=markers,
                                   traceback_ok=pip_crashes)
        # Either way the result says what was wrong, for pip-tfmac to name it.
        assert result is not None and result.failed
        said = (result.error or "") + " ".join(e for _l, e in result.candidate_errors)
        assert "InvalidRequirement" in said or "invalid metadata" in said, result
        assert proc.returncode == plain.returncode != 0, proc.describe() + plain.describe()
        if pip_crashes:  # the same error, with our resolver's frames among pip's
            assert proc.stderr.splitlines()[-1] == plain.stderr.splitlines()[-1]
        else:
            assert proc.stderr == plain.stderr


def test_in_process_without_python_option(driver: Path, links: Path, tmp_path: Path) -> None:
    """The hook also works when pip acts on its own environment (no --python re-run)."""
    out, config = tmp_path / "out.json", tmp_path / "config.json"
    write_hook_config(str(config), watch=WATCH, out=str(out))
    argv = [str(driver), "-m", "pip_tfmac.runners.pip_hook", str(config), "install",
            "--dry-run", "--no-index", "--find-links", str(links), "top"]
    proc = run(argv, isolated_env(tmp_path / "home"))
    assert proc.returncode == HOOK_STOP_EXIT_CODE, proc.describe()
    data: Any = json.loads(out.read_text())
    assert data["stopped"] and data["watched"] == ["tensorflow"]


def test_a_wheel_url_and_an_installed_tensorflow(hook: Hook, links: Path) -> None:
    url = (links / "mid-1.0-py3-none-any.whl").as_uri()
    proc, result = hook.hooked("install", url, stop=False)
    assert proc.returncode == 0, proc.describe()
    assert result is not None and result.watched == ("tensorflow",)
    assert _asked(result, "mid") == [("user", None, "@ " + url)]
    # Now an install that needs the TensorFlow already there still reports it, as installed.
    proc, result = hook.hooked("install", "top")
    assert proc.returncode == HOOK_STOP_EXIT_CODE, proc.describe()
    assert result is not None and result.item("tensorflow").installed  # type: ignore[union-attr]
    assert not result.item("top").installed  # type: ignore[union-attr]


def test_a_pep723_script(hook: Hook, driver: Path, tmp_path: Path) -> None:
    """--requirements-from-script exists from pip 26.0 on (absent in 24.0 to 25.3)."""
    version = run([str(driver), "-m", "pip", "--version"], hook.env).stdout.split()[1]
    if int(version.split(".")[0]) < 26:
        pytest.skip(f"pip {version} has no --requirements-from-script")
    script = tmp_path / "train.py"
    script.write_text('# /// script\n# dependencies = ["mid", "leaf"]\n# ///\nprint("hi")\n')
    proc, result = hook.hooked("install", "--requirements-from-script", str(script))
    assert proc.returncode == HOOK_STOP_EXIT_CODE, proc.describe()
    assert result is not None and result.watched == ("tensorflow",)
    assert result.item("mid").requested  # type: ignore[union-attr]
    assert _asked(result, "tensorflow") == [("mid", "1.0", "<2.17,>=2.15")]


def test_a_cross_target_dry_run_with_report(hook: Hook, tmp_path: Path) -> None:
    """pip-tfmac's plan: --platform/--python-version --dry-run --report, markers of a Mac."""
    report = tmp_path / "report.json"
    proc, result = hook.hooked(
        "install", "--dry-run", "--platform", "macosx_12_0_arm64", "--python-version", "3.11",
        "--only-binary=:all:", "--report", str(report), "branchy", markers=MAC, stop=False)
    assert proc.returncode == 0, proc.describe()
    assert result is not None and result.watched == ("tensorflow-macos",)
    data = json.loads(report.read_text())
    assert data["environment"]["platform_system"] == "Darwin"
    assert sorted(i["metadata"]["name"] for i in data["install"]) == ["branchy", "tensorflow-macos"]
    assert "Would install branchy-1.0 tensorflow-macos-2.16.1" in proc.stdout
