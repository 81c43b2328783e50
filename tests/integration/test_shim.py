"""`pip-tfmac shim`: pip's own install in a hooked environment goes through the plan (issue 16).

Real pip (24.0 and 26.3, the ends of the supported range) in temporary venvs, pip's config
isolated, packages from local folders; the pip wheels (and pip-tfmac's dependencies) are fetched
once per session with the machine's pip setup, or the tests skip saying why. On this Linux
machine the plan renames `tensorflow-macos==2.16.1` to `tensorflow==2.16.1` (a `[rename]` line),
which plain pip cannot install from the folder at all: whether pip went through pip-tfmac shows
in both the output and the exit code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers
from helpers import Result

PIP_VERSIONS = ("24.0", "26.3")  # pyproject: pip>=24.0,<27
UNSUPPORTED_PIP = "23.3.2"
DEPENDENCIES = ("packaging", "platformdirs", "filelock", "installer")
REPO = Path(__file__).resolve().parents[2]
RENAME = "[rename] tensorflow-macos==2.16.1 -> tensorflow==2.16.1"


@pytest.fixture(scope="session")
def downloaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip 23.3.2 / 24.0 / 26.3 and pip-tfmac's dependencies as wheels, fetched once."""
    folder = tmp_path_factory.mktemp("shim-downloads")
    wanted = [[f"pip=={v}"] for v in (*PIP_VERSIONS, UNSUPPORTED_PIP)] + [list(DEPENDENCIES)]
    for reqs in wanted:
        download = "download --no-deps --only-binary=:all: -q -d".split()
        argv = [sys.executable, "-m", "pip", *download, str(folder), *reqs]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            pytest.skip(f"cannot fetch {reqs} with this machine's pip setup: {proc.stderr[-500:]}")
    return folder


def pip_wheel(folder: Path, version: str) -> Path:
    return next(folder.glob(f"pip-{version}-*.whl"))


def tfmac_wheel(folder: Path) -> Path:
    """pip-tfmac from this checkout as a wheel (pure Python: written directly, offline)."""
    files = {}
    src = REPO / "src"
    for path in sorted((src / "pip_tfmac").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[path.relative_to(src).as_posix()] = path.read_text(encoding="utf-8")
    scripts = "[console_scripts]\npip-tfmac = pip_tfmac.cli:main\n"
    files["pip_tfmac-0.1.0.dist-info/entry_points.txt"] = scripts
    return helpers.build_wheel(folder, "pip-tfmac", "0.1.0", files=files)


@dataclass
class World:
    root: Path
    venv: Path
    links: Path  # fake TensorFlow family + tiny
    downloads: Path
    pip_version: str

    @property
    def python(self) -> Path:
        return helpers.venv_bin(self.venv, "python")

    def env(self, **extra: str | None) -> dict[str, str]:
        """Isolated; no VIRTUAL_ENV (a notebook kernel's view). None removes a variable."""
        env = helpers.isolated_env(self.root / "home")
        # pip-tfmac marks the processes it starts; a test earlier in this pytest process that
        # called cli.main() in-process left the mark in os.environ.
        env.pop("_PIP_TFMAC_RUNNING", None)
        for key, value in extra.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def run(self, *argv: str | os.PathLike[str], **extra: str | None) -> Result:
        return helpers.run(list(argv), self.env(**extra), cwd=self.root)

    def pip_m(self, *args: str, **extra: str | None) -> Result:
        return self.run(self.python, "-m", "pip", *args, **extra)

    def pip_script(self, *args: str, name: str = "pip", **extra: str | None) -> Result:
        return self.run(helpers.venv_bin(self.venv, name), *args, **extra)

    def tfmac(self, *args: str, **extra: str | None) -> Result:
        return self.run(*helpers.tool_command(), *args, **extra)

    def shim(self, action: str, *more: str) -> Result:
        return self.tfmac("shim", action, *more, "--python", str(self.venv))

    def plain(self, *args: str) -> None:
        result = self.pip_m(*args, PIP_TFMAC_SHIM="0")
        assert result.returncode == 0, result.describe()

    def dry_run_tf(self, **extra: str | None) -> Result:
        """`python -m pip install --dry-run` of a name only pip-tfmac's plan can install."""
        return self.pip_m(
            "install", "--dry-run", *self.offline(), "tensorflow-macos==2.16.1", **extra
        )

    def offline(self) -> list[str]:
        return ["--no-index", "--find-links", str(self.links)]


def make_world(root: Path, downloads: Path, pip_version: str) -> World:
    env = helpers.isolated_env(root / "home")
    venv = helpers.make_venv(root / "venv", env)
    links = root / "links"
    helpers.build_wheel(links, "tensorflow", "2.16.1")
    helpers.build_wheel(links, "tensorflow-text", "2.16.1", requires=["tensorflow>=2.16,<2.17"])
    helpers.build_wheel(links, "tiny", "1.0")
    world = World(root, venv, links, downloads, pip_version)
    world.plain("install", "--no-index", str(pip_wheel(downloads, pip_version)))
    return world


@pytest.fixture(scope="module", params=PIP_VERSIONS, ids=[f"pip{v}" for v in PIP_VERSIONS])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, downloaded: Path
) -> World:
    return make_world(tmp_path_factory.mktemp("shim"), downloaded, request.param)


@pytest.fixture
def enabled(world: World):  # type: ignore[no-untyped-def]
    result = world.shim("enable")
    assert result.returncode == 0, result.describe()
    yield world
    result = world.shim("disable")
    assert result.returncode == 0, result.describe()
    world.plain("uninstall", "-y", "tensorflow", "tensorflow-text", "tiny")


def tree(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder`: relative name -> sha256 (or the link target)."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_dir():
            found[rel] = "dir"
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def status_json(world: World, python: Path | None = None) -> dict[str, object]:
    result = world.tfmac("shim", "status", "--json", "--python", str(python or world.venv))
    assert result.returncode in (0, 71), result.describe()
    return json.loads(result.stdout)["shim"]  # type: ignore[no-any-return]


# --- the hook routes installs through the plan ---------------------------------------------


def test_python_m_pip_install_is_planned_and_bypass_is_plain_pip(enabled: World) -> None:
    w = enabled
    args = ["install", *w.offline(), "tensorflow-macos==2.16.1", "tensorflow-text"]
    dry = w.pip_m(*args[:1], "--dry-run", *args[1:])
    assert dry.returncode == 0 and RENAME in dry.stdout, dry.describe()
    assert "Would install tensorflow-2.16.1 tensorflow-text-2.16.1" in dry.stdout, dry.describe()
    bypass = w.pip_m(*args, PIP_TFMAC_SHIM="0")
    assert bypass.returncode == 1, bypass.describe()
    assert "No matching distribution found for tensorflow-macos==2.16.1" in bypass.stderr
    assert RENAME not in bypass.stdout
    real = w.pip_m(*args, "--no-verify")
    assert real.returncode == 0, real.describe()
    assert "Successfully installed tensorflow-2.16.1 tensorflow-text-2.16.1" in real.stdout
    listed = w.pip_m("list", "--format=freeze").stdout.split()
    assert "tensorflow==2.16.1" in listed and "tensorflow-text==2.16.1" in listed


@pytest.mark.parametrize("script", ["pip", "pip3"])
def test_console_scripts_are_planned(enabled: World, script: str) -> None:
    result = enabled.pip_script(
        "install", "--dry-run", *enabled.offline(), "tensorflow-macos==2.16.1", name=script
    )
    assert result.returncode == 0 and RENAME in result.stdout, result.describe()


def test_download_is_planned(enabled: World) -> None:
    dest = enabled.root / "dl"
    shutil.rmtree(dest, ignore_errors=True)
    result = enabled.pip_m(
        "download", *enabled.offline(), "-d", str(dest), "tensorflow-macos==2.16.1"
    )
    assert result.returncode == 0, result.describe()
    assert (dest / "tensorflow-2.16.1-py3-none-any.whl").exists(), result.describe()


def test_notebook_pip_magic_targets_the_kernel_interpreter(enabled: World) -> None:
    """IPython's %pip runs `sys.executable -m pip ...` in a shell; here the kernel's process
    does the same, with another environment active in the shell that started the notebook."""
    w = enabled
    kernel = (
        "import subprocess, sys\n"
        "cmd = [sys.executable, '-m', 'pip', 'install', '--dry-run', *sys.argv[1:]]\n"
        "sys.exit(subprocess.call(cmd))\n"
    )
    other = helpers.make_venv(w.root / "other-active", w.env())
    result = w.run(
        w.python, "-c", kernel, *w.offline(), "tensorflow-macos==2.16.1", VIRTUAL_ENV=str(other)
    )
    assert result.returncode == 0 and RENAME in result.stdout, result.describe()
    assert "Would install tensorflow-2.16.1" in result.stdout, result.describe()


# --- everything else is plain pip ------------------------------------------------------------

# one pip command per string; {root} is the world's folder
PLAIN_COMMANDS = [
    c.split()
    for c in (
        "list", "list --format=json", "freeze", "freeze --all", "show pip", "--version", "check",
        "help install", "list --no-such-option", "--log {root}/pip.log freeze", "frobnicate",
        "config list",
    )
]  # fmt: skip


def test_other_commands_and_tf_free_installs_are_byte_identical(world: World) -> None:
    def observe() -> list[tuple[int, str, str]]:
        seen = []
        for words in PLAIN_COMMANDS:
            argv = [a.format(root=world.root) for a in words]
            for result in (world.pip_m(*argv), world.pip_script(*argv)):
                seen.append((result.returncode, result.stdout, result.stderr))
        for route in (world.pip_m, world.pip_script):  # tiny installed before and after
            world.plain("uninstall", "-y", "tiny")
            result = route("install", *world.offline(), "tiny")
            seen.append((result.returncode, result.stdout, ""))
        return seen

    world.plain("install", *world.offline(), "tiny")  # something to list beyond pip
    plain = observe()
    enable = world.shim("enable")
    assert enable.returncode == 0, enable.describe()
    try:
        hooked = observe()
    finally:
        world.shim("disable")
    labels = [f"{route} {' '.join(words)}" for words in PLAIN_COMMANDS for route in ("-m", "bin")]
    labels += ["-m install tiny", "bin install tiny"]
    assert len(labels) == len(plain) == len(hooked)
    for label, before, after in zip(labels, plain, hooked):
        assert after == before, f"case {label}\nplain pip: {before}\nhooked: {after}"


# --- enable / status / disable ---------------------------------------------------------------


def test_disable_restores_every_file_and_hash(world: World) -> None:
    before = tree(world.venv)
    first = world.shim("enable")
    second = world.shim("enable")
    assert first.returncode == 0 and "enabled for" in first.stdout, first.describe()
    assert "already enabled" in second.stdout, second.describe()
    status = status_json(world)
    assert status["state"] == "on", status
    assert "python -m pip" in status["hooks"] and "bin/pip" in status["hooks"], status
    for args in (["list"], ["--version"], ["install", "--dry-run", *world.offline(), "tiny"]):
        assert world.pip_m(*args).returncode == 0
        assert world.pip_script(*args).returncode == 0
    off = world.shim("disable")
    assert off.returncode == 0 and "disabled" in off.stdout, off.describe()
    assert tree(world.venv) == before
    assert status_json(world)["state"] == "off"
    again = world.shim("disable")
    assert again.returncode == 0 and "was not enabled" in again.stdout, again.describe()


def test_pip_upgrade_or_reinstall_keeps_the_hook(enabled: World) -> None:
    w = enabled
    other = "26.3" if w.pip_version == "24.0" else "24.0"
    try:
        for version in (other, w.pip_version):  # to the other end of the range, and back
            change = w.pip_m(
                "install", "--no-index", "--force-reinstall", str(pip_wheel(w.downloads, version))
            )
            assert change.returncode == 0, change.describe()
            status = status_json(w)
            assert status["state"] == "on" and status["pip_version"] == version, status
            dry = w.dry_run_tf()
            assert dry.returncode == 0 and RENAME in dry.stdout, dry.describe()
    finally:
        w.plain(
            "install", "--no-index", "--force-reinstall", str(pip_wheel(w.downloads, w.pip_version))
        )


def test_dropped_half_of_the_hook_is_reported_stale(enabled: World) -> None:
    site = Path(str(status_json(enabled)["site_packages"]))
    (site / "pip_tfmac_shim.pth").unlink()
    status = status_json(enabled)
    assert status["state"] == "stale", status
    assert any("pip_tfmac_shim.pth is missing" in p for p in status["problems"]), status  # type: ignore[union-attr]
    result = enabled.shim("status")
    assert result.returncode == 71 and "stale" in result.stdout, result.describe()
    # plain pip meanwhile, and enable repairs it
    assert enabled.dry_run_tf().returncode == 1
    assert enabled.shim("enable").returncode == 0
    assert status_json(enabled)["state"] == "on"


# --- pip's and pip-tfmac's life cycle --------------------------------------------------------


def test_unsupported_pip_is_one_warning_and_plain_pip(tmp_path: Path, downloaded: Path) -> None:
    w = make_world(tmp_path, downloaded, UNSUPPORTED_PIP)
    enable = w.shim("enable")
    assert enable.returncode == 71, enable.describe()  # written, but reported inactive
    assert "outside the range pip-tfmac supports" in enable.stdout, enable.describe()
    result = w.pip_m("install", *w.offline(), "tensorflow-macos==2.16.1")
    assert result.returncode == 1, result.describe()
    assert result.stderr.count("pip-tfmac shim: pip 23.3 is outside the range") == 1, result.stderr
    assert "No matching distribution found" in result.stderr
    listed = w.pip_m("list")
    assert listed.returncode == 0 and listed.stderr == "", listed.describe()


def test_uninstalling_pip_tfmac_leaves_a_working_plain_pip(
    tmp_path: Path, downloaded: Path
) -> None:
    """pip-tfmac installed in the environment itself: the hook runs it in-process; after
    `pip uninstall pip-tfmac` the hook stays (not in pip-tfmac's RECORD) and pip works."""
    w = make_world(tmp_path, downloaded, PIP_VERSIONS[-1])
    deps = [str(next(downloaded.glob(f"{d}-*.whl"))) for d in DEPENDENCIES]
    w.plain("install", "--no-index", *deps, str(tfmac_wheel(tmp_path / "own")))
    own = helpers.venv_bin(w.venv, "pip-tfmac")
    enable = w.run(own, "shim", "enable")  # no --python, no VIRTUAL_ENV: its own Python
    assert enable.returncode == 0, enable.describe()
    assert f"it runs: {own}" in enable.stdout, enable.describe()
    dry = w.dry_run_tf()
    assert dry.returncode == 0 and RENAME in dry.stdout, dry.describe()
    # a kernel of this env started from a shell where another env is active: still this env
    other = helpers.make_venv(tmp_path / "other-active", w.env())
    kernel = w.dry_run_tf(VIRTUAL_ENV=str(other))
    assert kernel.returncode == 0 and RENAME in kernel.stdout, kernel.describe()
    assert "Would install tensorflow-2.16.1" in kernel.stdout, kernel.describe()

    gone = w.pip_m("uninstall", "-y", "pip-tfmac")
    assert gone.returncode == 0, gone.describe()
    assert not own.exists()
    listed = w.pip_m("list")
    assert listed.returncode == 0 and listed.stderr == "" and "pip-tfmac" not in listed.stdout
    plain = w.pip_m("install", *w.offline(), "tensorflow-macos==2.16.1")
    assert plain.returncode == 1 and "No matching distribution found" in plain.stderr
    assert plain.stderr.count("pip-tfmac is not installed any more") == 1, plain.stderr
    tiny = w.pip_script("install", *w.offline(), "tiny")
    assert tiny.returncode == 0 and "Successfully installed tiny-1.0" in tiny.stdout
    status = status_json(w)
    assert status["state"] == "stale", status
    assert w.shim("disable").returncode == 0
    assert not (Path(str(status["site_packages"])) / "pip_tfmac_shim").exists()


# --- refusals --------------------------------------------------------------------------------


PEP668_PROBE = (
    "import os, sysconfig; p = sysconfig.get_paths(); "
    "print(os.path.isfile(os.path.join(p['stdlib'], 'EXTERNALLY-MANAGED')), p['purelib'])"
)


def test_externally_managed_system_python_is_refused(tmp_path: Path) -> None:
    system = Path("/usr/bin/python3")
    env = helpers.isolated_env(tmp_path / "home")
    probe = helpers.run([system, "-c", PEP668_PROBE], env) if system.exists() else None
    if probe is None or not probe.stdout.startswith("True"):
        pytest.skip("no externally managed system Python (PEP 668) on this machine")
    purelib = Path(probe.stdout.split()[1])
    result = helpers.run([*helpers.tool_command(), "shim", "enable", "--python", system], env)
    assert result.returncode == 74, result.describe()
    assert "externally managed" in result.stderr, result.describe()
    assert not (purelib / "pip_tfmac_shim.pth").exists()


def test_bad_usage_and_missing_interpreter(tmp_path: Path) -> None:
    env = helpers.isolated_env(tmp_path / "home")
    usage = helpers.run([*helpers.tool_command(), "shim", "frob"], env)
    assert usage.returncode == 64, usage.describe()
    missing = helpers.run(
        [*helpers.tool_command(), "shim", "status", "--python", str(tmp_path / "nope")], env
    )
    assert missing.returncode == 65, missing.describe()
