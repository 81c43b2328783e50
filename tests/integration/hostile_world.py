"""The shared world of the hostile-input tables (test_hostile_input.py, test_hostile_options.py):
a target venv with tiny local wheels installed, the input files, the setups that need more than
files (read-only and full mounts, an externally managed Python, a damaged wheelhouse), the Case
record and the one checker every case goes through. See test_hostile_input.py for the contract.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import pytest

from helpers import (
    Result,
    build_wheel,
    isolated_env,
    make_venv,
    run,
    tool_command,
    venv_bin,
    write_wheel,
)

TIMEOUT = 120
UNREACHABLE = "http://127.0.0.1:9/simple"  # the discard port: connection refused at once
PROGRESS = re.compile(r"pip-tfmac: [a-z][^:]*\.\.\.( \(\d+s\))?$")
MAC = ["--platform", "macos-arm64", "--python-version", "3.11"]

# The state of an environment: distributions (as pip freeze names them) and site-packages' files.
_SNAPSHOT = """
import importlib.metadata as md, os, sysconfig
print(sorted(f"{d.metadata['Name']}=={d.version}" for d in md.distributions()))
for root in sorted({sysconfig.get_path('purelib'), sysconfig.get_path('platlib')}):
    for here, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        if '__pycache__' in here:
            continue
        for f in sorted(files):
            p = os.path.join(here, f)
            print(os.path.relpath(p, root), os.path.getsize(p))
# What `pip check` would say (its rule, read here in ~10 ms instead of pip's ~1 s): every
# requirement of every distribution satisfied, markers evaluated for this interpreter.
try:
    import re
    from pip._vendor.packaging.requirements import Requirement
    key = lambda n: re.sub(r"[-_.]+", "-", n).lower()
    have = {key(d.metadata['Name']): d.version for d in md.distributions()}
    for d in sorted(md.distributions(), key=lambda d: key(d.metadata['Name'])):
        for line in d.requires or []:
            r = Requirement(line)
            if r.marker and not r.marker.evaluate({'extra': ''}):
                continue
            v = have.get(key(r.name))
            if v is None or not r.specifier.contains(v, prereleases=True):
                print('pip check:', d.metadata['Name'], 'requires', line, 'has', v)
except ImportError:
    print('pip check: no pip in the target')
"""

# --- the shared world ---------------------------------------------------------------------


@dataclass
class World:
    root: Path
    env: dict[str, str]
    venv: Path
    files: Path  # the cwd of every case
    wheels: Path  # tinya 1.0/2.0, tinyb 2.0 (needs tinya), tinyc 1.0 (needs tinya==2.0)
    fake_tf: Path  # stand-in macOS arm64 wheels: tensorflow-macos 2.12.0, tensorflow-metal 0.8.0
    extra: dict[str, str] = field(default_factory=dict)

    def fmt(self, text: str) -> str:
        values = {
            "venv": str(self.venv), "wheels": str(self.wheels), "fake": str(self.fake_tf),
            "root": str(self.root), **self.extra,
        }
        return text.format(**values)

    def freeze(self, python: str | None = None) -> str:
        """What `pip freeze --all` shows, plus every file of site-packages with its size.

        Read by the target interpreter itself with importlib.metadata (~50 ms, where pip freeze
        takes a second): stricter than pip freeze, which would miss a half-written package.
        """
        py = python or str(venv_bin(self.venv, "python"))
        result = run([py, "-I", "-c", _SNAPSHOT], self.env, timeout=TIMEOUT)
        assert result.returncode == 0, result.describe()
        return result.stdout

    def tool(self, argv: list[str], env: dict[str, str] | None = None) -> Result:
        return run([*tool_command(), *argv], env or self.env, cwd=self.files, timeout=TIMEOUT)

    def plain_pip(self, argv: list[str], env: dict[str, str] | None = None) -> Result:
        return run([str(venv_bin(self.venv, "pip")), *argv], env or self.env, cwd=self.files,
                   timeout=TIMEOUT)


def _write_files(files: Path) -> None:
    files.mkdir(parents=True)
    (files / "bad.txt").write_text("tinya=>1.0\n")
    (files / "rec.txt").write_text("tinya==1.0\n-r rec.txt\n")
    (files / "rec-a.txt").write_text("-r rec-b.txt\n")
    (files / "rec-b.txt").write_text("-r rec-a.txt\n")
    (files / "latin1.txt").write_bytes(b"tinya==1.0  # caf\xe9\n")
    (files / "latin1-tf.txt").write_bytes(b"tensorflow-metal  # caf\xe9\n")
    (files / "empty.txt").write_text("")
    (files / "not-python").write_text("this is not an interpreter\n")  # mode 644: not executable
    (files / "adir").mkdir()
    (files / "long-bad.txt").write_text("tinya=>1.0\n" * 10_000)
    (files / "long-unknown.txt").write_text("".join(f"nosuchpkg-{i}\n" for i in range(5_000)))
    (files / "bad-marker.txt").write_text("tinya==1.0; python_version >\n")
    bad_dir = Path(os.fsdecode(os.fsencode(str(files)) + b"/bad\xffdir"))  # invalid UTF-8 name
    bad_dir.mkdir()
    (bad_dir / "req.txt").write_text("tinya=>1.0\n")
    (bad_dir / "ok.txt").write_text("tinya==1.0\n")
    (files / "hashed.txt").write_text("tensorflow==2.12.0 --hash=sha256:" + "a" * 64 + "\n")
    (files / "rosetta.json").write_text(
        '{"sys_platform": "darwin", "machine": "x86_64", "rosetta": true, '
        '"arm64_hardware": true, "macos_version": "14.5"}'
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("hostile")
    venv_dir = root / "venv"
    env = isolated_env(root / "home", {"VIRTUAL_ENV": venv_dir, "PIP_TFMAC_CACHE_DIR": root / "wh"})
    make_venv(venv_dir, env)
    wheels = root / "wheels"
    build_wheel(wheels, "tinya", "1.0")
    build_wheel(wheels, "tinya", "2.0")
    build_wheel(wheels, "tinyb", "2.0", requires=["tinya"])
    build_wheel(wheels, "tinyc", "1.0", requires=["tinya==2.0"])
    fake = root / "fake-tf"
    fake.mkdir()
    for name, version in (("tensorflow-macos", "2.12.0"), ("tensorflow-metal", "0.8.0")):
        # Stand-ins: real TensorFlow cannot be installed offline, and this machine is no Mac.
        write_wheel(str(fake), name, version, [], {name.replace("-", "_") + "_stub.py": ""},
                    tag="cp311-cp311-macosx_12_0_arm64")
    result = run([str(venv_bin(venv_dir, "pip")), "install", "--no-index", "--find-links",
                  str(wheels), "tinyb", "tinya==1.0"], env)
    assert result.returncode == 0, result.describe()
    files = root / "files"
    _write_files(files)
    return World(root, env, venv_dir, files, wheels, fake)


# --- setups that need more than files -----------------------------------------------------


def _mount(*args: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8): root ignores chmod, so only a mount is read-only")
    proc = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} not possible here: {proc.stderr.strip()}")


@contextlib.contextmanager
def _read_only_bind(path: Path) -> Iterator[None]:
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,ro,bind", str(path))
        yield
    finally:
        subprocess.run(["umount", str(path)], check=False)


@contextlib.contextmanager
def read_only_site_packages(world: World) -> Iterator[None]:
    site = next((world.venv / "lib").glob("python*/site-packages"))
    with _read_only_bind(site):
        yield


@contextlib.contextmanager
def read_only_cache(world: World) -> Iterator[None]:
    ro = world.root / "ro-cache"
    (ro / "wh").mkdir(parents=True, exist_ok=True)
    world.extra["ro"] = str(ro)
    with _read_only_bind(ro):
        yield


@contextlib.contextmanager
def full_cache(world: World) -> Iterator[None]:
    tiny = world.root / "tiny"
    tiny.mkdir(exist_ok=True)
    _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(tiny))
    try:
        with contextlib.suppress(OSError), open(tiny / "filler", "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        world.extra["tiny"] = str(tiny)
        yield
    finally:
        subprocess.run(["umount", str(tiny)], check=False)


@contextlib.contextmanager
def externally_managed_python(world: World) -> Iterator[None]:
    """A Python installation that is not a venv and carries EXTERNALLY-MANAGED (PEP 668).

    pip ignores the marker inside a venv, and the real base Python must not be touched, so this
    builds a private installation: a copy of the interpreter binary and a stdlib folder of
    symlinks to the real one, plus the marker and an empty site-packages. Offline and harmless.
    """
    base = Path(sys.base_prefix)
    ver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    real_stdlib = Path(sysconfig.get_paths(vars={"installed_base": str(base), "base": str(base)})["stdlib"])
    exe = base / "bin" / ver
    if os.name != "posix" or not exe.exists() or not real_stdlib.is_dir():
        pytest.skip("needs a POSIX base Python with bin/pythonX.Y to copy")
    em = world.root / "managed"
    if not em.exists():
        stdlib = em / "lib" / ver
        (stdlib / "site-packages").mkdir(parents=True)
        for entry in real_stdlib.iterdir():
            if entry.name != "site-packages":
                (stdlib / entry.name).symlink_to(entry)
        (stdlib / "EXTERNALLY-MANAGED").write_text(
            "[externally-managed]\nError=this Python is managed by the hostile-input tests\n"
        )
        (em / "bin").mkdir()
        shutil.copy2(exe, em / "bin" / "python3")
    python = str(em / "bin" / "python3")
    probe = run([python, "-c", "import sys; print(sys.prefix)"], world.env)
    if probe.returncode != 0 or probe.stdout.strip() != str(em):
        pytest.skip(f"the copied interpreter does not see its own prefix: {probe.describe()}")
    world.extra["managed"] = python
    yield


@contextlib.contextmanager
def cached_alias_wheel_corrupted(world: World) -> Iterator[None]:
    """Plan once (builds the alias wheel into a fresh wheelhouse), then flip one byte of it."""
    cache = world.root / "corrupt-wh"
    shutil.rmtree(cache, ignore_errors=True)
    world.extra["corrupt"] = str(cache)
    first = world.tool(["plan", *MAC, "--no-index", "--find-links", str(world.fake_tf),
                        "--tfmac-cache-dir", str(cache), "tensorflow==2.12.0"])
    assert first.returncode == 0, first.describe()
    (wheel,) = (cache / "wheels").glob("tensorflow-2.12.0+tfmac*.whl")
    good = wheel.read_bytes()
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0x40
    wheel.write_bytes(bytes(damaged))
    yield
    assert wheel.read_bytes() == good, "the damaged wheel was not rebuilt"


# --- the table ----------------------------------------------------------------------------

OWN, PIP, RECOVER, REPORT = "own", "pip", "recover", "report"  # REPORT: a finding on stdout (doctor)

# The target venv's pip is the one bundled with the running Python (ensurepip, see make_venv).
VENV_PIP = tuple(int(p) for p in __import__("ensurepip").version().split(".")[:2])


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    code: int
    problem: str  # regex that must match stderr (pip's message for PIP cases)
    kind: str = OWN
    remedy: str = r"\n  hint: \S"
    setup: Callable[[World], contextlib.AbstractContextManager[None]] | None = None
    env: tuple[tuple[str, str], ...] = ()
    managed: bool = False  # the target is the externally managed Python
    bug: str = ""
    # The bug only shows with a target pip older than this (that pip crashes on the input with
    # a traceback); with a newer pip the case is pip's own clean error, handed through.
    bug_before_pip: tuple[int, ...] = ()
    newer_pip: tuple[int, str] = (1, "")  # (pip's exit code, pip's message) for that newer pip


def c(id: str, argv: str, code: int, problem: str, kind: str = OWN, **kw: object) -> Case:
    import shlex

    return Case(id, tuple(shlex.split(argv)), code, problem, kind, **kw)  # type: ignore[arg-type]


NI = "--no-index --find-links {wheels}"
MACS = "--platform macos-arm64 --python-version 3.11"
FAKE = f"{MACS} --no-index --find-links {{fake}}"


def effective_case(case: Case) -> Case:
    if case.bug_before_pip and VENV_PIP >= case.bug_before_pip:
        code, message = case.newer_pip
        return replace(case, code=code, problem=message, kind=PIP, bug="")
    return case


def _case_env(world: World, case: Case) -> dict[str, str]:
    env = dict(world.env)
    for key, value in case.env:
        env[key] = str(world.files / value) if value.endswith(".json") else value
    return env


def check_case(world: World, case: Case) -> None:
    """Run one case and assert the whole contract (module doc of test_hostile_input.py)."""
    setup = case.setup(world) if case.setup else contextlib.nullcontext()
    with setup:
        argv = [world.fmt(a) for a in case.argv]
        managed = world.extra.get("managed") if case.managed else None
        before = world.freeze()
        before_managed = world.freeze(managed) if managed else ""
        env = _case_env(world, case)
        result = world.tool(argv, env)
        output = result.stdout + result.stderr
        assert "Traceback" not in output, result.describe()
        assert result.returncode == case.code, result.describe()
        if case.problem:
            where = output if case.kind == REPORT else result.stderr
            assert re.search(case.problem, where), result.describe()
        if case.kind == OWN:
            assert result.stderr.count("pip-tfmac: error:") == 1, result.describe()
            assert re.search(case.remedy, result.stderr), "no remedy\n" + result.describe()
            # One message: nothing else of ours or of a stray logger before it.
            # (A progress line, "pip-tfmac: resolving ...", shows when a step is slow: not a message.)
            lines = [ln for ln in result.stderr.strip().splitlines() if not PROGRESS.match(ln)]
            first = lines[0] if lines else ""
            assert first.startswith(("pip-tfmac: error:", "pip-tfmac doctor:")), result.describe()
        elif case.kind == REPORT:
            assert re.search(case.remedy, result.stdout), "no remedy\n" + result.describe()
        elif case.kind == PIP:
            plain = world.plain_pip(argv, env)
            assert (plain.returncode, plain.stdout) == (result.returncode, result.stdout), (
                "differs from plain pip\n" + result.describe() + "\n" + plain.describe()
            )
        assert world.freeze() == before, "the target environment changed\n" + result.describe()
        if managed:
            assert world.freeze(managed) == before_managed
