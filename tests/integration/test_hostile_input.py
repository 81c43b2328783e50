"""Hostile input: every bad input gets one clear message, the documented exit code, no traceback,
and leaves the target environment exactly as it was (issue 6, "Hostile input").

Offline: requests either fail before pip needs the network (the pure planner's errors), or use
--no-index with tiny local wheels, or an index on 127.0.0.1 that refuses connections.

Each case of CASES asserts:
  * the documented exit code (README "Exit codes"; pip's own code for what pip-tfmac hands to
    pip unchanged, which must then equal plain pip's code and stdout for the same argv);
  * a message naming the problem on stderr; for pip-tfmac's own errors exactly one
    `pip-tfmac: error:` paragraph with a `hint:` line (pip's own messages have no hint line:
    for those the remedy is pip's, and the test asserts we print exactly what pip prints);
  * no `Traceback` on stdout or stderr;
  * `pip freeze --all` of the target venv identical before and after.

Product bugs found by a case are marked xfail(strict=True) with the reason; they are not
weakened. Read-only and full file systems need root and mount(8); without them those cases
skip with the reason (root ignores chmod, so nothing weaker would test anything).
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import venv
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

CASES = [
    # malformed requirement strings on the command line (pip's own error, handed through)
    c("cli-bad-operator", "install --no-index 'tinya=>1.0'", 1, "Invalid requirement", PIP),
    c("cli-open-bracket", "install --no-index 'tinya['", 1, "Invalid requirement", PIP),
    c("cli-bad-marker", "install --no-index 'tinya==1.0; python_version >'", 65, "python_version >", OWN,
      bug="the target's pip crashes on an invalid marker (InvalidMarker traceback, exit 2) and "
          "pip-tfmac hands the traceback through", bug_before_pip=(24, 1),
      newer_pip=(1, "Invalid requirement")),
    c("cli-bad-url", "install --no-index 'tinya @ '", 1, "Invalid requirement|URL", PIP),
    # ... in files
    c("file-bad-operator", "install --no-index -r bad.txt", 1, r"Invalid requirement.*line 1 of bad\.txt", PIP),
    c("file-bad-marker", "install --no-index -r bad-marker.txt", 65, "python_version >", OWN,
      bug="the target's pip crashes on an invalid marker in a file (traceback, exit 2) and "
          "pip-tfmac hands the traceback through", bug_before_pip=(24, 1),
      newer_pip=(1, "Invalid requirement")),
    c("file-10k-bad-lines", "install --no-index -r long-bad.txt", 1, "Invalid requirement", PIP),
    c("file-5k-unknown-names", "install --no-index -r long-unknown.txt", 1, "No matching distribution", PIP),
    c("file-missing", "install --no-index -r missing.txt", 1, "No such file or directory: 'missing.txt'", PIP),
    c("constraints-missing", "install --no-index -c missing.txt tinya", 1, "No such file or directory", PIP),
    c("file-is-directory", "install --no-index -r adir", 1, "Is a directory", PIP),
    c("file-empty", "install --no-index -r empty.txt", 0, "", PIP),
    c("file-dev-null", "install --no-index -r /dev/null", 0, "", PIP),
    c("editable-not-a-project", "install --no-index -e nosuchdir", 1, "not a valid editable requirement", PIP),
    c("file-in-non-utf8-dir", "install --no-index -r 'bad\udcffdir/req.txt'", 1, "Invalid requirement", PIP),
    c("file-recursive", "install --no-index -r rec.txt", 65, r"includes itself|recursive", OWN,
      bug="the target's pip crashes on a recursive -r (RecursionError traceback, exit 2) and "
          "pip-tfmac hands it through although its own parser diagnosed it",
      bug_before_pip=(25, 0), newer_pip=(1, "recursively references itself")),
    c("file-recursive-pair", "install --no-index -r rec-a.txt", 65, r"includes itself|recursive", OWN,
      bug="the target's pip crashes on a -r cycle a -> b -> a (RecursionError traceback, exit 2) "
          "and pip-tfmac hands it through", bug_before_pip=(25, 0),
      newer_pip=(1, "recursively references itself")),
    c("file-latin1", "install --no-index -r latin1.txt", 65, "not valid text", OWN,
      bug="pip (23.x to 26.3) crashes on a non-UTF-8 requirements file (UnicodeDecodeError "
          "traceback, exit 2) and pip-tfmac hands the traceback through"),
    # our own commands read the files themselves
    c("plan-file-recursive", "plan -r rec.txt", 65, "recursively references itself"),
    c("plan-file-missing", "plan -r missing.txt", 65, "does not exist"),
    c("plan-file-is-directory", "plan -r adir", 65, "Is a directory"),
    c("plan-file-latin1", f"plan {MACS} -r latin1-tf.txt", 65, r"latin1-tf\.txt' is not valid text",
      bug="pip's root logger prints a stray 'WARNING:root:unable to decode' line before our error"),
    c("plan-malformed-family", f"plan {MACS} --no-index 'tensorflow=>2'", 65, "tensorflow=>2",
      bug="a malformed requirement of the TensorFlow family reaches pip and exits 72, not 65"),
    # options
    c("unknown-option", "install --no-index --bogus-option tinya", 2, "no such option: --bogus-option", PIP),
    c("plan-unknown-option", "plan --bogus tensorflow", 64, "no such option: --bogus"),
    c("macos-version-no-value", "install --no-index tinya --macos-version", 64, "--macos-version needs a value"),
    c("plan-macos-version-no-value", "plan tinya --macos-version", 64, "--macos-version needs a value"),
    c("tfmac-cache-dir-no-value", "plan tinya --tfmac-cache-dir", 64, "--tfmac-cache-dir needs a value"),
    c("macos-version-abc", f"plan {MACS} --macos-version abc tensorflow-metal", 64, "'abc' is not a macOS version"),
    c("macos-version-9", f"plan {MACS} --macos-version 9 tensorflow-metal", 64, "'9' is not a macOS version"),
    c("macos-version-without-platform", "install --no-index --macos-version 14 tensorflow", 64,
      "--macos-version only applies to --platform macos-arm64"),
    c("python-version-abc", "plan --platform macos-arm64 --python-version abc tensorflow", 64, "invalid --python-version value"),
    c("python-version-2.7", "plan --platform macos-arm64 --python-version 2.7 tensorflow", 67,
      "no macOS arm64 build for Python 2.7"),
    c("python-version-without-platform", "plan --python-version 3.11 tensorflow", 64, "without --platform"),
    c("macos-arm64-mixed-with-platform", f"plan {MACS} --platform manylinux2014_x86_64 --no-index tensorflow",
      64, "--platform", bug="--platform macos-arm64 plus another --platform is silently merged (pip then resolves)"),
    c("verify-timeout-abc", "install --no-index tinya --verify-timeout abc", 64, "'abc' is not a number of seconds"),
    c("verify-timeout-abc-family", "install --no-index tensorflow --verify-timeout abc", 64, "not a number of seconds"),
    c("verify-python-missing", "verify --python /nonexistent", 65, "no Python interpreter there"),
    c("verify-python-not-python", "verify --python not-python", 65, "not-python",
      bug="verify --python NON-PYTHON exits 73 (a probe failure) while a missing path exits 65"),
    c("verify-timeout-option-abc", "verify --timeout abc", 64, "invalid float value: 'abc'"),
    c("verify-timeout-zero", "verify --timeout 0", 64, "--timeout must be positive",
      bug="`verify --timeout 0` says what is wrong but gives no hint: line"),
    c("doctor-bogus", "doctor --bogus", 64, "unrecognized arguments: --bogus"),
    c("wheelhouse-remove-no-pattern", "wheelhouse remove", 64, "needs a PATTERN"),
    c("wheelhouse-bogus-action", "wheelhouse bogus", 64, "invalid choice: 'bogus'"),
    # --python
    c("python-after-command", "install --python /nonexistent --no-index tinya", 1, "must be placed before", PIP),
    c("python-missing", "--python /nonexistent install --no-index tinya", 1, "Could not locate Python interpreter", PIP),
    c("python-not-python", "--python not-python install --no-index tinya", 1,
      "Failed to run pip under|Could not locate Python interpreter", PIP),
    c("plan-python-missing", "--python /nonexistent plan tensorflow-metal", 65, "no Python interpreter there"),
    c("plan-python-not-python", "--python not-python plan tensorflow-metal", 65,
      "cannot run the target interpreter|no Python interpreter there"),
    c("plan-python-after-command", "plan --python /nonexistent --no-index tensorflow-metal", 64,
      r"--python.*before", bug="plan silently ignores --python given after the command word and "
      "plans for $VIRTUAL_ENV (pip itself rejects it: 'must be placed before the pip subcommand name')"),
    # unknown packages, impossible and conflicting pins (pip's resolver, handed through)
    c("unknown-package", "install --no-index nosuchpkg-xyz", 1, "No matching distribution found for nosuchpkg-xyz", PIP),
    c("impossible-pin", f"install {NI} tinya==9.9", 1, r"from versions: 1\.0, 2\.0", PIP),
    c("conflicting-user-pins", f"install {NI} tinya==1.0 tinya==2.0", 1, "conflicting dependencies|ResolutionImpossible", PIP),
    c("pin-conflicts-dependency", f"install {NI} tinyc tinya==1.0", 1, "conflicting dependencies", PIP),
    c("unreachable-index", f"install --index-url {UNREACHABLE} --retries 0 --timeout 1 tinya==3.0", 1,
      "No matching distribution", PIP),
    c("plan-unreachable-index", f"plan {MACS} --index-url {UNREACHABLE} --retries 0 --timeout 1 tensorflow==2.12.0",
      72, "pip cannot resolve the planned set"),
    # targets the request cannot work on (the pure planner: no pip, no network)
    c("metal-python-3.13", "plan --platform macos-arm64 --python-version 3.13 tensorflow-metal", 66,
      "tensorflow-metal has no build for Python 3.13"),
    c("metal-on-linux", "plan --no-index tensorflow-metal", 66, "no build for Linux"),
    c("metal-install-on-linux", "install --no-index tensorflow-metal", 66, "no build for Linux"),
    c("metal-cross-linux", "plan --platform manylinux2014_x86_64 --python-version 3.11 tensorflow-metal", 66,
      "no build for Linux"),
    c("metal-via-non-utf8-path", "plan --no-index -r 'bad\udcffdir/ok.txt' tensorflow-metal", 66,
      "no build for Linux"),
    c("hash-pinned-rewrite", f"plan {FAKE} -r hashed.txt", 65, r"hash-pinned .*tensorflow==2\.12\.0 becomes tensorflow-macos"),
    c("require-hashes-rewrite", f"install {FAKE} --target {{root}}/t --require-hashes tensorflow==2.12.0", 65,
      "hash-pinned"),
    c("text-2.14-for-mac", f"plan {MACS} 'tensorflow-text==2.14.*'", 67, "no macOS arm64 wheel matching"),
    c("rosetta-injected", "doctor", 71, r"rosetta: .*Rosetta", REPORT, remedy=r"\n\s+fix: \S",
      env=(("PIP_TFMAC_PROBE_FACTS", "rosetta.json"),)),
    c("rosetta-injected-install", "install --no-index tensorflow", 66, "Rosetta",
      env=(("PIP_TFMAC_PROBE_FACTS", "rosetta.json"),),
      bug="no seam: target.probe (the install/plan path) ignores PIP_TFMAC_PROBE_FACTS, so a "
          "Rosetta Python cannot be injected there (doctor/verify honour it)"),
    # the environment and the wheelhouse
    c("externally-managed", "--python {managed} install " + NI + " tinya", 1,
      "externally-managed-environment", PIP, setup=externally_managed_python, managed=True),
    c("read-only-site-packages", f"install {NI} tinyc", 1, "Read-only file system", PIP,
      setup=read_only_site_packages),
    c("cache-dir-is-a-file", f"plan {FAKE} --tfmac-cache-dir {{wheels}}/tinya-1.0-py3-none-any.whl tensorflow==2.12.0",
      69, "cannot be used"),
    c("cache-dir-in-proc", f"plan {FAKE} --tfmac-cache-dir /proc/self/no-such/wh tensorflow==2.12.0", 69,
      "cannot be used"),
    c("cache-dir-read-only", f"plan {FAKE} --tfmac-cache-dir {{ro}}/wh tensorflow==2.12.0", 69, "read-only",
      setup=read_only_cache),
    c("cache-dir-full", f"plan {FAKE} --tfmac-cache-dir {{tiny}}/wh tensorflow==2.12.0", 69, "full|space",
      setup=full_cache),
    c("cached-wheel-corrupted", f"plan {FAKE} --tfmac-cache-dir {{corrupt}} tensorflow==2.12.0", 0,
      r"wheelhouse: .*tensorflow-2\.12\.0\+tfmac.*(hash|sha256|damaged|mismatch)", RECOVER,
      setup=cached_alias_wheel_corrupted),
]


def _effective(case: Case) -> Case:
    if case.bug_before_pip and VENV_PIP >= case.bug_before_pip:
        code, message = case.newer_pip
        return replace(case, code=code, problem=message, kind=PIP, bug="")
    return case


def _params() -> list[object]:
    out: list[object] = []
    for case in map(_effective, CASES):
        # `bug` records the product bug a case found (all fixed since); kept as the case's history.
        marks: list[pytest.MarkDecorator] = []
        if case.id == "python-after-command" and VENV_PIP < (23, 1):
            # pip before 23.1 accepts a late --python and ignores it; pip-tfmac hands the command
            # to that pip unchanged, so there is no error to assert (the matrix compares outputs).
            marks.append(pytest.mark.skip(reason="this Python's bundled pip accepts a late --python"))
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def _case_env(world: World, case: Case) -> dict[str, str]:
    env = dict(world.env)
    for key, value in case.env:
        env[key] = str(world.files / value) if value.endswith(".json") else value
    return env


@pytest.mark.parametrize("case", _params())
def test_bad_input(world: World, case: Case) -> None:
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
            # One message: nothing else of ours or of a stray logger before it (progress lines of
            # steps that ran over a second, "pip-tfmac: <step>...", say what was being done).
            lines = [ln for ln in result.stderr.strip().splitlines() if not re.fullmatch(r"pip-tfmac: [^:]+\.\.\.", ln)]
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


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


# --- an interrupted install ---------------------------------------------------------------


def test_sigint_during_install_leaves_nothing_half_installed(world: World, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group) while pip installs 30 local wheels."""
    bulk = tmp_path / "bulk"
    names = [f"bulk{i:02d}" for i in range(30)]
    for name in names:
        build_wheel(bulk, name, "1.0", files={f"{name}/m{j}.py": "x = 1\n" * 50 for j in range(200)})
    target = tmp_path / "target-venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = str(venv_bin(target, "python"))
    site = next((target / "lib").glob("python*/site-packages"))
    before = world.freeze(python)
    proc = subprocess.Popen(
        [*tool_command(), "--python", python, "install", "--no-index", "--find-links", str(bulk), *names],
        env=world.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    deadline = time.monotonic() + TIMEOUT
    sent = False
    while proc.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith("bulk") for p in site.iterdir()):
            os.killpg(proc.pid, signal.SIGINT)
            sent = True
            break
        time.sleep(0.005)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert sent, "the install finished before it could be interrupted: make it slower"
    assert "Traceback" not in out + err, err
    assert proc.returncode in (130, 1), err  # ours, or pip's own code for a cancelled operation
    after = world.freeze(python)
    dists = ast.literal_eval(after.splitlines()[0])  # the snapshot's first line: name==version
    installed = sorted(d.split("==")[0] for d in dists if d.startswith("bulk"))
    assert after == before or installed == names, f"half installed: {installed}\n{after}"
