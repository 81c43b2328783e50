"""`pip-tfmac <pip command>` is pip: same stdout, same exit code, in a real venv, offline.

One temporary venv per module, made with the Python running the tests and that Python's own
bundled pip. Plain pip is `VENV/bin/pip`; pip-tfmac is the console script of the environment
running the tests, pointed at the venv by VIRTUAL_ENV (as an activated venv would). Both runs
of a case start from the same venv state and the same empty scratch folders.

Normalized before comparing, because it differs between any two runs of plain pip itself:
only the random suffix of pip's temporary folder names (`/tmp/pip-ephem-wheel-cache-x1y2z3ab`),
which pip prints when it builds a local project. Nothing else is normalized; `inspect` output
carries no timestamps and is compared as printed.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

import helpers
from helpers import Result

# --- the shared world ----------------------------------------------------------------------


@dataclass
class World:
    root: Path
    venv: Path
    sysvenv: Path  # --system-site-packages, the only kind of venv where --user is allowed
    wheels: Path
    project: Path
    files: Path
    scratch: Path
    pristine: set[str] = field(default_factory=set)  # site-packages entries of the new venv

    @property
    def places(self) -> dict[str, str]:
        return {
            "venv": str(self.venv),
            "wheels": str(self.wheels),
            "proj": str(self.project),
            "files": str(self.files),
            "scratch": str(self.scratch),
        }

    def env(
        self, venv: Path | None = None, extra: dict[str, str | None] | None = None
    ) -> dict[str, str]:
        """The isolated environment, VIRTUAL_ENV set; in `extra`, None removes a variable."""
        env = helpers.isolated_env(self.root / "home")
        env["VIRTUAL_ENV"] = str(venv or self.venv)
        for key, value in (extra or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def pip(self, venv: Path | None = None) -> list[str]:
        return [str(helpers.venv_bin(venv or self.venv, "pip"))]

    def quiet_pip(self, *args: str, venv: Path | None = None) -> None:
        """Set up state with plain pip; its output is not under test."""
        result = helpers.run([*self.pip(venv), *args], self.env(venv))
        assert result.returncode == 0, result.describe()

    def reset(self, with_tiny: bool = True) -> None:
        """Back to the baseline every changing case starts from: the venv as pip left it
        after `pip install tiny==1.0` (restored from a copy: much faster than pip, and a case
        may have removed, upgraded or added anything next to pip itself), empty scratch
        folders, no user site, no pip cache. Without tiny, it is the venv as created."""
        site = site_packages(self.venv)
        for entry in site.iterdir():
            if entry.name not in self.pristine:
                _remove(entry)
        if with_tiny:
            for entry in self.baseline.iterdir():
                _copy(entry, site / entry.name)
        for folder in (
            self.scratch,
            self.root / "home" / "userbase",
            self.root / "home" / "xdg-cache",
        ):
            shutil.rmtree(folder, ignore_errors=True)
        self.scratch.mkdir()

    def snapshot(self) -> None:
        """Remember what the venv holds now (`pristine`), install tiny 1.0 with pip and keep a
        copy of what that added (`baseline`)."""
        site = site_packages(self.venv)
        self.pristine = {e.name for e in site.iterdir()}
        self.quiet_pip("install", "--no-index", "--find-links", str(self.wheels), "tiny==1.0")
        shutil.rmtree(self.baseline, ignore_errors=True)
        self.baseline.mkdir()
        for entry in site.iterdir():
            if entry.name not in self.pristine:
                _copy(entry, self.baseline / entry.name)

    @property
    def baseline(self) -> Path:
        return self.root / "baseline-site"


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages")) or sorted(
        venv.glob("Lib/site-packages")
    )
    assert len(found) == 1, found
    return found[0]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _copy(src: Path, dst: Path) -> None:
    if dst.exists():
        _remove(dst)
    if src.is_dir():
        shutil.copytree(src, dst, symlinks=True)
    else:
        shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("passthrough")
    env = helpers.isolated_env(root / "home")
    venv = helpers.make_venv(root / "venv", env)
    sysvenv = helpers.make_venv(root / "sysvenv", env, system_site_packages=True)
    wheels = root / "wheels"
    tiny1 = helpers.build_wheel(wheels, "tiny", "1.0")
    helpers.build_wheel(wheels, "tiny", "2.0")
    helpers.build_wheel(wheels, "tinydep", "1.0", requires=["tiny"])
    helpers.build_wheel(wheels, "brokendep", "1.0", requires=["missing-thing>=1"])
    project = helpers.write_local_project(root / "probe", "probe", "0.3")

    files = root / "files"
    files.mkdir()
    (files / "requirements.txt").write_text("# a comment\ntinydep\n")
    (files / "nested.txt").write_text("-r requirements.txt\n")
    (files / "constraints.txt").write_text("tiny==1.0\n")
    digest = helpers.sha256_of(tiny1)
    (files / "hashes-ok.txt").write_text(f"tiny==1.0 --hash=sha256:{digest}\n")
    (files / "hashes-bad.txt").write_text(f"tiny==1.0 --hash=sha256:{'0' * 64}\n")
    (files / "pip.conf").write_text(
        "[global]\ntimeout = 42\nretries = 2\n\n[list]\nformat = freeze\n"
    )
    # The bundled pip of Python 3.11 (23.2.1) ignores PIP_CONFIG_FILE in `config get`, so
    # `config get` cases read a user config file (XDG_CONFIG_HOME/pip/pip.conf) instead.
    (files / "xdg" / "pip").mkdir(parents=True)
    shutil.copy(files / "pip.conf", files / "xdg" / "pip" / "pip.conf")
    (files / "offline.conf").write_text(f"[global]\nno-index = true\nfind-links = {wheels}\n")

    w = World(root, venv, sysvenv, wheels, project, files, root / "scratch")
    w.snapshot()
    w.reset()
    return w


# --- comparing -----------------------------------------------------------------------------

_PIP_TEMP = re.compile(r"pip-[a-z-]+-[a-z0-9_]{8}")


def normalize(text: str) -> str:
    return _PIP_TEMP.sub("pip-<temp>", text)


def compare(
    world: World,
    args: list[str],
    env_extra: dict[str, str | None] | None = None,
    prepare: Callable[[World], None] | None = None,
    venv: Path | None = None,
    plain: list[str] | None = None,
) -> tuple[Result, Result]:
    """Run plain pip, then pip-tfmac, each from the state `prepare` makes; return both."""
    results = []
    for cmd in (plain or world.pip(venv), helpers.tool_command()):
        if prepare:
            prepare(world)
        results.append(helpers.run([*cmd, *args], world.env(venv, env_extra), cwd=world.root))
    pip_result, tool_result = results
    assert (tool_result.returncode, normalize(tool_result.stdout)) == (
        pip_result.returncode,
        normalize(pip_result.stdout),
    ), f"pip-tfmac differs from pip\n{pip_result.describe()}\n{tool_result.describe()}"
    return pip_result, tool_result


# --- the matrix ----------------------------------------------------------------------------


def baseline(world: World) -> None:
    world.reset()


def without_tiny(world: World) -> None:
    world.reset(with_tiny=False)


def with_broken_dependency(world: World) -> None:
    world.reset()
    world.quiet_pip(
        "install", "--no-index", "--no-deps", "--find-links", str(world.wheels), "brokendep"
    )


@dataclass(frozen=True)
class Case:
    """One pip invocation. `{venv}`, `{wheels}`, `{proj}`, `{files}`, `{scratch}` are filled in.

    `rc` is the exit code pip itself must give (checked so that a case cannot silently stop
    testing what its name says; None where it depends on the venv's pip version); `prepare`
    resets the venv before each of the two runs.
    """

    id: str
    args: str
    rc: int | None = 0
    env: dict[str, str | None] = field(default_factory=dict)
    prepare: Callable[[World], None] | None = None
    stdout_has: str = ""

    def argv(self, world: World) -> list[str]:
        return [a.format(**world.places) for a in self.args.split()]

    def env_for(self, world: World) -> dict[str, str | None]:
        return {k: None if v is None else v.format(**world.places) for k, v in self.env.items()}


OFFLINE = "--no-index --find-links {wheels}"
USER_CONFIG: dict[str, str | None] = {"PIP_CONFIG_FILE": None, "XDG_CONFIG_HOME": "{files}/xdg"}

CASES = [
    # reading the environment
    Case("list", "list", stdout_has="tiny"),
    Case("list-format-freeze", "list --format=freeze", stdout_has="tiny==1.0"),
    Case("list-format-json", "list --format=json", stdout_has='"name": "tiny"'),
    Case("list-columns-verbose", "list --format=columns -v", stdout_has="Location"),
    Case("list-outdated", f"list --outdated {OFFLINE}", stdout_has="2.0"),
    Case("list-uptodate", f"list --uptodate {OFFLINE}"),
    Case("list-not-required", "list --not-required"),
    Case("freeze", "freeze", stdout_has="tiny==1.0"),
    Case("freeze-all", "freeze --all", stdout_has="pip=="),
    Case("show", "show pip", stdout_has="Name: pip"),
    Case("show-files", "show -f tiny", stdout_has="tiny/__init__.py"),
    Case("show-missing", "show no-such-dist", rc=1),
    Case("check", "check", stdout_has="No broken requirements"),
    Case("check-broken", "check", rc=1, prepare=with_broken_dependency, stdout_has="missing-thing"),
    Case("inspect", "inspect", stdout_has='"installed"'),
    # changing the environment
    Case("uninstall", "uninstall -y tiny", prepare=baseline, stdout_has="Successfully uninstalled"),
    Case("uninstall-missing", "uninstall -y no-such-dist", prepare=baseline),
    Case(
        "install-from-links",
        f"install {OFFLINE} tinydep",
        prepare=without_tiny,
        stdout_has="Successfully installed",
    ),
    Case(
        "install-wheel-file",
        "install --no-index {wheels}/tiny-2.0-py3-none-any.whl",
        prepare=baseline,
        stdout_has="tiny-2.0",
    ),
    Case(
        "install-already-satisfied",
        f"install {OFFLINE} tiny",
        prepare=baseline,
        stdout_has="already satisfied",
    ),
    Case("install-r", f"install {OFFLINE} -r {{files}}/requirements.txt", prepare=without_tiny),
    Case("install-nested-r", f"install {OFFLINE} -r {{files}}/nested.txt", prepare=without_tiny),
    Case(
        "install-c",
        f"install {OFFLINE} -c {{files}}/constraints.txt tiny",
        prepare=without_tiny,
        stdout_has="tiny-1.0",
    ),
    Case("install-editable", "install --no-index -e {proj}", prepare=baseline, stdout_has="probe"),
    Case(
        "install-target", f"install {OFFLINE} --target {{scratch}}/target tinydep", prepare=baseline
    ),
    Case("install-prefix", f"install {OFFLINE} --prefix {{scratch}}/prefix tiny", prepare=baseline),
    Case("install-user-in-venv", f"install {OFFLINE} --user tiny", rc=1, prepare=baseline),
    Case(
        "require-hashes-ok",
        f"install {OFFLINE} --require-hashes -r {{files}}/hashes-ok.txt",
        prepare=without_tiny,
        stdout_has="Successfully installed",
    ),
    Case(
        "require-hashes-bad",
        f"install {OFFLINE} --require-hashes -r {{files}}/hashes-bad.txt",
        rc=1,
        prepare=without_tiny,
    ),
    Case("install-not-found", f"install {OFFLINE} no-such-dist", rc=1, prepare=baseline),
    Case(
        "install-dry-run",
        f"install {OFFLINE} --dry-run tinydep",
        prepare=without_tiny,
        stdout_has="Would install",
    ),
    # other commands
    Case(
        "download",
        f"download {OFFLINE} -d {{scratch}}/dest tinydep",
        prepare=baseline,
        stdout_has="Saved",
    ),
    Case("wheel-from-links", f"wheel {OFFLINE} -w {{scratch}}/dest tiny", prepare=baseline),
    Case(
        "wheel-local-project",
        "wheel --no-index -w {scratch}/dest {proj}",
        prepare=baseline,
        stdout_has="probe-0.3",
    ),
    Case("hash", "hash {wheels}/tiny-1.0-py3-none-any.whl", stdout_has="--hash=sha256:"),
    Case("hash-sha512", "hash -a sha512 {wheels}/tiny-1.0-py3-none-any.whl"),
    Case("index-versions", f"index versions tiny {OFFLINE}"),
    Case("cache-dir", "cache dir --cache-dir {scratch}/cache", prepare=baseline),
    Case("cache-list", "cache list --cache-dir {scratch}/cache", prepare=baseline),
    Case(
        "config-list",
        "config list",
        env={"PIP_CONFIG_FILE": "{files}/pip.conf"},
        stdout_has="global.timeout='42'",
    ),
    Case("config-get", "config get global.timeout", env=USER_CONFIG, stdout_has="42"),
    Case("config-user-get", "config --user get list.format", env=USER_CONFIG, stdout_has="freeze"),
    Case("config-get-missing", "config get global.nope", rc=1, env=USER_CONFIG),
    Case(
        "config-get-env-file",
        "config get global.timeout",
        rc=None,
        env={"PIP_CONFIG_FILE": "{files}/pip.conf"},
    ),
    Case("config-debug", "config debug", env={"PIP_CONFIG_FILE": "{files}/pip.conf"}),
    Case("help", "help", stdout_has="Commands:"),
    Case("help-install", "help install", stdout_has="Install Options"),
    Case("install-help", "install --help", stdout_has="Install Options"),
    Case("download-help", "download --help", stdout_has="Download Options"),
    # errors
    Case("unknown-command", "frobnicate", rc=1),
    Case("bad-option", "list --no-such-option", rc=2),
    Case("bad-option-value", "list --format=yaml", rc=2),
    Case("missing-requirements-file", "install -r {files}/absent.txt", rc=1, prepare=baseline),
    # general options before the command
    Case("isolated", "--isolated list", stdout_has="tiny"),
    Case(
        "quiet-log-no-color",
        "-q --no-color --log {scratch}/pip.log freeze",
        prepare=baseline,
        stdout_has="tiny==1.0",
    ),
    Case("timeout-value", "--timeout 7 --retries=1 list", stdout_has="tiny"),
    Case("cache-dir-general", "--cache-dir {scratch}/cache freeze", prepare=baseline),
    # PIP_* variables and config files
    Case("env-format", "list", env={"PIP_FORMAT": "json"}, stdout_has='"name": "tiny"'),
    Case(
        "env-install-offline",
        "install tinydep",
        prepare=without_tiny,
        env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "{wheels}"},
        stdout_has="tinydep-1.0",
    ),
    Case("env-verbose-freeze", "freeze", env={"PIP_VERBOSE": "1"}),
    Case(
        "config-file-list-format",
        "list",
        env={"PIP_CONFIG_FILE": "{files}/pip.conf"},
        stdout_has="tiny==1.0",
    ),
    Case(
        "config-file-install",
        "install tinydep",
        prepare=without_tiny,
        env={"PIP_CONFIG_FILE": "{files}/offline.conf"},
        stdout_has="tinydep-1.0",
    ),
    Case("isolated-ignores-env", "--isolated list", env={"PIP_FORMAT": "json"}, stdout_has="tiny"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pip_command_passes_through_unchanged(world: World, case: Case) -> None:
    try:
        pip_result, _ = compare(world, case.argv(world), case.env_for(world), case.prepare)
    finally:
        if case.prepare:
            world.reset()
    if case.rc is not None:
        assert pip_result.returncode == case.rc, pip_result.describe()
    assert case.stdout_has in pip_result.stdout, pip_result.describe()


def test_matrix_is_large_enough() -> None:
    assert len(CASES) >= 25


# --- target selection and what is deliberately ours -----------------------------------------


def test_python_option_matches_pips_own(world: World) -> None:
    """`--python PATH` is pip's own option: the answer equals pip's for the same option."""
    target = str(helpers.venv_bin(world.venv, "python"))
    env = world.env()
    del env["VIRTUAL_ENV"]  # --python alone must select the venv
    pip_result = helpers.run([*world.pip(), "--python", target, "list"], env)
    tool_result = helpers.run([*helpers.tool_command(), "--python", target, "list"], env)
    assert "tiny" in pip_result.stdout, pip_result.describe()
    assert (tool_result.returncode, tool_result.stdout) == (
        pip_result.returncode,
        pip_result.stdout,
    ), f"{pip_result.describe()}\n{tool_result.describe()}"


def test_without_virtual_env_acts_on_own_interpreter(world: World) -> None:
    """No --python, no VIRTUAL_ENV: the environment pip-tfmac runs in, like its own pip."""
    env = world.env()
    del env["VIRTUAL_ENV"]
    own_pip = [str(Path(helpers.tool_command()[0]).with_name("pip"))]
    pip_result = helpers.run([*own_pip, "freeze", "--all"], env)
    tool_result = helpers.run([*helpers.tool_command(), "freeze", "--all"], env)
    assert "pip==" in pip_result.stdout, pip_result.describe()
    assert (tool_result.returncode, tool_result.stdout) == (
        pip_result.returncode,
        pip_result.stdout,
    ), f"{pip_result.describe()}\n{tool_result.describe()}"


def test_user_install_into_userbase(world: World) -> None:
    """--user installs into PYTHONUSERBASE (a temp folder) exactly as pip does."""
    venv = world.sysvenv

    def fresh_userbase(w: World) -> None:
        shutil.rmtree(w.root / "home" / "userbase", ignore_errors=True)

    pip_result, _ = compare(
        world,
        ["install", "--no-index", "--find-links", str(world.wheels), "--user", "tinydep"],
        prepare=fresh_userbase,
        venv=venv,
    )
    assert "Successfully installed" in pip_result.stdout, pip_result.describe()
    assert list((world.root / "home" / "userbase").rglob("tinydep-1.0.dist-info"))


def test_machine_config_is_honored_the_same(world: World) -> None:
    """With the inherited environment (this machine's pip.conf files and PIP_* variables),
    pip-tfmac and pip read the same configuration. Nothing on the machine is edited."""
    import os

    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(world.venv)
    pip_result = helpers.run([*world.pip(), "config", "list"], env)
    tool_result = helpers.run([*helpers.tool_command(), "config", "list"], env)
    assert (tool_result.returncode, tool_result.stdout) == (
        pip_result.returncode,
        pip_result.stdout,
    ), f"{pip_result.describe()}\n{tool_result.describe()}"


@pytest.mark.parametrize("where", ["venv", "own-environment"])
def test_files_in_working_directory_are_not_listed(world: World, where: str) -> None:
    """Plain `pip list` does not see a *.dist-info in the current directory (the console
    script puts its own bin folder, not the cwd, on sys.path); pip-tfmac must not either,
    whether it hands the command to another environment's pip or to its own."""
    cwd = world.root / "cwd-with-metadata"
    dist_info = cwd / "ghost-9.9.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: ghost\nVersion: 9.9\n")
    env = world.env()
    pip = world.pip()
    if where == "own-environment":
        del env["VIRTUAL_ENV"]
        pip = [str(Path(helpers.tool_command()[0]).with_name("pip"))]
    pip_result = helpers.run([*pip, "list"], env, cwd=cwd)
    tool_result = helpers.run([*helpers.tool_command(), "list"], env, cwd=cwd)
    assert "ghost" not in pip_result.stdout, pip_result.describe()
    assert tool_result.stdout == pip_result.stdout, tool_result.describe()


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_is_pip_tfmacs_own(world: World, flag: str) -> None:
    result = helpers.run([*helpers.tool_command(), flag], world.env())
    assert result.returncode == 0, result.describe()
    assert result.stdout.startswith("pip-tfmac "), result.describe()


def test_help_is_pip_tfmacs_own_and_mentions_pip_help(world: World) -> None:
    result = helpers.run([*helpers.tool_command(), "--help"], world.env())
    assert result.returncode == 0, result.describe()
    assert "pip-tfmac" in result.stdout and "pip-tfmac help" in result.stdout
